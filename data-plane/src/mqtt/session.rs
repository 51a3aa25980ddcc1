//! One MQTT session's protocol state, without I/O: its subscriptions, the
//! messages queued for it, the ones in flight to the client (QoS 1 awaiting
//! PUBACK, QoS 2 awaiting PUBREC, then PUBCOMP), packet ids, and the QoS 2
//! publishes received from the client and not yet released.
//!
//! A session outlives its connections when it is persistent, so this state is
//! what a reconnecting client resumes (in-flight messages are resent, DUP set,
//! in their original order). Every queued message carries a sequence number
//! the durable store keys it by; a message queued for a persistent session is
//! not sent before the store has it (`ready`). A message whose MQTT 5 expiry
//! passes before it is sent is dropped. No sockets, locks, tasks or tenancy
//! here: callers persist and act on what the methods return.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use crate::mqtt::codec::{Packet, PacketId, PubAck, Publish, QoS, QosPid};
use crate::mqtt::message::Message;

/// Where an outgoing QoS 1 or 2 message is in its handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// QoS 1, PUBLISH sent, PUBACK awaited.
    AwaitingAck,
    /// QoS 2, PUBLISH sent, PUBREC awaited.
    AwaitingRec,
    /// QoS 2, PUBREL sent, PUBCOMP awaited.
    AwaitingComp,
}

/// A message in flight to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inflight {
    pub packet_id: PacketId,
    pub message: Message,
    pub phase: Phase,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Queued {
    seq: u64,
    message: Message,
    /// False until the durable store has the message (persistent sessions).
    ready: bool,
}

/// A PUBLISH to write, and the sequence number of the message it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub seq: u64,
    pub publish: Publish,
}

/// One subscription's options (MQTT 5 subscription options and identifier;
/// for 3.1.1 only the QoS differs from the defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subscription {
    pub qos: QoS,
    /// Not delivered messages this session published itself.
    pub no_local: bool,
    /// Deliveries keep the publisher's retain flag.
    pub retain_as_published: bool,
    pub identifier: Option<u32>,
}

impl From<QoS> for Subscription {
    fn from(qos: QoS) -> Subscription {
        Subscription { qos, no_local: false, retain_as_published: false, identifier: None }
    }
}

/// The session holds as many queued messages as it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the session's queue is full")]
pub struct QueueFull;

#[derive(Debug)]
pub struct SessionState {
    /// Filter → its options.
    subscriptions: BTreeMap<String, Subscription>,
    queue: VecDeque<Queued>,
    /// By sequence number, so a resend keeps the original order.
    inflight: BTreeMap<u64, Inflight>,
    by_packet_id: HashMap<PacketId, u64>,
    next_packet_id: u16,
    next_seq: u64,
    /// Inbound QoS 2 packet ids whose PUBREL has not come yet.
    awaiting_release: BTreeSet<PacketId>,
    max_queued: usize,
    /// Queued messages dropped as expired, for the caller to forget on disk.
    expired: Vec<u64>,
}

impl SessionState {
    /// An empty session that queues at most `max_queued` messages.
    pub fn new(max_queued: usize) -> SessionState {
        SessionState {
            subscriptions: BTreeMap::new(),
            queue: VecDeque::new(),
            inflight: BTreeMap::new(),
            by_packet_id: HashMap::new(),
            next_packet_id: 1,
            next_seq: 1,
            awaiting_release: BTreeSet::new(),
            max_queued,
            expired: Vec::new(),
        }
    }

    pub fn subscriptions(&self) -> &BTreeMap<String, Subscription> {
        &self.subscriptions
    }

    /// Adds or replaces a subscription; whether it replaced one.
    pub fn subscribe(&mut self, filter: &str, subscription: Subscription) -> bool {
        self.subscriptions.insert(filter.to_string(), subscription).is_some()
    }

    /// Removes a subscription; whether there was one.
    pub fn unsubscribe(&mut self, filter: &str) -> bool {
        self.subscriptions.remove(filter).is_some()
    }

    /// Queues a message (already at its delivery QoS); `ready` says whether it
    /// may be sent before the store confirms it. Returns its sequence number.
    pub fn enqueue(&mut self, message: Message, ready: bool) -> Result<u64, QueueFull> {
        if self.queue.len() >= self.max_queued {
            return Err(QueueFull);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.queue.push_back(Queued { seq, message, ready });
        Ok(seq)
    }

    /// The store has the message `seq`: it may be sent. False if it is no
    /// longer queued.
    pub fn mark_ready(&mut self, seq: u64) -> bool {
        match self.queue.binary_search_by_key(&seq, |q| q.seq) {
            Ok(index) => {
                self.queue[index].ready = true;
                true
            }
            Err(_) => false,
        }
    }

    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    pub fn in_flight(&self) -> usize {
        self.inflight.len()
    }

    /// The message in flight under sequence number `seq`.
    pub fn inflight(&self, seq: u64) -> Option<&Inflight> {
        self.inflight.get(&seq)
    }

    /// Drops the queued messages that expired by `now_ms` (whether ready or
    /// not); their sequence numbers go to [`SessionState::take_expired`].
    pub fn expire(&mut self, now_ms: u64) {
        let expired = &mut self.expired;
        self.queue.retain(|q| {
            let keep = !q.message.is_expired(now_ms);
            if !keep {
                expired.push(q.seq);
            }
            keep
        });
    }

    /// Sequence numbers of the messages dropped as expired since last asked.
    pub fn take_expired(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.expired)
    }

    /// Whether the next queued message can go out with `window` messages
    /// allowed in flight.
    pub fn can_send(&self, window: usize) -> bool {
        self.queue
            .front()
            .is_some_and(|q| q.ready && (q.message.qos == QoS::AtMostOnce || self.inflight.len() < window))
    }

    /// Takes the next message to send, in queue order, if it is ready and the
    /// window allows: a QoS 0 message leaves the session, a QoS 1 or 2 one
    /// gets a packet id and stays in flight until acknowledged. `None` also
    /// when all 65,535 packet ids are in flight.
    pub fn next_outgoing(&mut self, window: usize, now_ms: u64) -> Option<Outgoing> {
        while self.queue.front().is_some_and(|q| q.ready && q.message.is_expired(now_ms)) {
            if let Some(gone) = self.queue.pop_front() {
                self.expired.push(gone.seq);
            }
        }
        if !self.can_send(window) {
            return None;
        }
        let queued = self.queue.front()?;
        let qos = queued.message.qos;
        let packet_id = match qos {
            QoS::AtMostOnce => None,
            QoS::AtLeastOnce | QoS::ExactlyOnce => Some(self.allocate()?),
        };
        let Queued { seq, message, .. } = self.queue.pop_front()?;
        let qos_pid = match (qos, packet_id) {
            (QoS::AtLeastOnce, Some(id)) => QosPid::AtLeastOnce(id),
            (QoS::ExactlyOnce, Some(id)) => QosPid::ExactlyOnce(id),
            _ => QosPid::AtMostOnce,
        };
        let publish = publish_of(&message, qos_pid, false, now_ms);
        if let Some(packet_id) = packet_id {
            let phase = if qos == QoS::AtLeastOnce { Phase::AwaitingAck } else { Phase::AwaitingRec };
            self.by_packet_id.insert(packet_id, seq);
            self.inflight.insert(seq, Inflight { packet_id, message, phase });
        }
        Some(Outgoing { seq, publish })
    }

    /// PUBACK: the QoS 1 message is delivered; its sequence number, if it was
    /// in flight at QoS 1.
    pub fn on_puback(&mut self, packet_id: PacketId) -> Option<u64> {
        self.finish(packet_id, Phase::AwaitingAck)
    }

    /// PUBREC: the client has the QoS 2 message; it now awaits PUBCOMP and the
    /// caller sends PUBREL (also when PUBREC comes again). The sequence number,
    /// if the id is a QoS 2 message in flight.
    pub fn on_pubrec(&mut self, packet_id: PacketId) -> Option<u64> {
        let seq = *self.by_packet_id.get(&packet_id)?;
        let inflight = self.inflight.get_mut(&seq)?;
        match inflight.phase {
            Phase::AwaitingRec | Phase::AwaitingComp => {
                inflight.phase = Phase::AwaitingComp;
                Some(seq)
            }
            Phase::AwaitingAck => None,
        }
    }

    /// PUBCOMP: the QoS 2 handshake is over.
    pub fn on_pubcomp(&mut self, packet_id: PacketId) -> Option<u64> {
        self.finish(packet_id, Phase::AwaitingComp)
    }

    /// A PUBREC with a failure reason code: the client refused the QoS 2
    /// message, which ends its handshake (no PUBREL follows).
    pub fn on_pubrec_refused(&mut self, packet_id: PacketId) -> Option<u64> {
        self.finish(packet_id, Phase::AwaitingRec)
    }

    /// Forgets a message in flight as if delivered (it could not be sent:
    /// larger than the client accepts).
    pub fn discard_inflight(&mut self, seq: u64) {
        if let Some(inflight) = self.inflight.remove(&seq) {
            self.by_packet_id.remove(&inflight.packet_id);
        }
    }

    /// What a resumed connection sends first: every message in flight, in
    /// order — PUBLISH again with DUP set until it was received, PUBREL once
    /// it was.
    pub fn resend(&self, now_ms: u64) -> Vec<Packet> {
        self.inflight
            .values()
            .map(|inflight| match inflight.phase {
                Phase::AwaitingAck => publish_packet(inflight, QosPid::AtLeastOnce(inflight.packet_id), now_ms),
                Phase::AwaitingRec => publish_packet(inflight, QosPid::ExactlyOnce(inflight.packet_id), now_ms),
                Phase::AwaitingComp => Packet::PubRel(PubAck::new(inflight.packet_id)),
            })
            .collect()
    }

    /// An inbound QoS 2 PUBLISH: true the first time its packet id is seen
    /// (deliver it), false for a resend before PUBREL (do not deliver again).
    pub fn on_inbound_qos2(&mut self, packet_id: PacketId) -> bool {
        self.awaiting_release.insert(packet_id)
    }

    /// PUBREL: the id is released; whether it was awaited.
    pub fn on_pubrel(&mut self, packet_id: PacketId) -> bool {
        self.awaiting_release.remove(&packet_id)
    }

    /// Inbound QoS 2 messages awaiting PUBREL.
    pub fn awaiting_release(&self) -> usize {
        self.awaiting_release.len()
    }

    /// Takes out every queued or in-flight message that came through a shared
    /// subscription `give_away` accepts (its member is leaving), in order,
    /// except QoS 2 messages in flight: their delivery is completed with this
    /// session or not at all (MQTT 5.0 §4.8.2, [MQTT-4.8.2-4], [MQTT-4.8.2-5]).
    pub fn take_shared(&mut self, give_away: impl Fn(&str) -> bool) -> Vec<(u64, Message)> {
        let leaves = |message: &Message| message.shared.as_deref().is_some_and(&give_away);
        let mut taken: Vec<(u64, Message)> = Vec::new();
        let seqs: Vec<u64> = self
            .inflight
            .iter()
            .filter(|(_, f)| f.message.qos != QoS::ExactlyOnce && leaves(&f.message))
            .map(|(seq, _)| *seq)
            .collect();
        for seq in seqs {
            if let Some(inflight) = self.inflight.remove(&seq) {
                self.by_packet_id.remove(&inflight.packet_id);
                taken.push((seq, inflight.message));
            }
        }
        let (gone, kept): (VecDeque<Queued>, VecDeque<Queued>) = self.queue.drain(..).partition(|q| leaves(&q.message));
        self.queue = kept;
        taken.extend(gone.into_iter().map(|q| (q.seq, q.message)));
        taken.sort_by_key(|(seq, _)| *seq);
        taken
    }

    /// Rebuilds a queued message from the store.
    pub fn restore_queued(&mut self, seq: u64, message: Message) {
        let index = self.queue.partition_point(|q| q.seq < seq);
        self.queue.insert(index, Queued { seq, message, ready: true });
        self.next_seq = self.next_seq.max(seq + 1);
    }

    /// Rebuilds a message in flight from the store.
    pub fn restore_inflight(&mut self, seq: u64, inflight: Inflight) {
        self.by_packet_id.insert(inflight.packet_id, seq);
        self.inflight.insert(seq, inflight);
        self.next_seq = self.next_seq.max(seq + 1);
    }

    /// Rebuilds an inbound QoS 2 id awaiting PUBREL from the store.
    pub fn restore_awaiting_release(&mut self, packet_id: PacketId) {
        self.awaiting_release.insert(packet_id);
    }

    fn finish(&mut self, packet_id: PacketId, phase: Phase) -> Option<u64> {
        let seq = *self.by_packet_id.get(&packet_id)?;
        if self.inflight.get(&seq)?.phase != phase {
            return None;
        }
        self.inflight.remove(&seq);
        self.by_packet_id.remove(&packet_id);
        Some(seq)
    }

    fn allocate(&mut self) -> Option<PacketId> {
        for _ in 0..u16::MAX {
            let candidate = PacketId::new(self.next_packet_id);
            self.next_packet_id = self.next_packet_id.checked_add(1).unwrap_or(1);
            if let Some(id) = candidate
                && !self.by_packet_id.contains_key(&id)
            {
                return Some(id);
            }
        }
        None
    }
}

fn publish_of(message: &Message, qos: QosPid, dup: bool, now_ms: u64) -> Publish {
    Publish {
        dup,
        qos,
        retain: message.retain,
        topic: message.topic.clone(),
        payload: message.payload.clone(),
        properties: message.publish_properties(now_ms),
    }
}

fn publish_packet(inflight: &Inflight, qos: QosPid, now_ms: u64) -> Packet {
    Packet::Publish(publish_of(&inflight.message, qos, true, now_ms))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;

    use super::*;

    fn pid(id: u16) -> PacketId {
        PacketId::new(id).unwrap()
    }

    fn message(payload: &'static str, qos: QoS) -> Message {
        Message::new(Arc::from("t"), Bytes::from_static(payload.as_bytes()), qos, false)
    }

    #[test]
    fn qos_0_leaves_at_once_and_qos_1_waits_for_puback() {
        let mut state = SessionState::new(10);
        state.enqueue(message("a", QoS::AtMostOnce), true).unwrap();
        state.enqueue(message("b", QoS::AtLeastOnce), true).unwrap();
        let first = state.next_outgoing(5, 0).unwrap();
        assert_eq!((first.seq, first.publish.qos), (1, QosPid::AtMostOnce));
        let second = state.next_outgoing(5, 0).unwrap();
        assert_eq!(second.publish.qos, QosPid::AtLeastOnce(pid(1)));
        assert_eq!(state.in_flight(), 1);
        assert_eq!(state.on_pubcomp(pid(1)), None, "not a QoS 2 message");
        assert_eq!(state.on_puback(pid(1)), Some(2));
        assert_eq!(state.on_puback(pid(1)), None);
        assert_eq!(state.in_flight(), 0);
    }

    #[test]
    fn qos_2_goes_through_pubrec_and_pubcomp() {
        let mut state = SessionState::new(10);
        state.enqueue(message("x", QoS::ExactlyOnce), true).unwrap();
        let out = state.next_outgoing(5, 0).unwrap();
        assert_eq!(out.publish.qos, QosPid::ExactlyOnce(pid(1)));
        assert_eq!(state.on_puback(pid(1)), None);
        assert_eq!(state.on_pubcomp(pid(1)), None, "PUBCOMP before PUBREC");
        assert_eq!(state.on_pubrec(pid(1)), Some(1));
        assert_eq!(state.on_pubrec(pid(1)), Some(1), "a repeated PUBREC gets PUBREL again");
        assert_eq!(state.resend(0), vec![Packet::PubRel(PubAck::new(pid(1)))]);
        assert_eq!(state.on_pubcomp(pid(1)), Some(1));
        assert!(state.resend(0).is_empty());
    }

    #[test]
    fn the_window_and_readiness_hold_messages_back_in_order() {
        let mut state = SessionState::new(10);
        let unready = state.enqueue(message("a", QoS::AtLeastOnce), false).unwrap();
        state.enqueue(message("b", QoS::AtMostOnce), true).unwrap();
        assert!(state.next_outgoing(5, 0).is_none(), "the first message is not in the store yet");
        assert!(state.mark_ready(unready));
        assert_eq!(state.next_outgoing(0, 0), None, "no room in flight for the QoS 1 message");
        assert_eq!(state.next_outgoing(1, 0).unwrap().publish.payload, Bytes::from_static(b"a"));
        assert_eq!(state.next_outgoing(1, 0).unwrap().publish.payload, Bytes::from_static(b"b"));
        assert!(!state.mark_ready(unready), "already sent");
    }

    #[test]
    fn expired_messages_are_dropped_before_sending() {
        use crate::mqtt::message::{Properties, Received};
        let mut state = SessionState::new(10);
        let lasting = |seconds| {
            let received = Received {
                format: None,
                expiry_interval: Some(seconds),
                content_type: &None,
                response_topic: &None,
                correlation_data: &None,
                user_properties: &[],
            };
            message("m", QoS::AtLeastOnce).with_properties(Properties::received(received, 0))
        };
        state.enqueue(lasting(1), true).unwrap();
        state.enqueue(lasting(60), true).unwrap();
        let sent = state.next_outgoing(5, 1_000).unwrap();
        assert_eq!(sent.seq, 2, "the first had expired");
        assert_eq!(sent.publish.properties.message_expiry_interval, Some(59));
        assert_eq!(state.take_expired(), [1]);
        state.enqueue(lasting(1), false).unwrap();
        state.expire(2_000);
        assert_eq!((state.queued(), state.take_expired()), (0, vec![3]), "unready ones expire too");
    }

    #[test]
    fn a_full_queue_refuses() {
        let mut state = SessionState::new(1);
        state.enqueue(message("a", QoS::AtLeastOnce), true).unwrap();
        assert_eq!(state.enqueue(message("b", QoS::AtLeastOnce), true), Err(QueueFull));
    }

    #[test]
    fn resend_repeats_what_is_in_flight_in_order_with_dup() {
        let mut state = SessionState::new(10);
        for (payload, qos) in [("a", QoS::AtLeastOnce), ("b", QoS::ExactlyOnce), ("c", QoS::AtLeastOnce)] {
            state.enqueue(message(payload, qos), true).unwrap();
            state.next_outgoing(10, 0).unwrap();
        }
        state.on_pubrec(pid(2)).unwrap();
        let resent = state.resend(0);
        assert_eq!(resent.len(), 3);
        match &resent[0] {
            Packet::Publish(p) => assert!(p.dup && p.qos == QosPid::AtLeastOnce(pid(1)) && &p.payload[..] == b"a"),
            other => panic!("{other:?}"),
        }
        assert_eq!(resent[1], Packet::PubRel(PubAck::new(pid(2))));
        assert!(matches!(&resent[2], Packet::Publish(p) if p.dup && &p.payload[..] == b"c"));
    }

    #[test]
    fn restored_state_continues_numbering_and_skips_ids_in_flight() {
        let mut state = SessionState::new(10);
        state.restore_inflight(
            7,
            Inflight { packet_id: pid(1), message: message("a", QoS::AtLeastOnce), phase: Phase::AwaitingAck },
        );
        state.restore_queued(9, message("c", QoS::AtLeastOnce));
        state.restore_queued(8, message("b", QoS::AtLeastOnce));
        assert_eq!(state.enqueue(message("d", QoS::AtMostOnce), true), Ok(10));
        let next = state.next_outgoing(10, 0).unwrap();
        assert_eq!((next.seq, next.publish.qos), (8, QosPid::AtLeastOnce(pid(2))));
        assert_eq!(state.on_puback(pid(1)), Some(7));
    }

    #[test]
    fn inbound_qos_2_is_delivered_once_until_released() {
        let mut state = SessionState::new(10);
        assert!(state.on_inbound_qos2(pid(7)));
        assert!(!state.on_inbound_qos2(pid(7)));
        assert_eq!(state.awaiting_release(), 1);
        assert!(state.on_pubrel(pid(7)));
        assert!(!state.on_pubrel(pid(7)));
        assert!(state.on_inbound_qos2(pid(7)));
    }

    #[test]
    fn packet_ids_are_exhausted_at_65535_in_flight() {
        let mut state = SessionState::new(70_000);
        for _ in 0..u16::MAX {
            state.enqueue(message("m", QoS::AtLeastOnce), true).unwrap();
            state.next_outgoing(usize::MAX, 0).unwrap();
        }
        state.enqueue(message("m", QoS::AtLeastOnce), true).unwrap();
        assert!(state.next_outgoing(usize::MAX, 0).is_none());
        state.on_puback(pid(300)).unwrap();
        assert_eq!(state.next_outgoing(usize::MAX, 0).unwrap().publish.qos, QosPid::AtLeastOnce(pid(300)));
    }
}
