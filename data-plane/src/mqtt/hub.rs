//! The broker's MQTT sessions and their routing: the subscription router, the
//! session registry (live and offline), retained messages, and the durable
//! store they are mirrored to.
//!
//! Owns the rules that span sessions: CONNECT's clean/resume decision,
//! fan-out of a publish to every matching session (each once, at the lower of
//! the publish's and the subscription's QoS) and to one member of each
//! matching shared subscription (an attached one when there is one, taking
//! turns), handing a leaving member's shared messages to another member, back
//! pressure (a publisher waits
//! while an attached subscriber's queue is full; nothing is dropped for it),
//! retained messages on publish and on subscribe, delayed publishes (kept on
//! disk until their time), and what must be on disk before a delivery may be
//! sent or a publisher acknowledged. Knows nothing of sockets, packets or
//! ACLs.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::Notify;
use tracing::warn;

use crate::bridge::{ToKafka, Written};
use crate::mqtt::codec::QoS;
use crate::mqtt::live_session::Session;
use crate::mqtt::message::Message;
use crate::mqtt::metrics;
use crate::mqtt::retained::{Retain, Retained};
use crate::mqtt::router::{Router, SessionId};
use crate::mqtt::session::SessionState;
use crate::mqtt::store::{self, Delayed, Op, SessionKey, SessionRecord, Store, StoreError};

/// Deliveries of one publish: the store changes they need, and the queued
/// messages that may be sent once those are on disk.
#[must_use = "a routed publish must be completed"]
#[derive(Default)]
pub struct Routed {
    ops: Vec<Op>,
    pending: Vec<(Arc<Session>, u64)>,
    reached: usize,
    /// Records the bridge appended to mapped Kafka topics, to wait for.
    written: Vec<Written>,
}

impl Routed {
    /// Adds a change that must land atomically with these deliveries.
    pub fn with(mut self, op: Op) -> Routed {
        self.ops.push(op);
        self
    }
}

pub struct Hub {
    router: RwLock<Router>,
    sessions: RwLock<HashMap<SessionId, Arc<Session>>>,
    clients: Mutex<HashMap<SessionKey, Arc<Session>>>,
    retained: RwLock<Retained>,
    store: Store,
    next_session: AtomicU64,
    /// Most messages a session queues.
    max_queued: usize,
    /// Where MQTT messages go to mapped Kafka topics; none in tests of MQTT alone.
    to_kafka: Option<Arc<ToKafka>>,
    /// Delayed publishes by (due time, sequence number).
    delayed: Mutex<BTreeMap<(u64, u64), Delayed>>,
    next_delayed: AtomicU64,
    /// The earliest delayed publish may have changed.
    delayed_changed: Arc<Notify>,
}

impl Hub {
    /// Opens the store in `dir` and rebuilds every persistent session (with
    /// its subscriptions in the router) and the retained messages. Blocking.
    pub fn open(dir: &Path, max_queued: usize, to_kafka: Option<Arc<ToKafka>>) -> Result<Hub, StoreError> {
        let (store, loaded) = Store::open(dir)?;
        let hub = Hub {
            router: RwLock::default(),
            sessions: RwLock::default(),
            clients: Mutex::default(),
            retained: RwLock::default(),
            store,
            next_session: AtomicU64::new(1),
            max_queued,
            to_kafka,
            delayed: Mutex::default(),
            next_delayed: AtomicU64::new(1),
            delayed_changed: Arc::new(Notify::new()),
        };
        for stored in loaded.sessions {
            let mut state = SessionState::new(max_queued);
            for (filter, qos) in &stored.record.subscriptions {
                state.subscribe(filter, store::qos_of(*qos));
            }
            for (seq, message) in stored.queued {
                state.restore_queued(seq, message);
            }
            for (seq, inflight) in stored.inflight {
                state.restore_inflight(seq, inflight);
            }
            for packet_id in stored.awaiting_release {
                state.restore_awaiting_release(packet_id);
            }
            let session = Arc::new(Session::new(hub.next_id(), stored.key, true, state));
            hub.register(&session);
        }
        for (namespace, message) in loaded.retained {
            write(&hub.retained).apply(&namespace, &message);
        }
        let next = loaded.delayed.iter().map(|d| d.seq + 1).max().unwrap_or(1);
        hub.next_delayed.store(next, Ordering::Relaxed);
        lock(&hub.delayed).extend(loaded.delayed.into_iter().map(|d| ((d.due_ms, d.seq), d)));
        Ok(hub)
    }

    /// Delivers delayed publishes when they are due, until `hub` is dropped.
    pub fn spawn_delayed_delivery(hub: &Arc<Hub>) {
        let hub: Weak<Hub> = Arc::downgrade(hub);
        tokio::spawn(async move {
            loop {
                let Some(strong) = hub.upgrade() else { return };
                let due = strong.take_due(now_ms());
                for delayed in due {
                    strong.deliver_delayed(delayed).await;
                }
                let next = lock(&strong.delayed).keys().next().map(|(due_ms, _)| due_ms.saturating_sub(now_ms()));
                let changed = strong.delayed_changed.clone();
                drop(strong);
                // Wake at the next due time, on a change, and now and then to notice a dropped hub.
                let wait = Duration::from_millis(next.unwrap_or(1000).min(1000));
                let _ = tokio::time::timeout(wait, changed.notified()).await;
            }
        });
    }

    /// Keeps `message` on disk, with `also` in the same transaction, and
    /// publishes it in `namespace` after `delay`.
    pub async fn publish_later(
        &self,
        namespace: &Arc<str>,
        message: Message,
        delay: Duration,
        also: Option<Op>,
    ) -> Result<(), StoreError> {
        let due_ms = now_ms().saturating_add(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX));
        let seq = self.next_delayed.fetch_add(1, Ordering::Relaxed);
        let delayed = Delayed { namespace: namespace.clone(), due_ms, seq, message };
        let mut ops = vec![Op::PutDelayed { delayed: delayed.clone() }];
        ops.extend(also);
        self.store.commit(ops).await?;
        lock(&self.delayed).insert((due_ms, seq), delayed);
        self.delayed_changed.notify_one();
        Ok(())
    }

    /// Delayed publishes waiting, in the namespace.
    pub fn delayed_count(&self, namespace: &str) -> usize {
        lock(&self.delayed).values().filter(|d| d.namespace.as_ref() == namespace).count()
    }

    fn take_due(&self, now: u64) -> Vec<Delayed> {
        let mut delayed = lock(&self.delayed);
        let later = delayed.split_off(&(now.saturating_add(1), 0));
        std::mem::replace(&mut *delayed, later).into_values().collect()
    }

    async fn deliver_delayed(&self, delayed: Delayed) {
        let Delayed { namespace, due_ms, seq, message } = delayed;
        let routed = self.route(&namespace, message).await;
        let routed = routed.with(Op::DeleteDelayed { namespace: namespace.clone(), due_ms, seq });
        if let Err(error) = self.complete(routed).await {
            tracing::error!(%error, namespace = %namespace, "cannot deliver a delayed publish");
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Finds or makes the session of a CONNECT. `clean` discards any earlier
    /// session of the client id; otherwise an earlier persistent session is
    /// resumed (the second value: session present) or a new persistent one
    /// stored. Returns once the store has the outcome.
    pub async fn connect(&self, key: SessionKey, clean: bool) -> Result<(Arc<Session>, bool), StoreError> {
        let existing = lock(&self.clients).get(&key).cloned();
        if let Some(existing) = existing {
            if !clean && existing.persistent {
                return Ok((existing, true));
            }
            self.discard(&existing).await?;
        }
        let session = Arc::new(Session::new(self.next_id(), key, !clean, SessionState::new(self.max_queued)));
        if session.persistent {
            let record = SessionRecord::default();
            self.store.commit(vec![Op::PutSession { key: session.key.clone(), record }]).await?;
        }
        self.register(&session);
        Ok((session, false))
    }

    /// The connection attached to `session` ended: a persistent session stays
    /// (offline, still subscribed), any other goes. Messages it holds from
    /// shared subscriptions go to another member: an attached one, or, when
    /// the session itself goes, any other.
    pub async fn disconnect(&self, session: &Arc<Session>, connection: u64) {
        session.detach(connection);
        if session.is_attached() {
            return;
        }
        let namespace = &session.key.namespace;
        let gone = !session.persistent;
        if gone {
            self.unregister(session);
        }
        let give_away = |filter: &str| {
            let members = read(&self.router).shared_members(namespace, filter);
            self.pick(&members, session.id, !gone).is_some()
        };
        let orphans = session.lock().state.take_shared(give_away);
        if orphans.is_empty() {
            return;
        }
        if session.persistent {
            let key = &session.key;
            self.store
                .submit(orphans.iter().map(|(seq, _)| Op::DeleteMessage { key: key.clone(), seq: *seq }).collect());
        }
        for (_, message) in orphans {
            let Some(filter) = message.shared.clone() else { continue };
            let members = read(&self.router).shared_members(namespace, &filter);
            let Some((member, granted)) = self.pick(&members, session.id, !gone) else { continue };
            let mut routed = Routed::default();
            let delivery = Message { shared: Some(filter), ..message.delivered_at(granted) };
            self.enqueue(&member, delivery, &mut routed);
            if let Err(error) = self.complete(routed).await {
                warn!(%error, "cannot hand a shared message to another member");
            }
        }
    }

    /// Adds the subscriptions and, for a persistent session, stores them.
    pub async fn subscribe(&self, session: &Arc<Session>, filters: &[(String, QoS)]) -> Result<(), StoreError> {
        let namespace = &session.key.namespace;
        let record = {
            let mut inner = session.lock();
            let mut router = write(&self.router);
            for (filter, qos) in filters {
                inner.state.subscribe(filter, *qos);
                router.subscribe(namespace, session.id, filter, *qos);
            }
            record_of(&inner.state)
        };
        if session.persistent {
            self.store.commit(vec![Op::PutSession { key: session.key.clone(), record }]).await?;
        }
        Ok(())
    }

    /// Queues the retained messages the new subscriptions match, retain flag
    /// set, at the lower of their QoS and the granted one.
    pub async fn deliver_retained(&self, session: &Arc<Session>, filters: &[(String, QoS)]) -> Result<(), StoreError> {
        let namespace = &session.key.namespace;
        let mut routed = Routed::default();
        for (filter, granted) in filters {
            let retained = read(&self.retained).matching(namespace, filter);
            for message in retained {
                let delivery = Message { retain: true, ..message.delivered_at(*granted) };
                self.enqueue(session, delivery, &mut routed);
            }
        }
        self.complete(routed).await.map(|_| ())
    }

    /// Removes subscriptions; for each filter, whether it existed.
    pub async fn unsubscribe(&self, session: &Arc<Session>, filters: &[String]) -> Result<Vec<bool>, StoreError> {
        let (found, record) = {
            let mut inner = session.lock();
            let mut router = write(&self.router);
            let found: Vec<bool> = filters
                .iter()
                .map(|filter| {
                    router.unsubscribe(&session.key.namespace, session.id, filter);
                    inner.state.unsubscribe(filter)
                })
                .collect();
            (found, record_of(&inner.state))
        };
        if session.persistent {
            self.store.commit(vec![Op::PutSession { key: session.key.clone(), record }]).await?;
        }
        Ok(found)
    }

    /// Queues `message` (published with MQTT, topic inside `namespace`) for
    /// every matching session, appends it to the Kafka topics mappings send it
    /// to, and applies it to the retained messages if it is retained. Waits
    /// first while an attached subscriber's queue is full.
    pub async fn route(&self, namespace: &Arc<str>, message: Message) -> Routed {
        let mut routed = self.route_in_mqtt(namespace, &message).await;
        if let Some(to_kafka) = &self.to_kafka {
            let wait = message.qos != QoS::AtMostOnce;
            routed.written = to_kafka.write(namespace, &message, wait).await;
        }
        self.retain(namespace, message, &mut routed);
        routed
    }

    /// Routes and completes a record a Kafka client produced to a mapped
    /// topic; it is not sent back to Kafka.
    pub async fn publish_from_kafka(&self, namespace: &Arc<str>, message: Message) -> Result<usize, StoreError> {
        let routed = self.route_in_mqtt(namespace, &message).await;
        self.complete(routed).await
    }

    async fn route_in_mqtt(&self, namespace: &Arc<str>, message: &Message) -> Routed {
        let targets: Vec<(Arc<Session>, QoS, Option<Arc<str>>)> = {
            let routes = read(&self.router).route(namespace, &message.topic);
            let sessions = read(&self.sessions);
            let ordinary =
                routes.sessions.into_iter().filter_map(|(id, qos)| sessions.get(&id).map(|s| (s.clone(), qos, None)));
            let shared: Vec<_> = routes
                .shared
                .into_iter()
                .filter_map(|route| {
                    let (member, qos) = pick_among(&sessions, &route.members, route.turn, None, false)?;
                    Some((member, qos, Some(route.filter)))
                })
                .collect();
            ordinary.chain(shared).collect()
        };
        // Wait for room everywhere before queuing anywhere: a message queued
        // but not yet ready must never wait on another full queue.
        for (session, _, _) in &targets {
            session.wait_for_room().await;
        }
        let mut routed = Routed::default();
        for (session, granted, shared) in targets {
            self.enqueue(&session, Message { shared, ..message.delivered_at(granted) }, &mut routed);
        }
        routed
    }

    fn retain(&self, namespace: &Arc<str>, message: Message, routed: &mut Routed) {
        if message.retain {
            let op = match write(&self.retained).apply(namespace, &message) {
                Retain::Set => {
                    Op::PutRetained { namespace: namespace.clone(), message: Message { retain: true, ..message } }
                }
                Retain::Cleared => Op::DeleteRetained { namespace: namespace.clone(), topic: message.topic },
            };
            routed.ops.push(op);
        }
    }

    /// Commits what a routed publish needs, then lets its deliveries go.
    /// Returns how many sessions it reached.
    /// A failed Kafka append is logged: the MQTT delivery stands.
    pub async fn complete(&self, routed: Routed) -> Result<usize, StoreError> {
        let Routed { ops, pending, reached, written } = routed;
        if !ops.is_empty() {
            self.store.commit(ops).await?;
        }
        for (session, seq) in pending {
            if session.lock().state.mark_ready(seq) {
                session.wake.notify_one();
            }
        }
        for wait in written {
            if let Ok(Err(error)) = wait.await {
                warn!(%error, "an MQTT message did not reach its mapped Kafka topic");
            }
        }
        Ok(reached)
    }

    /// Routes and completes a message: a will, a delayed publish.
    pub async fn publish(&self, namespace: &Arc<str>, message: Message) -> Result<usize, StoreError> {
        let routed = self.route(namespace, message).await;
        self.complete(routed).await
    }

    /// How many topics of the namespace hold a retained message.
    pub fn retained_count(&self, namespace: &str) -> usize {
        read(&self.retained).count(namespace)
    }

    /// Forgets every session and retained message of a namespace, on disk too.
    pub async fn delete_namespace(&self, namespace: &str) -> Result<(), StoreError> {
        let doomed: Vec<Arc<Session>> =
            lock(&self.clients).values().filter(|s| s.key.namespace.as_ref() == namespace).cloned().collect();
        for session in &doomed {
            self.unregister(session);
        }
        write(&self.router).remove_namespace(namespace);
        write(&self.retained).remove_namespace(namespace);
        lock(&self.delayed).retain(|_, d| d.namespace.as_ref() != namespace);
        self.store.commit(vec![Op::DeleteNamespace { namespace: Arc::from(namespace) }]).await
    }

    /// Queues one delivery; a QoS 1 or 2 delivery to a persistent session
    /// waits for the store. An offline session gets no QoS 0 messages.
    fn enqueue(&self, session: &Arc<Session>, delivery: Message, routed: &mut Routed) {
        let durable = session.persistent && delivery.qos != QoS::AtMostOnce;
        let mut inner = session.lock();
        if inner.connection.is_none() && (!session.persistent || delivery.qos == QoS::AtMostOnce) {
            return;
        }
        let op_message = durable.then(|| delivery.clone());
        match inner.state.enqueue(delivery, !durable) {
            Ok(seq) => {
                drop(inner);
                routed.reached += 1;
                match op_message {
                    Some(message) => {
                        routed.ops.push(Op::PutMessage { key: session.key.clone(), seq, message, inflight: None });
                        routed.pending.push((session.clone(), seq));
                    }
                    None => session.wake.notify_one(),
                }
            }
            Err(full) => {
                drop(inner);
                metrics::dropped(&session.key.namespace);
                warn!(namespace = %session.key.namespace, client_id = %session.key.client_id, %full, "message not queued");
            }
        }
    }

    /// Drops a session: from the router and registry, and from the store if
    /// it was persistent.
    async fn discard(&self, session: &Arc<Session>) -> Result<(), StoreError> {
        self.unregister(session);
        if session.persistent {
            self.store.commit(vec![Op::DeleteSession { key: session.key.clone() }]).await?;
        }
        Ok(())
    }

    fn register(&self, session: &Arc<Session>) {
        {
            let inner = session.lock();
            let mut router = write(&self.router);
            for (filter, qos) in inner.state.subscriptions() {
                router.subscribe(&session.key.namespace, session.id, filter, *qos);
            }
        }
        write(&self.sessions).insert(session.id, session.clone());
        lock(&self.clients).insert(session.key.clone(), session.clone());
    }

    fn unregister(&self, session: &Arc<Session>) {
        write(&self.router).remove_session(&session.key.namespace, session.id);
        write(&self.sessions).remove(&session.id);
        let mut clients = lock(&self.clients);
        if clients.get(&session.key).is_some_and(|current| Arc::ptr_eq(current, session)) {
            clients.remove(&session.key);
        }
    }

    /// A member of a shared subscription other than `leaving`: an attached
    /// one, or, unless `attached_only`, any.
    fn pick(
        &self,
        members: &[(SessionId, QoS)],
        leaving: SessionId,
        attached_only: bool,
    ) -> Option<(Arc<Session>, QoS)> {
        pick_among(&read(&self.sessions), members, 0, Some(leaving), attached_only)
    }

    fn next_id(&self) -> SessionId {
        self.next_session.fetch_add(1, Ordering::Relaxed)
    }
}

/// The attached member whose `turn` it is among the attached ones (skipping
/// `except`), so they share the messages evenly; with none attached, unless
/// `attached_only`, a member whose session keeps the message until it is back.
fn pick_among(
    sessions: &HashMap<SessionId, Arc<Session>>,
    members: &[(SessionId, QoS)],
    turn: usize,
    except: Option<SessionId>,
    attached_only: bool,
) -> Option<(Arc<Session>, QoS)> {
    let candidates: Vec<(Arc<Session>, QoS)> = members
        .iter()
        .filter(|(id, _)| Some(*id) != except)
        .filter_map(|(id, qos)| Some((sessions.get(id)?.clone(), *qos)))
        .collect();
    let attached: Vec<&(Arc<Session>, QoS)> = candidates.iter().filter(|(s, _)| s.is_attached()).collect();
    if !attached.is_empty() {
        return Some(attached[turn % attached.len()].clone());
    }
    if attached_only || candidates.is_empty() {
        return None;
    }
    Some(candidates[turn % candidates.len()].clone())
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn record_of(state: &SessionState) -> SessionRecord {
    SessionRecord { subscriptions: state.subscriptions().iter().map(|(f, q)| (f.clone(), *q as u8)).collect() }
}

// Every update under these locks is a single map operation, so the maps stay
// consistent even if a holder panicked.
fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

fn lock<T>(lock: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    lock.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn dir() -> std::path::PathBuf {
        std::env::temp_dir().join(format!("omnibus-dp-hub-{}", uuid::Uuid::new_v4()))
    }

    fn key(namespace: &str, client_id: &str) -> SessionKey {
        SessionKey { namespace: Arc::from(namespace), client_id: Arc::from(client_id) }
    }

    fn message(topic: &str, payload: &'static str, qos: QoS, retain: bool) -> Message {
        Message::new(Arc::from(topic), Bytes::from_static(payload.as_bytes()), qos, retain)
    }

    /// Every message the session would send now, with a wide window.
    fn drain(session: &Session) -> Vec<(Bytes, QoS, bool)> {
        let mut inner = session.lock();
        std::iter::from_fn(|| inner.state.next_outgoing(100))
            .map(|out| (out.publish.payload, out.publish.qos.qos(), out.publish.retain))
            .collect()
    }

    #[tokio::test]
    async fn persistent_sessions_queue_offline_and_survive_a_reopen() {
        let dir = dir();
        let ns: Arc<str> = Arc::from("ns");
        let hub = Hub::open(&dir, 100, None).unwrap();
        let (sub, present) = hub.connect(key("ns", "sub"), false).await.unwrap();
        assert!(!present);
        sub.attach(1);
        hub.subscribe(&sub, &[("a/#".into(), QoS::ExactlyOnce)]).await.unwrap();
        hub.disconnect(&sub, 1).await;
        // Offline: QoS 1 and 2 are queued, QoS 0 is not.
        for (payload, qos) in [("zero", QoS::AtMostOnce), ("one", QoS::AtLeastOnce), ("two", QoS::ExactlyOnce)] {
            hub.publish(&ns, message("a/b", payload, qos, false)).await.unwrap();
        }
        assert_eq!(sub.lock().state.queued(), 2);
        drop((sub, hub));

        let hub = Hub::open(&dir, 100, None).unwrap();
        let (sub, present) = hub.connect(key("ns", "sub"), false).await.unwrap();
        assert!(present, "the session was stored");
        sub.attach(2);
        assert_eq!(
            drain(&sub),
            [(Bytes::from("one"), QoS::AtLeastOnce, false), (Bytes::from("two"), QoS::ExactlyOnce, false)]
        );
        // Still subscribed after the reopen.
        hub.publish(&ns, message("a/c", "three", QoS::AtLeastOnce, false)).await.unwrap();
        assert_eq!(drain(&sub).len(), 1);
        // A clean connect discards it, on disk too.
        let (clean, present) = hub.connect(key("ns", "sub"), true).await.unwrap();
        assert!(!present && !clean.persistent);
        drop((sub, clean, hub));
        let hub = Hub::open(&dir, 100, None).unwrap();
        let (_, present) = hub.connect(key("ns", "sub"), false).await.unwrap();
        assert!(!present);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn durable_deliveries_wait_for_the_store_and_clean_ones_do_not() {
        let hub = Hub::open(&dir(), 100, None).unwrap();
        let ns: Arc<str> = Arc::from("ns");
        let (durable, _) = hub.connect(key("ns", "durable"), false).await.unwrap();
        let (clean, _) = hub.connect(key("ns", "clean"), true).await.unwrap();
        for (session, connection) in [(&durable, 1), (&clean, 2)] {
            session.attach(connection);
            hub.subscribe(session, &[("t".into(), QoS::AtLeastOnce)]).await.unwrap();
        }
        let routed = hub.route(&ns, message("t", "m", QoS::AtLeastOnce, false)).await;
        assert!(drain(&durable).is_empty(), "not sent before the store has it");
        assert_eq!(drain(&clean).len(), 1);
        assert_eq!(hub.complete(routed).await.unwrap(), 2);
        assert_eq!(drain(&durable).len(), 1);
    }

    #[tokio::test]
    async fn retained_messages_are_set_cleared_and_delivered_on_subscribe() {
        let dir = dir();
        let ns: Arc<str> = Arc::from("ns");
        let hub = Hub::open(&dir, 100, None).unwrap();
        hub.publish(&ns, message("r/1", "first", QoS::AtLeastOnce, true)).await.unwrap();
        hub.publish(&ns, message("r/1", "second", QoS::AtLeastOnce, true)).await.unwrap();
        hub.publish(&ns, message("r/2", "gone", QoS::AtMostOnce, true)).await.unwrap();
        hub.publish(&ns, message("r/2", "", QoS::AtMostOnce, true)).await.unwrap();
        hub.publish(&Arc::from("other"), message("r/3", "theirs", QoS::AtMostOnce, true)).await.unwrap();
        drop(hub);
        let hub = Hub::open(&dir, 100, None).unwrap();
        assert_eq!(hub.retained_count("ns"), 1);
        let (session, _) = hub.connect(key("ns", "c"), true).await.unwrap();
        session.attach(1);
        let filters = [("r/#".to_string(), QoS::AtMostOnce)];
        hub.subscribe(&session, &filters).await.unwrap();
        hub.deliver_retained(&session, &filters).await.unwrap();
        assert_eq!(drain(&session), [(Bytes::from("second"), QoS::AtMostOnce, true)]);
        // A live delivery of a retained publish to an existing subscription has no retain flag.
        hub.publish(&ns, message("r/1", "third", QoS::AtLeastOnce, true)).await.unwrap();
        assert_eq!(drain(&session), [(Bytes::from("third"), QoS::AtMostOnce, false)]);
        hub.delete_namespace("ns").await.unwrap();
        assert_eq!(hub.retained_count("ns"), 0);
        assert_eq!(hub.retained_count("other"), 1);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn a_full_attached_queue_holds_the_publisher_back() {
        let hub = Arc::new(Hub::open(&dir(), 10_000, None).unwrap());
        let ns: Arc<str> = Arc::from("ns");
        let (slow, _) = hub.connect(key("ns", "slow"), true).await.unwrap();
        slow.attach(1);
        hub.subscribe(&slow, &[("t".into(), QoS::AtMostOnce)]).await.unwrap();
        for _ in 0..crate::mqtt::live_session::QUEUE_WATERMARK {
            hub.publish(&ns, message("t", "m", QoS::AtMostOnce, false)).await.unwrap();
        }
        let publisher = {
            let (hub, ns) = (hub.clone(), ns.clone());
            tokio::spawn(async move { hub.publish(&ns, message("t", "last", QoS::AtMostOnce, false)).await })
        };
        tokio::task::yield_now().await;
        assert!(!publisher.is_finished());
        slow.lock().state.next_outgoing(1).unwrap();
        slow.made_room();
        assert_eq!(publisher.await.unwrap().unwrap(), 1);
    }

    #[tokio::test]
    async fn namespaces_do_not_see_each_other() {
        let hub = Hub::open(&dir(), 100, None).unwrap();
        let (a, _) = hub.connect(key("tenant-a", "same-id"), true).await.unwrap();
        let (b, _) = hub.connect(key("tenant-b", "same-id"), true).await.unwrap();
        a.attach(1);
        b.attach(2);
        hub.subscribe(&a, &[("#".into(), QoS::AtMostOnce)]).await.unwrap();
        hub.subscribe(&b, &[("#".into(), QoS::AtMostOnce)]).await.unwrap();
        assert_eq!(hub.publish(&Arc::from("tenant-a"), message("t", "x", QoS::AtMostOnce, false)).await.unwrap(), 1);
        assert_eq!(drain(&a).len(), 1);
        assert!(drain(&b).is_empty());
    }

    #[tokio::test]
    async fn a_shared_subscription_delivers_each_message_to_one_member_and_a_leaver_hands_over() {
        let hub = Hub::open(&dir(), 100, None).unwrap();
        let ns: Arc<str> = Arc::from("ns");
        let filter = [("$share/workers/jobs/+".to_string(), QoS::AtLeastOnce)];
        let (one, _) = hub.connect(key("ns", "one"), true).await.unwrap();
        let (two, _) = hub.connect(key("ns", "two"), true).await.unwrap();
        let (offline, _) = hub.connect(key("ns", "offline"), false).await.unwrap();
        for (session, connection) in [(&one, 1), (&two, 2), (&offline, 3)] {
            session.attach(connection);
            hub.subscribe(session, &filter).await.unwrap();
        }
        hub.disconnect(&offline, 3).await;
        for n in 0..6 {
            let payload: &'static str = ["0", "1", "2", "3", "4", "5"][n];
            assert_eq!(hub.publish(&ns, message("jobs/a", payload, QoS::AtLeastOnce, false)).await.unwrap(), 1);
        }
        // Attached members take turns; the offline one gets nothing while they are there.
        let (got_one, got_two) = (one.lock().state.queued(), two.lock().state.queued());
        assert_eq!((got_one, got_two, offline.lock().state.queued()), (3, 3, 0));
        // One takes a message in flight, then leaves: its three go to the other attached member.
        one.lock().state.next_outgoing(10).unwrap();
        hub.disconnect(&one, 1).await;
        assert_eq!(two.lock().state.queued(), 6);
        // The last attached member leaves: the persistent offline member keeps the work.
        hub.disconnect(&two, 2).await;
        assert_eq!(offline.lock().state.queued(), 6);
        let mut seen: Vec<Bytes> = drain_after_attach(&offline, 4);
        seen.sort();
        assert_eq!(seen, ["0", "1", "2", "3", "4", "5"].map(Bytes::from));
    }

    fn drain_after_attach(session: &Session, connection: u64) -> Vec<Bytes> {
        session.attach(connection);
        drain(session).into_iter().map(|(payload, _, _)| payload).collect()
    }

    #[tokio::test]
    async fn delayed_publishes_wait_their_time_and_survive_a_reopen() {
        let dir = dir();
        let ns: Arc<str> = Arc::from("ns");
        let hub = Arc::new(Hub::open(&dir, 100, None).unwrap());
        hub.publish_later(&ns, message("d/soon", "soon", QoS::AtLeastOnce, false), Duration::from_millis(200), None)
            .await
            .unwrap();
        hub.publish_later(&ns, message("d/later", "later", QoS::AtLeastOnce, false), Duration::from_secs(3600), None)
            .await
            .unwrap();
        assert_eq!(hub.delayed_count("ns"), 2);
        drop(hub);

        let hub = Arc::new(Hub::open(&dir, 100, None).unwrap());
        assert_eq!(hub.delayed_count("ns"), 2, "both are on disk");
        let (session, _) = hub.connect(key("ns", "c"), true).await.unwrap();
        session.attach(1);
        hub.subscribe(&session, &[("d/#".into(), QoS::AtLeastOnce)]).await.unwrap();
        Hub::spawn_delayed_delivery(&hub);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while session.lock().state.queued() == 0 {
            assert!(tokio::time::Instant::now() < deadline, "the due publish was not delivered");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(drain(&session), [(Bytes::from("soon"), QoS::AtLeastOnce, false)]);
        assert_eq!(hub.delayed_count("ns"), 1, "the later one still waits");
        hub.delete_namespace("ns").await.unwrap();
        assert_eq!(hub.delayed_count("ns"), 0);
        drop(hub);
        let hub = Hub::open(&dir, 100, None).unwrap();
        assert_eq!(hub.delayed_count("ns"), 0, "gone from disk too");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
