//! The application message as the broker routes, queues, retains and stores
//! it: topic, payload, QoS and retain flag, already inside one namespace, and
//! what an MQTT 5 publisher attached to it (expiry as a deadline, response
//! topic, correlation data, content type, payload format, user properties),
//! carried to subscribers unchanged.
//!
//! Plain data shared by the hub, the sessions, the retained store and the
//! durable store; owns the mapping between these properties and a PUBLISH's.
//! Knows nothing of sockets.

use std::sync::Arc;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::mqtt::codec::{PayloadFormat, PublishProperties, QoS};

/// One application message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// A valid topic name.
    pub topic: Arc<str>,
    pub payload: Bytes,
    /// As published; a delivery may lower it to the subscription's QoS.
    #[serde(with = "qos_bits")]
    pub qos: QoS,
    /// Set on deliveries of retained messages made because of a subscription.
    pub retain: bool,
    /// On a delivery: the shared subscription (`$share/...`) it came through,
    /// so it can go to another member if this one leaves.
    pub shared: Option<Arc<str>>,
    /// MQTT 5 properties; `None` for a message without any.
    pub properties: Option<Arc<Properties>>,
    /// On a delivery: the identifiers of the subscriptions it matched.
    pub subscription_ids: Vec<u32>,
}

/// What a publisher attached to a message for its subscribers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Properties {
    /// Payload Format Indicator 1: the payload is UTF-8.
    pub utf8: bool,
    /// When the message expires (Unix ms), from its Message Expiry Interval.
    pub expires_at_ms: Option<u64>,
    pub content_type: Option<String>,
    pub response_topic: Option<String>,
    pub correlation_data: Option<Bytes>,
    pub user_properties: Vec<(String, String)>,
}

/// The properties of a received PUBLISH or will, as the wire has them.
pub struct Received<'a> {
    pub format: Option<PayloadFormat>,
    pub expiry_interval: Option<u32>,
    pub content_type: &'a Option<String>,
    pub response_topic: &'a Option<String>,
    pub correlation_data: &'a Option<Bytes>,
    pub user_properties: &'a [(String, String)],
}

impl Properties {
    /// From a PUBLISH (or will) received at `now_ms`; `None` when it has none.
    pub fn received(received: Received<'_>, now_ms: u64) -> Option<Arc<Properties>> {
        let properties = Properties {
            utf8: received.format == Some(PayloadFormat::Utf8),
            expires_at_ms: received.expiry_interval.map(|seconds| now_ms.saturating_add(u64::from(seconds) * 1000)),
            content_type: received.content_type.clone(),
            response_topic: received.response_topic.clone(),
            correlation_data: received.correlation_data.clone(),
            user_properties: received.user_properties.to_vec(),
        };
        (properties != Properties::default()).then(|| Arc::new(properties))
    }
}

impl Message {
    /// A message as published.
    pub fn new(topic: Arc<str>, payload: Bytes, qos: QoS, retain: bool) -> Message {
        Message { topic, payload, qos, retain, shared: None, properties: None, subscription_ids: Vec::new() }
    }

    pub fn with_properties(self, properties: Option<Arc<Properties>>) -> Message {
        Message { properties, ..self }
    }

    /// The copy delivered to a subscription granted `granted`.
    pub fn delivered_at(&self, granted: QoS) -> Message {
        Message {
            qos: self.qos.min(granted),
            retain: false,
            shared: None,
            subscription_ids: Vec::new(),
            ..self.clone()
        }
    }

    /// Whether its Message Expiry Interval has passed at `now_ms`.
    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.properties.as_ref().and_then(|p| p.expires_at_ms).is_some_and(|at| at <= now_ms)
    }

    /// The PUBLISH properties for a subscriber at `now_ms`: the expiry
    /// interval is what is left of it (at least one second).
    pub fn publish_properties(&self, now_ms: u64) -> PublishProperties {
        let Some(p) = &self.properties else {
            return PublishProperties { subscription_identifiers: self.subscription_ids.clone(), ..Default::default() };
        };
        let remaining = p.expires_at_ms.map(|at| {
            let left = at.saturating_sub(now_ms).div_ceil(1000).max(1);
            u32::try_from(left).unwrap_or(u32::MAX)
        });
        PublishProperties {
            payload_format_indicator: p.utf8.then_some(PayloadFormat::Utf8),
            message_expiry_interval: remaining,
            response_topic: p.response_topic.clone(),
            correlation_data: p.correlation_data.clone(),
            user_properties: p.user_properties.clone(),
            subscription_identifiers: self.subscription_ids.clone(),
            content_type: p.content_type.clone(),
            ..Default::default()
        }
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// QoS as its wire number, so the stored form does not depend on the enum.
mod qos_bits {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::mqtt::codec::QoS;

    pub fn serialize<S: Serializer>(qos: &QoS, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(*qos as u8)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<QoS, D::Error> {
        let bits = u8::deserialize(deserializer)?;
        QoS::from_bits(bits).ok_or_else(|| serde::de::Error::custom(format!("invalid QoS {bits}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_travel_and_expiry_counts_down() {
        let received = Properties::received(
            Received {
                format: Some(PayloadFormat::Utf8),
                expiry_interval: Some(10),
                content_type: &Some("text/plain".into()),
                response_topic: &Some("replies/1".into()),
                correlation_data: &Some(Bytes::from_static(b"c-1")),
                user_properties: &[("k".into(), "v".into())],
            },
            1_000,
        );
        let message =
            Message::new(Arc::from("t"), Bytes::from_static(b"x"), QoS::AtLeastOnce, false).with_properties(received);
        let out = message.publish_properties(4_500);
        assert_eq!(out.message_expiry_interval, Some(7), "10 s less 3.5 s waited, rounded up");
        assert_eq!(out.response_topic.as_deref(), Some("replies/1"));
        assert_eq!(out.user_properties, [("k".to_string(), "v".to_string())]);
        assert_eq!(out.payload_format_indicator, Some(PayloadFormat::Utf8));
        assert!(!message.is_expired(10_999) && message.is_expired(11_000));
        let none = Received {
            format: None,
            expiry_interval: None,
            content_type: &None,
            response_topic: &None,
            correlation_data: &None,
            user_properties: &[],
        };
        assert!(Properties::received(none, 0).is_none());
        let bytes = postcard::to_stdvec(&message).unwrap();
        assert_eq!(postcard::from_bytes::<Message>(&bytes).unwrap(), message);
    }

    #[test]
    fn a_delivery_takes_the_lower_qos_and_no_retain_flag() {
        let message = Message::new(Arc::from("a/b"), Bytes::from_static(b"x"), QoS::ExactlyOnce, true);
        let delivered = message.delivered_at(QoS::AtLeastOnce);
        assert_eq!((delivered.qos, delivered.retain), (QoS::AtLeastOnce, false));
        let bytes = postcard::to_stdvec(&message).unwrap();
        assert_eq!(postcard::from_bytes::<Message>(&bytes).unwrap(), message);
    }
}
