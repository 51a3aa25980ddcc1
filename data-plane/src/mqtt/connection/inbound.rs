//! The reader half of a connection: packets from the client after CONNECT.
//!
//! Routes publishes through the hub, keeps subscriptions, and hands every
//! reply to the writer through the control queue. Never writes the socket.

use std::time::Duration;

use futures_util::StreamExt as _;
use tokio::sync::mpsc;
use tracing::{debug, info};

use super::Reader;
use super::outbound::Control;
use crate::mqtt::codec::{CodecError, Packet, Publish, QoS, SubAck, Subscribe, SubscribeReturnCode, Unsubscribe};
use crate::mqtt::hub::Hub;
use crate::mqtt::metrics::Meters;
use crate::mqtt::router::SessionId;
use crate::mqtt::session::Inbound;
use crate::tenancy::Principal;

/// Highest QoS granted to a subscription until QoS 2 delivery is built.
const MAX_GRANTED_QOS: QoS = QoS::AtLeastOnce;

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
    /// A publish to a topic the credential may not publish to.
    PublishDenied(String),
    /// The writer stopped, so replies can no longer be sent.
    WriterGone,
}

/// Reader-side context of one session.
pub struct Session<'a> {
    pub hub: &'a Hub,
    pub principal: &'a Principal,
    pub id: SessionId,
    pub control: mpsc::Sender<Control>,
    pub meters: &'a Meters,
    pub state: Inbound,
}

impl Session<'_> {
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
            Packet::PubAck(id) => self.send(Control::Acked(id)).await,
            Packet::PubRel(id) => {
                let reply = self.state.on_pubrel(id);
                self.reply(reply).await
            }
            Packet::PubRec(id) | Packet::PubComp(id) => {
                // The broker never sends QoS 2, so there is nothing to advance.
                debug!(packet_id = id.get(), "ignoring an acknowledgement of a QoS 2 publish never sent");
                Ok(())
            }
            Packet::Subscribe(subscribe) => self.subscribe(subscribe).await,
            Packet::Unsubscribe(unsubscribe) => self.unsubscribe(unsubscribe).await,
            Packet::PingReq => self.reply(Packet::PingResp).await,
            Packet::Disconnect => Err(ReadEnd::Disconnected),
            Packet::Connect(_) => Err(ReadEnd::ProtocolViolation("second CONNECT")),
            Packet::ConnAck(_) | Packet::SubAck(_) | Packet::UnsubAck(_) | Packet::PingResp => {
                Err(ReadEnd::ProtocolViolation("a packet only servers send"))
            }
        }
    }

    async fn publish(&mut self, publish: Publish) -> Result<(), ReadEnd> {
        self.meters.messages_in.increment(1);
        if !self.principal.acl().may_publish(&publish.topic) {
            return Err(ReadEnd::PublishDenied(publish.topic.to_string()));
        }
        let action = self.state.on_publish(publish.qos);
        if action.route {
            let namespace = self.principal.namespace_id();
            self.hub.publish(namespace, &publish.topic, &publish.payload, publish.qos.qos()).await;
        }
        match action.reply {
            Some(reply) => self.reply(reply).await,
            None => Ok(()),
        }
    }

    async fn subscribe(&mut self, subscribe: Subscribe) -> Result<(), ReadEnd> {
        let namespace = self.principal.namespace_id();
        let mut return_codes = Vec::with_capacity(subscribe.filters.len());
        for (filter, requested) in &subscribe.filters {
            if self.principal.acl().may_subscribe(filter) {
                let granted = (*requested).min(MAX_GRANTED_QOS);
                self.hub.subscribe(namespace, self.id, filter, granted);
                return_codes.push(SubscribeReturnCode::Granted(granted));
            } else {
                info!(filter, "subscription refused by the ACL");
                return_codes.push(SubscribeReturnCode::Failure);
            }
        }
        self.reply(Packet::SubAck(SubAck { packet_id: subscribe.packet_id, return_codes })).await
    }

    async fn unsubscribe(&mut self, unsubscribe: Unsubscribe) -> Result<(), ReadEnd> {
        let namespace = self.principal.namespace_id();
        for filter in &unsubscribe.filters {
            self.hub.unsubscribe(namespace, self.id, filter);
        }
        self.reply(Packet::UnsubAck(unsubscribe.packet_id)).await
    }

    async fn reply(&self, packet: Packet) -> Result<(), ReadEnd> {
        self.send(Control::Send(packet)).await
    }

    async fn send(&self, control: Control) -> Result<(), ReadEnd> {
        self.control.send(control).await.map_err(|_| ReadEnd::WriterGone)
    }
}
