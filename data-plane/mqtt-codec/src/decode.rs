//! Bytes → [`Packet`]: framing by remaining length, then one parser per packet
//! type, in the form of the connection's protocol version (CONNECT brings its
//! own). Validates everything the spec calls malformed or a protocol error
//! that the packet alone shows; never panics on input, and allocates no more
//! than the packet's declared length, which is checked against the limit first.

use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};

use super::packet::{
    Auth, ConnAck, Connect, ConnectReturnCode, Disconnect, LastWill, Packet, PacketId, ProtocolVersion, PubAck,
    Publish, QoS, QosPid, ReasonCode, RetainHandling, SubAck, Subscribe, SubscribeReturnCode, SubscriptionOptions,
    UnsubAck, Unsubscribe, kind,
};
use super::properties::{
    ConnectProperties, Inconsistent, Owned, PayloadFormat, Property, PropertySet, PublishProperties, Refusal, id,
};
use crate::topic::{self, TopicError};

/// Why bytes are not a valid packet. Every variant closes the connection;
/// [`DecodeError::reason_code`] says which 5.0 reason code reports it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("remaining length is longer than four bytes")]
    MalformedRemainingLength,
    #[error("variable byte integer is longer than four bytes")]
    MalformedVariableByteInteger,
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
    #[error("PUBLISH with an empty topic name and no topic alias")]
    EmptyTopicWithoutAlias,
    #[error("SUBSCRIBE or UNSUBSCRIBE without a topic filter")]
    NoTopicFilter,
    #[error("reserved bits set in the subscription options")]
    ReservedSubscribeBits,
    #[error("subscription with maximum QoS 3")]
    InvalidMaximumQoS,
    #[error("subscription with retain handling 3")]
    InvalidRetainHandling,
    #[error("no local set on a shared subscription")]
    NoLocalOnSharedSubscription,
    #[error("invalid CONNACK")]
    InvalidConnAck,
    #[error("CONNACK refuses the connection yet says a session is present")]
    SessionPresentOnRefusal,
    #[error("invalid SUBACK return code {0:#04x}")]
    InvalidSubAckCode(u8),
    #[error("reason code {code:#04x} is not valid in packet type {packet_type}")]
    InvalidReasonCode { packet_type: u8, code: u8 },
    #[error("unknown property identifier {0:#04x}")]
    UnknownProperty(u32),
    #[error("property {property:#04x} is not allowed in {packet}")]
    PropertyNotAllowed { property: u8, packet: &'static str },
    #[error("property {property:#04x} given twice in {packet}")]
    DuplicateProperty { property: u8, packet: &'static str },
    #[error("invalid value for property {0:#04x}")]
    InvalidPropertyValue(u8),
    #[error("authentication data without an authentication method")]
    AuthenticationDataWithoutMethod,
    #[error("AUTH without an authentication method")]
    MissingAuthenticationMethod,
}

impl DecodeError {
    /// The 5.0 reason code a CONNACK or DISCONNECT reports this error with:
    /// 0x81 Malformed Packet when the bytes cannot be parsed, 0x82 Protocol
    /// Error when they parse but the spec forbids what they say, 0x84 for an
    /// unknown protocol level, 0x95 for a packet over the limit, 0x94 for
    /// Topic Alias 0 (§3.3.4). A 3.1 / 3.1.1 connection just closes, except
    /// for [`DecodeError::UnsupportedProtocolLevel`] (CONNACK return code 1).
    pub fn reason_code(&self) -> ReasonCode {
        use DecodeError::*;
        match self {
            PacketTooLarge { .. } => ReasonCode::PacketTooLarge,
            UnsupportedProtocolLevel(_) => ReasonCode::UnsupportedProtocolVersion,
            InvalidPropertyValue(id::TOPIC_ALIAS) => ReasonCode::TopicAliasInvalid,
            EmptyTopicWithoutAlias
            | NoTopicFilter
            | InvalidMaximumQoS
            | InvalidRetainHandling
            | NoLocalOnSharedSubscription
            | SessionPresentOnRefusal
            | DuplicateProperty { .. }
            | InvalidPropertyValue(_)
            | AuthenticationDataWithoutMethod
            | MissingAuthenticationMethod => ReasonCode::ProtocolError,
            MalformedRemainingLength
            | MalformedVariableByteInteger
            | ReservedPacketType(_)
            | InvalidFlags { .. }
            | Truncated
            | TrailingBytes(_)
            | InvalidUtf8
            | NullCharacter
            | InvalidProtocolName(_)
            | ReservedConnectFlag
            | WillFlagsWithoutWill
            | PasswordWithoutUsername
            | InvalidQoS
            | DupOnQos0
            | ZeroPacketId
            | InvalidTopic(_)
            | ReservedSubscribeBits
            | InvalidConnAck
            | InvalidSubAckCode(_)
            | InvalidReasonCode { .. }
            | UnknownProperty(_)
            | PropertyNotAllowed { .. } => ReasonCode::MalformedPacket,
        }
    }
}

/// Remaining length is a base-128 varint of at most four bytes.
const MAX_REMAINING_LENGTH_BYTES: usize = 4;

/// Decodes one packet from the front of `buf`, consuming it, in the form of
/// `version` (a CONNECT is read in the form its own level names). Returns
/// `Ok(None)` and consumes nothing while the packet is incomplete.
pub fn decode(
    buf: &mut BytesMut,
    version: ProtocolVersion,
    max_packet_size: u32,
) -> Result<Option<Packet>, DecodeError> {
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
    parse(first >> 4, first & 0x0F, Body(body), version).map(Some)
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

fn parse(packet_type: u8, flags: u8, mut body: Body, version: ProtocolVersion) -> Result<Packet, DecodeError> {
    let expect_flags = |expected: u8| {
        if flags == expected { Ok(()) } else { Err(DecodeError::InvalidFlags { packet_type, flags }) }
    };
    let v5 = version.is_v5();
    let packet = match packet_type {
        kind::CONNECT => {
            expect_flags(0)?;
            Packet::Connect(connect(&mut body)?)
        }
        kind::CONNACK => {
            expect_flags(0)?;
            Packet::ConnAck(connack(&mut body, version)?)
        }
        kind::PUBLISH => return publish(flags, body, v5),
        kind::PUBACK => {
            expect_flags(0)?;
            Packet::PubAck(ack(kind::PUBACK, &mut body, v5)?)
        }
        kind::PUBREC => {
            expect_flags(0)?;
            Packet::PubRec(ack(kind::PUBREC, &mut body, v5)?)
        }
        kind::PUBREL => {
            expect_flags(0b0010)?;
            Packet::PubRel(ack(kind::PUBREL, &mut body, v5)?)
        }
        kind::PUBCOMP => {
            expect_flags(0)?;
            Packet::PubComp(ack(kind::PUBCOMP, &mut body, v5)?)
        }
        kind::SUBSCRIBE => {
            expect_flags(0b0010)?;
            Packet::Subscribe(subscribe(&mut body, v5)?)
        }
        kind::SUBACK => {
            expect_flags(0)?;
            Packet::SubAck(suback(&mut body, v5)?)
        }
        kind::UNSUBSCRIBE => {
            expect_flags(0b0010)?;
            Packet::Unsubscribe(unsubscribe(&mut body, v5)?)
        }
        kind::UNSUBACK => {
            expect_flags(0)?;
            Packet::UnsubAck(unsuback(&mut body, v5)?)
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
            Packet::Disconnect(disconnect(&mut body, v5)?)
        }
        kind::AUTH if v5 => {
            expect_flags(0)?;
            Packet::Auth(auth(&mut body)?)
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
        ("MQTT", 5) => ProtocolVersion::V5,
        ("MQTT" | "MQIsdp", other) => return Err(DecodeError::UnsupportedProtocolLevel(other)),
        _ => return Err(DecodeError::InvalidProtocolName(name)),
    };
    let v5 = protocol.is_v5();
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
    // 5.0 allows a password without a user name (§3.1.2.9).
    if password_flag && !username_flag && !v5 {
        return Err(DecodeError::PasswordWithoutUsername);
    }
    let keep_alive = body.u16()?;
    let properties: Box<ConnectProperties> = if v5 { read_properties(body, "CONNECT")? } else { Default::default() };
    let client_id = body.string()?;
    let will = if will_flag {
        let properties = if v5 { read_properties(body, "the will")? } else { Default::default() };
        let topic = body.string()?;
        topic::validate_name(&topic).map_err(DecodeError::InvalidTopic)?;
        Some(LastWill {
            topic: Arc::from(topic),
            payload: body.binary()?,
            qos: will_qos,
            retain: will_retain,
            properties,
        })
    } else {
        None
    };
    let username = username_flag.then(|| body.string()).transpose()?;
    let password = password_flag.then(|| body.binary()).transpose()?;
    Ok(Connect { protocol, clean_session, keep_alive, client_id, will, username, password, properties })
}

fn connack(body: &mut Body, version: ProtocolVersion) -> Result<ConnAck, DecodeError> {
    let flags = body.u8()?;
    // In 3.1 the whole byte is reserved and has no session-present flag.
    let session_present = match version {
        ProtocolVersion::V3_1 => false,
        _ if flags & 0b1111_1110 != 0 => return Err(DecodeError::InvalidConnAck),
        _ => flags & 1 != 0,
    };
    let byte = body.u8()?;
    let code = if version.is_v5() {
        ReasonCode::from_byte(byte)
            .and_then(ConnectReturnCode::from_reason_code)
            .ok_or(DecodeError::InvalidReasonCode { packet_type: kind::CONNACK, code: byte })?
    } else {
        ConnectReturnCode::from_return_code(byte).ok_or(DecodeError::InvalidConnAck)?
    };
    // [MQTT-3.2.2-4] in 3.1.1, [MQTT-3.2.2-6] in 5.0.
    if session_present && code != ConnectReturnCode::Accepted {
        return Err(DecodeError::SessionPresentOnRefusal);
    }
    let properties = if version.is_v5() { read_properties(body, "CONNACK")? } else { Default::default() };
    Ok(ConnAck { session_present, code, properties })
}

fn publish(flags: u8, mut body: Body, v5: bool) -> Result<Packet, DecodeError> {
    let dup = flags & 0b1000 != 0;
    let retain = flags & 0b0001 != 0;
    let qos = QoS::from_bits((flags >> 1) & 0b11).ok_or(DecodeError::InvalidQoS)?;
    let topic = body.string()?;
    // 5.0 allows an empty topic name with a Topic Alias, checked below.
    if !(v5 && topic.is_empty()) {
        topic::validate_name(&topic).map_err(DecodeError::InvalidTopic)?;
    }
    let qos = match qos {
        QoS::AtMostOnce if dup => return Err(DecodeError::DupOnQos0),
        QoS::AtMostOnce => QosPid::AtMostOnce,
        QoS::AtLeastOnce => QosPid::AtLeastOnce(body.packet_id()?),
        QoS::ExactlyOnce => QosPid::ExactlyOnce(body.packet_id()?),
    };
    let properties: PublishProperties = if v5 { read_properties(&mut body, "PUBLISH")? } else { Default::default() };
    if topic.is_empty() && properties.topic_alias.is_none() {
        return Err(DecodeError::EmptyTopicWithoutAlias);
    }
    Ok(Packet::Publish(Publish { dup, qos, retain, topic: Arc::from(topic), payload: body.0, properties }))
}

/// PUBACK, PUBREC, PUBREL or PUBCOMP. 5.0 may leave out the properties, and
/// the reason code with them when it is Success (§3.4.2.1).
fn ack(packet_type: u8, body: &mut Body, v5: bool) -> Result<PubAck, DecodeError> {
    let packet_id = body.packet_id()?;
    if !v5 || !body.has_remaining() {
        return Ok(PubAck::new(packet_id));
    }
    let reason_code = body.reason_code(packet_type)?;
    let properties =
        if body.has_remaining() { read_properties(body, kind::name(packet_type))? } else { Default::default() };
    Ok(PubAck { packet_id, reason_code, properties })
}

fn subscribe(body: &mut Body, v5: bool) -> Result<Subscribe, DecodeError> {
    let packet_id = body.packet_id()?;
    let properties = if v5 { read_properties(body, "SUBSCRIBE")? } else { Default::default() };
    let mut filters = Vec::new();
    while body.has_remaining() {
        let filter = body.string()?;
        topic::validate_filter(&filter).map_err(DecodeError::InvalidTopic)?;
        let options = body.u8()?;
        let options = if v5 { options_v5(options, &filter)? } else { options_v3(options)? };
        filters.push((filter, options));
    }
    if filters.is_empty() {
        return Err(DecodeError::NoTopicFilter);
    }
    Ok(Subscribe { packet_id, filters, properties })
}

/// The requested-QoS byte of 3.1 / 3.1.1.
fn options_v3(byte: u8) -> Result<SubscriptionOptions, DecodeError> {
    if byte & 0b1111_1100 != 0 {
        return Err(DecodeError::ReservedSubscribeBits);
    }
    Ok(QoS::from_bits(byte).ok_or(DecodeError::InvalidQoS)?.into())
}

/// The subscription options byte of 5.0 (§3.8.3.1).
fn options_v5(byte: u8, filter: &str) -> Result<SubscriptionOptions, DecodeError> {
    if byte & 0b1100_0000 != 0 {
        return Err(DecodeError::ReservedSubscribeBits);
    }
    let qos = QoS::from_bits(byte & 0b11).ok_or(DecodeError::InvalidMaximumQoS)?;
    let no_local = byte & 0b0100 != 0;
    let retain_as_published = byte & 0b1000 != 0;
    let retain_handling = match (byte >> 4) & 0b11 {
        0 => RetainHandling::SendAtSubscribe,
        1 => RetainHandling::SendAtSubscribeIfNew,
        2 => RetainHandling::DoNotSend,
        _ => return Err(DecodeError::InvalidRetainHandling),
    };
    if no_local && filter.starts_with("$share/") {
        return Err(DecodeError::NoLocalOnSharedSubscription);
    }
    Ok(SubscriptionOptions { qos, no_local, retain_as_published, retain_handling })
}

fn suback(body: &mut Body, v5: bool) -> Result<SubAck, DecodeError> {
    let packet_id = body.packet_id()?;
    let properties = if v5 { read_properties(body, "SUBACK")? } else { Default::default() };
    let mut return_codes = Vec::new();
    while body.has_remaining() {
        let code = if v5 {
            let code = body.reason_code(kind::SUBACK)?;
            match QoS::from_bits(code.byte()) {
                Some(qos) => SubscribeReturnCode::Granted(qos),
                None => SubscribeReturnCode::Failure(code),
            }
        } else {
            match body.u8()? {
                0x80 => SubscribeReturnCode::Failure(ReasonCode::UnspecifiedError),
                byte => QoS::from_bits(byte)
                    .map(SubscribeReturnCode::Granted)
                    .ok_or(DecodeError::InvalidSubAckCode(byte))?,
            }
        };
        return_codes.push(code);
    }
    Ok(SubAck { packet_id, return_codes, properties })
}

fn unsubscribe(body: &mut Body, v5: bool) -> Result<Unsubscribe, DecodeError> {
    let packet_id = body.packet_id()?;
    let properties = if v5 { read_properties(body, "UNSUBSCRIBE")? } else { Default::default() };
    let mut filters = Vec::new();
    while body.has_remaining() {
        let filter = body.string()?;
        topic::validate_filter(&filter).map_err(DecodeError::InvalidTopic)?;
        filters.push(filter);
    }
    if filters.is_empty() {
        return Err(DecodeError::NoTopicFilter);
    }
    Ok(Unsubscribe { packet_id, filters, properties })
}

fn unsuback(body: &mut Body, v5: bool) -> Result<UnsubAck, DecodeError> {
    let packet_id = body.packet_id()?;
    if !v5 {
        return Ok(UnsubAck::new(packet_id));
    }
    let properties = read_properties(body, "UNSUBACK")?;
    let mut reason_codes = Vec::new();
    while body.has_remaining() {
        reason_codes.push(body.reason_code(kind::UNSUBACK)?);
    }
    Ok(UnsubAck { packet_id, reason_codes, properties })
}

/// DISCONNECT: empty in 3.1 / 3.1.1; in 5.0 an empty one is a normal
/// disconnection and the properties may be left out (§3.14.2.1).
fn disconnect(body: &mut Body, v5: bool) -> Result<Disconnect, DecodeError> {
    if !v5 || !body.has_remaining() {
        return Ok(Disconnect::default());
    }
    let reason_code = body.reason_code(kind::DISCONNECT)?;
    let properties = if body.has_remaining() { read_properties(body, "DISCONNECT")? } else { Default::default() };
    Ok(Disconnect { reason_code, properties })
}

/// AUTH: empty means Success without properties (§3.15.2.1); otherwise the
/// reason code and the properties, which name the authentication method.
fn auth(body: &mut Body) -> Result<Auth, DecodeError> {
    if !body.has_remaining() {
        return Ok(Auth::default());
    }
    let reason_code = body.reason_code(kind::AUTH)?;
    let properties = read_properties(body, "AUTH")?;
    Ok(Auth { reason_code, properties })
}

/// A property section: its length, then properties until that length is used up.
fn read_properties<P: PropertySet>(body: &mut Body, packet: &'static str) -> Result<P, DecodeError> {
    let len = body.var_int()?;
    let mut section = body.take(len as usize)?;
    let mut set = P::default();
    while section.has_remaining() {
        let property = property(&mut section)?;
        let id = property.id();
        set.take(property).map_err(|refusal| match refusal {
            Refusal::NotAllowed => DecodeError::PropertyNotAllowed { property: id, packet },
            Refusal::Duplicate => DecodeError::DuplicateProperty { property: id, packet },
        })?;
    }
    set.check().map_err(|inconsistent| match inconsistent {
        Inconsistent::DataWithoutMethod => DecodeError::AuthenticationDataWithoutMethod,
        Inconsistent::NoMethod => DecodeError::MissingAuthenticationMethod,
    })?;
    Ok(set)
}

/// One property: its identifier, then a value of the identifier's type
/// (§2.2.2.2), checked against the values the spec allows for it.
fn property(body: &mut Body) -> Result<Owned, DecodeError> {
    let identifier = body.var_int()?;
    let Ok(identifier) = u8::try_from(identifier) else {
        return Err(DecodeError::UnknownProperty(identifier));
    };
    let invalid = DecodeError::InvalidPropertyValue(identifier);
    let flag = |body: &mut Body| match body.u8()? {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(invalid.clone()),
    };
    let non_zero_u16 = |body: &mut Body| match body.u16()? {
        0 => Err(invalid.clone()),
        value => Ok(value),
    };
    let property = match identifier {
        id::PAYLOAD_FORMAT_INDICATOR => Property::PayloadFormatIndicator(match body.u8()? {
            0 => PayloadFormat::Unspecified,
            1 => PayloadFormat::Utf8,
            _ => return Err(invalid),
        }),
        id::MESSAGE_EXPIRY_INTERVAL => Property::MessageExpiryInterval(body.u32()?),
        id::CONTENT_TYPE => Property::ContentType(body.string()?),
        id::RESPONSE_TOPIC => {
            let topic = body.string()?;
            if topic::validate_name(&topic).is_err() {
                return Err(invalid);
            }
            Property::ResponseTopic(topic)
        }
        id::CORRELATION_DATA => Property::CorrelationData(body.binary()?),
        id::SUBSCRIPTION_IDENTIFIER => match body.var_int()? {
            0 => return Err(invalid),
            value => Property::SubscriptionIdentifier(value),
        },
        id::SESSION_EXPIRY_INTERVAL => Property::SessionExpiryInterval(body.u32()?),
        id::ASSIGNED_CLIENT_IDENTIFIER => Property::AssignedClientIdentifier(body.string()?),
        id::SERVER_KEEP_ALIVE => Property::ServerKeepAlive(body.u16()?),
        id::AUTHENTICATION_METHOD => Property::AuthenticationMethod(body.string()?),
        id::AUTHENTICATION_DATA => Property::AuthenticationData(body.binary()?),
        id::REQUEST_PROBLEM_INFORMATION => Property::RequestProblemInformation(flag(body)?),
        id::WILL_DELAY_INTERVAL => Property::WillDelayInterval(body.u32()?),
        id::REQUEST_RESPONSE_INFORMATION => Property::RequestResponseInformation(flag(body)?),
        id::RESPONSE_INFORMATION => Property::ResponseInformation(body.string()?),
        id::SERVER_REFERENCE => Property::ServerReference(body.string()?),
        id::REASON_STRING => Property::ReasonString(body.string()?),
        id::RECEIVE_MAXIMUM => Property::ReceiveMaximum(non_zero_u16(body)?),
        id::TOPIC_ALIAS_MAXIMUM => Property::TopicAliasMaximum(body.u16()?),
        id::TOPIC_ALIAS => Property::TopicAlias(non_zero_u16(body)?),
        id::MAXIMUM_QOS => Property::MaximumQos(match body.u8()? {
            0 => QoS::AtMostOnce,
            1 => QoS::AtLeastOnce,
            _ => return Err(invalid),
        }),
        id::RETAIN_AVAILABLE => Property::RetainAvailable(flag(body)?),
        id::USER_PROPERTY => Property::UserProperty(body.string()?, body.string()?),
        id::MAXIMUM_PACKET_SIZE => match body.u32()? {
            0 => return Err(invalid),
            value => Property::MaximumPacketSize(value),
        },
        id::WILDCARD_SUBSCRIPTION_AVAILABLE => Property::WildcardSubscriptionAvailable(flag(body)?),
        id::SUBSCRIPTION_IDENTIFIER_AVAILABLE => Property::SubscriptionIdentifierAvailable(flag(body)?),
        id::SHARED_SUBSCRIPTION_AVAILABLE => Property::SharedSubscriptionAvailable(flag(body)?),
        other => return Err(DecodeError::UnknownProperty(other.into())),
    };
    Ok(property)
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

    fn u32(&mut self) -> Result<u32, DecodeError> {
        self.0.try_get_u32().map_err(|_| DecodeError::Truncated)
    }

    /// A variable byte integer (§1.5.5): at most four bytes, so below 2^28.
    fn var_int(&mut self) -> Result<u32, DecodeError> {
        let mut value = 0u32;
        for i in 0..4 {
            let byte = self.u8()?;
            value |= u32::from(byte & 0x7F) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::MalformedVariableByteInteger)
    }

    fn packet_id(&mut self) -> Result<PacketId, DecodeError> {
        PacketId::new(self.u16()?).ok_or(DecodeError::ZeroPacketId)
    }

    /// A 5.0 reason code that packets of `packet_type` may carry.
    fn reason_code(&mut self, packet_type: u8) -> Result<ReasonCode, DecodeError> {
        let code = self.u8()?;
        ReasonCode::from_byte(code)
            .filter(|reason| reason.allowed_in(packet_type))
            .ok_or(DecodeError::InvalidReasonCode { packet_type, code })
    }

    /// The next `len` bytes as a body of their own.
    fn take(&mut self, len: usize) -> Result<Body, DecodeError> {
        if self.0.len() < len {
            return Err(DecodeError::Truncated);
        }
        Ok(Body(self.0.split_to(len)))
    }

    fn binary(&mut self) -> Result<Bytes, DecodeError> {
        let len = usize::from(self.u16()?);
        Ok(self.take(len)?.0)
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
