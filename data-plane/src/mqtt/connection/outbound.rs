//! The writer half of a connection: the only task that writes the socket.
//!
//! Writes the reader's control packets (acknowledgements, SUBACK, PINGRESP)
//! and the session's queued messages, as many in flight as the client's
//! Receive Maximum allows. Messages that expired while queued are dropped; one
//! larger than the client's Maximum Packet Size is dropped as if delivered
//! (MQTT 5.0 §3.1.2.25).
//! A QoS 1 or 2 message to a persistent session is stored as in flight before
//! its PUBLISH is written, so after a crash it is resent with its packet id and
//! DUP set, and a QoS 2 one is never delivered twice. Control packets queued before a message became
//! sendable are written before it (SUBACK before the retained messages). It
//! waits only on its own socket and the store, never on a reader, which keeps
//! publishers from deadlocking each other.

use std::sync::Arc;

use bytes::BytesMut;
use futures_util::SinkExt as _;
use tokio::sync::mpsc;
use tracing::debug;

use super::Writer;
use crate::mqtt::codec::{CodecError, Packet, ProtocolVersion, QosPid, encode};
use crate::mqtt::live_session::Session;
use crate::mqtt::message::now_ms;
use crate::mqtt::metrics::Meters;
use crate::mqtt::session::{Outgoing, Phase};
use crate::mqtt::store::{Op, Store, StoreError};
use crate::quota::{NamespaceRates, Quotas};

/// Messages taken off the queue in one go.
const BATCH: usize = 64;

/// Why the writer stopped before it was told to.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Codec(#[from] CodecError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the writer works with.
pub struct Writing<'a> {
    pub session: &'a Arc<Session>,
    pub connection: u64,
    /// Most QoS 1 and 2 messages in flight at once.
    pub window: usize,
    pub protocol: ProtocolVersion,
    /// The largest packet the client accepts.
    pub max_packet_size: Option<u32>,
    pub store: &'a Store,
    pub meters: &'a Meters,
    /// The namespace's rate quotas: past its bytes out, the writer waits
    /// before it writes more (the queue holds what it has not written).
    pub quotas: &'a Quotas,
    pub rates: Arc<NamespaceRates>,
}

impl Writing<'_> {
    /// Writes `resend` first, then until the control queue closes, the
    /// session is taken over, or a write fails.
    pub async fn run(
        &self,
        sink: &mut Writer,
        control: &mut mpsc::Receiver<Box<Packet>>,
        resend: Vec<Packet>,
    ) -> Result<(), WriteError> {
        for packet in resend {
            sink.feed(packet).await?;
        }
        loop {
            while let Ok(packet) = control.try_recv() {
                sink.feed(*packet).await?;
            }
            let Some(batch) = self.take() else {
                // Another connection has the session now.
                sink.flush().await?;
                return Ok(());
            };
            if !batch.is_empty() {
                self.session.made_room();
                let batch = self.within_size(batch);
                if self.session.persistent {
                    Box::pin(self.store_in_flight(&batch)).await?;
                }
                while let Ok(packet) = control.try_recv() {
                    sink.feed(*packet).await?;
                }
                let mut payload_bytes = 0u64;
                for outgoing in batch {
                    let payload = outgoing.publish.payload.len();
                    sink.feed(Packet::Publish(outgoing.publish)).await?;
                    self.meters.message_out(payload);
                    payload_bytes += payload as u64;
                }
                self.meters.bytes_out(sink.encoder_mut().take_bytes_encoded());
                let wait = self.quotas.take_out(&self.rates, payload_bytes);
                if !wait.is_zero() {
                    sink.flush().await?;
                    self.meters.bytes_out(sink.encoder_mut().take_bytes_encoded());
                    tokio::time::sleep(wait).await;
                }
                continue;
            }
            sink.flush().await?;
            self.meters.bytes_out(sink.encoder_mut().take_bytes_encoded());
            tokio::select! {
                biased;
                packet = control.recv() => match packet {
                    Some(packet) => sink.feed(*packet).await?,
                    None => return Ok(()),
                },
                () = self.session.wake.notified() => {}
            }
        }
    }

    /// Up to [`BATCH`] messages the window allows; `None` once the session
    /// is attached to another connection.
    fn take(&self) -> Option<Vec<Outgoing>> {
        let now = now_ms();
        let mut inner = self.session.lock();
        if inner.connection != Some(self.connection) {
            return None;
        }
        inner.state.expire(now);
        let batch = std::iter::from_fn(|| inner.state.next_outgoing(self.window, now)).take(BATCH).collect();
        let expired = inner.state.take_expired();
        drop(inner);
        if !expired.is_empty() && self.session.persistent {
            let key = &self.session.key;
            self.store.submit(expired.into_iter().map(|seq| Op::DeleteMessage { key: key.clone(), seq }).collect());
        }
        Some(batch)
    }

    /// The batch without the messages larger than the client accepts; those
    /// are done with as if delivered.
    fn within_size(&self, batch: Vec<Outgoing>) -> Vec<Outgoing> {
        let Some(limit) = self.max_packet_size else { return batch };
        let mut scratch = BytesMut::new();
        batch
            .into_iter()
            .filter(|outgoing| {
                scratch.clear();
                let packet = Packet::Publish(outgoing.publish.clone());
                let fits =
                    encode::encode(&packet, self.protocol, &mut scratch).is_ok() && scratch.len() <= limit as usize;
                if !fits {
                    debug!(size = scratch.len(), limit, "a message larger than the client accepts is dropped");
                    self.session.lock().state.discard_inflight(outgoing.seq);
                    if self.session.persistent {
                        self.store.submit(vec![Op::DeleteMessage { key: self.session.key.clone(), seq: outgoing.seq }]);
                    }
                }
                fits
            })
            .collect()
    }

    async fn store_in_flight(&self, batch: &[Outgoing]) -> Result<(), StoreError> {
        if !self.session.persistent {
            return Ok(());
        }
        let ops: Vec<Op> = batch
            .iter()
            .filter_map(|outgoing| {
                let (id, phase) = match outgoing.publish.qos {
                    QosPid::AtMostOnce => return None,
                    QosPid::AtLeastOnce(id) => (id, Phase::AwaitingAck),
                    QosPid::ExactlyOnce(id) => (id, Phase::AwaitingRec),
                };
                let message = self.session.lock().state.inflight(outgoing.seq)?.message.clone();
                Some(Op::PutMessage {
                    key: self.session.key.clone(),
                    seq: outgoing.seq,
                    message,
                    inflight: Some((id, phase)),
                })
            })
            .collect();
        if ops.is_empty() { Ok(()) } else { self.store.commit(ops).await }
    }
}
