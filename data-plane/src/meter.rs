//! Metering: what each namespace uses on this broker, counted as it happens
//! and sealed, once per interval, into usage records that stay on the
//! broker's disk until the control plane has acknowledged them.
//!
//! Counting is an atomic add into the namespace's slot of a shared file
//! mapping ([`counters`]), so it costs no system call and survives `kill -9`.
//! Sealing ([`journal`]) turns what the slots grew since the last seal into
//! records numbered by a sequence, in the same durable transaction as the
//! new totals: after a crash anywhere the next seal counts exactly what was
//! not yet sealed, nothing twice. The control plane reads records, stores
//! them keyed by (journal id, seq), then acknowledges them, so a retry on
//! either side neither loses nor doubles one.
//!
//! What counts: Kafka record batches appended (a producer's retry the log
//! recognises adds nothing) and record batches sent in Fetch answers, with
//! their records; MQTT PUBLISH payloads accepted from clients (a will when
//! it is published) and sent to them; each second every open connection
//! adds a connection-second; each seal adds, for the seconds since the
//! last, the namespace's log bytes and partitions (byte-seconds,
//! partition-seconds).
//!
//! A use is counted right after it happened (a batch appended, an answer
//! written to the socket), never before: a SIGKILL in the instant between the
//! two leaves that one use unmetered, so metering may fall short by what was
//! in hand at the kill, and never counts what was not stored or sent.
//!
//! Owns dimensions, slots per namespace, sealing and the journal; knows no
//! wire protocol (front ends call [`Usage`]) and no catalog (the sealer is
//! handed the storage figures).

mod counters;
mod journal;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio_util::sync::CancellationToken;

pub use journal::{JournalError, Record};

use counters::{Counters, MAX_ID};
use journal::{Journal, Reading};

/// Namespaces one broker meters at once (slots are reused once a deleted
/// namespace's last usage is sealed).
pub const SLOTS: usize = 16_384;

/// What is counted, in the order of the counters in a slot and of the values
/// in a record (append only: it is the on-disk layout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    KafkaMessagesIn = 0,
    KafkaBytesIn = 1,
    KafkaMessagesOut = 2,
    KafkaBytesOut = 3,
    MqttMessagesIn = 4,
    MqttBytesIn = 5,
    MqttMessagesOut = 6,
    MqttBytesOut = 7,
    ConnectionSeconds = 8,
    StorageByteSeconds = 9,
    PartitionSeconds = 10,
}

#[derive(Debug, thiserror::Error)]
pub enum MeterError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("usage counters: {0}")]
    Counters(#[from] std::io::Error),
    #[error("no usage slot is free for another namespace ({SLOTS} in use)")]
    Full,
    #[error("namespace id is longer than {MAX_ID} bytes")]
    IdTooLong,
}

/// One namespace's counters, shared by its connections.
pub struct Usage {
    /// The mapping and the slot; `None` for a namespace that got no slot (it
    /// was never applied, so nobody can connect to it).
    slot: Option<(Arc<Counters>, usize)>,
    generation: u64,
    connections: AtomicU64,
    /// Its namespace was deleted: sealed one last time, then freed.
    retired: AtomicBool,
}

impl Usage {
    pub fn add(&self, dimension: Dimension, amount: u64) {
        if let Some((counters, index)) = &self.slot
            && amount != 0
        {
            counters.counter(*index, dimension as usize).fetch_add(amount, Ordering::Relaxed);
        }
    }

    pub fn kafka_in(&self, bytes: u64, records: u64) {
        self.add(Dimension::KafkaBytesIn, bytes);
        self.add(Dimension::KafkaMessagesIn, records);
    }

    pub fn kafka_out(&self, bytes: u64, records: u64) {
        self.add(Dimension::KafkaBytesOut, bytes);
        self.add(Dimension::KafkaMessagesOut, records);
    }

    pub fn mqtt_in(&self, payload_bytes: u64) {
        self.add(Dimension::MqttBytesIn, payload_bytes);
        self.add(Dimension::MqttMessagesIn, 1);
    }

    pub fn mqtt_out(&self, payload_bytes: u64) {
        self.add(Dimension::MqttBytesOut, payload_bytes);
        self.add(Dimension::MqttMessagesOut, 1);
    }

    /// Counts a connection as open until the guard is dropped.
    pub fn connected(self: &Arc<Self>) -> Connected {
        self.connections.fetch_add(1, Ordering::Relaxed);
        Connected(self.clone())
    }
}

/// An open connection, for connection-seconds.
pub struct Connected(Arc<Usage>);

impl Connected {
    pub fn usage(&self) -> &Arc<Usage> {
        &self.0
    }
}

impl Drop for Connected {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::Relaxed);
    }
}

struct Slots {
    by_namespace: HashMap<String, Arc<Usage>>,
    free: Vec<usize>,
}

/// The broker's meter.
pub struct Meter {
    counters: Arc<Counters>,
    journal: Journal,
    slots: Mutex<Slots>,
}

impl Meter {
    /// Opens `{dir}` (journal, then the mapping), frees the slots whose last
    /// seal was written before a crash, and takes up every other slot as it
    /// was; a namespace the broker no longer has stays retired and is sealed
    /// one last time. Blocking.
    pub fn open(dir: &Path, slots: usize) -> Result<Meter, MeterError> {
        let (journal, tombstones) = Journal::open(dir)?;
        let counters = Arc::new(Counters::open(dir, slots)?);
        let tombstones: HashSet<u64> = tombstones.into_iter().collect();
        let mut by_namespace = HashMap::new();
        let mut used = HashSet::new();
        for occupied in counters.occupied() {
            if tombstones.contains(&occupied.generation) || by_namespace.contains_key(&occupied.namespace) {
                counters.free(occupied.index);
                continue;
            }
            used.insert(occupied.index);
            let usage = Usage {
                slot: Some((counters.clone(), occupied.index)),
                generation: occupied.generation,
                connections: AtomicU64::new(0),
                retired: AtomicBool::new(true),
            };
            by_namespace.insert(occupied.namespace, Arc::new(usage));
        }
        if !tombstones.is_empty() {
            counters.flush()?;
            journal.forget_tombstones(&tombstones.into_iter().collect::<Vec<_>>())?;
        }
        let free = (0..counters.capacity()).rev().filter(|i| !used.contains(i)).collect();
        Ok(Meter { counters, journal, slots: Mutex::new(Slots { by_namespace, free }) })
    }

    fn lock(&self) -> MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Gives the namespace a slot (if it has none) and keeps it metered.
    pub fn reserve(&self, namespace: &str) -> Result<Arc<Usage>, MeterError> {
        if namespace.len() > MAX_ID {
            return Err(MeterError::IdTooLong);
        }
        let mut slots = self.lock();
        if let Some(usage) = slots.by_namespace.get(namespace) {
            usage.retired.store(false, Ordering::Relaxed);
            return Ok(usage.clone());
        }
        let index = slots.free.pop().ok_or(MeterError::Full)?;
        let generation = rand::random::<u64>() | 1;
        self.counters.assign(index, generation, namespace);
        let usage = Arc::new(Usage {
            slot: Some((self.counters.clone(), index)),
            generation,
            connections: AtomicU64::new(0),
            retired: AtomicBool::new(false),
        });
        slots.by_namespace.insert(namespace.to_owned(), usage.clone());
        Ok(usage)
    }

    /// The namespace's counters, for a connection to count into.
    pub fn of(&self, namespace: &str) -> Arc<Usage> {
        if let Some(usage) = self.lock().by_namespace.get(namespace) {
            return usage.clone();
        }
        self.reserve(namespace).unwrap_or_else(|error| {
            tracing::error!(namespace, %error, "namespace is not metered");
            Arc::new(Usage {
                slot: None,
                generation: 0,
                connections: AtomicU64::new(0),
                retired: AtomicBool::new(true),
            })
        })
    }

    /// The namespace was deleted: its slot is sealed one last time once no
    /// connection holds it, then freed.
    pub fn retire(&self, namespace: &str) {
        if let Some(usage) = self.lock().by_namespace.get(namespace) {
            usage.retired.store(true, Ordering::Relaxed);
        }
    }

    /// Adds `seconds` connection-seconds per open connection.
    pub fn sample_connections(&self, seconds: u64) {
        for usage in self.lock().by_namespace.values() {
            usage.add(Dimension::ConnectionSeconds, usage.connections.load(Ordering::Relaxed) * seconds);
        }
    }

    /// Adds `seconds` of each namespace's storage: `storage(namespace)`
    /// answers its partitions and their bytes.
    pub fn sample_storage(&self, seconds: u64, storage: impl Fn(&str) -> (u64, u64)) {
        let namespaces: Vec<(String, Arc<Usage>)> =
            self.lock().by_namespace.iter().map(|(n, u)| (n.clone(), u.clone())).collect();
        for (namespace, usage) in namespaces {
            let (partitions, bytes) = storage(&namespace);
            usage.add(Dimension::PartitionSeconds, partitions * seconds);
            usage.add(Dimension::StorageByteSeconds, bytes * seconds);
        }
    }

    /// Seals what every slot counted since the last seal into records, as of
    /// `now_ms`, and frees the slots of retired namespaces nobody holds.
    /// Answers the records written. Blocking (one fsynced transaction).
    pub fn seal(&self, now_ms: i64) -> Result<Vec<Record>, MeterError> {
        // Held across the write so that no slot is taken or given up between
        // reading it and freeing it.
        let mut slots = self.lock();
        let readings: Vec<(Reading, usize)> = slots
            .by_namespace
            .iter()
            .filter_map(|(namespace, usage)| {
                let (_, index) = usage.slot.as_ref()?;
                let last = usage.retired.load(Ordering::Relaxed) && Arc::strong_count(usage) == 1;
                let reading = Reading {
                    generation: usage.generation,
                    namespace: namespace.clone(),
                    cumulative: self.counters.read(*index),
                    last,
                };
                Some((reading, *index))
            })
            .collect();
        let records = self.journal.seal(now_ms, &readings.iter().map(|(r, _)| r.clone()).collect::<Vec<_>>())?;
        for (reading, index) in readings.into_iter().filter(|(r, _)| r.last) {
            self.counters.free(index);
            slots.by_namespace.remove(&reading.namespace);
            slots.free.push(index);
        }
        drop(slots);
        if let Err(error) = self.counters.flush_async() {
            tracing::warn!(%error, "cannot start writing the usage counters to disk");
        }
        Ok(records)
    }

    /// Up to `limit` sealed records after `after_seq`, oldest first. Blocking.
    pub fn read(&self, after_seq: u64, limit: usize) -> Result<Vec<Record>, MeterError> {
        Ok(self.journal.read(after_seq, limit)?)
    }

    /// Forgets the records up to `through_seq`. Blocking.
    pub fn acknowledge(&self, through_seq: u64) -> Result<usize, MeterError> {
        Ok(self.journal.acknowledge(through_seq)?)
    }

    /// Sealed records not yet acknowledged. Blocking.
    pub fn pending(&self) -> Result<u64, MeterError> {
        Ok(self.journal.pending()?)
    }

    /// Where records come from: unique per journal, so per broker disk.
    pub fn journal_id(&self) -> &str {
        self.journal.id()
    }
}

/// Samples connections every second and seals at every multiple of
/// `interval` on the wall clock (records end on those instants), sampling
/// storage with `storage` just before; once `stop` is cancelled, seals what
/// is left and returns.
pub async fn run(
    meter: Arc<Meter>,
    interval: Duration,
    storage: impl Fn(&str) -> (u64, u64) + Send + Sync + 'static,
    stop: CancellationToken,
) {
    let interval_ms = i64::try_from(interval.as_millis()).unwrap_or(60_000).max(1000);
    let storage = Arc::new(storage);
    let mut storage_sampled = now_ms();
    let mut next_seal = (storage_sampled / interval_ms + 1) * interval_ms;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        let stopping = tokio::select! {
            () = stop.cancelled() => true,
            _ = tick.tick() => false,
        };
        let now = now_ms();
        if !stopping {
            meter.sample_connections(1);
            if now < next_seal {
                continue;
            }
        }
        let at = if stopping { now } else { now - now % interval_ms };
        next_seal = at - at % interval_ms + interval_ms;
        let seconds = u64::try_from((now - storage_sampled) / 1000).unwrap_or(0);
        storage_sampled += i64::try_from(seconds * 1000).unwrap_or(0);
        let (sealer, storage) = (meter.clone(), storage.clone());
        let sealed = tokio::task::spawn_blocking(move || {
            sealer.sample_storage(seconds, |namespace| storage(namespace));
            sealer.seal(at)
        })
        .await;
        match sealed {
            Ok(Ok(records)) => tracing::debug!(records = records.len(), "usage sealed"),
            Ok(Err(error)) => tracing::error!(%error, "cannot seal usage; it stays counted for the next seal"),
            Err(error) => tracing::error!(%error, "usage seal task failed"),
        }
        if stopping {
            return;
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("omnibus-meter-{name}-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn value(record: &Record, dimension: Dimension) -> u64 {
        record.values[dimension as usize]
    }

    #[test]
    fn what_was_counted_before_a_kill_is_sealed_after_the_restart_once() {
        let dir = temp_dir("kill");
        {
            let meter = Meter::open(&dir, 8).unwrap();
            let usage = meter.reserve("a").unwrap();
            usage.kafka_in(1000, 10);
            let sealed = meter.seal(60_000).unwrap();
            assert_eq!(sealed.len(), 1);
            assert_eq!(value(&sealed[0], Dimension::KafkaBytesIn), 1000);
            usage.kafka_in(500, 5);
            usage.mqtt_out(7);
            // Killed: no seal, no flush.
        }
        let meter = Meter::open(&dir, 8).unwrap();
        meter.reserve("a").unwrap();
        let sealed = meter.seal(120_000).unwrap();
        assert_eq!(sealed.len(), 1, "{sealed:?}");
        let record = &sealed[0];
        assert_eq!((record.namespace.as_str(), record.start_ms, record.end_ms), ("a", 60_000, 120_000));
        assert_eq!(value(record, Dimension::KafkaBytesIn), 500);
        assert_eq!(value(record, Dimension::KafkaMessagesIn), 5);
        assert_eq!(value(record, Dimension::MqttBytesOut), 7);
        assert_eq!(value(record, Dimension::MqttMessagesOut), 1);
        assert!(meter.seal(180_000).unwrap().is_empty(), "nothing new, no record");
        let all = meter.read(0, 100).unwrap();
        assert_eq!(all.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![1, 2]);
    }

    #[test]
    fn records_stay_until_acknowledged_and_numbers_are_never_reused() {
        let dir = temp_dir("ack");
        {
            let meter = Meter::open(&dir, 8).unwrap();
            let usage = meter.reserve("a").unwrap();
            for minute in 1..=3 {
                usage.mqtt_in(10);
                meter.seal(minute * 60_000).unwrap();
            }
            assert_eq!(meter.read(1, 10).unwrap().iter().map(|r| r.seq).collect::<Vec<_>>(), vec![2, 3]);
            assert_eq!(meter.acknowledge(2).unwrap(), 2);
            assert_eq!(meter.acknowledge(2).unwrap(), 0, "acknowledging again is harmless");
            assert_eq!(meter.pending().unwrap(), 1);
        }
        let meter = Meter::open(&dir, 8).unwrap();
        meter.of("a").mqtt_in(1);
        meter.seal(240_000).unwrap();
        assert_eq!(meter.read(0, 10).unwrap().iter().map(|r| r.seq).collect::<Vec<_>>(), vec![3, 4]);
    }

    #[test]
    fn a_deleted_namespace_is_sealed_last_once_released_and_its_slot_reused() {
        let dir = temp_dir("retire");
        let meter = Meter::open(&dir, 1).unwrap();
        let usage = meter.reserve("gone").unwrap();
        let connection = usage.connected();
        drop(usage);
        connection.usage().kafka_out(100, 1);
        meter.retire("gone");
        assert!(matches!(meter.reserve("next"), Err(MeterError::Full)));
        meter.seal(60_000).unwrap();
        connection.usage().kafka_out(50, 1);
        assert!(matches!(meter.reserve("next"), Err(MeterError::Full)), "held by a connection");
        drop(connection);
        let last = meter.seal(120_000).unwrap();
        assert_eq!(value(&last[0], Dimension::KafkaBytesOut), 50);
        let next = meter.reserve("next").unwrap();
        next.kafka_out(1, 1);
        let sealed = meter.seal(180_000).unwrap();
        assert_eq!(sealed.len(), 1);
        assert_eq!((sealed[0].namespace.as_str(), value(&sealed[0], Dimension::KafkaBytesOut)), ("next", 1));
    }

    #[test]
    fn a_namespace_the_broker_lost_while_down_is_sealed_and_freed() {
        let dir = temp_dir("lost");
        {
            let meter = Meter::open(&dir, 2).unwrap();
            meter.reserve("kept").unwrap().mqtt_in(1);
            meter.reserve("dropped").unwrap().mqtt_in(2);
        }
        let meter = Meter::open(&dir, 2).unwrap();
        meter.reserve("kept").unwrap();
        let mut sealed = meter.seal(60_000).unwrap();
        sealed.sort_by(|a, b| a.namespace.cmp(&b.namespace));
        assert_eq!(sealed.iter().map(|r| r.namespace.as_str()).collect::<Vec<_>>(), vec!["dropped", "kept"]);
        drop(meter);
        let meter = Meter::open(&dir, 2).unwrap();
        assert!(meter.seal(120_000).unwrap().is_empty(), "the freed slot does not come back");
        meter.reserve("new").unwrap();
        assert!(meter.reserve("kept").is_ok());
    }

    #[test]
    fn connections_and_storage_are_sampled() {
        let dir = temp_dir("sample");
        let meter = Meter::open(&dir, 4).unwrap();
        let usage = meter.reserve("a").unwrap();
        let (_one, _two) = (usage.connected(), usage.connected());
        meter.sample_connections(1);
        meter.sample_connections(1);
        meter.sample_storage(60, |namespace| if namespace == "a" { (3, 1000) } else { (0, 0) });
        let record = &meter.seal(60_000).unwrap()[0];
        assert_eq!(value(record, Dimension::ConnectionSeconds), 4);
        assert_eq!(value(record, Dimension::PartitionSeconds), 180);
        assert_eq!(value(record, Dimension::StorageByteSeconds), 60_000);
    }
}
