//! [`Packet`] → bytes, in the form of one protocol version (CONNECT in the
//! form its own `protocol` names). Computes each body's length first, every
//! property section included, so a packet that cannot be written leaves the
//! buffer untouched and the fixed header is written once, then the body
//! straight into the output buffer. A 3.1 / 3.1.1 encoder leaves out what
//! only 5.0 has and writes CONNACK and SUBACK codes as 3.1.1 numbers them.

use bytes::{BufMut, BytesMut};

use super::packet::{
    Auth, ConnAck, Connect, Disconnect, Packet, ProtocolVersion, PubAck, Publish, QosPid, ReasonCode, SubAck,
    Subscribe, SubscribeReturnCode, SubscriptionOptions, UnsubAck, Unsubscribe, kind,
};
use super::properties::{Borrowed, Property, PropertySet};

/// Why a packet cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("string or binary field of {0} bytes exceeds 65535")]
    FieldTooLong(usize),
    #[error("packet body of {0} bytes exceeds the 268435455 bytes MQTT can frame")]
    PacketTooLarge(usize),
    #[error("{0} exceeds the largest variable byte integer, 268435455")]
    VariableByteIntegerTooLarge(u32),
    #[error("{packet} does not exist in {version:?}")]
    NotInVersion { packet: &'static str, version: ProtocolVersion },
    #[error("{packet} cannot carry reason code {code:?}")]
    ReasonCodeNotAllowed { packet: &'static str, code: ReasonCode },
    #[error("{packet} of {size} bytes exceeds the {limit} bytes the peer accepts")]
    ExceedsPeerMaximum { packet: &'static str, size: usize, limit: u32 },
}

/// Largest value of a four-byte variable byte integer, remaining length included.
const MAX_VAR_INT: usize = 268_435_455;

/// Appends `packet` to `buf` in the form of `version`: it decides whether
/// properties and reason codes are written, and CONNACK's session-present
/// flag (absent in 3.1). A CONNECT is written in the form of its own protocol.
pub fn encode(packet: &Packet, version: ProtocolVersion, buf: &mut BytesMut) -> Result<(), EncodeError> {
    let v5 = version.is_v5();
    match packet {
        Packet::Connect(connect) => encode_connect(connect, buf),
        Packet::ConnAck(connack) => encode_connack(connack, version, buf),
        Packet::Publish(publish) => encode_publish(publish, v5, buf),
        Packet::PubAck(ack) => encode_ack(kind::PUBACK, 0, ack, v5, buf),
        Packet::PubRec(ack) => encode_ack(kind::PUBREC, 0, ack, v5, buf),
        Packet::PubRel(ack) => encode_ack(kind::PUBREL, 0b0010, ack, v5, buf),
        Packet::PubComp(ack) => encode_ack(kind::PUBCOMP, 0, ack, v5, buf),
        Packet::Subscribe(subscribe) => encode_subscribe(subscribe, v5, buf),
        Packet::SubAck(suback) => encode_suback(suback, v5, buf),
        Packet::Unsubscribe(unsubscribe) => encode_unsubscribe(unsubscribe, v5, buf),
        Packet::UnsubAck(unsuback) => encode_unsuback(unsuback, v5, buf),
        Packet::PingReq => header(kind::PINGREQ, 0, 0, buf),
        Packet::PingResp => header(kind::PINGRESP, 0, 0, buf),
        Packet::Disconnect(disconnect) => encode_disconnect(disconnect, v5, buf),
        Packet::Auth(auth) if v5 => encode_auth(auth, buf),
        Packet::Auth(_) => Err(EncodeError::NotInVersion { packet: "AUTH", version }),
    }
}

fn header(packet_type: u8, flags: u8, remaining: usize, buf: &mut BytesMut) -> Result<(), EncodeError> {
    if remaining > MAX_VAR_INT {
        return Err(EncodeError::PacketTooLarge(remaining));
    }
    buf.reserve(5 + remaining);
    buf.put_u8(packet_type << 4 | flags);
    put_var_int(remaining, buf);
    Ok(())
}

/// Bytes a variable byte integer of `value` takes (values are checked
/// against [`MAX_VAR_INT`] where they come from).
fn var_int_len(value: usize) -> usize {
    match value {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

fn put_var_int(mut value: usize, buf: &mut BytesMut) {
    loop {
        // The mask keeps the value below 128, so the cast cannot truncate.
        let mut byte = (value & 0x7F) as u8;
        value >>= 7;
        if value > 0 {
            byte |= 0x80;
        }
        buf.put_u8(byte);
        if value == 0 {
            return;
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

/// A property section measured before anything is written; absent (no
/// bytes at all) outside 5.0.
struct Section<'a, P> {
    set: &'a P,
    present: bool,
    /// The properties' length, without the length prefix.
    len: usize,
}

impl<'a, P: PropertySet> Section<'a, P> {
    /// Measures `set` if `v5`; outside 5.0 the section is absent.
    fn measure(set: &'a P, v5: bool) -> Result<Section<'a, P>, EncodeError> {
        let mut len = 0;
        let mut error = None;
        if v5 {
            set.each(&mut |property| match property_len(&property) {
                Ok(n) => len += n,
                Err(e) => {
                    error.get_or_insert(e);
                }
            });
        }
        match error {
            Some(error) => Err(error),
            None => Ok(Section { set, present: v5, len }),
        }
    }

    /// Whether the section holds no property, so the spec's shortened forms apply.
    fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes the section takes, its length prefix included.
    fn encoded_len(&self) -> usize {
        if self.present { var_int_len(self.len) + self.len } else { 0 }
    }

    fn put(&self, buf: &mut BytesMut) {
        if self.present {
            put_var_int(self.len, buf);
            self.set.each(&mut |property| put_property(&property, buf));
        }
    }
}

/// Bytes one property takes: its one-byte identifier and its value.
fn property_len(property: &Borrowed<'_>) -> Result<usize, EncodeError> {
    use Property::*;
    let value = match property {
        PayloadFormatIndicator(_)
        | RequestProblemInformation(_)
        | RequestResponseInformation(_)
        | MaximumQos(_)
        | RetainAvailable(_)
        | WildcardSubscriptionAvailable(_)
        | SubscriptionIdentifierAvailable(_)
        | SharedSubscriptionAvailable(_) => 1,
        ServerKeepAlive(_) | ReceiveMaximum(_) | TopicAliasMaximum(_) | TopicAlias(_) => 2,
        MessageExpiryInterval(_) | SessionExpiryInterval(_) | WillDelayInterval(_) | MaximumPacketSize(_) => 4,
        SubscriptionIdentifier(value) => match usize::try_from(*value) {
            Ok(value) if value <= MAX_VAR_INT => var_int_len(value),
            _ => return Err(EncodeError::VariableByteIntegerTooLarge(*value)),
        },
        ContentType(s)
        | ResponseTopic(s)
        | AssignedClientIdentifier(s)
        | AuthenticationMethod(s)
        | ResponseInformation(s)
        | ServerReference(s)
        | ReasonString(s) => field_len(s.as_bytes())?,
        CorrelationData(b) | AuthenticationData(b) => field_len(b)?,
        UserProperty(name, value) => field_len(name.as_bytes())? + field_len(value.as_bytes())?,
    };
    Ok(1 + value)
}

/// Writes one property; its length was checked by [`property_len`].
fn put_property(property: &Borrowed<'_>, buf: &mut BytesMut) {
    use Property::*;
    buf.put_u8(property.id());
    match property {
        PayloadFormatIndicator(format) => buf.put_u8(*format as u8),
        MaximumQos(qos) => buf.put_u8(*qos as u8),
        RequestProblemInformation(flag)
        | RequestResponseInformation(flag)
        | RetainAvailable(flag)
        | WildcardSubscriptionAvailable(flag)
        | SubscriptionIdentifierAvailable(flag)
        | SharedSubscriptionAvailable(flag) => buf.put_u8(u8::from(*flag)),
        ServerKeepAlive(value) | ReceiveMaximum(value) | TopicAliasMaximum(value) | TopicAlias(value) => {
            buf.put_u16(*value)
        }
        MessageExpiryInterval(value)
        | SessionExpiryInterval(value)
        | WillDelayInterval(value)
        | MaximumPacketSize(value) => buf.put_u32(*value),
        SubscriptionIdentifier(value) => put_var_int(usize::try_from(*value).unwrap_or(MAX_VAR_INT), buf),
        ContentType(s)
        | ResponseTopic(s)
        | AssignedClientIdentifier(s)
        | AuthenticationMethod(s)
        | ResponseInformation(s)
        | ServerReference(s)
        | ReasonString(s) => put_field(s.as_bytes(), buf),
        CorrelationData(b) | AuthenticationData(b) => put_field(b, buf),
        UserProperty(name, value) => {
            put_field(name.as_bytes(), buf);
            put_field(value.as_bytes(), buf);
        }
    }
}

/// The reason code itself if packets of `packet_type` may carry it.
fn allowed(packet_type: u8, code: ReasonCode) -> Result<u8, EncodeError> {
    if code.allowed_in(packet_type) {
        Ok(code.byte())
    } else {
        Err(EncodeError::ReasonCodeNotAllowed { packet: kind::name(packet_type), code })
    }
}

fn encode_connect(connect: &Connect, buf: &mut BytesMut) -> Result<(), EncodeError> {
    let v5 = connect.protocol.is_v5();
    let (name, level) = connect.protocol.name_and_level();
    let mut len = field_len(name.as_bytes())? + 1 + 1 + 2 + field_len(connect.client_id.as_bytes())?;
    let properties = Section::measure(&connect.properties, v5)?;
    len += properties.encoded_len();
    let mut flags = 0u8;
    if connect.clean_session {
        flags |= 0b0000_0010;
    }
    let will_properties = connect.will.as_ref().map(|will| Section::measure(&will.properties, v5)).transpose()?;
    if let Some(will) = &connect.will {
        flags |= 0b0000_0100 | (will.qos as u8) << 3;
        if will.retain {
            flags |= 0b0010_0000;
        }
        len += field_len(will.topic.as_bytes())? + field_len(&will.payload)?;
        len += will_properties.as_ref().map_or(0, Section::encoded_len);
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
    properties.put(buf);
    put_field(connect.client_id.as_bytes(), buf);
    if let Some(will) = &connect.will {
        if let Some(section) = &will_properties {
            section.put(buf);
        }
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

fn encode_connack(connack: &ConnAck, version: ProtocolVersion, buf: &mut BytesMut) -> Result<(), EncodeError> {
    let session_present = connack.session_present && version != ProtocolVersion::V3_1;
    if !version.is_v5() {
        header(kind::CONNACK, 0, 2, buf)?;
        buf.put_u8(u8::from(session_present));
        buf.put_u8(connack.code.return_code());
        return Ok(());
    }
    let properties = Section::measure(&connack.properties, true)?;
    header(kind::CONNACK, 0, 2 + properties.encoded_len(), buf)?;
    buf.put_u8(u8::from(session_present));
    buf.put_u8(connack.code.reason_code().byte());
    properties.put(buf);
    Ok(())
}

fn encode_publish(publish: &Publish, v5: bool, buf: &mut BytesMut) -> Result<(), EncodeError> {
    let id_len = if publish.qos.packet_id().is_some() { 2 } else { 0 };
    let mut len = field_len(publish.topic.as_bytes())? + id_len + publish.payload.len();
    let properties = Section::measure(&publish.properties, v5)?;
    len += properties.encoded_len();
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
    properties.put(buf);
    buf.put_slice(&publish.payload);
    Ok(())
}

/// PUBACK, PUBREC, PUBREL or PUBCOMP, in 5.0 in the shortest form the spec
/// allows: the packet id alone for Success without properties, the reason
/// code without a property length when there are no properties.
fn encode_ack(packet_type: u8, flags: u8, ack: &PubAck, v5: bool, buf: &mut BytesMut) -> Result<(), EncodeError> {
    if !v5 {
        header(packet_type, flags, 2, buf)?;
        buf.put_u16(ack.packet_id.get());
        return Ok(());
    }
    let code = allowed(packet_type, ack.reason_code)?;
    let properties = Section::measure(&ack.properties, true)?;
    let len = match (ack.reason_code, properties.is_empty()) {
        (ReasonCode::Success, true) => 2,
        (_, true) => 3,
        (_, false) => 3 + properties.encoded_len(),
    };
    header(packet_type, flags, len, buf)?;
    buf.put_u16(ack.packet_id.get());
    if len > 2 {
        buf.put_u8(code);
    }
    if !properties.is_empty() {
        properties.put(buf);
    }
    Ok(())
}

/// The options byte of a SUBSCRIBE entry; 3.1 / 3.1.1 have only the QoS.
fn options_byte(options: &SubscriptionOptions, v5: bool) -> u8 {
    let mut byte = options.qos as u8;
    if v5 {
        byte |= u8::from(options.no_local) << 2;
        byte |= u8::from(options.retain_as_published) << 3;
        byte |= (options.retain_handling as u8) << 4;
    }
    byte
}

fn encode_subscribe(subscribe: &Subscribe, v5: bool, buf: &mut BytesMut) -> Result<(), EncodeError> {
    let mut len = 2;
    let properties = Section::measure(&subscribe.properties, v5)?;
    len += properties.encoded_len();
    for (filter, _) in &subscribe.filters {
        len += field_len(filter.as_bytes())? + 1;
    }
    header(kind::SUBSCRIBE, 0b0010, len, buf)?;
    buf.put_u16(subscribe.packet_id.get());
    properties.put(buf);
    for (filter, options) in &subscribe.filters {
        put_field(filter.as_bytes(), buf);
        buf.put_u8(options_byte(options, v5));
    }
    Ok(())
}

fn encode_suback(suback: &SubAck, v5: bool, buf: &mut BytesMut) -> Result<(), EncodeError> {
    let properties = Section::measure(&suback.properties, v5)?;
    let len = 2 + properties.encoded_len() + suback.return_codes.len();
    if v5 {
        for code in &suback.return_codes {
            if let SubscribeReturnCode::Failure(reason) = code
                && !(reason.is_error() && reason.allowed_in(kind::SUBACK))
            {
                return Err(EncodeError::ReasonCodeNotAllowed { packet: "SUBACK", code: *reason });
            }
        }
    }
    header(kind::SUBACK, 0, len, buf)?;
    buf.put_u16(suback.packet_id.get());
    properties.put(buf);
    for code in &suback.return_codes {
        buf.put_u8(match code {
            SubscribeReturnCode::Granted(qos) => *qos as u8,
            SubscribeReturnCode::Failure(reason) if v5 => reason.byte(),
            SubscribeReturnCode::Failure(_) => 0x80,
        });
    }
    Ok(())
}

fn encode_unsubscribe(unsubscribe: &Unsubscribe, v5: bool, buf: &mut BytesMut) -> Result<(), EncodeError> {
    let mut len = 2;
    let properties = Section::measure(&unsubscribe.properties, v5)?;
    len += properties.encoded_len();
    for filter in &unsubscribe.filters {
        len += field_len(filter.as_bytes())?;
    }
    header(kind::UNSUBSCRIBE, 0b0010, len, buf)?;
    buf.put_u16(unsubscribe.packet_id.get());
    properties.put(buf);
    for filter in &unsubscribe.filters {
        put_field(filter.as_bytes(), buf);
    }
    Ok(())
}

fn encode_unsuback(unsuback: &UnsubAck, v5: bool, buf: &mut BytesMut) -> Result<(), EncodeError> {
    if !v5 {
        header(kind::UNSUBACK, 0, 2, buf)?;
        buf.put_u16(unsuback.packet_id.get());
        return Ok(());
    }
    for code in &unsuback.reason_codes {
        allowed(kind::UNSUBACK, *code)?;
    }
    let properties = Section::measure(&unsuback.properties, true)?;
    header(kind::UNSUBACK, 0, 2 + properties.encoded_len() + unsuback.reason_codes.len(), buf)?;
    buf.put_u16(unsuback.packet_id.get());
    properties.put(buf);
    for code in &unsuback.reason_codes {
        buf.put_u8(code.byte());
    }
    Ok(())
}

/// DISCONNECT: empty in 3.1 / 3.1.1; in 5.0 empty for a normal disconnection
/// without properties, the reason code alone when there are no properties.
fn encode_disconnect(disconnect: &Disconnect, v5: bool, buf: &mut BytesMut) -> Result<(), EncodeError> {
    if !v5 {
        return header(kind::DISCONNECT, 0, 0, buf);
    }
    let code = allowed(kind::DISCONNECT, disconnect.reason_code)?;
    let properties = Section::measure(&disconnect.properties, true)?;
    let len = match (disconnect.reason_code, properties.is_empty()) {
        (ReasonCode::Success, true) => 0,
        (_, true) => 1,
        (_, false) => 1 + properties.encoded_len(),
    };
    header(kind::DISCONNECT, 0, len, buf)?;
    if len > 0 {
        buf.put_u8(code);
    }
    if !properties.is_empty() {
        properties.put(buf);
    }
    Ok(())
}

/// AUTH: empty for Success without properties, otherwise the reason code and
/// the properties (which a peer expects to name the authentication method).
fn encode_auth(auth: &Auth, buf: &mut BytesMut) -> Result<(), EncodeError> {
    let code = allowed(kind::AUTH, auth.reason_code)?;
    let properties = Section::measure(&auth.properties, true)?;
    if auth.reason_code == ReasonCode::Success && properties.is_empty() {
        return header(kind::AUTH, 0, 0, buf);
    }
    header(kind::AUTH, 0, 1 + properties.encoded_len(), buf)?;
    buf.put_u8(code);
    properties.put(buf);
    Ok(())
}
