//! One Kafka partition's writer for the MQTT bridge: records bound for the
//! partition queue up and a task appends whatever has queued as one record
//! batch, then tells each waiting publisher once the batch is durable.
//!
//! Owns the batching and the record's bytes (via the commit log's encoder);
//! which records come here is the bridge's business.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use omnibus_commit_log::{LogError, PartitionLog, Record, TimestampType, encode_batch};
use tokio::sync::{mpsc, oneshot};

use super::BridgeError;
use crate::mqtt::codec::QoS;

/// Records waiting per partition before publishers wait.
const CAPACITY: usize = 4096;
/// A writer idle this long stops (a deleted topic's log is let go); the next
/// record starts another.
const IDLE: Duration = Duration::from_secs(60);
/// Most records and bytes in one batch.
const MAX_RECORDS: usize = 1000;
const MAX_BYTES: usize = 1 << 20;

/// One MQTT message on its way to the partition.
pub struct Pending {
    pub key: Bytes,
    pub value: Bytes,
    pub qos: QoS,
    pub retain: bool,
    /// Further headers (the message's MQTT 5 properties), in order.
    pub headers: Vec<(String, Bytes)>,
    /// Told once the record is durable (publishers at QoS 1 and 2).
    pub done: Option<oneshot::Sender<Result<(), BridgeError>>>,
}

#[derive(Clone)]
pub struct Appender {
    topic: Arc<str>,
    sender: mpsc::Sender<Pending>,
}

impl Appender {
    pub fn spawn(topic: String, log: Arc<PartitionLog>) -> Appender {
        let (sender, receiver) = mpsc::channel(CAPACITY);
        let topic: Arc<str> = Arc::from(topic);
        tokio::spawn(run(topic.to_string(), log, receiver));
        Appender { topic, sender }
    }

    /// Queues a record, waiting while the partition's queue is full.
    pub async fn send(&self, pending: Pending) {
        if let Err(mpsc::error::SendError(pending)) = self.sender.send(pending).await
            && let Some(done) = pending.done
        {
            let reason = "the topic's writer has stopped".to_string();
            let _ = done.send(Err(BridgeError::Append { topic: self.topic.to_string(), reason }));
        }
    }

    /// The writer has stopped: idle, or its topic was deleted.
    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }
}

async fn run(topic: String, log: Arc<PartitionLog>, mut receiver: mpsc::Receiver<Pending>) {
    while let Ok(Some(first)) = tokio::time::timeout(IDLE, receiver.recv()).await {
        let mut batch = vec![first];
        let mut bytes = batch[0].key.len() + batch[0].value.len();
        while batch.len() < MAX_RECORDS
            && bytes < MAX_BYTES
            && let Ok(next) = receiver.try_recv()
        {
            bytes += next.key.len() + next.value.len();
            batch.push(next);
        }
        let encoded = encode(&batch);
        let waiters: Vec<_> = batch.into_iter().filter_map(|p| p.done).collect();
        let fail = |waiters: Vec<oneshot::Sender<Result<(), BridgeError>>>, reason: String| {
            for waiter in waiters {
                let _ = waiter.send(Err(BridgeError::Append { topic: topic.clone(), reason: reason.clone() }));
            }
        };
        let Some(encoded) = encoded else {
            fail(waiters, "the batch cannot be encoded".into());
            continue;
        };
        match log.append_pending(encoded, TimestampType::CreateTime) {
            Ok(pending) if waiters.is_empty() => drop(pending),
            Ok(pending) => {
                let topic = topic.clone();
                tokio::spawn(async move {
                    let result = pending
                        .durable()
                        .await
                        .map(|_| ())
                        .map_err(|e| BridgeError::Append { topic, reason: e.to_string() });
                    for waiter in waiters {
                        let _ = waiter.send(result.clone());
                    }
                });
            }
            Err(error) => {
                let closed = matches!(error, LogError::Closed);
                fail(waiters, error.to_string());
                if closed {
                    return;
                }
            }
        }
    }
}

/// The records as one batch stamped now: key, value, and headers `mqtt.qos`,
/// (when set) `mqtt.retain`, then the message's own.
fn encode(batch: &[Pending]) -> Option<Bytes> {
    type Headers<'a> = Vec<(&'a str, Option<&'a [u8]>)>;
    let headers: Vec<Headers<'_>> = batch
        .iter()
        .map(|p| {
            let qos: &[u8] = match p.qos {
                QoS::AtMostOnce => b"0",
                QoS::AtLeastOnce => b"1",
                QoS::ExactlyOnce => b"2",
            };
            let mut headers = vec![("mqtt.qos", Some(qos))];
            if p.retain {
                headers.push(("mqtt.retain", Some(&b"true"[..])));
            }
            headers.extend(p.headers.iter().map(|(name, value)| (name.as_str(), Some(&value[..]))));
            headers
        })
        .collect();
    let records: Vec<Record<'_>> = batch
        .iter()
        .zip(&headers)
        .map(|(p, headers)| Record { key: Some(&p.key), value: Some(&p.value), timestamp_delta: 0, headers })
        .collect();
    encode_batch(&records, now_ms())
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
