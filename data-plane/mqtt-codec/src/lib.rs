//! The MQTT wire codec: sans-IO, bytes in, [`Packet`]s out and back, and the
//! syntax of topic names and filters ([`topic`]) it checks.
//!
//! A crate of its own so that what must hold for any input — the fuzz target
//! `mqtt_decode` — builds without the broker, and so that the contract crate
//! can share the topic syntax without the codec depending on it.
//!
//! Owns framing, parsing and serialising of MQTT 3.1 (`MQIsdp`, level 3),
//! 3.1.1 (`MQTT`, level 4) and 5.0 (`MQTT`, level 5) control packets, AUTH
//! and every 5.0 property included. It must not touch sockets, tasks,
//! sessions or tenancy; [`MqttCodec`] only adapts it to `tokio_util::codec`.
//! One packet model serves every version: what only 5.0 has defaults to what
//! 3.1.1 means, and the encoder writes the form of the version it is given.
//! A CONNECT names its own version; one of any other level decodes as far as
//! the level and fails with [`DecodeError::UnsupportedProtocolLevel`] so the
//! caller can answer CONNACK return code 1 (0x84 in 5.0).
//! [`DecodeError::reason_code`] tells Malformed Packet from Protocol Error.
//! What needs session state (topic aliases, receive maximum, the peer's
//! maximum packet size, checking a payload against its format indicator) is
//! left to the caller.
//!
//! Hand-written on purpose: no maintained crate decodes 3.1, 3.1.1 and 5.0 as a
//! sans-IO server codec without dragging in another runtime's codec traits
//! (rmqtt-codec, the only one that reads level 3, is built on ntex;
//! mqtt-protocol-core has no 3.1; mqttbytes is unmaintained).
//!
//! Files: `topic.rs` (topic syntax), `packet.rs` (the packet types),
//! `properties.rs` (5.0 properties per packet kind), `reason.rs` (5.0 reason
//! codes per packet kind), `decode.rs` and `encode.rs` (the two directions),
//! `tests.rs` + `tests/`. The fuzz
//! target `mqtt_decode` (`fuzz/` at the repository root) checks that any bytes
//! either fail to decode or round-trip through the encoder.

pub mod decode;
pub mod encode;
pub mod packet;
mod properties;
mod reason;
#[cfg(test)]
mod tests;
pub mod topic;

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};

pub use decode::DecodeError;
pub use encode::EncodeError;
pub use packet::{
    AckProperties, Auth, AuthProperties, ConnAck, ConnAckProperties, Connect, ConnectProperties, ConnectReturnCode,
    Disconnect, DisconnectProperties, LastWill, Packet, PacketId, PayloadFormat, ProtocolVersion, PubAck, PubComp,
    PubRec, PubRel, Publish, PublishProperties, QoS, QosPid, ReasonCode, RetainHandling, SubAck, Subscribe,
    SubscribeProperties, SubscribeReturnCode, SubscriptionOptions, UnsubAck, Unsubscribe, UnsubscribeProperties,
    UserProperties, WillProperties,
};

/// Why the codec stopped: bad bytes in, an unencodable packet out, or the socket.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("malformed packet: {0}")]
    Decode(#[from] DecodeError),
    #[error("cannot encode packet: {0}")]
    Encode(#[from] EncodeError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// `tokio_util` adapter over [`decode::decode`] and [`encode::encode`]. Counts
/// the bytes it frames so the connection can meter them.
#[derive(Debug, Clone)]
pub struct MqttCodec {
    /// Largest packet accepted, fixed header included.
    pub max_packet_size: u32,
    /// The form packets are read and written in: set from the client's
    /// CONNECT (which is read in whatever form it names); 3.1.1 until then.
    pub version: ProtocolVersion,
    /// Largest packet the peer accepts (its 5.0 Maximum Packet Size): a
    /// packet that would exceed it is sent without its Reason String and User
    /// Properties, and one still too large is refused with
    /// [`EncodeError::ExceedsPeerMaximum`]. `None`: no limit but MQTT's own.
    pub peer_max_packet_size: Option<u32>,
    bytes_decoded: u64,
    bytes_encoded: u64,
}

impl MqttCodec {
    pub fn new(max_packet_size: u32) -> MqttCodec {
        MqttCodec {
            max_packet_size,
            version: ProtocolVersion::V3_1_1,
            peer_max_packet_size: None,
            bytes_decoded: 0,
            bytes_encoded: 0,
        }
    }

    /// Bytes of the packets decoded since the last call.
    pub fn take_bytes_decoded(&mut self) -> u64 {
        std::mem::take(&mut self.bytes_decoded)
    }

    /// Bytes of the packets encoded since the last call.
    pub fn take_bytes_encoded(&mut self) -> u64 {
        std::mem::take(&mut self.bytes_encoded)
    }
}

impl Decoder for MqttCodec {
    type Item = Packet;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Packet>, CodecError> {
        let before = src.len();
        let packet = decode::decode(src, self.version, self.max_packet_size)?;
        self.bytes_decoded += (before - src.len()) as u64;
        Ok(packet)
    }
}

impl Encoder<Packet> for MqttCodec {
    type Error = CodecError;

    fn encode(&mut self, mut packet: Packet, dst: &mut BytesMut) -> Result<(), CodecError> {
        let before = dst.len();
        encode::encode(&packet, self.version, dst)?;
        if let Some(limit) = self.peer_max_packet_size {
            let size = dst.len() - before;
            if size > limit as usize {
                dst.truncate(before);
                if !packet.strip_diagnostics() {
                    return Err(EncodeError::ExceedsPeerMaximum { packet: packet.kind(), size, limit }.into());
                }
                encode::encode(&packet, self.version, dst)?;
                let size = dst.len() - before;
                if size > limit as usize {
                    dst.truncate(before);
                    return Err(EncodeError::ExceedsPeerMaximum { packet: packet.kind(), size, limit }.into());
                }
            }
        }
        self.bytes_encoded += (dst.len() - before) as u64;
        Ok(())
    }
}
