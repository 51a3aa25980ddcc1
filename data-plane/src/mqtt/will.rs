//! A connection's will: the message it becomes, its delay, and the token that
//! tells this connection's stored copy from that of a later connection of the
//! same client.
//!
//! Owns the will's own form and the one rule that depends on the moment of
//! publication: a Message Expiry Interval is the lifetime of the will from
//! when it is published, not from when it was given (MQTT 5.0 §3.1.3.2.4).
//! When a will goes out is the hub's business, keeping it across a restart
//! the store's.

use std::sync::Arc;

use rand::RngCore as _;
use serde::{Deserialize, Serialize};

use crate::mqtt::codec::LastWill;
use crate::mqtt::message::{Message, Properties, Received};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Will {
    /// Random, per connection: a stored will is forgotten only by the
    /// connection that gave it.
    pub token: u64,
    /// Seconds to wait after the connection ends (5.0 Will Delay Interval).
    pub delay_secs: u32,
    /// The message without an expiry time, which publication sets.
    message: Message,
    expiry_secs: Option<u32>,
}

impl Will {
    /// The will of a CONNECT.
    pub fn of(will: LastWill) -> Will {
        let p = &will.properties;
        let received = Received {
            format: p.payload_format_indicator,
            expiry_interval: None,
            content_type: &p.content_type,
            response_topic: &p.response_topic,
            correlation_data: &p.correlation_data,
            user_properties: &p.user_properties,
        };
        let properties = Properties::received(received, 0);
        Will {
            token: rand::rng().next_u64(),
            delay_secs: p.will_delay_interval.unwrap_or(0),
            expiry_secs: p.message_expiry_interval,
            message: Message::new(will.topic, will.payload, will.qos, will.retain).with_properties(properties),
        }
    }

    /// The message published at `now_ms`.
    /// Bytes of the will's payload.
    pub fn payload_len(&self) -> usize {
        self.message.payload.len()
    }

    pub fn publication(&self, now_ms: u64) -> Message {
        let mut message = self.message.clone();
        if let Some(seconds) = self.expiry_secs {
            let mut properties = message.properties.as_deref().cloned().unwrap_or_default();
            properties.expires_at_ms = Some(now_ms.saturating_add(u64::from(seconds) * 1000));
            message.properties = Some(Arc::new(properties));
        }
        message
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::mqtt::codec::{QoS, WillProperties};

    fn last_will(properties: WillProperties) -> LastWill {
        LastWill {
            topic: "status/d1".into(),
            payload: Bytes::from_static(b"gone"),
            qos: QoS::AtLeastOnce,
            retain: true,
            properties: Box::new(properties),
        }
    }

    #[test]
    fn expiry_counts_from_publication_and_tokens_differ() {
        let will = Will::of(last_will(WillProperties {
            message_expiry_interval: Some(60),
            will_delay_interval: Some(30),
            content_type: Some("text/plain".into()),
            ..WillProperties::default()
        }));
        assert_eq!(will.delay_secs, 30);
        let message = will.publication(1_000_000);
        assert_eq!(
            (&*message.topic, &message.payload[..], message.qos, message.retain),
            ("status/d1", &b"gone"[..], QoS::AtLeastOnce, true)
        );
        let properties = message.properties.expect("properties");
        assert_eq!(properties.expires_at_ms, Some(1_060_000), "60 s from publication");
        assert_eq!(properties.content_type.as_deref(), Some("text/plain"));
        assert_ne!(Will::of(last_will(WillProperties::default())).token, will.token);
        let plain = Will::of(last_will(WillProperties::default()));
        assert_eq!(plain.delay_secs, 0);
        assert_eq!(plain.publication(5).properties, None, "a will without properties publishes none");
    }
}
