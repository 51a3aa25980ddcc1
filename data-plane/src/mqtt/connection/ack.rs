//! The acker of a connection: publishes waiting for the disk, acknowledged
//! (PUBACK, PUBREC) in the order they arrived, each once its wait is over.
//!
//! The reader queues every QoS 1 and 2 publish's wait here (a QoS 0 one's
//! only when it waits for something: it has no answer) and reads on,
//! so a publisher keeps up to a window of publishes in flight instead of one
//! per fsync; the answers still go out in order (MQTT-4.6.0-2, -3). Owns only
//! the ordering; what each wait does is the hub's.

use std::future::Future;
use std::pin::Pin;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::mqtt::codec::{Packet, ReasonCode};
use crate::mqtt::store::StoreError;

/// A publish's wait for the disk; it yields the reason code to answer with.
pub type Work<'a> = Pin<Box<dyn Future<Output = Result<ReasonCode, StoreError>> + Send + 'a>>;

/// One publish waiting.
pub struct Acked<'a> {
    pub work: Work<'a>,
    /// The acknowledgement to send with the reason code (none for QoS 0);
    /// boxed, so a slot of the queue stays small.
    pub reply: Option<Box<Packet>>,
}

pub type Acks<'a> = mpsc::Sender<Acked<'a>>;

/// Acknowledges what the reader queues, in order, until the reader stops
/// queuing. Every wait runs to its end even once the connection is closing
/// (a message routed but never committed would hold back its subscribers'
/// queues); only the replies are dropped once the writer is gone. A store
/// failure ends it (and the connection).
pub async fn run(
    mut queue: mpsc::Receiver<Acked<'_>>,
    control: mpsc::Sender<Box<Packet>>,
    stop: &CancellationToken,
) -> Result<(), StoreError> {
    while let Some(Acked { work, reply }) = queue.recv().await {
        let reason = work.await?;
        let Some(mut reply) = reply else { continue };
        if let Packet::PubAck(ack) | Packet::PubRec(ack) = &mut *reply {
            ack.reason_code = reason;
        }
        // Once the connection is stopping nobody writes replies any more; the
        // remaining waits still run.
        tokio::select! {
            biased;
            _ = control.send(reply) => {}
            () = stop.cancelled() => {}
        }
    }
    Ok(())
}
