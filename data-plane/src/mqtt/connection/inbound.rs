//! The reader half of a connection: packets from the client after CONNECT.
//!
//! Routes publishes through the hub in the order they arrive and hands each
//! one's wait for the disk to the acker (`ack`), which acknowledges them in
//! that order once what they must leave on disk is there, so a publisher's
//! stream is not held to one fsync per message; advances the session's
//! outgoing handshakes on
//! PUBACK, PUBREC and PUBCOMP; keeps subscriptions. For MQTT 5 it resolves
//! topic aliases, enforces the broker's Receive Maximum, answers with reason
//! codes (a forbidden publish gets 0x87, one nobody receives 0x10), and
//! honours subscription options, identifiers and retain handling. Every reply
//! goes to the writer through the control queue; the reader never writes the
//! socket.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use futures_util::StreamExt as _;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{debug, info};

use super::Reader;
use super::ack::{Acked, Acks, Work};
use crate::mqtt::codec::{
    CodecError, Disconnect, Packet, PacketId, PayloadFormat, ProtocolVersion, PubAck, Publish, QosPid, ReasonCode,
    RetainHandling, SubAck, Subscribe, SubscribeReturnCode, UnsubAck, Unsubscribe,
};
use crate::mqtt::hub::Hub;
use crate::mqtt::live_session::Session;
use crate::mqtt::message::{Message, Properties, Received, now_ms};
use crate::mqtt::metrics::Meters;
use crate::mqtt::session::{Phase, SessionState, Subscription};
use crate::mqtt::store::{Op, StoreError};
use crate::mqtt::sys;
use crate::mqtt::topic;
use crate::quota::{NamespaceRates, Quotas};
use crate::tenancy::{MqttLimits, Principal};

/// QoS 2 messages a client may have awaiting PUBREL (the broker's Receive
/// Maximum, told in CONNACK), unless the plan allows fewer.
pub const RECEIVE_MAXIMUM: u16 = 1024;
/// Topic aliases a client may set (told in CONNACK).
pub const TOPIC_ALIAS_MAXIMUM: u16 = 64;
/// How long a connection goes without a packet before its read buffer is
/// released and, with nothing else to do, it parks (idle connections are
/// most of a broker's connections).
const QUIET: Duration = Duration::from_secs(1);
/// Bytes of the first read: a CONNECT and what follows it. The reader reads
/// into at least this much room, twice as much each time a read brought more
/// than one packet (the client is sending faster than it is read), up to
/// [`MAX_READ`]; the buffer goes back when the connection goes quiet.
pub const FIRST_READ: usize = 512;
/// The most room a read asks for.
const MAX_READ: usize = 16 * 1024;

/// Why the reader stopped.
#[derive(Debug)]
pub enum ReadEnd {
    /// The client sent DISCONNECT; `will` when it asked for its will anyway
    /// (5.0 reason 0x04).
    Disconnected { will: bool },
    /// The client closed the socket without DISCONNECT.
    PeerClosed,
    /// No packet within 1.5 × keep-alive.
    IdleTimeout,
    /// The socket failed or the client sent bytes that are not MQTT.
    Codec(CodecError),
    /// A well-formed packet the client must not send now, and the reason
    /// code a 5.0 client is told in DISCONNECT.
    Violation(ReasonCode, &'static str),
    /// The session state could not be stored, so nothing can be acknowledged.
    Store(StoreError),
    /// The writer stopped, so replies can no longer be sent.
    WriterGone,
    /// Nothing from the client for [`QUIET`] and nothing for the connection
    /// to do: it may wait in its small parked form.
    Quiet,
}

/// The client's keep-alive: 1.5 × its Keep Alive from its last packet.
pub struct KeepAlive {
    pub limit: Option<Duration>,
    pub last_packet: Instant,
}

impl KeepAlive {
    /// When the client has been silent too long; `None` without a limit.
    pub fn deadline(&self) -> Option<Instant> {
        self.limit.map(|limit| self.last_packet + limit)
    }
}

impl From<StoreError> for ReadEnd {
    fn from(error: StoreError) -> Self {
        ReadEnd::Store(error)
    }
}

/// Reader-side context of one connection.
pub struct Reading<'a> {
    pub hub: &'a Hub,
    pub principal: &'a Principal,
    pub session: &'a Arc<Session>,
    pub protocol: ProtocolVersion,
    /// Replies for the writer, boxed so the queue's slots stay small.
    pub control: mpsc::Sender<Box<Packet>>,
    /// Publishes waiting for the disk, acknowledged in order by the acker.
    pub acks: Acks<'a>,
    pub meters: &'a Meters,
    /// Topic aliases the client set on this connection (kept across its
    /// parked spells).
    pub aliases: &'a mut HashMap<u16, Arc<str>>,
    /// The plan's limits.
    pub limits: MqttLimits,
    /// The namespace's rate quotas: past them the reader waits before it
    /// reads the next packet (back pressure; nothing accepted is dropped).
    pub quotas: &'a Quotas,
    pub rates: Arc<NamespaceRates>,
    /// Whether the last packet's handling waited for a rate quota.
    pub held_back: bool,
    /// The broker's Receive Maximum for this connection.
    pub receive_maximum: u16,
    /// Reason strings may go on acknowledgements.
    pub problem_information: bool,
}

impl<'a> Reading<'a> {
    /// Handles `first` (a packet read while the connection was parked), then
    /// reads and handles packets until the connection must end or may park.
    pub async fn run(&mut self, reader: &mut Reader, keep_alive: &mut KeepAlive, first: Option<Packet>) -> ReadEnd {
        let mut next = first;
        let mut room = FIRST_READ;
        loop {
            let packet = match next.take() {
                Some(packet) => packet,
                None => match self.next_packet(reader, keep_alive, room).await {
                    Err(end) => return end,
                    Ok(packet) => packet,
                },
            };
            if !reader.read_buffer().is_empty() {
                room = (room * 2).min(MAX_READ);
            }
            keep_alive.last_packet = Instant::now();
            self.meters.bytes_in(reader.decoder_mut().take_bytes_decoded());
            if let Err(end) = self.handle(packet).await {
                return end;
            }
            // A reader held back by a rate quota read nothing meanwhile: the
            // client was not idle.
            if std::mem::take(&mut self.held_back) {
                keep_alive.last_packet = Instant::now();
            }
        }
    }

    /// The next packet, read into at least `room / 2` bytes of free buffer,
    /// before the keep-alive runs out. Every [`QUIET`] without one, an empty
    /// read buffer is released, and if nothing is left to do (no publish
    /// waiting for the disk, no reply for the writer, no message queued) the
    /// reader ends with [`ReadEnd::Quiet`].
    async fn next_packet(&self, reader: &mut Reader, keep_alive: &KeepAlive, room: usize) -> Result<Packet, ReadEnd> {
        let buffer = reader.read_buffer_mut();
        if buffer.capacity() - buffer.len() < room / 2 {
            buffer.reserve(room);
        }
        let deadline = keep_alive.deadline();
        let next = loop {
            let until = deadline.map_or(Instant::now() + QUIET, |d| d.min(Instant::now() + QUIET));
            match tokio::time::timeout_at(until, reader.next()).await {
                Ok(next) => break next,
                Err(_) if Some(until) == deadline => return Err(ReadEnd::IdleTimeout),
                Err(_) if !reader.read_buffer().is_empty() => {}
                Err(_) => {
                    *reader.read_buffer_mut() = BytesMut::new();
                    if self.has_nothing_to_do() {
                        return Err(ReadEnd::Quiet);
                    }
                }
            }
        };
        match next {
            None => Err(ReadEnd::PeerClosed),
            Some(Err(error)) => Err(ReadEnd::Codec(error)),
            Some(Ok(packet)) => Ok(packet),
        }
    }

    fn has_nothing_to_do(&self) -> bool {
        self.acks.capacity() == self.acks.max_capacity()
            && self.control.capacity() == self.control.max_capacity()
            && self.session.lock().state.queued() == 0
    }

    fn v5(&self) -> bool {
        self.protocol.is_v5()
    }

    async fn handle(&mut self, packet: Packet) -> Result<(), ReadEnd> {
        match packet {
            Packet::Publish(publish) => self.publish(publish).await,
            Packet::PubRel(ack) => self.pubrel(ack.packet_id).await,
            Packet::PubAck(ack) => {
                let id = ack.packet_id;
                self.acknowledged(id, |state| state.on_puback(id));
                Ok(())
            }
            Packet::PubRec(ack) if is_failure(ack.reason_code) => {
                let id = ack.packet_id;
                self.acknowledged(id, |state| state.on_pubrec_refused(id));
                Ok(())
            }
            Packet::PubRec(ack) => self.pubrec(ack.packet_id).await,
            Packet::PubComp(ack) => {
                let id = ack.packet_id;
                self.acknowledged(id, |state| state.on_pubcomp(id));
                Ok(())
            }
            Packet::Subscribe(subscribe) => self.subscribe(subscribe).await,
            Packet::Unsubscribe(unsubscribe) => self.unsubscribe(unsubscribe).await,
            Packet::PingReq => self.reply(Packet::PingResp).await,
            Packet::Disconnect(disconnect) => Err(self.disconnect(&disconnect)),
            Packet::Auth(_) => {
                Err(ReadEnd::Violation(ReasonCode::ProtocolError, "AUTH without an authentication method"))
            }
            Packet::Connect(_) => Err(ReadEnd::Violation(ReasonCode::ProtocolError, "second CONNECT")),
            Packet::ConnAck(_) | Packet::SubAck(_) | Packet::UnsubAck(_) | Packet::PingResp => {
                Err(ReadEnd::Violation(ReasonCode::ProtocolError, "a packet only servers send"))
            }
        }
    }

    /// DISCONNECT: a 5.0 client may change the Session Expiry Interval (not
    /// from 0) and ask for its will to be published anyway.
    fn disconnect(&self, disconnect: &Disconnect) -> ReadEnd {
        if let Some(expiry) = disconnect.properties.session_expiry_interval {
            if !self.session.persistent && expiry != 0 {
                return ReadEnd::Violation(ReasonCode::ProtocolError, "session expiry set on DISCONNECT after 0");
            }
            self.hub.set_expiry(self.session, expiry);
        }
        ReadEnd::Disconnected { will: disconnect.reason_code == ReasonCode::DisconnectWithWillMessage }
    }

    /// A PUBLISH: delivered (once, for QoS 2; after its delay, for a
    /// `$delayed/{seconds}/{topic}` one) unless it is refused, and
    /// acknowledged after the store has what the delivery needs. A refused
    /// publish is acknowledged with its reason code on 5.0 and acknowledged
    /// and dropped on 3.1.1, as that version allows.
    async fn publish(&mut self, publish: Publish) -> Result<(), ReadEnd> {
        let bytes = publish.payload.len() as u64;
        self.handle_publish(publish).await?;
        let wait = self.quotas.take_in(&self.rates, bytes, 1);
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
            self.held_back = true;
        }
        Ok(())
    }

    async fn handle_publish(&mut self, mut publish: Publish) -> Result<(), ReadEnd> {
        self.meters.message_in();
        if self.v5() {
            publish.topic = self.resolve_alias(&publish)?;
        }
        let outcome = self.accept(&publish);
        if let Err(reason) = &outcome {
            info!(topic = %publish.topic, ?reason, "publish refused; dropped");
        }
        match publish.qos {
            QosPid::AtMostOnce => {
                if outcome.is_ok() {
                    self.meters.accepted(publish.payload.len());
                }
                if let Ok((message, delay)) = outcome
                    && let Delivery::Waiting(work) = self.deliver(message, delay, None).await
                {
                    self.acknowledge(Acked { work, reply: None }).await?;
                }
                Ok(())
            }
            QosPid::AtLeastOnce(id) => {
                let reply = self.ack(id, &outcome, &publish.topic);
                if outcome.is_ok() {
                    self.meters.accepted(publish.payload.len());
                }
                let work = match outcome {
                    Ok((message, delay)) => self.deliver(message, delay, None).await.into_work(),
                    Err(reason) => done(reason),
                };
                self.acknowledge(Acked { work, reply: Some(Box::new(Packet::PubAck(reply))) }).await
            }
            QosPid::ExactlyOnce(id) => {
                if let Err(reason) = outcome
                    && self.v5()
                {
                    // A refused QoS 2 publish ends with this PUBREC: no PUBREL follows.
                    let reply = self.ack(id, &Err(reason), &publish.topic);
                    let work = done(reason);
                    return self.acknowledge(Acked { work, reply: Some(Box::new(Packet::PubRec(reply))) }).await;
                }
                let first = {
                    let mut inner = self.session.lock();
                    if inner.state.awaiting_release() >= usize::from(self.receive_maximum) && self.v5() {
                        return Err(ReadEnd::Violation(ReasonCode::ReceiveMaximumExceeded, "too many QoS 2 in flight"));
                    }
                    inner.state.on_inbound_qos2(id)
                };
                // The id is stored with the deliveries, so a resend after a
                // crash is recognised and not delivered again.
                let inbound =
                    self.session.persistent.then(|| Op::PutInbound { key: self.session.key.clone(), packet_id: id });
                if first && outcome.is_ok() {
                    self.meters.accepted(publish.payload.len());
                }
                let work = match (outcome, inbound) {
                    (Ok((message, delay)), inbound) if first => self.deliver(message, delay, inbound).await.into_work(),
                    (_, Some(op)) if first => {
                        let store = self.hub.store().clone();
                        Box::pin(async move { store.commit(vec![op]).await.map(|()| ReasonCode::Success) })
                    }
                    _ => done(ReasonCode::Success),
                };
                self.acknowledge(Acked { work, reply: Some(Box::new(Packet::PubRec(PubAck::new(id)))) }).await
            }
        }
    }

    /// The acknowledgement of a publish, with the reason string of a refusal
    /// when the client wants them.
    fn ack(&self, id: PacketId, outcome: &Result<(Message, Option<Duration>), ReasonCode>, topic: &str) -> PubAck {
        let mut ack = PubAck::new(id);
        if let Err(reason) = outcome
            && self.problem_information
        {
            ack.properties.reason_string = Some(match reason {
                ReasonCode::NotAuthorized => format!("the credential may not publish to {topic}"),
                ReasonCode::QuotaExceeded if self.hub.kafka_storage_full(&self.session.key.namespace, topic) => {
                    "the instance's Kafka logs hold its max_storage_bytes".into()
                }
                ReasonCode::QuotaExceeded => "the plan's limit of retained messages is reached".into(),
                ReasonCode::PayloadFormatInvalid => "the payload is not UTF-8 as its format indicator says".into(),
                ReasonCode::TopicNameInvalid => "a delayed publish is $delayed/{seconds}/{topic}".into(),
                other => format!("{other:?}"),
            });
        }
        ack
    }

    /// Queues a publish's wait for the acker, waiting while as many are
    /// queued as the broker lets a client have in flight.
    async fn acknowledge(&self, acked: Acked<'a>) -> Result<(), ReadEnd> {
        self.acks.send(acked).await.map_err(|_| ReadEnd::WriterGone)
    }

    /// The topic a 5.0 PUBLISH names, through its Topic Alias: an alias with
    /// a topic (re)defines it, an alias alone stands for its topic.
    fn resolve_alias(&mut self, publish: &Publish) -> Result<Arc<str>, ReadEnd> {
        let Some(alias) = publish.properties.topic_alias else { return Ok(publish.topic.clone()) };
        if alias == 0 || alias > TOPIC_ALIAS_MAXIMUM {
            return Err(ReadEnd::Violation(ReasonCode::TopicAliasInvalid, "topic alias out of range"));
        }
        if publish.topic.is_empty() {
            return self
                .aliases
                .get(&alias)
                .cloned()
                .ok_or(ReadEnd::Violation(ReasonCode::ProtocolError, "topic alias never set"));
        }
        self.aliases.insert(alias, publish.topic.clone());
        Ok(publish.topic.clone())
    }

    /// The message to deliver and its delay, or why not: a malformed delayed
    /// topic, a payload not UTF-8 as it claims, a topic the ACL forbids.
    fn accept(&self, publish: &Publish) -> Result<(Message, Option<Duration>), ReasonCode> {
        let (topic, delay) = match topic::delayed(&publish.topic) {
            None => (publish.topic.clone(), None),
            Some(Ok((seconds, topic))) => (Arc::from(topic), Some(Duration::from_secs(u64::from(seconds)))),
            Some(Err(())) => return Err(ReasonCode::TopicNameInvalid),
        };
        let p = &publish.properties;
        if p.payload_format_indicator == Some(PayloadFormat::Utf8) && std::str::from_utf8(&publish.payload).is_err() {
            return Err(ReasonCode::PayloadFormatInvalid);
        }
        if sys::is_sys(&topic) || !self.principal.acl().may_publish(&topic) {
            return Err(ReasonCode::NotAuthorized);
        }
        if publish.retain
            && !publish.payload.is_empty()
            && let Some(max) = self.limits.max_retained_messages
            && !self.hub.retained_room(&self.session.key.namespace, &topic, max as usize)
        {
            return Err(ReasonCode::QuotaExceeded);
        }
        if self.hub.kafka_storage_full(&self.session.key.namespace, &topic) {
            return Err(ReasonCode::QuotaExceeded);
        }
        let received = Received {
            format: p.payload_format_indicator,
            expiry_interval: p.message_expiry_interval,
            content_type: &p.content_type,
            response_topic: &p.response_topic,
            correlation_data: &p.correlation_data,
            user_properties: &p.user_properties,
        };
        let message = Message::new(topic, publish.payload.clone(), publish.qos.qos(), publish.retain)
            .with_properties(Properties::received(received, now_ms()));
        Ok((message, delay))
    }

    /// Routes `message` now (queued for every subscriber, in arrival
    /// order), with `also` to store in the same transaction. Done at once
    /// when nothing is to be stored or confirmed; otherwise the wait for the
    /// disk. Either yields the publisher's reason code, 0x10 when no one
    /// receives it now. A delayed message is stored in that wait.
    async fn deliver(&self, message: Message, delay: Option<Duration>, also: Option<Op>) -> Delivery<'a> {
        let (hub, namespace): (&'a Hub, Arc<str>) = (self.hub, self.session.key.namespace.clone());
        let reason = |reached| if reached == 0 { ReasonCode::NoMatchingSubscribers } else { ReasonCode::Success };
        match delay {
            Some(delay) => Delivery::Waiting(Box::pin(async move {
                hub.publish_later(&namespace, message, delay, also).await.map(|()| ReasonCode::Success)
            })),
            None => {
                let routed = hub.route_from(&namespace, message, Some(self.session.id)).await;
                let routed = match also {
                    Some(op) => routed.with(op),
                    None => routed,
                };
                if routed.is_settled() {
                    return Delivery::Done(reason(hub.complete_now(routed)));
                }
                Delivery::Waiting(Box::pin(async move { hub.complete(routed).await.map(reason) }))
            }
        }
    }

    /// PUBREL releases an inbound QoS 2 id; it is forgotten on disk before
    /// PUBCOMP, so the client may reuse it at once.
    async fn pubrel(&mut self, id: PacketId) -> Result<(), ReadEnd> {
        let known = self.session.lock().state.on_pubrel(id);
        if known && self.session.persistent {
            let op = Op::DeleteInbound { key: self.session.key.clone(), packet_id: id };
            self.hub.store().commit(vec![op]).await?;
        }
        let reason = if known { ReasonCode::Success } else { ReasonCode::PacketIdentifierNotFound };
        self.reply(Packet::PubComp(ack(id, reason))).await
    }

    /// PUBACK, PUBCOMP or a refusing PUBREC: the outgoing message is done;
    /// the window opens.
    fn acknowledged(&self, id: PacketId, finish: impl FnOnce(&mut SessionState) -> Option<u64>) {
        let done = finish(&mut self.session.lock().state);
        match done {
            Some(seq) => {
                if self.session.persistent {
                    self.hub.store().submit(vec![Op::DeleteMessage { key: self.session.key.clone(), seq }]);
                }
                self.session.wake.notify_one();
            }
            None => debug!(packet_id = id.get(), "acknowledgement for a packet id not in flight"),
        }
    }

    /// PUBREC: the client has the QoS 2 message. Its new phase is stored
    /// before PUBREL goes out, so a crash can never resend the PUBLISH after
    /// the client has been told to release it.
    async fn pubrec(&mut self, id: PacketId) -> Result<(), ReadEnd> {
        let released = {
            let mut inner = self.session.lock();
            inner.state.on_pubrec(id).and_then(|seq| inner.state.inflight(seq).map(|f| (seq, f.message.clone())))
        };
        let reason = match released {
            Some((seq, message)) if self.session.persistent => {
                let op = Op::PutMessage {
                    key: self.session.key.clone(),
                    seq,
                    message,
                    inflight: Some((id, Phase::AwaitingComp)),
                };
                self.hub.store().commit(vec![op]).await?;
                ReasonCode::Success
            }
            Some(_) => ReasonCode::Success,
            None => {
                debug!(packet_id = id.get(), "PUBREC for a packet id not in flight");
                ReasonCode::PacketIdentifierNotFound
            }
        };
        self.reply(Packet::PubRel(ack(id, reason))).await
    }

    async fn subscribe(&mut self, subscribe: Subscribe) -> Result<(), ReadEnd> {
        let identifier = subscribe.properties.subscription_identifier;
        let mut granted = Vec::with_capacity(subscribe.filters.len());
        let mut return_codes = Vec::with_capacity(subscribe.filters.len());
        let mut held: std::collections::BTreeSet<String> =
            self.session.lock().state.subscriptions().keys().cloned().collect();
        for (filter, options) in &subscribe.filters {
            let shared = topic::shared(filter);
            if shared.is_some() && options.no_local {
                return Err(ReadEnd::Violation(ReasonCode::ProtocolError, "no local on a shared subscription"));
            }
            if shared.is_some_and(|parts| parts.is_err()) {
                info!(filter, "refusing a malformed shared subscription");
                return_codes.push(SubscribeReturnCode::Failure(ReasonCode::TopicFilterInvalid));
            } else if !(sys::is_sys(topic::effective(filter))
                || self.principal.acl().may_subscribe(topic::effective(filter)))
            {
                info!(filter, "subscription refused by the ACL");
                return_codes.push(SubscribeReturnCode::Failure(ReasonCode::NotAuthorized));
            } else if !held.contains(filter)
                && self.limits.max_subscriptions_per_session.is_some_and(|max| held.len() >= max as usize)
            {
                info!(filter, "subscription refused: the session holds as many as the plan allows");
                return_codes.push(SubscribeReturnCode::Failure(ReasonCode::QuotaExceeded));
            } else {
                held.insert(filter.clone());
                let subscription = Subscription {
                    qos: options.qos,
                    no_local: options.no_local,
                    retain_as_published: options.retain_as_published,
                    identifier,
                };
                granted.push((filter.clone(), subscription, options.retain_handling));
                return_codes.push(SubscribeReturnCode::Granted(options.qos));
            }
        }
        let subscriptions: Vec<(String, Subscription)> = granted.iter().map(|(f, s, _)| (f.clone(), *s)).collect();
        let existed = self.hub.subscribe(self.session, &subscriptions).await?;
        let refused: Vec<&str> = subscribe
            .filters
            .iter()
            .zip(&return_codes)
            .filter(|(_, code)| matches!(code, SubscribeReturnCode::Failure(_)))
            .map(|((filter, _), _)| filter.as_str())
            .collect();
        let mut suback = SubAck::new(subscribe.packet_id, return_codes);
        if !refused.is_empty() && self.problem_information {
            suback.properties.reason_string = Some(format!("refused: {}", refused.join(", ")));
        }
        // SUBACK is queued before the retained messages, so it goes out first.
        self.reply(Packet::SubAck(suback)).await?;
        let retained: Vec<(String, Subscription)> = granted
            .into_iter()
            .zip(existed)
            .filter(|((_, _, handling), existed)| match handling {
                RetainHandling::SendAtSubscribe => true,
                RetainHandling::SendAtSubscribeIfNew => !existed,
                RetainHandling::DoNotSend => false,
            })
            .map(|((filter, subscription, _), _)| (filter, subscription))
            .collect();
        self.hub.deliver_retained(self.session, &retained).await?;
        Ok(())
    }

    async fn unsubscribe(&mut self, unsubscribe: Unsubscribe) -> Result<(), ReadEnd> {
        let found = self.hub.unsubscribe(self.session, &unsubscribe.filters).await?;
        let mut unsuback = UnsubAck::new(unsubscribe.packet_id);
        if self.v5() {
            unsuback.reason_codes = found
                .into_iter()
                .map(|found| if found { ReasonCode::Success } else { ReasonCode::NoSubscriptionExisted })
                .collect();
        }
        self.reply(Packet::UnsubAck(unsuback)).await
    }

    async fn reply(&self, packet: Packet) -> Result<(), ReadEnd> {
        self.control.send(Box::new(packet)).await.map_err(|_| ReadEnd::WriterGone)
    }
}

/// A routed publish: done, or waiting for the disk or a mapped Kafka topic.
enum Delivery<'a> {
    Done(ReasonCode),
    Waiting(Work<'a>),
}

impl<'a> Delivery<'a> {
    /// As a wait for the acker, which answers in order even when done.
    fn into_work(self) -> Work<'a> {
        match self {
            Delivery::Done(reason) => done(reason),
            Delivery::Waiting(work) => work,
        }
    }
}

/// A wait that is over, for the acker.
fn done<'a>(reason: ReasonCode) -> Work<'a> {
    Box::pin(std::future::ready(Ok(reason)))
}

/// A PUBACK-shaped acknowledgement with `reason` (3.1.1 ignores it).
fn ack(id: PacketId, reason: ReasonCode) -> PubAck {
    PubAck { reason_code: reason, ..PubAck::new(id) }
}

fn is_failure(reason: ReasonCode) -> bool {
    reason as u8 >= 0x80
}
