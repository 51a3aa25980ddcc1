//! Bytes → [`Packet`]: framing by remaining length, then one parser per packet
//! type. Validates everything the spec calls malformed; never panics on input.

use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};

use super::packet::{
    ConnAck, Connect, ConnectReturnCode, LastWill, Packet, PacketId, ProtocolVersion, Publish, QoS, QosPid, SubAck,
    Subscribe, SubscribeReturnCode, Unsubscribe, kind,
};
use crate::mqtt::topic::{self, TopicError};

/// Why bytes are not a valid packet. Every variant closes the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("remaining length is longer than four bytes")]
    MalformedRemainingLength,
    #[error("packet of {size} bytes exceeds the limit of {max}")]
    PacketTooLarge { size: usize, max: u32 },
    #[error("reserved packet type {0}")]
    ReservedPacketType(u8),
    #[error("invalid fixed-header flags {flags:#06b} for packet type {packet_type}")]
    InvalidFlags { packet_type: u8, flags: u8 },
    #[error("packet body ends early")]
    Truncated,
    #[error("{0} unexpected bytes after the packet body")]
    TrailingBytes(usize),
    #[error("string is not valid UTF-8")]
    InvalidUtf8,
    #[error("string contains U+0000")]
    NullCharacter,
    #[error("unknown protocol name {0:?}")]
    InvalidProtocolName(String),
    #[error("unsupported protocol level {0}")]
    UnsupportedProtocolLevel(u8),
    #[error("reserved CONNECT flag is set")]
    ReservedConnectFlag,
    #[error("will QoS or retain set without a will")]
    WillFlagsWithoutWill,
    #[error("password flag set without a user name")]
    PasswordWithoutUsername,
    #[error("QoS 3 is not a valid QoS")]
    InvalidQoS,
    #[error("DUP set on a QoS 0 publish")]
    DupOnQos0,
    #[error("packet identifier 0")]
    ZeroPacketId,
    #[error("invalid topic: {0}")]
    InvalidTopic(TopicError),
    #[error("SUBSCRIBE or UNSUBSCRIBE without a topic filter")]
    NoTopicFilter,
    #[error("reserved bits set in the requested QoS byte")]
    ReservedSubscribeBits,
    #[error("invalid CONNACK")]
    InvalidConnAck,
    #[error("invalid SUBACK return code {0:#04x}")]
    InvalidSubAckCode(u8),
}

/// Remaining length is a base-128 varint of at most four bytes.
const MAX_REMAINING_LENGTH_BYTES: usize = 4;

/// Decodes one packet from the front of `buf`, consuming it. Returns
/// `Ok(None)` and consumes nothing while the packet is incomplete.
pub fn decode(buf: &mut BytesMut, max_packet_size: u32) -> Result<Option<Packet>, DecodeError> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    let Some((remaining, length_bytes)) = remaining_length(&buf[1..])? else {
        return Ok(None);
    };
    let size = 1 + length_bytes + remaining;
    if size > max_packet_size as usize {
        return Err(DecodeError::PacketTooLarge { size, max: max_packet_size });
    }
    if buf.len() < size {
        buf.reserve(size - buf.len());
        return Ok(None);
    }
    let mut body = buf.split_to(size).freeze();
    body.advance(1 + length_bytes);
    parse(first >> 4, first & 0x0F, body).map(Some)
}

/// Parses the remaining-length varint; `None` if more bytes are needed.
fn remaining_length(bytes: &[u8]) -> Result<Option<(usize, usize)>, DecodeError> {
    let mut value = 0usize;
    for (i, byte) in bytes.iter().take(MAX_REMAINING_LENGTH_BYTES).enumerate() {
        value |= usize::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(Some((value, i + 1)));
        }
    }
    if bytes.len() >= MAX_REMAINING_LENGTH_BYTES {
        return Err(DecodeError::MalformedRemainingLength);
    }
    Ok(None)
}

fn parse(packet_type: u8, flags: u8, body: Bytes) -> Result<Packet, DecodeError> {
    let mut body = Body(body);
    let expect_flags = |expected: u8| {
        if flags == expected { Ok(()) } else { Err(DecodeError::InvalidFlags { packet_type, flags }) }
    };
    let packet = match packet_type {
        kind::CONNECT => {
            expect_flags(0)?;
            Packet::Connect(connect(&mut body)?)
        }
        kind::CONNACK => {
            expect_flags(0)?;
            Packet::ConnAck(connack(&mut body)?)
        }
        kind::PUBLISH => return publish(flags, body),
        kind::PUBACK => {
            expect_flags(0)?;
            Packet::PubAck(body.packet_id()?)
        }
        kind::PUBREC => {
            expect_flags(0)?;
            Packet::PubRec(body.packet_id()?)
        }
        kind::PUBREL => {
            expect_flags(0b0010)?;
            Packet::PubRel(body.packet_id()?)
        }
        kind::PUBCOMP => {
            expect_flags(0)?;
            Packet::PubComp(body.packet_id()?)
        }
        kind::SUBSCRIBE => {
            expect_flags(0b0010)?;
            Packet::Subscribe(subscribe(&mut body)?)
        }
        kind::SUBACK => {
            expect_flags(0)?;
            Packet::SubAck(suback(&mut body)?)
        }
        kind::UNSUBSCRIBE => {
            expect_flags(0b0010)?;
            Packet::Unsubscribe(unsubscribe(&mut body)?)
        }
        kind::UNSUBACK => {
            expect_flags(0)?;
            Packet::UnsubAck(body.packet_id()?)
        }
        kind::PINGREQ => {
            expect_flags(0)?;
            Packet::PingReq
        }
        kind::PINGRESP => {
            expect_flags(0)?;
            Packet::PingResp
        }
        kind::DISCONNECT => {
            expect_flags(0)?;
            Packet::Disconnect
        }
        other => return Err(DecodeError::ReservedPacketType(other)),
    };
    body.finish()?;
    Ok(packet)
}

fn connect(body: &mut Body) -> Result<Connect, DecodeError> {
    let name = body.string()?;
    let level = body.u8()?;
    let protocol = match (name.as_str(), level) {
        ("MQIsdp", 3) => ProtocolVersion::V3_1,
        ("MQTT", 4) => ProtocolVersion::V3_1_1,
        ("MQTT" | "MQIsdp", other) => return Err(DecodeError::UnsupportedProtocolLevel(other)),
        _ => return Err(DecodeError::InvalidProtocolName(name)),
    };
    let flags = body.u8()?;
    if flags & 0b0000_0001 != 0 {
        return Err(DecodeError::ReservedConnectFlag);
    }
    let clean_session = flags & 0b0000_0010 != 0;
    let will_flag = flags & 0b0000_0100 != 0;
    let will_qos = QoS::from_bits((flags >> 3) & 0b11).ok_or(DecodeError::InvalidQoS)?;
    let will_retain = flags & 0b0010_0000 != 0;
    let password_flag = flags & 0b0100_0000 != 0;
    let username_flag = flags & 0b1000_0000 != 0;
    if !will_flag && (will_qos != QoS::AtMostOnce || will_retain) {
        return Err(DecodeError::WillFlagsWithoutWill);
    }
    if password_flag && !username_flag {
        return Err(DecodeError::PasswordWithoutUsername);
    }
    let keep_alive = body.u16()?;
    let client_id = body.string()?;
    let will = if will_flag {
        let topic = body.string()?;
        topic::validate_name(&topic).map_err(DecodeError::InvalidTopic)?;
        Some(LastWill { topic: Arc::from(topic), payload: body.binary()?, qos: will_qos, retain: will_retain })
    } else {
        None
    };
    let username = username_flag.then(|| body.string()).transpose()?;
    let password = password_flag.then(|| body.binary()).transpose()?;
    Ok(Connect { protocol, clean_session, keep_alive, client_id, will, username, password })
}

fn connack(body: &mut Body) -> Result<ConnAck, DecodeError> {
    let flags = body.u8()?;
    if flags & 0b1111_1110 != 0 {
        return Err(DecodeError::InvalidConnAck);
    }
    let code = ConnectReturnCode::from_byte(body.u8()?).ok_or(DecodeError::InvalidConnAck)?;
    Ok(ConnAck { session_present: flags & 1 != 0, code })
}

fn publish(flags: u8, mut body: Body) -> Result<Packet, DecodeError> {
    let dup = flags & 0b1000 != 0;
    let retain = flags & 0b0001 != 0;
    let qos = QoS::from_bits((flags >> 1) & 0b11).ok_or(DecodeError::InvalidQoS)?;
    let topic = body.string()?;
    topic::validate_name(&topic).map_err(DecodeError::InvalidTopic)?;
    let qos = match qos {
        QoS::AtMostOnce if dup => return Err(DecodeError::DupOnQos0),
        QoS::AtMostOnce => QosPid::AtMostOnce,
        QoS::AtLeastOnce => QosPid::AtLeastOnce(body.packet_id()?),
        QoS::ExactlyOnce => QosPid::ExactlyOnce(body.packet_id()?),
    };
    Ok(Packet::Publish(Publish { dup, qos, retain, topic: Arc::from(topic), payload: body.0 }))
}

fn subscribe(body: &mut Body) -> Result<Subscribe, DecodeError> {
    let packet_id = body.packet_id()?;
    let mut filters = Vec::new();
    while body.has_remaining() {
        let filter = body.string()?;
        topic::validate_filter(&filter).map_err(DecodeError::InvalidTopic)?;
        let options = body.u8()?;
        if options & 0b1111_1100 != 0 {
            return Err(DecodeError::ReservedSubscribeBits);
        }
        let qos = QoS::from_bits(options).ok_or(DecodeError::InvalidQoS)?;
        filters.push((filter, qos));
    }
    if filters.is_empty() {
        return Err(DecodeError::NoTopicFilter);
    }
    Ok(Subscribe { packet_id, filters })
}

fn suback(body: &mut Body) -> Result<SubAck, DecodeError> {
    let packet_id = body.packet_id()?;
    let mut return_codes = Vec::new();
    while body.has_remaining() {
        let code = match body.u8()? {
            0x80 => SubscribeReturnCode::Failure,
            byte => {
                QoS::from_bits(byte).map(SubscribeReturnCode::Granted).ok_or(DecodeError::InvalidSubAckCode(byte))?
            }
        };
        return_codes.push(code);
    }
    Ok(SubAck { packet_id, return_codes })
}

fn unsubscribe(body: &mut Body) -> Result<Unsubscribe, DecodeError> {
    let packet_id = body.packet_id()?;
    let mut filters = Vec::new();
    while body.has_remaining() {
        let filter = body.string()?;
        topic::validate_filter(&filter).map_err(DecodeError::InvalidTopic)?;
        filters.push(filter);
    }
    if filters.is_empty() {
        return Err(DecodeError::NoTopicFilter);
    }
    Ok(Unsubscribe { packet_id, filters })
}

/// A packet body being read front to back; every read checks the length.
struct Body(Bytes);

impl Body {
    fn has_remaining(&self) -> bool {
        !self.0.is_empty()
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        self.0.try_get_u8().map_err(|_| DecodeError::Truncated)
    }

    fn u16(&mut self) -> Result<u16, DecodeError> {
        self.0.try_get_u16().map_err(|_| DecodeError::Truncated)
    }

    fn packet_id(&mut self) -> Result<PacketId, DecodeError> {
        PacketId::new(self.u16()?).ok_or(DecodeError::ZeroPacketId)
    }

    fn binary(&mut self) -> Result<Bytes, DecodeError> {
        let len = usize::from(self.u16()?);
        if self.0.len() < len {
            return Err(DecodeError::Truncated);
        }
        Ok(self.0.split_to(len))
    }

    fn string(&mut self) -> Result<String, DecodeError> {
        let bytes = self.binary()?;
        let string = std::str::from_utf8(&bytes).map_err(|_| DecodeError::InvalidUtf8)?;
        if string.contains('\0') {
            return Err(DecodeError::NullCharacter);
        }
        Ok(string.to_owned())
    }

    fn finish(self) -> Result<(), DecodeError> {
        match self.0.len() {
            0 => Ok(()),
            extra => Err(DecodeError::TrailingBytes(extra)),
        }
    }
}
