//! The MQTT wire codec: sans-IO, bytes in, [`Packet`]s out and back.
//!
//! Owns framing, parsing and serialising of MQTT 3.1 (`MQIsdp`, level 3) and
//! 3.1.1 (`MQTT`, level 4) control packets. It must not touch sockets, tasks,
//! sessions or tenancy; [`MqttCodec`] only adapts it to `tokio_util::codec`.
//! A CONNECT of any other level decodes as far as the level and fails with
//! [`DecodeError::UnsupportedProtocolLevel`] so the caller can answer CONNACK
//! return code 1.
//!
//! Hand-written on purpose: no maintained crate decodes 3.1, 3.1.1 and 5.0 as a
//! sans-IO server codec without dragging in another runtime's codec traits
//! (rmqtt-codec, the only one that reads level 3, is built on ntex;
//! mqtt-protocol-core has no 3.1; mqttbytes is unmaintained). MQTT 5.0 will be
//! added here as properties on the same packet types.

pub mod decode;
pub mod encode;
pub mod packet;
#[cfg(test)]
mod tests;

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};

pub use decode::DecodeError;
pub use encode::EncodeError;
pub use packet::{
    ConnAck, Connect, ConnectReturnCode, LastWill, Packet, PacketId, ProtocolVersion, Publish, QoS, QosPid, SubAck,
    Subscribe, SubscribeReturnCode, Unsubscribe,
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
    /// Set from the client's CONNECT; 3.1.1 until then.
    pub version: ProtocolVersion,
    bytes_decoded: u64,
    bytes_encoded: u64,
}

impl MqttCodec {
    pub fn new(max_packet_size: u32) -> MqttCodec {
        MqttCodec { max_packet_size, version: ProtocolVersion::V3_1_1, bytes_decoded: 0, bytes_encoded: 0 }
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
        let packet = decode::decode(src, self.max_packet_size)?;
        self.bytes_decoded += (before - src.len()) as u64;
        Ok(packet)
    }
}

impl Encoder<Packet> for MqttCodec {
    type Error = CodecError;

    fn encode(&mut self, packet: Packet, dst: &mut BytesMut) -> Result<(), CodecError> {
        let before = dst.len();
        encode::encode(&packet, self.version, dst)?;
        self.bytes_encoded += (dst.len() - before) as u64;
        Ok(())
    }
}
