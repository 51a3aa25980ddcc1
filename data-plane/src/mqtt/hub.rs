//! Fan-out: the router plus each live session's bounded outbound queue.
//!
//! Owns the map from session id to outbound queue and the locking around the
//! [`Router`]. A publisher waits for room in a full queue (back pressure, no
//! silent drops); a queue is drained by its connection's writer alone, which
//! never waits on any reader, so waiting here cannot deadlock two sessions.
//! Knows nothing of sockets, packets or ACLs.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use bytes::Bytes;
use tokio::sync::mpsc::{self, error::TrySendError};

use crate::mqtt::codec::QoS;
use crate::mqtt::router::{Router, SessionId};
use crate::mqtt::session::Delivery;

/// Messages queued per subscriber before publishers wait.
pub const OUTBOX_CAPACITY: usize = 1024;

#[derive(Default)]
pub struct Hub {
    router: RwLock<Router>,
    outboxes: RwLock<HashMap<SessionId, mpsc::Sender<Delivery>>>,
}

impl Hub {
    /// Opens `session`'s outbound queue; the caller's writer drains it.
    pub fn attach(&self, session: SessionId) -> mpsc::Receiver<Delivery> {
        let (sender, receiver) = mpsc::channel(OUTBOX_CAPACITY);
        write(&self.outboxes).insert(session, sender);
        receiver
    }

    /// Drops `session`'s subscriptions and queue.
    pub fn detach(&self, namespace_id: &str, session: SessionId) {
        write(&self.router).remove_session(namespace_id, session);
        write(&self.outboxes).remove(&session);
    }

    pub fn subscribe(&self, namespace_id: &str, session: SessionId, filter: &str, qos: QoS) {
        write(&self.router).subscribe(namespace_id, session, filter, qos);
    }

    pub fn unsubscribe(&self, namespace_id: &str, session: SessionId, filter: &str) -> bool {
        write(&self.router).unsubscribe(namespace_id, session, filter)
    }

    /// Queues a message for every matching session of the namespace, each
    /// once at min(`qos`, granted QoS). Fills queues with room first, then
    /// waits for the full ones. Returns how many sessions it reached.
    pub async fn publish(&self, namespace_id: &str, topic: &Arc<str>, payload: &Bytes, qos: QoS) -> usize {
        let targets = read(&self.router).route(namespace_id, topic);
        if targets.is_empty() {
            return 0;
        }
        let senders: Vec<(mpsc::Sender<Delivery>, QoS)> = {
            let outboxes = read(&self.outboxes);
            targets
                .iter()
                .filter_map(|(session, granted)| outboxes.get(session).map(|sender| (sender.clone(), *granted)))
                .collect()
        };
        let mut reached = 0;
        let mut full = Vec::new();
        for (sender, granted) in senders {
            let delivery = Delivery { topic: topic.clone(), payload: payload.clone(), qos: qos.min(granted) };
            match sender.try_send(delivery) {
                Ok(()) => reached += 1,
                Err(TrySendError::Full(delivery)) => full.push((sender, delivery)),
                // The session is closing; it no longer wants messages.
                Err(TrySendError::Closed(_)) => {}
            }
        }
        for (sender, delivery) in full {
            if sender.send(delivery).await.is_ok() {
                reached += 1;
            }
        }
        reached
    }
}

// Every update under these locks is a single map operation, so the maps stay
// consistent even if a holder panicked.
fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(name: &str) -> Arc<str> {
        Arc::from(name)
    }

    #[tokio::test]
    async fn delivers_at_the_lower_of_publish_and_granted_qos() {
        let hub = Hub::default();
        let mut one = hub.attach(1);
        let mut two = hub.attach(2);
        hub.subscribe("ns", 1, "a/#", QoS::AtLeastOnce);
        hub.subscribe("ns", 2, "a/b", QoS::AtMostOnce);
        let payload = Bytes::from_static(b"x");
        assert_eq!(hub.publish("ns", &topic("a/b"), &payload, QoS::AtLeastOnce).await, 2);
        assert_eq!(one.recv().await.unwrap().qos, QoS::AtLeastOnce);
        assert_eq!(two.recv().await.unwrap().qos, QoS::AtMostOnce);
        assert_eq!(hub.publish("ns", &topic("a/c"), &payload, QoS::AtMostOnce).await, 1);
        assert_eq!(one.recv().await.unwrap().qos, QoS::AtMostOnce);
    }

    #[tokio::test]
    async fn namespaces_do_not_see_each_other() {
        let hub = Hub::default();
        let mut a = hub.attach(1);
        let _b = hub.attach(2);
        hub.subscribe("tenant-a", 1, "#", QoS::AtMostOnce);
        hub.subscribe("tenant-b", 2, "#", QoS::AtMostOnce);
        let payload = Bytes::from_static(b"x");
        assert_eq!(hub.publish("tenant-a", &topic("t"), &payload, QoS::AtMostOnce).await, 1);
        assert_eq!(a.recv().await.unwrap().topic.as_ref(), "t");
        hub.detach("tenant-a", 1);
        assert_eq!(hub.publish("tenant-a", &topic("t"), &payload, QoS::AtMostOnce).await, 0);
    }

    #[tokio::test]
    async fn a_full_queue_makes_the_publisher_wait_not_drop() {
        let hub = Arc::new(Hub::default());
        let mut slow = hub.attach(1);
        hub.subscribe("ns", 1, "t", QoS::AtMostOnce);
        let payload = Bytes::from_static(b"x");
        for _ in 0..OUTBOX_CAPACITY {
            hub.publish("ns", &topic("t"), &payload, QoS::AtMostOnce).await;
        }
        let publisher = {
            let hub = hub.clone();
            let payload = payload.clone();
            tokio::spawn(async move { hub.publish("ns", &topic("t"), &payload, QoS::AtMostOnce).await })
        };
        tokio::task::yield_now().await;
        assert!(!publisher.is_finished());
        slow.recv().await.unwrap();
        assert_eq!(publisher.await.unwrap(), 1);
    }
}
