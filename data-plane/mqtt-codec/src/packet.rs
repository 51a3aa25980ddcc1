//! The MQTT 3.1 / 3.1.1 / 5.0 control packets as Rust values: one model for
//! every version.
//!
//! Plain data: no parsing, no I/O. What only 5.0 has (properties, reason
//! codes, subscription options) sits in fields whose `Default` is what a
//! 3.1.1 packet means, so 3.1.1 code sets none of it and a 3.1.1 encoder
//! leaves it out. Invariants the decoder guarantees (valid UTF-8, non-zero
//! packet ids, valid topic names) are documented per field.

use std::num::NonZeroU16;
use std::sync::Arc;

use bytes::Bytes;

pub use super::properties::{
    AckProperties, AuthProperties, ConnAckProperties, ConnectProperties, DisconnectProperties, PayloadFormat,
    PublishProperties, SubscribeProperties, UnsubscribeProperties, UserProperties, WillProperties,
};
pub use super::reason::ReasonCode;

/// Packet identifier of QoS > 0 publishes and of acknowledgements; never zero.
pub type PacketId = NonZeroU16;

/// The protocol revision a client speaks, fixed by its CONNECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ProtocolVersion {
    /// MQTT 3.1: protocol name `MQIsdp`, level 3.
    V3_1,
    /// MQTT 3.1.1: protocol name `MQTT`, level 4.
    #[default]
    V3_1_1,
    /// MQTT 5.0: protocol name `MQTT`, level 5.
    V5,
}

impl ProtocolVersion {
    /// Every version, oldest first.
    pub const ALL: [ProtocolVersion; 3] = [ProtocolVersion::V3_1, ProtocolVersion::V3_1_1, ProtocolVersion::V5];

    /// The protocol name and level written in CONNECT.
    pub fn name_and_level(self) -> (&'static str, u8) {
        match self {
            ProtocolVersion::V3_1 => ("MQIsdp", 3),
            ProtocolVersion::V3_1_1 => ("MQTT", 4),
            ProtocolVersion::V5 => ("MQTT", 5),
        }
    }

    /// Whether packets carry properties and reason codes (5.0).
    pub fn is_v5(self) -> bool {
        self == ProtocolVersion::V5
    }
}

/// Quality of service of a publish or a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum QoS {
    #[default]
    AtMostOnce = 0,
    AtLeastOnce = 1,
    ExactlyOnce = 2,
}

impl QoS {
    /// The QoS for its two-bit wire value; `None` for 3 (malformed).
    pub fn from_bits(bits: u8) -> Option<QoS> {
        match bits {
            0 => Some(QoS::AtMostOnce),
            1 => Some(QoS::AtLeastOnce),
            2 => Some(QoS::ExactlyOnce),
            _ => None,
        }
    }
}

/// The QoS of a publish together with its packet id, which exists exactly
/// when the QoS is above 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QosPid {
    #[default]
    AtMostOnce,
    AtLeastOnce(PacketId),
    ExactlyOnce(PacketId),
}

impl QosPid {
    pub fn qos(self) -> QoS {
        match self {
            QosPid::AtMostOnce => QoS::AtMostOnce,
            QosPid::AtLeastOnce(_) => QoS::AtLeastOnce,
            QosPid::ExactlyOnce(_) => QoS::ExactlyOnce,
        }
    }

    pub fn packet_id(self) -> Option<PacketId> {
        match self {
            QosPid::AtMostOnce => None,
            QosPid::AtLeastOnce(id) | QosPid::ExactlyOnce(id) => Some(id),
        }
    }
}

/// The message a broker publishes for a client whose connection ends abnormally.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LastWill {
    /// A valid topic name.
    pub topic: Arc<str>,
    pub payload: Bytes,
    pub qos: QoS,
    pub retain: bool,
    /// 5.0 only. Boxed, as are CONNECT's and CONNACK's, so the rare
    /// packets do not make every [`Packet`] as large as they are.
    pub properties: Box<WillProperties>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Connect {
    /// Also decides the form the CONNECT is encoded in.
    pub protocol: ProtocolVersion,
    /// Clean Session in 3.1 / 3.1.1, Clean Start in 5.0 (same bit).
    pub clean_session: bool,
    /// Seconds; 0 turns keep-alive off.
    pub keep_alive: u16,
    /// May be empty (the server then assigns one, if the session is clean).
    pub client_id: String,
    pub will: Option<LastWill>,
    pub username: Option<String>,
    /// Binary in the protocol; 3.1 and 3.1.1 set a password only with a
    /// username, 5.0 allows it alone.
    pub password: Option<Bytes>,
    /// 5.0 only.
    pub properties: Box<ConnectProperties>,
}

/// The code of a CONNACK: the return codes of 3.1 / 3.1.1 (the first six)
/// and the reason codes 5.0 adds. [`ConnectReturnCode::return_code`] maps a
/// 5.0-only code to the nearest 3.1.1 one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ConnectReturnCode {
    /// 0 / 0x00 Success.
    #[default]
    Accepted,
    /// 1 / 0x84 Unsupported Protocol Version.
    UnacceptableProtocolVersion,
    /// 2 / 0x85 Client Identifier not valid.
    IdentifierRejected,
    /// 3 / 0x88 Server unavailable.
    ServerUnavailable,
    /// 4 / 0x86 Bad User Name or Password.
    BadUserNameOrPassword,
    /// 5 / 0x87 Not authorized.
    NotAuthorized,
    UnspecifiedError,
    MalformedPacket,
    ProtocolError,
    ImplementationSpecificError,
    ServerBusy,
    Banned,
    BadAuthenticationMethod,
    TopicNameInvalid,
    PacketTooLarge,
    QuotaExceeded,
    PayloadFormatInvalid,
    RetainNotSupported,
    QoSNotSupported,
    UseAnotherServer,
    ServerMoved,
    ConnectionRateExceeded,
}

impl ConnectReturnCode {
    /// The code for a 3.1 / 3.1.1 return code; `None` above 5.
    pub fn from_return_code(byte: u8) -> Option<ConnectReturnCode> {
        match byte {
            0 => Some(ConnectReturnCode::Accepted),
            1 => Some(ConnectReturnCode::UnacceptableProtocolVersion),
            2 => Some(ConnectReturnCode::IdentifierRejected),
            3 => Some(ConnectReturnCode::ServerUnavailable),
            4 => Some(ConnectReturnCode::BadUserNameOrPassword),
            5 => Some(ConnectReturnCode::NotAuthorized),
            _ => None,
        }
    }

    /// The 3.1 / 3.1.1 return code. 3.1.1 has no equivalent for the codes
    /// 5.0 added; those map to 3 (Server unavailable) when the client may
    /// try again later or elsewhere, to 4 (Bad user name or password) for a
    /// bad authentication method, and to 5 (Not authorized) otherwise.
    pub fn return_code(self) -> u8 {
        use ConnectReturnCode::*;
        match self {
            Accepted => 0,
            UnacceptableProtocolVersion => 1,
            IdentifierRejected => 2,
            ServerUnavailable
            | ServerBusy
            | QuotaExceeded
            | UseAnotherServer
            | ServerMoved
            | ConnectionRateExceeded => 3,
            BadUserNameOrPassword | BadAuthenticationMethod => 4,
            NotAuthorized
            | UnspecifiedError
            | MalformedPacket
            | ProtocolError
            | ImplementationSpecificError
            | Banned
            | TopicNameInvalid
            | PacketTooLarge
            | PayloadFormatInvalid
            | RetainNotSupported
            | QoSNotSupported => 5,
        }
    }

    /// The 5.0 reason code.
    pub fn reason_code(self) -> ReasonCode {
        use ConnectReturnCode::*;
        match self {
            Accepted => ReasonCode::Success,
            UnacceptableProtocolVersion => ReasonCode::UnsupportedProtocolVersion,
            IdentifierRejected => ReasonCode::ClientIdentifierNotValid,
            ServerUnavailable => ReasonCode::ServerUnavailable,
            BadUserNameOrPassword => ReasonCode::BadUserNameOrPassword,
            NotAuthorized => ReasonCode::NotAuthorized,
            UnspecifiedError => ReasonCode::UnspecifiedError,
            MalformedPacket => ReasonCode::MalformedPacket,
            ProtocolError => ReasonCode::ProtocolError,
            ImplementationSpecificError => ReasonCode::ImplementationSpecificError,
            ServerBusy => ReasonCode::ServerBusy,
            Banned => ReasonCode::Banned,
            BadAuthenticationMethod => ReasonCode::BadAuthenticationMethod,
            TopicNameInvalid => ReasonCode::TopicNameInvalid,
            PacketTooLarge => ReasonCode::PacketTooLarge,
            QuotaExceeded => ReasonCode::QuotaExceeded,
            PayloadFormatInvalid => ReasonCode::PayloadFormatInvalid,
            RetainNotSupported => ReasonCode::RetainNotSupported,
            QoSNotSupported => ReasonCode::QoSNotSupported,
            UseAnotherServer => ReasonCode::UseAnotherServer,
            ServerMoved => ReasonCode::ServerMoved,
            ConnectionRateExceeded => ReasonCode::ConnectionRateExceeded,
        }
    }

    /// The CONNACK code for a 5.0 reason code; `None` for one CONNACK
    /// cannot carry (§3.2.2.2).
    pub fn from_reason_code(code: ReasonCode) -> Option<ConnectReturnCode> {
        use ConnectReturnCode::*;
        let all = [
            Accepted,
            UnacceptableProtocolVersion,
            IdentifierRejected,
            ServerUnavailable,
            BadUserNameOrPassword,
            NotAuthorized,
            UnspecifiedError,
            MalformedPacket,
            ProtocolError,
            ImplementationSpecificError,
            ServerBusy,
            Banned,
            BadAuthenticationMethod,
            TopicNameInvalid,
            PacketTooLarge,
            QuotaExceeded,
            PayloadFormatInvalid,
            RetainNotSupported,
            QoSNotSupported,
            UseAnotherServer,
            ServerMoved,
            ConnectionRateExceeded,
        ];
        all.into_iter().find(|candidate| candidate.reason_code() == code)
    }
}

impl From<ConnectReturnCode> for ReasonCode {
    fn from(code: ConnectReturnCode) -> ReasonCode {
        code.reason_code()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnAck {
    /// Always false for MQTT 3.1, which has no such flag.
    pub session_present: bool,
    pub code: ConnectReturnCode,
    /// 5.0 only.
    pub properties: Box<ConnAckProperties>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Publish {
    pub dup: bool,
    pub qos: QosPid,
    pub retain: bool,
    /// A valid topic name (no wildcards); in 5.0 it may be empty when
    /// `properties.topic_alias` is set, and the session resolves the alias.
    pub topic: Arc<str>,
    pub payload: Bytes,
    /// 5.0 only.
    pub properties: PublishProperties,
}

/// PUBACK, PUBREC, PUBREL or PUBCOMP: the same shape, each with its own
/// reason codes (§3.4.2.1, §3.5.2.1, §3.6.2.1, §3.7.2.1), which the decoder
/// checks and the encoder refuses to break.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PubAck {
    pub packet_id: PacketId,
    /// 5.0 only; Success in 3.1 / 3.1.1.
    pub reason_code: ReasonCode,
    /// 5.0 only.
    pub properties: AckProperties,
}

/// PUBREC has the shape of PUBACK.
pub type PubRec = PubAck;
/// PUBREL has the shape of PUBACK.
pub type PubRel = PubAck;
/// PUBCOMP has the shape of PUBACK.
pub type PubComp = PubAck;

impl PubAck {
    /// A successful acknowledgement of `packet_id`, as 3.1.1 knows it.
    pub fn new(packet_id: PacketId) -> PubAck {
        PubAck { packet_id, reason_code: ReasonCode::Success, properties: AckProperties::default() }
    }
}

/// How a retained message is sent when a subscription is made (5.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RetainHandling {
    /// 0: send retained messages at the time of the subscribe.
    #[default]
    SendAtSubscribe = 0,
    /// 1: send them only if the subscription did not exist.
    SendAtSubscribeIfNew = 1,
    /// 2: do not send them.
    DoNotSend = 2,
}

/// The options byte of one SUBSCRIBE entry. 3.1 / 3.1.1 have only the QoS;
/// the rest is 5.0 and its defaults are what 3.1.1 does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SubscriptionOptions {
    /// The maximum QoS the subscriber wants.
    pub qos: QoS,
    /// Do not forward the subscriber's own publishes to it.
    pub no_local: bool,
    /// Forward with the RETAIN flag as published, not cleared.
    pub retain_as_published: bool,
    pub retain_handling: RetainHandling,
}

impl From<QoS> for SubscriptionOptions {
    fn from(qos: QoS) -> SubscriptionOptions {
        SubscriptionOptions { qos, ..SubscriptionOptions::default() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribe {
    pub packet_id: PacketId,
    /// At least one; each filter is valid.
    pub filters: Vec<(String, SubscriptionOptions)>,
    /// 5.0 only.
    pub properties: SubscribeProperties,
}

impl Subscribe {
    pub fn new(packet_id: PacketId, filters: Vec<(String, SubscriptionOptions)>) -> Subscribe {
        Subscribe { packet_id, filters, properties: SubscribeProperties::default() }
    }
}

/// One entry of SUBACK: the QoS granted, or a refusal. A 3.1 / 3.1.1
/// encoder writes every refusal as 0x80.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscribeReturnCode {
    Granted(QoS),
    /// A SUBACK reason code of 0x80 or above; 3.1.1's 0x80 decodes as
    /// `Failure(ReasonCode::UnspecifiedError)`.
    Failure(ReasonCode),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubAck {
    pub packet_id: PacketId,
    pub return_codes: Vec<SubscribeReturnCode>,
    /// 5.0 only.
    pub properties: AckProperties,
}

impl SubAck {
    pub fn new(packet_id: PacketId, return_codes: Vec<SubscribeReturnCode>) -> SubAck {
        SubAck { packet_id, return_codes, properties: AckProperties::default() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe {
    pub packet_id: PacketId,
    /// At least one; each filter is valid.
    pub filters: Vec<String>,
    /// 5.0 only.
    pub properties: UnsubscribeProperties,
}

impl Unsubscribe {
    pub fn new(packet_id: PacketId, filters: Vec<String>) -> Unsubscribe {
        Unsubscribe { packet_id, filters, properties: UnsubscribeProperties::default() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsubAck {
    pub packet_id: PacketId,
    /// 5.0 only: one per filter of the UNSUBSCRIBE; empty in 3.1 / 3.1.1.
    pub reason_codes: Vec<ReasonCode>,
    /// 5.0 only.
    pub properties: AckProperties,
}

impl UnsubAck {
    /// The acknowledgement 3.1.1 knows: no reason codes.
    pub fn new(packet_id: PacketId) -> UnsubAck {
        UnsubAck { packet_id, reason_codes: Vec::new(), properties: AckProperties::default() }
    }
}

/// DISCONNECT. In 3.1 / 3.1.1 it carries nothing: the default, a normal
/// disconnection.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Disconnect {
    /// 5.0 only.
    pub reason_code: ReasonCode,
    /// 5.0 only.
    pub properties: DisconnectProperties,
}

/// AUTH (5.0 only): a step of enhanced authentication.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Auth {
    pub reason_code: ReasonCode,
    /// Decoded with an authentication method unless the AUTH was the bare
    /// two-byte success form.
    pub properties: AuthProperties,
}

/// Every MQTT 3.1 / 3.1.1 / 5.0 control packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    Connect(Connect),
    ConnAck(ConnAck),
    Publish(Publish),
    PubAck(PubAck),
    PubRec(PubRec),
    PubRel(PubRel),
    PubComp(PubComp),
    Subscribe(Subscribe),
    SubAck(SubAck),
    Unsubscribe(Unsubscribe),
    UnsubAck(UnsubAck),
    PingReq,
    PingResp,
    Disconnect(Disconnect),
    /// 5.0 only.
    Auth(Auth),
}

impl Packet {
    /// The packet's name, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Packet::Connect(_) => "CONNECT",
            Packet::ConnAck(_) => "CONNACK",
            Packet::Publish(_) => "PUBLISH",
            Packet::PubAck(_) => "PUBACK",
            Packet::PubRec(_) => "PUBREC",
            Packet::PubRel(_) => "PUBREL",
            Packet::PubComp(_) => "PUBCOMP",
            Packet::Subscribe(_) => "SUBSCRIBE",
            Packet::SubAck(_) => "SUBACK",
            Packet::Unsubscribe(_) => "UNSUBSCRIBE",
            Packet::UnsubAck(_) => "UNSUBACK",
            Packet::PingReq => "PINGREQ",
            Packet::PingResp => "PINGRESP",
            Packet::Disconnect(_) => "DISCONNECT",
            Packet::Auth(_) => "AUTH",
        }
    }

    /// Drops the Reason String and User Properties of a packet whose 5.0
    /// form may carry them outside PUBLISH; returns whether there were any.
    /// They are what a sender must leave out rather than exceed the peer's
    /// Maximum Packet Size (MQTT-3.2.2-19/20, 3.4.2-2/3 and the like).
    pub fn strip_diagnostics(&mut self) -> bool {
        fn strip(reason_string: &mut Option<String>, user_properties: &mut UserProperties) -> bool {
            let had = reason_string.is_some() || !user_properties.is_empty();
            *reason_string = None;
            user_properties.clear();
            had
        }
        match self {
            Packet::ConnAck(c) => strip(&mut c.properties.reason_string, &mut c.properties.user_properties),
            Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) => {
                strip(&mut a.properties.reason_string, &mut a.properties.user_properties)
            }
            Packet::SubAck(a) => strip(&mut a.properties.reason_string, &mut a.properties.user_properties),
            Packet::UnsubAck(a) => strip(&mut a.properties.reason_string, &mut a.properties.user_properties),
            Packet::Disconnect(d) => strip(&mut d.properties.reason_string, &mut d.properties.user_properties),
            Packet::Auth(a) => strip(&mut a.properties.reason_string, &mut a.properties.user_properties),
            Packet::Connect(_)
            | Packet::Publish(_)
            | Packet::Subscribe(_)
            | Packet::Unsubscribe(_)
            | Packet::PingReq
            | Packet::PingResp => false,
        }
    }
}

/// Fixed-header packet type numbers.
pub(super) mod kind {
    pub const CONNECT: u8 = 1;
    pub const CONNACK: u8 = 2;
    pub const PUBLISH: u8 = 3;
    pub const PUBACK: u8 = 4;
    pub const PUBREC: u8 = 5;
    pub const PUBREL: u8 = 6;
    pub const PUBCOMP: u8 = 7;
    pub const SUBSCRIBE: u8 = 8;
    pub const SUBACK: u8 = 9;
    pub const UNSUBSCRIBE: u8 = 10;
    pub const UNSUBACK: u8 = 11;
    pub const PINGREQ: u8 = 12;
    pub const PINGRESP: u8 = 13;
    pub const DISCONNECT: u8 = 14;
    /// 5.0 only; reserved in 3.1 / 3.1.1.
    pub const AUTH: u8 = 15;

    /// The packet's name for a type number, for errors.
    pub fn name(packet_type: u8) -> &'static str {
        match packet_type {
            CONNECT => "CONNECT",
            CONNACK => "CONNACK",
            PUBLISH => "PUBLISH",
            PUBACK => "PUBACK",
            PUBREC => "PUBREC",
            PUBREL => "PUBREL",
            PUBCOMP => "PUBCOMP",
            SUBSCRIBE => "SUBSCRIBE",
            SUBACK => "SUBACK",
            UNSUBSCRIBE => "UNSUBSCRIBE",
            UNSUBACK => "UNSUBACK",
            PINGREQ => "PINGREQ",
            PINGRESP => "PINGRESP",
            DISCONNECT => "DISCONNECT",
            AUTH => "AUTH",
            _ => "reserved",
        }
    }
}
