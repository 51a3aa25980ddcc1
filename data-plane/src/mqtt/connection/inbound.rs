//! The reader half of a connection: packets from the client after CONNECT.
//!
//! Routes publishes through the hub and acknowledges each only once what it
//! must leave on disk is there; advances the session's outgoing handshakes on
//! PUBACK, PUBREC and PUBCOMP; keeps subscriptions. Every reply goes to the
//! writer through the control queue; the reader never writes the socket.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use tokio::sync::mpsc;
use tracing::{debug, info};

use super::Reader;
use crate::mqtt::codec::{
    CodecError, Packet, PacketId, PubAck, Publish, QosPid, ReasonCode, SubAck, Subscribe, SubscribeReturnCode,
    UnsubAck, Unsubscribe,
};
use crate::mqtt::hub::Hub;
use crate::mqtt::live_session::Session;
use crate::mqtt::message::Message;
use crate::mqtt::metrics::Meters;
use crate::mqtt::session::{Phase, SessionState};
use crate::mqtt::store::{Op, StoreError};
use crate::mqtt::topic;
use crate::tenancy::Principal;

/// Why the reader stopped.
#[derive(Debug)]
pub enum ReadEnd {
    /// The client sent DISCONNECT.
    Disconnected,
    /// The client closed the socket without DISCONNECT.
    PeerClosed,
    /// No packet within 1.5 × keep-alive.
    IdleTimeout,
    /// The socket failed or the client sent bytes that are not MQTT.
    Codec(CodecError),
    /// A well-formed packet the client must not send now.
    ProtocolViolation(&'static str),
    /// The session state could not be stored, so nothing can be acknowledged.
    Store(StoreError),
    /// The writer stopped, so replies can no longer be sent.
    WriterGone,
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
    pub control: mpsc::Sender<Packet>,
    pub meters: &'a Meters,
}

impl Reading<'_> {
    /// Reads and handles packets until the connection must end.
    pub async fn run(&mut self, reader: &mut Reader, idle_limit: Option<Duration>) -> ReadEnd {
        loop {
            let next = match idle_limit {
                Some(limit) => match tokio::time::timeout(limit, reader.next()).await {
                    Ok(next) => next,
                    Err(_) => return ReadEnd::IdleTimeout,
                },
                None => reader.next().await,
            };
            let packet = match next {
                None => return ReadEnd::PeerClosed,
                Some(Err(error)) => return ReadEnd::Codec(error),
                Some(Ok(packet)) => packet,
            };
            self.meters.bytes_in.increment(reader.decoder_mut().take_bytes_decoded());
            if let Err(end) = self.handle(packet).await {
                return end;
            }
        }
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
            Packet::PubRec(ack) => self.pubrec(ack.packet_id).await,
            Packet::PubComp(ack) => {
                let id = ack.packet_id;
                self.acknowledged(id, |state| state.on_pubcomp(id));
                Ok(())
            }
            Packet::Subscribe(subscribe) => self.subscribe(subscribe).await,
            Packet::Unsubscribe(unsubscribe) => self.unsubscribe(unsubscribe).await,
            Packet::PingReq => self.reply(Packet::PingResp).await,
            Packet::Disconnect(_) => Err(ReadEnd::Disconnected),
            Packet::Auth(_) => Err(ReadEnd::ProtocolViolation("AUTH without an authentication method")),
            Packet::Connect(_) => Err(ReadEnd::ProtocolViolation("second CONNECT")),
            Packet::ConnAck(_) | Packet::SubAck(_) | Packet::UnsubAck(_) | Packet::PingResp => {
                Err(ReadEnd::ProtocolViolation("a packet only servers send"))
            }
        }
    }

    /// A PUBLISH: delivered (once, for QoS 2; after its delay, for a
    /// `$delayed/{seconds}/{topic}` one) unless the ACL forbids it, and
    /// acknowledged after the store has what the delivery needs. A forbidden
    /// or malformed publish is acknowledged and dropped, as MQTT 3.1.1 allows.
    async fn publish(&mut self, publish: Publish) -> Result<(), ReadEnd> {
        self.meters.messages_in.increment(1);
        let (topic, delay) = match topic::delayed(&publish.topic) {
            None => (Some(publish.topic.clone()), None),
            Some(Ok((seconds, topic))) => (Some(Arc::from(topic)), Some(Duration::from_secs(u64::from(seconds)))),
            Some(Err(())) => {
                info!(topic = %publish.topic, "malformed delayed publish; dropped");
                (None, None)
            }
        };
        let topic = topic.filter(|topic| {
            let allowed = self.principal.acl().may_publish(topic);
            if !allowed {
                info!(topic = %topic, "publish denied by the ACL; dropped");
            }
            allowed
        });
        let message = topic.map(|topic| Message::new(topic, publish.payload, publish.qos.qos(), publish.retain));
        match publish.qos {
            QosPid::AtMostOnce => {
                if let Some(message) = message {
                    self.deliver(message, delay, None).await?;
                }
                Ok(())
            }
            QosPid::AtLeastOnce(id) => {
                if let Some(message) = message {
                    self.deliver(message, delay, None).await?;
                }
                self.reply(Packet::PubAck(PubAck::new(id))).await
            }
            QosPid::ExactlyOnce(id) => {
                let first = self.session.lock().state.on_inbound_qos2(id);
                // The id is stored with the deliveries, so a resend after a
                // crash is recognised and not delivered again.
                let inbound =
                    self.session.persistent.then(|| Op::PutInbound { key: self.session.key.clone(), packet_id: id });
                if first && let Some(message) = message {
                    self.deliver(message, delay, inbound).await?;
                } else if first && self.session.persistent {
                    let op = Op::PutInbound { key: self.session.key.clone(), packet_id: id };
                    self.hub.store().commit(vec![op]).await?;
                }
                self.reply(Packet::PubRec(PubAck::new(id))).await
            }
        }
    }

    /// Routes `message` now or stores it for later, with `also` in the same
    /// transaction.
    async fn deliver(&self, message: Message, delay: Option<Duration>, also: Option<Op>) -> Result<(), StoreError> {
        let namespace = &self.session.key.namespace;
        match delay {
            Some(delay) => self.hub.publish_later(namespace, message, delay, also).await,
            None => {
                let routed = self.hub.route(namespace, message).await;
                let routed = match also {
                    Some(op) => routed.with(op),
                    None => routed,
                };
                self.hub.complete(routed).await.map(|_| ())
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
        self.reply(Packet::PubComp(PubAck::new(id))).await
    }

    /// PUBACK or PUBCOMP: the outgoing message is done; the window opens.
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
        match released {
            Some((seq, message)) if self.session.persistent => {
                let op = Op::PutMessage {
                    key: self.session.key.clone(),
                    seq,
                    message,
                    inflight: Some((id, Phase::AwaitingComp)),
                };
                self.hub.store().commit(vec![op]).await?;
            }
            Some(_) => {}
            None => debug!(packet_id = id.get(), "PUBREC for a packet id not in flight"),
        }
        self.reply(Packet::PubRel(PubAck::new(id))).await
    }

    async fn subscribe(&mut self, subscribe: Subscribe) -> Result<(), ReadEnd> {
        let mut granted = Vec::with_capacity(subscribe.filters.len());
        let mut return_codes = Vec::with_capacity(subscribe.filters.len());
        for (filter, options) in &subscribe.filters {
            if topic::shared(filter).is_some_and(|parts| parts.is_err()) {
                info!(filter, "refusing a malformed shared subscription");
                return_codes.push(SubscribeReturnCode::Failure(ReasonCode::TopicFilterInvalid));
            } else if self.principal.acl().may_subscribe(topic::effective(filter)) {
                granted.push((filter.clone(), options.qos));
                return_codes.push(SubscribeReturnCode::Granted(options.qos));
            } else {
                info!(filter, "subscription refused by the ACL");
                return_codes.push(SubscribeReturnCode::Failure(ReasonCode::NotAuthorized));
            }
        }
        self.hub.subscribe(self.session, &granted).await?;
        // SUBACK is queued before the retained messages, so it goes out first.
        self.reply(Packet::SubAck(SubAck::new(subscribe.packet_id, return_codes))).await?;
        self.hub.deliver_retained(self.session, &granted).await?;
        Ok(())
    }

    async fn unsubscribe(&mut self, unsubscribe: Unsubscribe) -> Result<(), ReadEnd> {
        self.hub.unsubscribe(self.session, &unsubscribe.filters).await?;
        self.reply(Packet::UnsubAck(UnsubAck::new(unsubscribe.packet_id))).await
    }

    async fn reply(&self, packet: Packet) -> Result<(), ReadEnd> {
        self.control.send(packet).await.map_err(|_| ReadEnd::WriterGone)
    }
}
