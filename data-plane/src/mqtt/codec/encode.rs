//! [`Packet`] → bytes. Computes each body's length first so the fixed header
//! is written once, then the body straight into the output buffer.

use bytes::{BufMut, BytesMut};

use super::packet::{
    ConnAck, Connect, Packet, PacketId, ProtocolVersion, Publish, QosPid, SubAck, Subscribe, SubscribeReturnCode,
    Unsubscribe, kind,
};

/// Why a packet cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("string or binary field of {0} bytes exceeds 65535")]
    FieldTooLong(usize),
    #[error("packet body of {0} bytes exceeds the 268435455 bytes MQTT can frame")]
    PacketTooLarge(usize),
}

/// Largest remaining length a four-byte varint holds.
const MAX_REMAINING_LENGTH: usize = 268_435_455;

/// Appends `packet` to `buf`. `version` decides the few fields that differ
/// between MQTT 3.1 and 3.1.1 (CONNACK's session-present flag).
pub fn encode(packet: &Packet, version: ProtocolVersion, buf: &mut BytesMut) -> Result<(), EncodeError> {
    match packet {
        Packet::Connect(connect) => encode_connect(connect, buf),
        Packet::ConnAck(connack) => {
            encode_connack(connack, version, buf);
            Ok(())
        }
        Packet::Publish(publish) => encode_publish(publish, buf),
        Packet::PubAck(id) => ack(kind::PUBACK, 0, *id, buf),
        Packet::PubRec(id) => ack(kind::PUBREC, 0, *id, buf),
        Packet::PubRel(id) => ack(kind::PUBREL, 0b0010, *id, buf),
        Packet::PubComp(id) => ack(kind::PUBCOMP, 0, *id, buf),
        Packet::Subscribe(subscribe) => encode_subscribe(subscribe, buf),
        Packet::SubAck(suback) => encode_suback(suback, buf),
        Packet::Unsubscribe(unsubscribe) => encode_unsubscribe(unsubscribe, buf),
        Packet::UnsubAck(id) => ack(kind::UNSUBACK, 0, *id, buf),
        Packet::PingReq => empty(kind::PINGREQ, buf),
        Packet::PingResp => empty(kind::PINGRESP, buf),
        Packet::Disconnect => empty(kind::DISCONNECT, buf),
    }
}

fn header(packet_type: u8, flags: u8, remaining: usize, buf: &mut BytesMut) -> Result<(), EncodeError> {
    if remaining > MAX_REMAINING_LENGTH {
        return Err(EncodeError::PacketTooLarge(remaining));
    }
    buf.reserve(5 + remaining);
    buf.put_u8(packet_type << 4 | flags);
    let mut value = remaining;
    loop {
        // The mask keeps the value below 128, so the cast cannot truncate.
        let mut byte = (value & 0x7F) as u8;
        value >>= 7;
        if value > 0 {
            byte |= 0x80;
        }
        buf.put_u8(byte);
        if value == 0 {
            return Ok(());
        }
    }
}

fn field_len(field: &[u8]) -> Result<usize, EncodeError> {
    if field.len() > usize::from(u16::MAX) {
        return Err(EncodeError::FieldTooLong(field.len()));
    }
    Ok(2 + field.len())
}

/// Writes a length-prefixed field; its length was checked by [`field_len`].
fn put_field(field: &[u8], buf: &mut BytesMut) {
    let len = u16::try_from(field.len()).unwrap_or(u16::MAX);
    buf.put_u16(len);
    buf.put_slice(field);
}

fn empty(packet_type: u8, buf: &mut BytesMut) -> Result<(), EncodeError> {
    header(packet_type, 0, 0, buf)
}

fn ack(packet_type: u8, flags: u8, id: PacketId, buf: &mut BytesMut) -> Result<(), EncodeError> {
    header(packet_type, flags, 2, buf)?;
    buf.put_u16(id.get());
    Ok(())
}

fn encode_connect(connect: &Connect, buf: &mut BytesMut) -> Result<(), EncodeError> {
    let (name, level) = connect.protocol.name_and_level();
    let mut len = field_len(name.as_bytes())? + 1 + 1 + 2 + field_len(connect.client_id.as_bytes())?;
    let mut flags = 0u8;
    if connect.clean_session {
        flags |= 0b0000_0010;
    }
    if let Some(will) = &connect.will {
        flags |= 0b0000_0100 | (will.qos as u8) << 3;
        if will.retain {
            flags |= 0b0010_0000;
        }
        len += field_len(will.topic.as_bytes())? + field_len(&will.payload)?;
    }
    if let Some(username) = &connect.username {
        flags |= 0b1000_0000;
        len += field_len(username.as_bytes())?;
    }
    if let Some(password) = &connect.password {
        flags |= 0b0100_0000;
        len += field_len(password)?;
    }
    header(kind::CONNECT, 0, len, buf)?;
    put_field(name.as_bytes(), buf);
    buf.put_u8(level);
    buf.put_u8(flags);
    buf.put_u16(connect.keep_alive);
    put_field(connect.client_id.as_bytes(), buf);
    if let Some(will) = &connect.will {
        put_field(will.topic.as_bytes(), buf);
        put_field(&will.payload, buf);
    }
    if let Some(username) = &connect.username {
        put_field(username.as_bytes(), buf);
    }
    if let Some(password) = &connect.password {
        put_field(password, buf);
    }
    Ok(())
}

fn encode_connack(connack: &ConnAck, version: ProtocolVersion, buf: &mut BytesMut) {
    let session_present = connack.session_present && version == ProtocolVersion::V3_1_1;
    buf.reserve(4);
    buf.put_u8(kind::CONNACK << 4);
    buf.put_u8(2);
    buf.put_u8(u8::from(session_present));
    buf.put_u8(connack.code as u8);
}

fn encode_publish(publish: &Publish, buf: &mut BytesMut) -> Result<(), EncodeError> {
    let id_len = if publish.qos.packet_id().is_some() { 2 } else { 0 };
    let len = field_len(publish.topic.as_bytes())? + id_len + publish.payload.len();
    let mut flags = (publish.qos.qos() as u8) << 1;
    if publish.dup {
        flags |= 0b1000;
    }
    if publish.retain {
        flags |= 0b0001;
    }
    header(kind::PUBLISH, flags, len, buf)?;
    put_field(publish.topic.as_bytes(), buf);
    if let QosPid::AtLeastOnce(id) | QosPid::ExactlyOnce(id) = publish.qos {
        buf.put_u16(id.get());
    }
    buf.put_slice(&publish.payload);
    Ok(())
}

fn encode_subscribe(subscribe: &Subscribe, buf: &mut BytesMut) -> Result<(), EncodeError> {
    let mut len = 2;
    for (filter, _) in &subscribe.filters {
        len += field_len(filter.as_bytes())? + 1;
    }
    header(kind::SUBSCRIBE, 0b0010, len, buf)?;
    buf.put_u16(subscribe.packet_id.get());
    for (filter, qos) in &subscribe.filters {
        put_field(filter.as_bytes(), buf);
        buf.put_u8(*qos as u8);
    }
    Ok(())
}

fn encode_suback(suback: &SubAck, buf: &mut BytesMut) -> Result<(), EncodeError> {
    header(kind::SUBACK, 0, 2 + suback.return_codes.len(), buf)?;
    buf.put_u16(suback.packet_id.get());
    for code in &suback.return_codes {
        buf.put_u8(match code {
            SubscribeReturnCode::Granted(qos) => *qos as u8,
            SubscribeReturnCode::Failure => 0x80,
        });
    }
    Ok(())
}

fn encode_unsubscribe(unsubscribe: &Unsubscribe, buf: &mut BytesMut) -> Result<(), EncodeError> {
    let mut len = 2;
    for filter in &unsubscribe.filters {
        len += field_len(filter.as_bytes())?;
    }
    header(kind::UNSUBSCRIBE, 0b0010, len, buf)?;
    buf.put_u16(unsubscribe.packet_id.get());
    for filter in &unsubscribe.filters {
        put_field(filter.as_bytes(), buf);
    }
    Ok(())
}
