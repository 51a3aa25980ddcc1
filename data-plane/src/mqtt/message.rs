//! The application message as the broker routes, queues, retains and stores
//! it: topic, payload, QoS and retain flag, already inside one namespace.
//!
//! Plain data shared by the hub, the sessions, the retained store and the
//! durable store; knows nothing of packets' wire form or of sockets.

use std::sync::Arc;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::mqtt::codec::QoS;

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
}

impl Message {
    /// A message as published.
    pub fn new(topic: Arc<str>, payload: Bytes, qos: QoS, retain: bool) -> Message {
        Message { topic, payload, qos, retain, shared: None }
    }

    /// The copy delivered to a subscription granted `granted`.
    pub fn delivered_at(&self, granted: QoS) -> Message {
        Message { qos: self.qos.min(granted), retain: false, shared: None, ..self.clone() }
    }
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
    fn a_delivery_takes_the_lower_qos_and_no_retain_flag() {
        let message = Message::new(Arc::from("a/b"), Bytes::from_static(b"x"), QoS::ExactlyOnce, true);
        let delivered = message.delivered_at(QoS::AtLeastOnce);
        assert_eq!((delivered.qos, delivered.retain), (QoS::AtLeastOnce, false));
        let bytes = postcard::to_stdvec(&message).unwrap();
        assert_eq!(postcard::from_bytes::<Message>(&bytes).unwrap(), message);
    }
}
