//! Per-connection MQTT protocol state, without I/O.
//!
//! Owns the two halves of a session's packet-id bookkeeping: [`Inbound`]
//! (publishes from the client: QoS 2 ids awaiting PUBREL) belongs to the
//! connection's reader, [`Outbound`] (publishes to the client: packet ids and
//! the in-flight QoS 1 messages awaiting PUBACK) to its writer. Neither touches
//! sockets, queues or tenancy; they answer what to send and whether to route.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use bytes::Bytes;

use crate::mqtt::codec::{Packet, PacketId, Publish, QoS, QosPid};

/// What the connection does with a publish that arrived from its client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundAction {
    /// Whether to hand the message to the router (false for a QoS 2 resend).
    pub route: bool,
    /// The acknowledgement to send once routed.
    pub reply: Option<Packet>,
}

/// Reader-side state: QoS 2 publishes received but not yet released.
#[derive(Debug, Default)]
pub struct Inbound {
    awaiting_release: HashSet<PacketId>,
}

impl Inbound {
    /// Handles an incoming PUBLISH. QoS 2 is delivered on its first arrival
    /// and acknowledged with PUBREC every time, so a resend is delivered once.
    pub fn on_publish(&mut self, qos: QosPid) -> InboundAction {
        match qos {
            QosPid::AtMostOnce => InboundAction { route: true, reply: None },
            QosPid::AtLeastOnce(id) => InboundAction { route: true, reply: Some(Packet::PubAck(id)) },
            QosPid::ExactlyOnce(id) => {
                InboundAction { route: self.awaiting_release.insert(id), reply: Some(Packet::PubRec(id)) }
            }
        }
    }

    /// Handles PUBREL: forgets the id and answers PUBCOMP (also for an id it
    /// no longer knows, as the client may be resending after a lost PUBCOMP).
    pub fn on_pubrel(&mut self, id: PacketId) -> Packet {
        self.awaiting_release.remove(&id);
        Packet::PubComp(id)
    }

    /// QoS 2 messages awaiting PUBREL.
    pub fn pending(&self) -> usize {
        self.awaiting_release.len()
    }
}

/// A message queued for a subscriber, already scoped to its namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub topic: Arc<str>,
    pub payload: Bytes,
    /// min(publish QoS, granted QoS).
    pub qos: QoS,
}

/// Every packet id is in use: the client has left 65,535 messages unacknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("all 65535 packet identifiers are awaiting acknowledgement")]
pub struct PacketIdsExhausted;

/// Writer-side state: packet ids and QoS 1 messages awaiting PUBACK.
#[derive(Debug)]
pub struct Outbound {
    next_id: u16,
    in_flight: HashMap<PacketId, Delivery>,
}

impl Default for Outbound {
    fn default() -> Self {
        Outbound { next_id: 1, in_flight: HashMap::new() }
    }
}

impl Outbound {
    /// Turns a delivery into the PUBLISH to send, taking a packet id for QoS
    /// above 0. Deliveries arrive at QoS 0 or 1 only: subscriptions are
    /// granted at most QoS 1.
    pub fn publish(&mut self, delivery: Delivery) -> Result<Publish, PacketIdsExhausted> {
        let qos = match delivery.qos {
            QoS::AtMostOnce => QosPid::AtMostOnce,
            QoS::AtLeastOnce | QoS::ExactlyOnce => {
                let id = self.allocate()?;
                self.in_flight.insert(id, delivery.clone());
                QosPid::AtLeastOnce(id)
            }
        };
        Ok(Publish { dup: false, qos, retain: false, topic: delivery.topic, payload: delivery.payload })
    }

    /// Handles PUBACK; false if the id was not in flight.
    pub fn on_puback(&mut self, id: PacketId) -> bool {
        self.in_flight.remove(&id).is_some()
    }

    /// Messages sent at QoS 1 and not yet acknowledged.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    fn allocate(&mut self) -> Result<PacketId, PacketIdsExhausted> {
        for _ in 0..u16::MAX {
            let candidate = PacketId::new(self.next_id);
            self.next_id = self.next_id.checked_add(1).unwrap_or(1);
            if let Some(id) = candidate
                && !self.in_flight.contains_key(&id)
            {
                return Ok(id);
            }
        }
        Err(PacketIdsExhausted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pid(id: u16) -> PacketId {
        PacketId::new(id).unwrap()
    }

    fn delivery(qos: QoS) -> Delivery {
        Delivery { topic: Arc::from("t"), payload: Bytes::from_static(b"m"), qos }
    }

    #[test]
    fn inbound_qos_0_and_1_are_routed_every_time() {
        let mut inbound = Inbound::default();
        assert_eq!(inbound.on_publish(QosPid::AtMostOnce), InboundAction { route: true, reply: None });
        let action = inbound.on_publish(QosPid::AtLeastOnce(pid(5)));
        assert_eq!(action, InboundAction { route: true, reply: Some(Packet::PubAck(pid(5))) });
        assert!(inbound.on_publish(QosPid::AtLeastOnce(pid(5))).route);
    }

    #[test]
    fn inbound_qos_2_is_routed_once_until_released() {
        let mut inbound = Inbound::default();
        let first = inbound.on_publish(QosPid::ExactlyOnce(pid(7)));
        assert_eq!(first, InboundAction { route: true, reply: Some(Packet::PubRec(pid(7))) });
        let resend = inbound.on_publish(QosPid::ExactlyOnce(pid(7)));
        assert_eq!(resend, InboundAction { route: false, reply: Some(Packet::PubRec(pid(7))) });
        assert_eq!(inbound.pending(), 1);
        assert_eq!(inbound.on_pubrel(pid(7)), Packet::PubComp(pid(7)));
        assert_eq!(inbound.on_pubrel(pid(7)), Packet::PubComp(pid(7)));
        assert_eq!(inbound.pending(), 0);
        assert!(inbound.on_publish(QosPid::ExactlyOnce(pid(7))).route);
    }

    #[test]
    fn outbound_qos_0_takes_no_packet_id() {
        let mut outbound = Outbound::default();
        let publish = outbound.publish(delivery(QoS::AtMostOnce)).unwrap();
        assert_eq!(publish.qos, QosPid::AtMostOnce);
        assert_eq!(outbound.in_flight(), 0);
    }

    #[test]
    fn outbound_qos_1_is_in_flight_until_acknowledged() {
        let mut outbound = Outbound::default();
        let first = outbound.publish(delivery(QoS::AtLeastOnce)).unwrap();
        let second = outbound.publish(delivery(QoS::AtLeastOnce)).unwrap();
        assert_eq!(first.qos, QosPid::AtLeastOnce(pid(1)));
        assert_eq!(second.qos, QosPid::AtLeastOnce(pid(2)));
        assert_eq!(outbound.in_flight(), 2);
        assert!(outbound.on_puback(pid(1)));
        assert!(!outbound.on_puback(pid(1)));
        assert!(!outbound.on_puback(pid(9)));
        assert_eq!(outbound.in_flight(), 1);
    }

    #[test]
    fn outbound_packet_ids_wrap_and_skip_those_in_flight() {
        let mut outbound = Outbound { next_id: u16::MAX, in_flight: HashMap::new() };
        outbound.in_flight.insert(pid(1), delivery(QoS::AtLeastOnce));
        let last = outbound.publish(delivery(QoS::AtLeastOnce)).unwrap();
        let wrapped = outbound.publish(delivery(QoS::AtLeastOnce)).unwrap();
        assert_eq!(last.qos, QosPid::AtLeastOnce(pid(u16::MAX)));
        assert_eq!(wrapped.qos, QosPid::AtLeastOnce(pid(2)));
    }

    #[test]
    fn outbound_refuses_when_every_id_is_in_flight() {
        let mut outbound = Outbound::default();
        for _ in 0..u16::MAX {
            outbound.publish(delivery(QoS::AtLeastOnce)).unwrap();
        }
        assert_eq!(outbound.publish(delivery(QoS::AtLeastOnce)), Err(PacketIdsExhausted));
        assert!(outbound.on_puback(pid(300)));
        assert_eq!(outbound.publish(delivery(QoS::AtLeastOnce)).unwrap().qos, QosPid::AtLeastOnce(pid(300)));
    }
}
