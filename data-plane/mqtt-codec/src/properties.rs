//! MQTT 5.0 properties (§2.2.2): one struct per packet kind, and the table
//! of which property each may carry.
//!
//! [`Property`] is one identifier with its typed value (§2.2.2.2); the
//! decoder reads one from bytes, the encoder writes one. Each struct's
//! [`PropertySet`] impl is the only place that says which properties belong
//! to it, so decoding refuses the others and encoding cannot write them.
//! Every field is `None` / empty by default, which is also all a 3.1 / 3.1.1
//! packet has. No bytes are read or written here.

use bytes::Bytes;

use super::packet::QoS;

/// User properties: name/value pairs, repeatable, in the order sent.
pub type UserProperties = Vec<(String, String)>;

/// The Payload Format Indicator: whether the payload claims to be UTF-8.
/// The codec does not check the payload against it; the receiver may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayloadFormat {
    /// 0: unspecified bytes.
    Unspecified = 0,
    /// 1: UTF-8 encoded character data.
    Utf8 = 1,
}

/// CONNECT properties (§3.1.2.11).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectProperties {
    /// Seconds.
    pub session_expiry_interval: Option<u32>,
    /// Never 0.
    pub receive_maximum: Option<u16>,
    /// Never 0.
    pub maximum_packet_size: Option<u32>,
    pub topic_alias_maximum: Option<u16>,
    pub request_response_information: Option<bool>,
    pub request_problem_information: Option<bool>,
    pub user_properties: UserProperties,
    pub authentication_method: Option<String>,
    /// Only with an authentication method.
    pub authentication_data: Option<Bytes>,
}

/// Will properties, in the CONNECT payload (§3.1.3.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WillProperties {
    /// Seconds.
    pub will_delay_interval: Option<u32>,
    pub payload_format_indicator: Option<PayloadFormat>,
    /// Seconds.
    pub message_expiry_interval: Option<u32>,
    pub content_type: Option<String>,
    /// A valid topic name.
    pub response_topic: Option<String>,
    pub correlation_data: Option<Bytes>,
    pub user_properties: UserProperties,
}

/// CONNACK properties (§3.2.2.3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnAckProperties {
    /// Seconds.
    pub session_expiry_interval: Option<u32>,
    /// Never 0.
    pub receive_maximum: Option<u16>,
    /// At most QoS 1 (absent means 2).
    pub maximum_qos: Option<QoS>,
    pub retain_available: Option<bool>,
    /// Never 0.
    pub maximum_packet_size: Option<u32>,
    pub assigned_client_identifier: Option<String>,
    pub topic_alias_maximum: Option<u16>,
    pub reason_string: Option<String>,
    pub user_properties: UserProperties,
    pub wildcard_subscription_available: Option<bool>,
    pub subscription_identifiers_available: Option<bool>,
    pub shared_subscription_available: Option<bool>,
    /// Seconds.
    pub server_keep_alive: Option<u16>,
    pub response_information: Option<String>,
    pub server_reference: Option<String>,
    pub authentication_method: Option<String>,
    /// Only with an authentication method.
    pub authentication_data: Option<Bytes>,
}

/// PUBLISH properties (§3.3.2.3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PublishProperties {
    pub payload_format_indicator: Option<PayloadFormat>,
    /// Seconds.
    pub message_expiry_interval: Option<u32>,
    /// Never 0; resolving it is the session's job.
    pub topic_alias: Option<u16>,
    /// A valid topic name.
    pub response_topic: Option<String>,
    pub correlation_data: Option<Bytes>,
    pub user_properties: UserProperties,
    /// Server to client only, one per matching subscription; each 1 to
    /// 268,435,455.
    pub subscription_identifiers: Vec<u32>,
    pub content_type: Option<String>,
}

/// Properties of PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK and UNSUBACK
/// (§3.4.2.2 and alike): the same two in each.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AckProperties {
    pub reason_string: Option<String>,
    pub user_properties: UserProperties,
}

/// SUBSCRIBE properties (§3.8.2.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubscribeProperties {
    /// 1 to 268,435,455.
    pub subscription_identifier: Option<u32>,
    pub user_properties: UserProperties,
}

/// UNSUBSCRIBE properties (§3.10.2.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UnsubscribeProperties {
    pub user_properties: UserProperties,
}

/// DISCONNECT properties (§3.14.2.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DisconnectProperties {
    /// Seconds.
    pub session_expiry_interval: Option<u32>,
    pub reason_string: Option<String>,
    pub user_properties: UserProperties,
    pub server_reference: Option<String>,
}

/// AUTH properties (§3.15.2.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthProperties {
    pub authentication_method: Option<String>,
    pub authentication_data: Option<Bytes>,
    pub reason_string: Option<String>,
    pub user_properties: UserProperties,
}

/// One property: its identifier (the variant) and value. `S` and `B` are
/// how strings and binary data are held: owned when decoded, borrowed when
/// encoded, so both sides share this one table of identifiers and types.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::enum_variant_names, reason = "User Property is the spec's name")]
pub(super) enum Property<S, B> {
    /// 0x01, byte.
    PayloadFormatIndicator(PayloadFormat),
    /// 0x02, four-byte integer.
    MessageExpiryInterval(u32),
    /// 0x03, UTF-8 string.
    ContentType(S),
    /// 0x08, UTF-8 string.
    ResponseTopic(S),
    /// 0x09, binary data.
    CorrelationData(B),
    /// 0x0B, variable byte integer.
    SubscriptionIdentifier(u32),
    /// 0x11, four-byte integer.
    SessionExpiryInterval(u32),
    /// 0x12, UTF-8 string.
    AssignedClientIdentifier(S),
    /// 0x13, two-byte integer.
    ServerKeepAlive(u16),
    /// 0x15, UTF-8 string.
    AuthenticationMethod(S),
    /// 0x16, binary data.
    AuthenticationData(B),
    /// 0x17, byte.
    RequestProblemInformation(bool),
    /// 0x18, four-byte integer.
    WillDelayInterval(u32),
    /// 0x19, byte.
    RequestResponseInformation(bool),
    /// 0x1A, UTF-8 string.
    ResponseInformation(S),
    /// 0x1C, UTF-8 string.
    ServerReference(S),
    /// 0x1F, UTF-8 string.
    ReasonString(S),
    /// 0x21, two-byte integer.
    ReceiveMaximum(u16),
    /// 0x22, two-byte integer.
    TopicAliasMaximum(u16),
    /// 0x23, two-byte integer.
    TopicAlias(u16),
    /// 0x24, byte.
    MaximumQos(QoS),
    /// 0x25, byte.
    RetainAvailable(bool),
    /// 0x26, UTF-8 string pair.
    UserProperty(S, S),
    /// 0x27, four-byte integer.
    MaximumPacketSize(u32),
    /// 0x28, byte.
    WildcardSubscriptionAvailable(bool),
    /// 0x29, byte.
    SubscriptionIdentifierAvailable(bool),
    /// 0x2A, byte.
    SharedSubscriptionAvailable(bool),
}

/// Property identifiers (§2.2.2.2).
pub(super) mod id {
    pub const PAYLOAD_FORMAT_INDICATOR: u8 = 0x01;
    pub const MESSAGE_EXPIRY_INTERVAL: u8 = 0x02;
    pub const CONTENT_TYPE: u8 = 0x03;
    pub const RESPONSE_TOPIC: u8 = 0x08;
    pub const CORRELATION_DATA: u8 = 0x09;
    pub const SUBSCRIPTION_IDENTIFIER: u8 = 0x0B;
    pub const SESSION_EXPIRY_INTERVAL: u8 = 0x11;
    pub const ASSIGNED_CLIENT_IDENTIFIER: u8 = 0x12;
    pub const SERVER_KEEP_ALIVE: u8 = 0x13;
    pub const AUTHENTICATION_METHOD: u8 = 0x15;
    pub const AUTHENTICATION_DATA: u8 = 0x16;
    pub const REQUEST_PROBLEM_INFORMATION: u8 = 0x17;
    pub const WILL_DELAY_INTERVAL: u8 = 0x18;
    pub const REQUEST_RESPONSE_INFORMATION: u8 = 0x19;
    pub const RESPONSE_INFORMATION: u8 = 0x1A;
    pub const SERVER_REFERENCE: u8 = 0x1C;
    pub const REASON_STRING: u8 = 0x1F;
    pub const RECEIVE_MAXIMUM: u8 = 0x21;
    pub const TOPIC_ALIAS_MAXIMUM: u8 = 0x22;
    pub const TOPIC_ALIAS: u8 = 0x23;
    pub const MAXIMUM_QOS: u8 = 0x24;
    pub const RETAIN_AVAILABLE: u8 = 0x25;
    pub const USER_PROPERTY: u8 = 0x26;
    pub const MAXIMUM_PACKET_SIZE: u8 = 0x27;
    pub const WILDCARD_SUBSCRIPTION_AVAILABLE: u8 = 0x28;
    pub const SUBSCRIPTION_IDENTIFIER_AVAILABLE: u8 = 0x29;
    pub const SHARED_SUBSCRIPTION_AVAILABLE: u8 = 0x2A;
}

impl<S, B> Property<S, B> {
    /// The property identifier.
    pub(super) fn id(&self) -> u8 {
        use Property::*;
        match self {
            PayloadFormatIndicator(_) => id::PAYLOAD_FORMAT_INDICATOR,
            MessageExpiryInterval(_) => id::MESSAGE_EXPIRY_INTERVAL,
            ContentType(_) => id::CONTENT_TYPE,
            ResponseTopic(_) => id::RESPONSE_TOPIC,
            CorrelationData(_) => id::CORRELATION_DATA,
            SubscriptionIdentifier(_) => id::SUBSCRIPTION_IDENTIFIER,
            SessionExpiryInterval(_) => id::SESSION_EXPIRY_INTERVAL,
            AssignedClientIdentifier(_) => id::ASSIGNED_CLIENT_IDENTIFIER,
            ServerKeepAlive(_) => id::SERVER_KEEP_ALIVE,
            AuthenticationMethod(_) => id::AUTHENTICATION_METHOD,
            AuthenticationData(_) => id::AUTHENTICATION_DATA,
            RequestProblemInformation(_) => id::REQUEST_PROBLEM_INFORMATION,
            WillDelayInterval(_) => id::WILL_DELAY_INTERVAL,
            RequestResponseInformation(_) => id::REQUEST_RESPONSE_INFORMATION,
            ResponseInformation(_) => id::RESPONSE_INFORMATION,
            ServerReference(_) => id::SERVER_REFERENCE,
            ReasonString(_) => id::REASON_STRING,
            ReceiveMaximum(_) => id::RECEIVE_MAXIMUM,
            TopicAliasMaximum(_) => id::TOPIC_ALIAS_MAXIMUM,
            TopicAlias(_) => id::TOPIC_ALIAS,
            MaximumQos(_) => id::MAXIMUM_QOS,
            RetainAvailable(_) => id::RETAIN_AVAILABLE,
            UserProperty(..) => id::USER_PROPERTY,
            MaximumPacketSize(_) => id::MAXIMUM_PACKET_SIZE,
            WildcardSubscriptionAvailable(_) => id::WILDCARD_SUBSCRIPTION_AVAILABLE,
            SubscriptionIdentifierAvailable(_) => id::SUBSCRIPTION_IDENTIFIER_AVAILABLE,
            SharedSubscriptionAvailable(_) => id::SHARED_SUBSCRIPTION_AVAILABLE,
        }
    }
}

/// A decoded property.
pub(super) type Owned = Property<String, Bytes>;
/// A property to encode, borrowed from its set.
pub(super) type Borrowed<'a> = Property<&'a str, &'a [u8]>;

/// Why a set does not take a property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    /// The packet kind has no such property: a Malformed Packet.
    NotAllowed,
    /// A second one of a property that may appear once: a Protocol Error.
    Duplicate,
}

/// What it takes to read and write a packet kind's properties.
pub(super) trait PropertySet: Default {
    /// Stores one decoded property, or says why it cannot.
    fn take(&mut self, property: Owned) -> Result<(), Refusal>;

    /// Calls `f` with every property set, in the order the spec lists them.
    fn each<'a>(&'a self, f: &mut dyn FnMut(Borrowed<'a>));

    /// Whether the set is consistent once complete; `Err` names the problem.
    fn check(&self) -> Result<(), Inconsistent> {
        Ok(())
    }
}

/// The boxed sets of the rare packets read and write as the set itself.
impl<P: PropertySet> PropertySet for Box<P> {
    fn take(&mut self, property: Owned) -> Result<(), Refusal> {
        (**self).take(property)
    }

    fn each<'a>(&'a self, f: &mut dyn FnMut(Borrowed<'a>)) {
        (**self).each(f);
    }

    fn check(&self) -> Result<(), Inconsistent> {
        (**self).check()
    }
}

/// A property set that is complete but not consistent: a Protocol Error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Inconsistent {
    /// Authentication Data without an Authentication Method.
    DataWithoutMethod,
    /// An AUTH without an Authentication Method.
    NoMethod,
}

fn once<T>(slot: &mut Option<T>, value: T) -> Result<(), Refusal> {
    if slot.is_some() {
        return Err(Refusal::Duplicate);
    }
    *slot = Some(value);
    Ok(())
}

fn user_properties<'a>(pairs: &'a UserProperties, f: &mut dyn FnMut(Borrowed<'a>)) {
    for (name, value) in pairs {
        f(Property::UserProperty(name, value));
    }
}

fn auth_consistent(method: &Option<String>, data: &Option<Bytes>) -> Result<(), Inconsistent> {
    if data.is_some() && method.is_none() { Err(Inconsistent::DataWithoutMethod) } else { Ok(()) }
}

impl PropertySet for ConnectProperties {
    fn take(&mut self, property: Owned) -> Result<(), Refusal> {
        match property {
            Property::SessionExpiryInterval(v) => once(&mut self.session_expiry_interval, v),
            Property::ReceiveMaximum(v) => once(&mut self.receive_maximum, v),
            Property::MaximumPacketSize(v) => once(&mut self.maximum_packet_size, v),
            Property::TopicAliasMaximum(v) => once(&mut self.topic_alias_maximum, v),
            Property::RequestResponseInformation(v) => once(&mut self.request_response_information, v),
            Property::RequestProblemInformation(v) => once(&mut self.request_problem_information, v),
            Property::UserProperty(name, value) => {
                self.user_properties.push((name, value));
                Ok(())
            }
            Property::AuthenticationMethod(v) => once(&mut self.authentication_method, v),
            Property::AuthenticationData(v) => once(&mut self.authentication_data, v),
            _ => Err(Refusal::NotAllowed),
        }
    }

    fn each<'a>(&'a self, f: &mut dyn FnMut(Borrowed<'a>)) {
        if let Some(v) = self.session_expiry_interval {
            f(Property::SessionExpiryInterval(v));
        }
        if let Some(v) = self.receive_maximum {
            f(Property::ReceiveMaximum(v));
        }
        if let Some(v) = self.maximum_packet_size {
            f(Property::MaximumPacketSize(v));
        }
        if let Some(v) = self.topic_alias_maximum {
            f(Property::TopicAliasMaximum(v));
        }
        if let Some(v) = self.request_response_information {
            f(Property::RequestResponseInformation(v));
        }
        if let Some(v) = self.request_problem_information {
            f(Property::RequestProblemInformation(v));
        }
        user_properties(&self.user_properties, f);
        if let Some(v) = &self.authentication_method {
            f(Property::AuthenticationMethod(v));
        }
        if let Some(v) = &self.authentication_data {
            f(Property::AuthenticationData(v));
        }
    }

    fn check(&self) -> Result<(), Inconsistent> {
        auth_consistent(&self.authentication_method, &self.authentication_data)
    }
}

impl PropertySet for WillProperties {
    fn take(&mut self, property: Owned) -> Result<(), Refusal> {
        match property {
            Property::WillDelayInterval(v) => once(&mut self.will_delay_interval, v),
            Property::PayloadFormatIndicator(v) => once(&mut self.payload_format_indicator, v),
            Property::MessageExpiryInterval(v) => once(&mut self.message_expiry_interval, v),
            Property::ContentType(v) => once(&mut self.content_type, v),
            Property::ResponseTopic(v) => once(&mut self.response_topic, v),
            Property::CorrelationData(v) => once(&mut self.correlation_data, v),
            Property::UserProperty(name, value) => {
                self.user_properties.push((name, value));
                Ok(())
            }
            _ => Err(Refusal::NotAllowed),
        }
    }

    fn each<'a>(&'a self, f: &mut dyn FnMut(Borrowed<'a>)) {
        if let Some(v) = self.will_delay_interval {
            f(Property::WillDelayInterval(v));
        }
        if let Some(v) = self.payload_format_indicator {
            f(Property::PayloadFormatIndicator(v));
        }
        if let Some(v) = self.message_expiry_interval {
            f(Property::MessageExpiryInterval(v));
        }
        if let Some(v) = &self.content_type {
            f(Property::ContentType(v));
        }
        if let Some(v) = &self.response_topic {
            f(Property::ResponseTopic(v));
        }
        if let Some(v) = &self.correlation_data {
            f(Property::CorrelationData(v));
        }
        user_properties(&self.user_properties, f);
    }
}

impl PropertySet for ConnAckProperties {
    fn take(&mut self, property: Owned) -> Result<(), Refusal> {
        match property {
            Property::SessionExpiryInterval(v) => once(&mut self.session_expiry_interval, v),
            Property::ReceiveMaximum(v) => once(&mut self.receive_maximum, v),
            Property::MaximumQos(v) => once(&mut self.maximum_qos, v),
            Property::RetainAvailable(v) => once(&mut self.retain_available, v),
            Property::MaximumPacketSize(v) => once(&mut self.maximum_packet_size, v),
            Property::AssignedClientIdentifier(v) => once(&mut self.assigned_client_identifier, v),
            Property::TopicAliasMaximum(v) => once(&mut self.topic_alias_maximum, v),
            Property::ReasonString(v) => once(&mut self.reason_string, v),
            Property::UserProperty(name, value) => {
                self.user_properties.push((name, value));
                Ok(())
            }
            Property::WildcardSubscriptionAvailable(v) => once(&mut self.wildcard_subscription_available, v),
            Property::SubscriptionIdentifierAvailable(v) => once(&mut self.subscription_identifiers_available, v),
            Property::SharedSubscriptionAvailable(v) => once(&mut self.shared_subscription_available, v),
            Property::ServerKeepAlive(v) => once(&mut self.server_keep_alive, v),
            Property::ResponseInformation(v) => once(&mut self.response_information, v),
            Property::ServerReference(v) => once(&mut self.server_reference, v),
            Property::AuthenticationMethod(v) => once(&mut self.authentication_method, v),
            Property::AuthenticationData(v) => once(&mut self.authentication_data, v),
            _ => Err(Refusal::NotAllowed),
        }
    }

    fn each<'a>(&'a self, f: &mut dyn FnMut(Borrowed<'a>)) {
        if let Some(v) = self.session_expiry_interval {
            f(Property::SessionExpiryInterval(v));
        }
        if let Some(v) = self.receive_maximum {
            f(Property::ReceiveMaximum(v));
        }
        if let Some(v) = self.maximum_qos {
            f(Property::MaximumQos(v));
        }
        if let Some(v) = self.retain_available {
            f(Property::RetainAvailable(v));
        }
        if let Some(v) = self.maximum_packet_size {
            f(Property::MaximumPacketSize(v));
        }
        if let Some(v) = &self.assigned_client_identifier {
            f(Property::AssignedClientIdentifier(v));
        }
        if let Some(v) = self.topic_alias_maximum {
            f(Property::TopicAliasMaximum(v));
        }
        if let Some(v) = &self.reason_string {
            f(Property::ReasonString(v));
        }
        user_properties(&self.user_properties, f);
        if let Some(v) = self.wildcard_subscription_available {
            f(Property::WildcardSubscriptionAvailable(v));
        }
        if let Some(v) = self.subscription_identifiers_available {
            f(Property::SubscriptionIdentifierAvailable(v));
        }
        if let Some(v) = self.shared_subscription_available {
            f(Property::SharedSubscriptionAvailable(v));
        }
        if let Some(v) = self.server_keep_alive {
            f(Property::ServerKeepAlive(v));
        }
        if let Some(v) = &self.response_information {
            f(Property::ResponseInformation(v));
        }
        if let Some(v) = &self.server_reference {
            f(Property::ServerReference(v));
        }
        if let Some(v) = &self.authentication_method {
            f(Property::AuthenticationMethod(v));
        }
        if let Some(v) = &self.authentication_data {
            f(Property::AuthenticationData(v));
        }
    }

    fn check(&self) -> Result<(), Inconsistent> {
        auth_consistent(&self.authentication_method, &self.authentication_data)
    }
}

impl PropertySet for PublishProperties {
    fn take(&mut self, property: Owned) -> Result<(), Refusal> {
        match property {
            Property::PayloadFormatIndicator(v) => once(&mut self.payload_format_indicator, v),
            Property::MessageExpiryInterval(v) => once(&mut self.message_expiry_interval, v),
            Property::TopicAlias(v) => once(&mut self.topic_alias, v),
            Property::ResponseTopic(v) => once(&mut self.response_topic, v),
            Property::CorrelationData(v) => once(&mut self.correlation_data, v),
            Property::UserProperty(name, value) => {
                self.user_properties.push((name, value));
                Ok(())
            }
            Property::SubscriptionIdentifier(v) => {
                self.subscription_identifiers.push(v);
                Ok(())
            }
            Property::ContentType(v) => once(&mut self.content_type, v),
            _ => Err(Refusal::NotAllowed),
        }
    }

    fn each<'a>(&'a self, f: &mut dyn FnMut(Borrowed<'a>)) {
        if let Some(v) = self.payload_format_indicator {
            f(Property::PayloadFormatIndicator(v));
        }
        if let Some(v) = self.message_expiry_interval {
            f(Property::MessageExpiryInterval(v));
        }
        if let Some(v) = self.topic_alias {
            f(Property::TopicAlias(v));
        }
        if let Some(v) = &self.response_topic {
            f(Property::ResponseTopic(v));
        }
        if let Some(v) = &self.correlation_data {
            f(Property::CorrelationData(v));
        }
        user_properties(&self.user_properties, f);
        for v in &self.subscription_identifiers {
            f(Property::SubscriptionIdentifier(*v));
        }
        if let Some(v) = &self.content_type {
            f(Property::ContentType(v));
        }
    }
}

impl PropertySet for AckProperties {
    fn take(&mut self, property: Owned) -> Result<(), Refusal> {
        match property {
            Property::ReasonString(v) => once(&mut self.reason_string, v),
            Property::UserProperty(name, value) => {
                self.user_properties.push((name, value));
                Ok(())
            }
            _ => Err(Refusal::NotAllowed),
        }
    }

    fn each<'a>(&'a self, f: &mut dyn FnMut(Borrowed<'a>)) {
        if let Some(v) = &self.reason_string {
            f(Property::ReasonString(v));
        }
        user_properties(&self.user_properties, f);
    }
}

impl PropertySet for SubscribeProperties {
    fn take(&mut self, property: Owned) -> Result<(), Refusal> {
        match property {
            Property::SubscriptionIdentifier(v) => once(&mut self.subscription_identifier, v),
            Property::UserProperty(name, value) => {
                self.user_properties.push((name, value));
                Ok(())
            }
            _ => Err(Refusal::NotAllowed),
        }
    }

    fn each<'a>(&'a self, f: &mut dyn FnMut(Borrowed<'a>)) {
        if let Some(v) = self.subscription_identifier {
            f(Property::SubscriptionIdentifier(v));
        }
        user_properties(&self.user_properties, f);
    }
}

impl PropertySet for UnsubscribeProperties {
    fn take(&mut self, property: Owned) -> Result<(), Refusal> {
        match property {
            Property::UserProperty(name, value) => {
                self.user_properties.push((name, value));
                Ok(())
            }
            _ => Err(Refusal::NotAllowed),
        }
    }

    fn each<'a>(&'a self, f: &mut dyn FnMut(Borrowed<'a>)) {
        user_properties(&self.user_properties, f);
    }
}

impl PropertySet for DisconnectProperties {
    fn take(&mut self, property: Owned) -> Result<(), Refusal> {
        match property {
            Property::SessionExpiryInterval(v) => once(&mut self.session_expiry_interval, v),
            Property::ReasonString(v) => once(&mut self.reason_string, v),
            Property::UserProperty(name, value) => {
                self.user_properties.push((name, value));
                Ok(())
            }
            Property::ServerReference(v) => once(&mut self.server_reference, v),
            _ => Err(Refusal::NotAllowed),
        }
    }

    fn each<'a>(&'a self, f: &mut dyn FnMut(Borrowed<'a>)) {
        if let Some(v) = self.session_expiry_interval {
            f(Property::SessionExpiryInterval(v));
        }
        if let Some(v) = &self.reason_string {
            f(Property::ReasonString(v));
        }
        user_properties(&self.user_properties, f);
        if let Some(v) = &self.server_reference {
            f(Property::ServerReference(v));
        }
    }
}

impl PropertySet for AuthProperties {
    fn take(&mut self, property: Owned) -> Result<(), Refusal> {
        match property {
            Property::AuthenticationMethod(v) => once(&mut self.authentication_method, v),
            Property::AuthenticationData(v) => once(&mut self.authentication_data, v),
            Property::ReasonString(v) => once(&mut self.reason_string, v),
            Property::UserProperty(name, value) => {
                self.user_properties.push((name, value));
                Ok(())
            }
            _ => Err(Refusal::NotAllowed),
        }
    }

    fn each<'a>(&'a self, f: &mut dyn FnMut(Borrowed<'a>)) {
        if let Some(v) = &self.authentication_method {
            f(Property::AuthenticationMethod(v));
        }
        if let Some(v) = &self.authentication_data {
            f(Property::AuthenticationData(v));
        }
        if let Some(v) = &self.reason_string {
            f(Property::ReasonString(v));
        }
        user_properties(&self.user_properties, f);
    }

    fn check(&self) -> Result<(), Inconsistent> {
        if self.authentication_method.is_none() {
            return Err(Inconsistent::NoMethod);
        }
        Ok(())
    }
}
