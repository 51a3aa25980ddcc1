//! The broker's MQTT sessions and their routing: the subscription router, the
//! session registry (live and offline), retained messages, and the durable
//! store they are mirrored to.
//!
//! Owns the rules that span sessions: CONNECT's clean/resume decision and
//! how long an offline session lives (its expiry interval; a will waits out
//! its delay or the session's end, whichever comes first, and is kept on
//! disk from CONNECT on, so one whose connection the broker died under still
//! goes out after the restart),
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
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::Notify;
use tracing::warn;

use crate::bridge::{ToKafka, Written};
use crate::mqtt::codec::QoS;
use crate::mqtt::live_session::{Inner, Session};
use crate::mqtt::message::{Message, now_ms};
use crate::mqtt::metrics;
use crate::mqtt::metrics::NamespaceMeters;
use crate::mqtt::retained::{Retain, Retained};
use crate::mqtt::router::{Router, SessionId};
use crate::mqtt::session::{SessionState, Subscription};
use crate::mqtt::store::{
    self, Delayed, Op, SessionKey, SessionRecord, Store, StoreError, StoredSubscription, StoredWill,
};
use crate::mqtt::sys;
use crate::mqtt::topic;
use crate::mqtt::will::Will;

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

    /// Whether completing it waits on nothing: no change to commit, no
    /// Kafka append to confirm (so [`Hub::complete_now`] may complete it).
    pub fn is_settled(&self) -> bool {
        self.ops.is_empty() && self.written.is_empty()
    }
}

pub struct Hub {
    router: RwLock<Router>,
    sessions: RwLock<HashMap<SessionId, Arc<Session>>>,
    clients: Mutex<HashMap<SessionKey, Arc<Session>>>,
    /// Persistent sessions each namespace stores, for its plan's limit;
    /// changed with `clients`, under its lock.
    stored: Mutex<HashMap<Arc<str>, usize>>,
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
    /// When the `$SYS` statistics were last published (Unix ms).
    stats_published: AtomicU64,
    /// The earliest delayed publish may have changed.
    delayed_changed: Arc<Notify>,
    /// Each namespace's meters (its counters and `$SYS` statistics).
    meters: Mutex<HashMap<Arc<str>, Arc<NamespaceMeters>>>,
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
            stored: Mutex::default(),
            retained: RwLock::default(),
            store,
            next_session: AtomicU64::new(1),
            max_queued,
            to_kafka,
            delayed: Mutex::default(),
            next_delayed: AtomicU64::new(1),
            stats_published: AtomicU64::new(0),
            delayed_changed: Arc::new(Notify::new()),
            meters: Mutex::default(),
        };
        let now = now_ms();
        let mut expired = Vec::new();
        for stored in loaded.sessions {
            let mut state = SessionState::new(max_queued);
            for sub in &stored.record.subscriptions {
                let subscription = Subscription {
                    qos: store::qos_of(sub.qos),
                    no_local: sub.no_local,
                    retain_as_published: sub.retain_as_published,
                    identifier: sub.identifier,
                };
                state.subscribe(&sub.filter, subscription);
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
            {
                let mut inner = session.lock();
                inner.expiry_secs = stored.record.expiry_secs;
                // A session the broker stopped under counts as offline from now.
                inner.offline_since_ms = Some(stored.record.disconnected_at_ms.unwrap_or(now));
                if inner.expires_at_ms().is_some_and(|at| at <= now) {
                    expired.push(session.key.clone());
                    continue;
                }
            }
            hub.register(&session);
        }
        if !expired.is_empty() {
            let ops = expired.into_iter().map(|key| Op::DeleteSession { key }).collect();
            hub.store.submit(ops);
        }
        for (namespace, message) in loaded.retained {
            write(&hub.retained).apply(&namespace, &message);
        }
        let next = loaded.delayed.iter().map(|d| d.seq + 1).max().unwrap_or(1);
        hub.next_delayed.store(next, Ordering::Relaxed);
        lock(&hub.delayed).extend(loaded.delayed.into_iter().map(|d| ((d.due_ms, d.seq), d)));
        hub.restore_wills(loaded.wills, now);
        Ok(hub)
    }

    /// The wills of connections the broker stopped under, or that were
    /// waiting out their delay: a resumable session holds its will again, due
    /// when it was or, if its connection was live, its delay from `now` (at
    /// most the session's expiry); the will of a session that did not outlast
    /// the broker goes out now, as a delayed publish due at once, its removal
    /// in the same batch.
    fn restore_wills(&self, wills: Vec<(SessionKey, StoredWill)>, now: u64) {
        for (key, StoredWill { will, due_ms }) in wills {
            let session = lock(&self.clients).get(&key).cloned();
            if let Some(session) = session {
                let mut inner = session.lock();
                let by_expiry = inner.expiry_secs.map_or(u64::MAX, |secs| u64::from(secs) * 1000);
                let due =
                    due_ms.unwrap_or_else(|| now.saturating_add((u64::from(will.delay_secs) * 1000).min(by_expiry)));
                inner.will = Some((due, Box::new(will)));
                continue;
            }
            let seq = self.next_delayed.fetch_add(1, Ordering::Relaxed);
            let delayed =
                Delayed { namespace: key.namespace.clone(), due_ms: now, seq, message: will.publication(now) };
            self.store
                .submit(vec![Op::PutDelayed { delayed: delayed.clone() }, Op::DeleteWill { key, token: will.token }]);
            lock(&self.delayed).insert((now, seq), delayed);
        }
    }

    /// Delivers delayed publishes when they are due, publishes wills whose
    /// delay is over and ends offline sessions whose expiry interval has
    /// passed, until `hub` is dropped.
    pub fn spawn_timers(hub: &Arc<Hub>) {
        let hub: Weak<Hub> = Arc::downgrade(hub);
        tokio::spawn(async move {
            loop {
                let Some(strong) = hub.upgrade() else { return };
                let due = strong.take_due(now_ms());
                for delayed in due {
                    strong.deliver_delayed(delayed).await;
                }
                strong.reap(now_ms()).await;
                strong.publish_stats(now_ms()).await;
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

    /// Finds or makes the session of a CONNECT. `clean` (CleanSession /
    /// Clean Start) ends any earlier session of the client id, publishing a
    /// will it still held, as does an earlier session whose expiry interval
    /// has passed; otherwise an earlier persistent session is resumed
    /// (the second value: session present). A new session is persistent when
    /// its expiry (`None`: never) is above zero. The session then expires
    /// `expiry_secs` after its connection ends. Returns once stored.
    pub async fn connect(
        &self,
        key: SessionKey,
        clean: bool,
        expiry_secs: Option<u32>,
        max_queued: Option<usize>,
    ) -> Result<(Arc<Session>, bool), StoreError> {
        let existing = lock(&self.clients).get(&key).cloned();
        if let Some(existing) = existing {
            // One whose expiry passed is gone, though the timer has not ended it yet.
            let expired = existing.lock().expires_at_ms().is_some_and(|at| at <= now_ms());
            if !clean && existing.persistent && !expired {
                let (record, cancelled) = {
                    let mut inner = existing.lock();
                    inner.expiry_secs = expiry_secs;
                    // The client is back within the delay: its will is not sent (MQTT-3.1.3-9).
                    (record_of(&inner), inner.will.take())
                };
                let mut ops = vec![Op::PutSession { key: existing.key.clone(), record }];
                ops.extend(cancelled.map(|(_, will)| Op::DeleteWill { key: existing.key.clone(), token: will.token }));
                self.store.commit(ops).await?;
                return Ok((existing, true));
            }
            self.end(&existing).await?;
        }
        let persistent = expiry_secs != Some(0);
        let max_queued = max_queued.map_or(self.max_queued, |max| max.min(self.max_queued));
        let session = Arc::new(Session::new(self.next_id(), key, persistent, SessionState::new(max_queued)));
        session.lock().expiry_secs = expiry_secs;
        if session.persistent {
            let record = record_of(&session.lock());
            self.store.commit(vec![Op::PutSession { key: session.key.clone(), record }]).await?;
        }
        self.register(&session);
        Ok((session, false))
    }

    /// A DISCONNECT changed the Session Expiry Interval (only a persistent
    /// session can take a non-zero one).
    pub fn set_expiry(&self, session: &Session, expiry_secs: u32) {
        let mut inner = session.lock();
        if session.persistent || expiry_secs == 0 {
            inner.expiry_secs = Some(expiry_secs);
        }
    }

    /// Keeps the will of `session`'s new connection on disk, so that it still
    /// goes out if the broker stops under the connection.
    pub fn keep_will(&self, session: &Session, will: &Will) {
        let stored = StoredWill { will: will.clone(), due_ms: None };
        self.store.submit(vec![Op::PutWill { key: session.key.clone(), will: stored }]);
    }

    /// The connection attached to `session` ended, with the `will` it gave
    /// (to publish when `publish`, else to forget; `None`: none, or one left
    /// on disk for the next start). A session with expiry 0 ends now; a
    /// persistent one stays offline, still subscribed, until it expires. The
    /// will goes out now without a delay or when the session ends; with a
    /// delay, after it, unless the client is back first. Messages the session
    /// holds from shared subscriptions go to another member: an attached one,
    /// or, when the session itself goes, any other; QoS 2 ones already in
    /// flight stay with it (or end with it).
    pub async fn disconnect(&self, session: &Arc<Session>, connection: u64, will: Option<Will>, publish: bool) {
        session.detach(connection);
        let now = now_ms();
        let (taken_over, ends) = {
            let inner = session.lock();
            (inner.connection.is_some(), !session.persistent || inner.expiry_secs == Some(0))
        };
        match will {
            Some(will) if publish && (will.delay_secs == 0 || (ends && !taken_over)) => {
                self.publish_will(session, will).await;
            }
            // Discarded, or taken over by a reconnect within the delay: not sent.
            Some(will) if !publish || taken_over => {
                self.store.submit(vec![Op::DeleteWill { key: session.key.clone(), token: will.token }]);
            }
            Some(will) => {
                let mut inner = session.lock();
                let by_expiry = inner.expiry_secs.map_or(u64::MAX, |secs| u64::from(secs) * 1000);
                let due = now.saturating_add((u64::from(will.delay_secs) * 1000).min(by_expiry));
                // Under the lock, so a CONNECT cancelling it is submitted after this.
                let stored = StoredWill { will: will.clone(), due_ms: Some(due) };
                self.store.submit(vec![Op::PutWill { key: session.key.clone(), will: stored }]);
                inner.will = Some((due, Box::new(will)));
            }
            None => {}
        }
        if taken_over {
            return;
        }
        let namespace = &session.key.namespace;
        let gone = ends;
        if gone {
            self.unregister(session);
            if session.persistent {
                let op = Op::DeleteSession { key: session.key.clone() };
                if let Err(error) = self.store.commit(vec![op]).await {
                    warn!(%error, "cannot forget an ended session");
                }
            }
        } else {
            let record = {
                let mut inner = session.lock();
                inner.offline_since_ms = Some(now);
                record_of(&inner)
            };
            self.store.submit(vec![Op::PutSession { key: session.key.clone(), record }]);
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
            let Some((member, sub)) = self.pick(&members, session.id, !gone) else { continue };
            let mut routed = Routed::default();
            let delivery = delivery(&message, &sub, Some(filter));
            self.enqueue(&member, delivery, &mut routed);
            if let Err(error) = self.complete(routed).await {
                warn!(%error, "cannot hand a shared message to another member");
            }
        }
    }

    /// Adds (or replaces) the subscriptions and, for a persistent session,
    /// stores them; for each, whether it replaced one.
    pub async fn subscribe(
        &self,
        session: &Arc<Session>,
        filters: &[(String, Subscription)],
    ) -> Result<Vec<bool>, StoreError> {
        let namespace = &session.key.namespace;
        let (existed, record) = {
            let mut inner = session.lock();
            let mut router = write(&self.router);
            let existed = filters
                .iter()
                .map(|(filter, subscription)| {
                    router.subscribe(namespace, session.id, filter, *subscription);
                    inner.state.subscribe(filter, *subscription)
                })
                .collect();
            (existed, record_of(&inner))
        };
        if session.persistent {
            self.store.commit(vec![Op::PutSession { key: session.key.clone(), record }]).await?;
        }
        Ok(existed)
    }

    /// Queues the retained messages the subscriptions match, retain flag set,
    /// at the lower of their QoS and the granted one, with the subscription's
    /// identifier. Expired ones are not sent.
    pub async fn deliver_retained(
        &self,
        session: &Arc<Session>,
        filters: &[(String, Subscription)],
    ) -> Result<(), StoreError> {
        let namespace = &session.key.namespace;
        let mut routed = Routed::default();
        let now = now_ms();
        for (filter, subscription) in filters {
            let retained = read(&self.retained).matching(namespace, topic::effective(filter));
            for message in retained.into_iter().filter(|m| !m.is_expired(now)) {
                let delivery = Message { retain: true, ..delivery(&message, subscription, None) };
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
            (found, record_of(&inner))
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
        self.route_from(namespace, message, None).await
    }

    /// [`Hub::route`] for a message the session `publisher` published, which
    /// its own no-local subscriptions do not get.
    pub async fn route_from(&self, namespace: &Arc<str>, message: Message, publisher: Option<SessionId>) -> Routed {
        let mut routed = self.route_in_mqtt(namespace, &message, publisher).await;
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
        let routed = self.route_in_mqtt(namespace, &message, None).await;
        self.complete(routed).await
    }

    async fn route_in_mqtt(&self, namespace: &Arc<str>, message: &Message, publisher: Option<SessionId>) -> Routed {
        let targets: Vec<(Arc<Session>, Message)> = {
            let routes = read(&self.router).route(namespace, &message.topic, publisher);
            let sessions = read(&self.sessions);
            let ordinary = routes.sessions.into_iter().filter_map(|(id, matched)| {
                let copy = Message {
                    retain: matched.retain_as_published && message.retain,
                    subscription_ids: matched.identifiers,
                    ..message.delivered_at(matched.qos)
                };
                sessions.get(&id).map(|s| (s.clone(), copy))
            });
            let shared: Vec<_> = routes
                .shared
                .into_iter()
                .filter_map(|route| {
                    let (member, sub) = pick_among(&sessions, &route.members, route.turn, None, false)?;
                    Some((member, delivery(message, &sub, Some(route.filter))))
                })
                .collect();
            ordinary.chain(shared).collect()
        };
        // Wait for room everywhere before queuing anywhere: a message queued
        // but not yet ready must never wait on another full queue.
        for (session, _) in &targets {
            session.wait_for_room().await;
        }
        let mut routed = Routed::default();
        for (session, copy) in targets {
            self.enqueue(&session, copy, &mut routed);
        }
        routed
    }

    /// Applies a retained publish; stored, except `$SYS` statistics, which
    /// are made again after a restart.
    fn retain(&self, namespace: &Arc<str>, message: Message, routed: &mut Routed) {
        if message.retain && sys::is_sys(&message.topic) {
            write(&self.retained).apply(namespace, &message);
        } else if message.retain {
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
    /// Returns how many sessions and mapped Kafka topics it reached. A failed
    /// Kafka append is logged: the MQTT delivery stands.
    pub async fn complete(&self, routed: Routed) -> Result<usize, StoreError> {
        let Routed { ops, pending, reached, written } = routed;
        let reached = reached + written.len();
        if !ops.is_empty() {
            self.store.commit(ops).await?;
        }
        release(pending);
        for wait in written {
            if let Ok(Err(error)) = wait.await {
                warn!(%error, "an MQTT message did not reach its mapped Kafka topic");
            }
        }
        Ok(reached)
    }

    /// Completes, without waiting, deliveries that wait on nothing
    /// ([`Routed::is_settled`]); how many sessions they reached.
    pub fn complete_now(&self, routed: Routed) -> usize {
        debug_assert!(routed.is_settled());
        release(routed.pending);
        routed.reached
    }

    /// Routes and completes a message, as a publisher's would be.
    #[cfg(test)]
    pub async fn publish(&self, namespace: &Arc<str>, message: Message) -> Result<usize, StoreError> {
        let routed = self.route(namespace, message).await;
        self.complete(routed).await
    }

    /// The namespace's meters: its counters and `$SYS` statistics.
    pub fn meters(&self, namespace: &Arc<str>) -> Arc<NamespaceMeters> {
        lock(&self.meters).entry(namespace.clone()).or_insert_with(|| Arc::new(NamespaceMeters::new(namespace))).clone()
    }

    /// Publishes every namespace's `$SYS` statistics as retained messages of
    /// its own (kept in memory, not sent to Kafka), at most once per
    /// [`sys::INTERVAL`].
    async fn publish_stats(&self, now_ms: u64) {
        let interval = u64::try_from(sys::INTERVAL.as_millis()).unwrap_or(u64::MAX);
        if self.stats_published.load(Ordering::Relaxed).saturating_add(interval) > now_ms {
            return;
        }
        self.stats_published.store(now_ms, Ordering::Relaxed);
        let all: Vec<(Arc<str>, Arc<NamespaceMeters>)> =
            lock(&self.meters).iter().map(|(n, m)| (n.clone(), m.clone())).collect();
        for (namespace, meters) in all {
            let retained = read(&self.retained).count(&namespace);
            for (topic, value) in meters.stats.report(retained) {
                let message = Message::new(Arc::from(topic), Bytes::from(value), QoS::AtMostOnce, true);
                let mut routed = self.route_in_mqtt(&namespace, &message, None).await;
                self.retain(&namespace, message, &mut routed);
                if let Err(error) = self.complete(routed).await {
                    warn!(%error, "cannot publish $SYS statistics");
                }
            }
        }
    }

    /// Whether a message on `topic` would go to a Kafka log of the namespace
    /// that holds its storage quota already.
    pub fn kafka_storage_full(&self, namespace: &str, topic: &str) -> bool {
        self.to_kafka.as_ref().is_some_and(|to_kafka| to_kafka.storage_full(namespace, topic))
    }

    /// Whether a retained message on `topic` fits a namespace allowed `max`
    /// retained messages (replacing one always does).
    pub fn retained_room(&self, namespace: &str, topic: &str, max: usize) -> bool {
        let retained = read(&self.retained);
        retained.contains(namespace, topic) || retained.count(namespace) < max
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
        lock(&self.meters).remove(namespace);
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

    /// Ends a session: its pending will goes out, and it leaves the router,
    /// the registry and (when persistent) the store.
    async fn end(&self, session: &Arc<Session>) -> Result<(), StoreError> {
        self.unregister(session);
        let will = session.lock().will.take();
        if let Some((_, will)) = will {
            self.publish_will(session, *will).await;
        }
        if session.persistent {
            self.store.commit(vec![Op::DeleteSession { key: session.key.clone() }]).await?;
        }
        Ok(())
    }

    /// Publishes `will` and forgets it on disk, both in one batch.
    async fn publish_will(&self, session: &Session, will: Will) {
        let routed = self.route(&session.key.namespace, will.publication(now_ms())).await;
        let routed = routed.with(Op::DeleteWill { key: session.key.clone(), token: will.token });
        if let Err(error) = self.complete(routed).await {
            tracing::error!(%error, "cannot publish a will");
        }
    }

    /// Publishes wills whose delay is over and ends offline sessions whose
    /// expiry interval has passed, at `now_ms`.
    async fn reap(&self, now_ms: u64) {
        let sessions: Vec<Arc<Session>> = lock(&self.clients).values().cloned().collect();
        for session in sessions {
            let (will, expired) = {
                let mut inner = session.lock();
                let will =
                    if inner.will.as_ref().is_some_and(|(due, _)| *due <= now_ms) { inner.will.take() } else { None };
                (will, inner.connection.is_none() && inner.expires_at_ms().is_some_and(|at| at <= now_ms))
            };
            if let Some((_, will)) = will {
                self.publish_will(&session, *will).await;
            }
            if expired {
                tracing::info!(namespace = %session.key.namespace, client_id = %session.key.client_id, "session expired");
                if let Err(error) = self.end(&session).await {
                    warn!(%error, "cannot forget an expired session");
                }
            }
        }
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
        let mut clients = lock(&self.clients);
        let replaced = clients.insert(session.key.clone(), session.clone());
        let mut stored = lock(&self.stored);
        if replaced.is_some_and(|old| old.persistent) {
            forget_stored(&mut stored, &session.key.namespace);
        }
        if session.persistent {
            *stored.entry(session.key.namespace.clone()).or_default() += 1;
        }
    }

    fn unregister(&self, session: &Arc<Session>) {
        write(&self.router).remove_session(&session.key.namespace, session.id);
        write(&self.sessions).remove(&session.id);
        let mut clients = lock(&self.clients);
        if clients.get(&session.key).is_some_and(|current| Arc::ptr_eq(current, session)) {
            clients.remove(&session.key);
            if session.persistent {
                forget_stored(&mut lock(&self.stored), &session.key.namespace);
            }
        }
    }

    /// How many persistent sessions the namespace stores.
    pub fn stored_sessions(&self, namespace: &str) -> usize {
        lock(&self.stored).get(namespace).copied().unwrap_or(0)
    }

    /// Whether a persistent session is stored under `key`.
    pub fn stores_session(&self, key: &SessionKey) -> bool {
        lock(&self.clients).get(key).is_some_and(|session| session.persistent)
    }

    /// A member of a shared subscription other than `leaving`: an attached
    /// one, or, unless `attached_only`, any.
    fn pick(
        &self,
        members: &[(SessionId, Subscription)],
        leaving: SessionId,
        attached_only: bool,
    ) -> Option<(Arc<Session>, Subscription)> {
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
    members: &[(SessionId, Subscription)],
    turn: usize,
    except: Option<SessionId>,
    attached_only: bool,
) -> Option<(Arc<Session>, Subscription)> {
    let candidates: Vec<(Arc<Session>, Subscription)> = members
        .iter()
        .filter(|(id, _)| Some(*id) != except)
        .filter_map(|(id, sub)| Some((sessions.get(id)?.clone(), *sub)))
        .collect();
    let attached: Vec<&(Arc<Session>, Subscription)> = candidates.iter().filter(|(s, _)| s.is_attached()).collect();
    if !attached.is_empty() {
        return Some(attached[turn % attached.len()].clone());
    }
    if attached_only || candidates.is_empty() {
        return None;
    }
    Some(candidates[turn % candidates.len()].clone())
}

/// The copy of `message` for a subscription with options `sub`, through the
/// shared subscription `shared` if any.
/// Lets routed deliveries go out: each is marked ready in its session's
/// queue (behind any earlier one still waiting) and the session woken.
fn release(pending: Vec<(Arc<Session>, u64)>) {
    for (session, seq) in pending {
        if session.lock().state.mark_ready(seq) {
            session.wake.notify_one();
        }
    }
}

fn delivery(message: &Message, sub: &Subscription, shared: Option<Arc<str>>) -> Message {
    Message {
        retain: sub.retain_as_published && message.retain,
        shared,
        subscription_ids: sub.identifier.into_iter().collect(),
        ..message.delivered_at(sub.qos)
    }
}

fn record_of(inner: &Inner) -> SessionRecord {
    let subscriptions = inner
        .state
        .subscriptions()
        .iter()
        .map(|(filter, sub)| StoredSubscription {
            filter: filter.clone(),
            qos: sub.qos as u8,
            no_local: sub.no_local,
            retain_as_published: sub.retain_as_published,
            identifier: sub.identifier,
        })
        .collect();
    SessionRecord { subscriptions, expiry_secs: inner.expiry_secs, disconnected_at_ms: inner.offline_since_ms }
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

/// Counts one stored session of `namespace` less.
fn forget_stored(stored: &mut HashMap<Arc<str>, usize>, namespace: &Arc<str>) {
    if let Some(count) = stored.get_mut(namespace) {
        *count = count.saturating_sub(1);
        if *count == 0 {
            stored.remove(namespace);
        }
    }
}

#[cfg(test)]
mod tests;
