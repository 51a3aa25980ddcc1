//! The topic catalog: which topics each namespace has, their partitions and
//! settings, and the open log of every partition.
//!
//! Persisted in `{data_dir}/catalog.json` (replaced atomically on every
//! change); each partition's log lives in
//! `{data_dir}/logs/{namespace}/{topic id}-{partition}`, so deleting a topic
//! and creating it again never mixes their data. Owns topic naming rules and
//! the mapping from topic settings and the namespace's write durability to
//! log settings; knows no wire protocol.
//! Blocking I/O: async callers use `spawn_blocking` for changes.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use omnibus_commit_log::{Durability, LocalRetention, LogConfig, LogError, PartitionLog};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::tenancy::{KafkaLimits, WriteDurability};

const FILE_NAME: &str = "catalog.json";
/// Most partitions one topic may have.
pub const MAX_PARTITIONS: i32 = 1000;

/// Topic-level settings, by their Kafka names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicConfig {
    /// `retention.ms`; -1 keeps data forever. Default 7 days.
    pub retention_ms: i64,
    /// `retention.bytes` per partition; -1 means no limit (default).
    pub retention_bytes: i64,
    /// `segment.bytes`. Default 1 GiB.
    pub segment_bytes: i64,
    /// `remote.storage.enable`: closed segments are copied to the object
    /// store (tiered storage, KIP-405). Default false; once on, it stays on.
    #[serde(default)]
    pub remote_storage_enable: bool,
    /// `local.retention.ms`: how long local copies of segments already in the
    /// object store are kept; -2 (default) is `retention.ms`, -1 forever.
    #[serde(default = "use_total_retention")]
    pub local_retention_ms: i64,
    /// `local.retention.bytes` per partition, likewise; -2 (default) is
    /// `retention.bytes`, -1 no limit.
    #[serde(default = "use_total_retention")]
    pub local_retention_bytes: i64,
}

/// Kafka's -2 for the local retention settings: the same as the total one.
const TOTAL_RETENTION: i64 = -2;

fn use_total_retention() -> i64 {
    TOTAL_RETENTION
}

impl Default for TopicConfig {
    fn default() -> Self {
        TopicConfig {
            retention_ms: 7 * 24 * 3600 * 1000,
            retention_bytes: -1,
            segment_bytes: 1 << 30,
            remote_storage_enable: false,
            local_retention_ms: TOTAL_RETENTION,
            local_retention_bytes: TOTAL_RETENTION,
        }
    }
}

/// The settings clients may read and change, by their Kafka names.
pub const CONFIG_NAMES: [&str; 6] = [
    "retention.ms",
    "retention.bytes",
    "segment.bytes",
    "remote.storage.enable",
    "local.retention.ms",
    "local.retention.bytes",
];

impl TopicConfig {
    /// The settings clients may read and change, as (name, value), in the
    /// order of [`CONFIG_NAMES`].
    pub fn entries(&self) -> [(&'static str, String); 6] {
        let values = [
            self.retention_ms.to_string(),
            self.retention_bytes.to_string(),
            self.segment_bytes.to_string(),
            self.remote_storage_enable.to_string(),
            self.local_retention_ms.to_string(),
            self.local_retention_bytes.to_string(),
        ];
        std::array::from_fn(|i| (CONFIG_NAMES[i], values[i].clone()))
    }

    /// Applies one `name=value` setting; an unknown name or bad value is refused.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), CatalogError> {
        if !CONFIG_NAMES.contains(&name) {
            return Err(CatalogError::UnknownConfig(name.to_string()));
        }
        let invalid = || CatalogError::InvalidConfig(format!("{name}={value}"));
        if name == "remote.storage.enable" {
            self.remote_storage_enable = value.parse().map_err(|_| invalid())?;
            return Ok(());
        }
        let number: i64 = value.parse().map_err(|_| invalid())?;
        match name {
            "retention.ms" if number >= -1 => self.retention_ms = number,
            "retention.bytes" if number >= -1 => self.retention_bytes = number,
            "segment.bytes" if number >= 14 => self.segment_bytes = number,
            "local.retention.ms" if number >= TOTAL_RETENTION => self.local_retention_ms = number,
            "local.retention.bytes" if number >= TOTAL_RETENTION => self.local_retention_bytes = number,
            _ => return Err(invalid()),
        }
        Ok(())
    }

    /// Resets one setting to its default.
    pub fn reset(&mut self, name: &str) -> Result<(), CatalogError> {
        let default = TopicConfig::default();
        match name {
            "retention.ms" => self.retention_ms = default.retention_ms,
            "retention.bytes" => self.retention_bytes = default.retention_bytes,
            "segment.bytes" => self.segment_bytes = default.segment_bytes,
            "remote.storage.enable" => self.remote_storage_enable = default.remote_storage_enable,
            "local.retention.ms" => self.local_retention_ms = default.local_retention_ms,
            "local.retention.bytes" => self.local_retention_bytes = default.local_retention_bytes,
            _ => return Err(CatalogError::UnknownConfig(name.to_string())),
        }
        Ok(())
    }

    /// Refuses a change from `self` to `next` that Kafka refuses: tiered
    /// storage cannot be switched off once on (its remote data would be
    /// orphaned), and a local retention may not exceed the total one.
    pub fn check_change(&self, next: &TopicConfig) -> Result<(), CatalogError> {
        if self.remote_storage_enable && !next.remote_storage_enable {
            return Err(CatalogError::InvalidConfig(
                "remote.storage.enable cannot be turned off once it is on".to_string(),
            ));
        }
        next.check()
    }

    /// Refuses settings that contradict each other.
    pub fn check(&self) -> Result<(), CatalogError> {
        let exceeds = |local: i64, total: i64| local >= 0 && total >= 0 && local > total;
        if exceeds(self.local_retention_ms, self.retention_ms) {
            return Err(CatalogError::InvalidConfig("local.retention.ms may not exceed retention.ms".to_string()));
        }
        if exceeds(self.local_retention_bytes, self.retention_bytes) {
            return Err(CatalogError::InvalidConfig(
                "local.retention.bytes may not exceed retention.bytes".to_string(),
            ));
        }
        Ok(())
    }

    fn log_config(&self, durability: WriteDurability) -> LogConfig {
        let local = |value: i64, total: i64| if value == TOTAL_RETENTION { total } else { value };
        let tiered = self.remote_storage_enable.then(|| LocalRetention {
            ms: Some(local(self.local_retention_ms, self.retention_ms)).filter(|ms| *ms >= 0),
            bytes: u64::try_from(local(self.local_retention_bytes, self.retention_bytes)).ok(),
        });
        LogConfig {
            segment_bytes: u64::try_from(self.segment_bytes).unwrap_or(1 << 30),
            retention_ms: (self.retention_ms >= 0).then_some(self.retention_ms),
            retention_bytes: u64::try_from(self.retention_bytes).ok(),
            durability: log_durability(durability),
            tiered,
            ..LogConfig::default()
        }
    }
}

fn log_durability(durability: WriteDurability) -> Durability {
    match durability {
        WriteDurability::Fsync => Durability::Fsync,
        WriteDurability::Interval { flush_interval_ms } => {
            Durability::Interval(Duration::from_millis(u64::from(flush_interval_ms)))
        }
    }
}

/// A topic and its open partition logs.
pub struct Topic {
    pub name: String,
    pub id: uuid::Uuid,
    pub partitions: Vec<Arc<PartitionLog>>,
}

impl Topic {
    pub fn partition(&self, index: i32) -> Option<&Arc<PartitionLog>> {
        usize::try_from(index).ok().and_then(|i| self.partitions.get(i))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("topic already exists")]
    AlreadyExists,
    #[error("no such topic")]
    NotFound,
    #[error("invalid topic name: {0}")]
    InvalidName(omnibus_api::kafka_topic::KafkaTopicError),
    #[error("partitions must be between 1 and {MAX_PARTITIONS}")]
    InvalidPartitions,
    #[error("the topic has {current} partitions; the new count must be larger and at most {MAX_PARTITIONS}")]
    PartitionCount { current: i32 },
    #[error("unknown topic config {0}")]
    UnknownConfig(String),
    #[error("invalid topic config {0}")]
    InvalidConfig(String),
    /// A count quota of the namespace (its plan's, or an operator's override).
    #[error("the instance's quota {quota} ({limit}) would be exceeded: it has {current}")]
    Quota { quota: &'static str, limit: u32, current: u64 },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path} is not a valid catalog: {source}")]
    Parse { path: PathBuf, source: serde_json::Error },
    #[error("partition log {path}: {source}")]
    Log { path: PathBuf, source: LogError },
}

/// What `catalog.json` holds per topic (and the object store, for a topic
/// with tiered storage).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicRecord {
    pub id: uuid::Uuid,
    pub partitions: i32,
    pub config: TopicConfig,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Document {
    /// namespace → topic name → topic.
    namespaces: BTreeMap<String, BTreeMap<String, TopicRecord>>,
    /// Tiered topics deleted here whose objects the tier has still to delete.
    #[serde(default)]
    remote_garbage: Vec<DeletedTopic>,
}

/// A deleted topic with tiered storage, until its objects are gone too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletedTopic {
    pub namespace: String,
    pub id: uuid::Uuid,
    pub partitions: i32,
}

/// A topic with tiered storage, as the tier sees it.
pub struct TieredTopic {
    pub namespace: String,
    pub topic: Arc<Topic>,
    pub record: TopicRecord,
}

pub struct Catalog {
    dir: PathBuf,
    state: Mutex<State>,
    /// The namespaces whose logs, as [`Catalog::measure_storage`] last found
    /// them, hold their storage quota, with that quota; `any_full` says
    /// whether there is one, so the produce and publish paths pay one atomic
    /// load while none is full.
    full: RwLock<HashMap<String, u64>>,
    any_full: AtomicBool,
}

#[derive(Default)]
struct State {
    document: Document,
    topics: HashMap<String, BTreeMap<String, Arc<Topic>>>,
    /// Each namespace's write durability, as applied; fsync when unknown.
    durability: HashMap<String, WriteDurability>,
    /// Each namespace's count quotas, as applied; none when unknown.
    limits: HashMap<String, KafkaLimits>,
}

impl State {
    fn durability(&self, namespace: &str) -> WriteDurability {
        self.durability.get(namespace).copied().unwrap_or_default()
    }

    /// Refuses `topics` more topics with `partitions` more partitions in
    /// `namespace` when that passes one of its quotas.
    fn check_quota(&self, namespace: &str, topics: u64, partitions: u64) -> Result<(), CatalogError> {
        let limits = self.limits.get(namespace).copied().unwrap_or_default();
        let existing = self.topics.get(namespace);
        let count = existing.map_or(0, |t| t.len() as u64);
        let partition_count = existing.map_or(0, |t| t.values().map(|topic| topic.partitions.len() as u64).sum());
        for (quota, limit, current, more) in [
            ("max_topics", limits.max_topics, count, topics),
            ("max_partitions", limits.max_partitions, partition_count, partitions),
        ] {
            if let Some(limit) = limit.filter(|limit| more > 0 && current + more > u64::from(*limit)) {
                return Err(CatalogError::Quota { quota, limit, current });
            }
        }
        Ok(())
    }
}

impl Catalog {
    /// Loads the catalog and opens (recovering) every partition log, each
    /// with its namespace's `durability`.
    pub fn open(data_dir: &Path, durability: impl Fn(&str) -> WriteDurability) -> Result<Catalog, CatalogError> {
        let io_error = |path: &Path| {
            let path = path.to_path_buf();
            move |source| CatalogError::Io { path, source }
        };
        fs::create_dir_all(data_dir).map_err(io_error(data_dir))?;
        let path = data_dir.join(FILE_NAME);
        let document: Document = match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| CatalogError::Parse { path, source })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Document::default(),
            Err(source) => return Err(CatalogError::Io { path, source }),
        };
        let mut topics: HashMap<String, BTreeMap<String, Arc<Topic>>> = HashMap::new();
        let mut durabilities = HashMap::new();
        for (namespace, records) in &document.namespaces {
            let durability = durability(namespace);
            durabilities.insert(namespace.clone(), durability);
            for (name, record) in records {
                let topic = open_topic(data_dir, namespace, name, record, durability)?;
                topics.entry(namespace.clone()).or_default().insert(name.clone(), Arc::new(topic));
            }
        }
        let state = State { document, topics, durability: durabilities, limits: HashMap::new() };
        Ok(Catalog {
            dir: data_dir.to_path_buf(),
            state: Mutex::new(state),
            full: RwLock::default(),
            any_full: AtomicBool::new(false),
        })
    }

    /// Sets the namespace's write durability (its plan changed or it was
    /// applied) and applies it to its open logs at once.
    pub fn set_durability(&self, namespace: &str, durability: WriteDurability) {
        let mut state = self.lock();
        if state.durability.insert(namespace.to_string(), durability) == Some(durability) {
            return;
        }
        let Some(topics) = state.topics.get(namespace) else { return };
        for topic in topics.values() {
            let Some(record) = state.document.namespaces.get(namespace).and_then(|t| t.get(&topic.name)) else {
                continue;
            };
            for log in &topic.partitions {
                log.reconfigure(record.config.log_config(durability));
            }
        }
        info!(namespace, ?durability, "write durability applied to the namespace's logs");
    }

    /// The namespace's topics, by name.
    /// Sets the namespace's count quotas (from its plan), for topics and
    /// partitions added from now on; those it has stay.
    pub fn set_limits(&self, namespace: &str, limits: KafkaLimits) {
        self.lock().limits.insert(namespace.to_string(), limits);
    }

    /// Whether `partitions` more partitions in one more topic fit the
    /// namespace's quotas (for a CreateTopics that only validates).
    pub fn check_new_topic(&self, namespace: &str, partitions: i32) -> Result<(), CatalogError> {
        self.lock().check_quota(namespace, 1, u64::try_from(partitions).unwrap_or_default())
    }

    pub fn topics(&self, namespace: &str) -> Vec<Arc<Topic>> {
        self.lock().topics.get(namespace).map(|t| t.values().cloned().collect()).unwrap_or_default()
    }

    /// Measures the log bytes of every namespace with a storage quota and
    /// notes those that hold it.
    pub fn measure_storage(&self) {
        let quotas: Vec<(String, u64)> = {
            let state = self.lock();
            state.limits.iter().filter_map(|(ns, limits)| Some((ns.clone(), limits.max_storage_bytes?))).collect()
        };
        let full: HashMap<String, u64> =
            quotas.into_iter().filter(|(namespace, max)| self.storage(namespace).1 >= *max).collect();
        self.any_full.store(!full.is_empty(), Ordering::Release);
        *self.full.write().unwrap_or_else(std::sync::PoisonError::into_inner) = full;
    }

    /// The namespace's storage quota when its logs, as last measured, hold
    /// that much or more: no more may be written to them.
    pub fn storage_full(&self, namespace: &str) -> Option<u64> {
        if !self.any_full.load(Ordering::Acquire) {
            return None;
        }
        self.full.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(namespace).copied()
    }

    /// The namespace's partitions and the bytes their logs hold in both
    /// tiers (local disk and the object store), for the meter and the
    /// storage quota.
    pub fn storage(&self, namespace: &str) -> (u64, u64) {
        self.topics(namespace)
            .iter()
            .flat_map(|topic| &topic.partitions)
            .fold((0, 0), |(partitions, bytes), log| (partitions + 1, bytes + log.total_bytes()))
    }

    /// Every topic with tiered storage, in every namespace.
    pub fn tiered(&self) -> Vec<TieredTopic> {
        let state = self.lock();
        let mut found = Vec::new();
        for (namespace, records) in &state.document.namespaces {
            for (name, record) in records.iter().filter(|(_, r)| r.config.remote_storage_enable) {
                if let Some(topic) = state.topics.get(namespace).and_then(|t| t.get(name)) {
                    found.push(TieredTopic {
                        namespace: namespace.clone(),
                        topic: topic.clone(),
                        record: record.clone(),
                    });
                }
            }
        }
        found
    }

    /// Deleted tiered topics whose objects are still to be deleted.
    pub fn remote_garbage(&self) -> Vec<DeletedTopic> {
        self.lock().document.remote_garbage.clone()
    }

    /// Notes that a deleted topic's objects are gone.
    pub fn remote_garbage_collected(&self, gone: &DeletedTopic) -> Result<(), CatalogError> {
        let mut state = self.lock();
        state.document.remote_garbage.retain(|g| g != gone);
        self.save(&state.document)
    }

    /// Writes the catalog of a broker starting on an empty disk: the tiered
    /// topics the object store holds, by namespace and name. Refused when a
    /// catalog exists.
    pub fn seed(data_dir: &Path, topics: Vec<(String, String, TopicRecord)>) -> Result<(), CatalogError> {
        let path = data_dir.join(FILE_NAME);
        if path.exists() {
            return Err(CatalogError::Io { path, source: io::Error::from(io::ErrorKind::AlreadyExists) });
        }
        let mut document = Document::default();
        for (namespace, name, record) in topics {
            document.namespaces.entry(namespace).or_default().insert(name, record);
        }
        save(data_dir, &document)
    }

    /// Whether this data directory has a catalog yet (a broker on an empty
    /// disk has none).
    pub fn exists(data_dir: &Path) -> bool {
        data_dir.join(FILE_NAME).exists()
    }

    /// Where a partition's log lives.
    pub fn partition_dir(data_dir: &Path, namespace: &str, id: uuid::Uuid, index: i32) -> PathBuf {
        data_dir.join("logs").join(namespace).join(format!("{id}-{index}"))
    }

    pub fn topic(&self, namespace: &str, name: &str) -> Option<Arc<Topic>> {
        self.lock().topics.get(namespace).and_then(|t| t.get(name)).cloned()
    }

    /// Creates a topic with `partitions` empty logs.
    pub fn create_topic(
        &self,
        namespace: &str,
        name: &str,
        partitions: i32,
        config: TopicConfig,
    ) -> Result<Arc<Topic>, CatalogError> {
        validate_name(name)?;
        if !(1..=MAX_PARTITIONS).contains(&partitions) {
            return Err(CatalogError::InvalidPartitions);
        }
        config.check()?;
        let mut state = self.lock();
        if state.topics.get(namespace).is_some_and(|t| t.contains_key(name)) {
            return Err(CatalogError::AlreadyExists);
        }
        state.check_quota(namespace, 1, u64::try_from(partitions).unwrap_or_default())?;
        let record = TopicRecord { id: uuid::Uuid::new_v4(), partitions, config };
        let topic = Arc::new(open_topic(&self.dir, namespace, name, &record, state.durability(namespace))?);
        state.document.namespaces.entry(namespace.to_string()).or_default().insert(name.to_string(), record);
        if let Err(e) = self.save(&state.document) {
            state.document.namespaces.get_mut(namespace).map(|t| t.remove(name));
            return Err(e);
        }
        state.topics.entry(namespace.to_string()).or_default().insert(name.to_string(), topic.clone());
        info!(namespace, topic = name, partitions, "topic created");
        Ok(topic)
    }

    /// The topic's settings.
    pub fn topic_config(&self, namespace: &str, name: &str) -> Option<TopicConfig> {
        self.lock().document.namespaces.get(namespace).and_then(|t| t.get(name)).map(|r| r.config.clone())
    }

    /// Grows a topic to `total` partitions (never shrinks, as in Kafka).
    pub fn add_partitions(&self, namespace: &str, name: &str, total: i32) -> Result<(), CatalogError> {
        let mut state = self.lock();
        let Some(topic) = state.topics.get(namespace).and_then(|t| t.get(name)).cloned() else {
            return Err(CatalogError::NotFound);
        };
        let current = i32::try_from(topic.partitions.len()).unwrap_or(i32::MAX);
        if total <= current || total > MAX_PARTITIONS {
            return Err(CatalogError::PartitionCount { current });
        }
        state.check_quota(namespace, 0, u64::try_from(total - current).unwrap_or_default())?;
        let Some(record) = state.document.namespaces.get(namespace).and_then(|t| t.get(name)).cloned() else {
            return Err(CatalogError::NotFound);
        };
        let mut partitions = topic.partitions.clone();
        for index in current..total {
            partitions.push(open_partition(&self.dir, namespace, &record, index, state.durability(namespace))?);
        }
        let grown = TopicRecord { partitions: total, ..record.clone() };
        self.update_record(&mut state, namespace, name, grown, record)?;
        let topic = Topic { name: name.to_string(), id: topic.id, partitions };
        state.topics.entry(namespace.to_string()).or_default().insert(name.to_string(), Arc::new(topic));
        info!(namespace, topic = name, partitions = total, "partitions added");
        Ok(())
    }

    /// Replaces a topic's settings and applies them to its open logs.
    pub fn set_topic_config(&self, namespace: &str, name: &str, config: TopicConfig) -> Result<(), CatalogError> {
        let mut state = self.lock();
        let Some(record) = state.document.namespaces.get(namespace).and_then(|t| t.get(name)).cloned() else {
            return Err(CatalogError::NotFound);
        };
        record.config.check_change(&config)?;
        let changed = TopicRecord { config: config.clone(), ..record.clone() };
        self.update_record(&mut state, namespace, name, changed, record)?;
        let durability = state.durability(namespace);
        if let Some(topic) = state.topics.get(namespace).and_then(|t| t.get(name)) {
            for log in &topic.partitions {
                log.reconfigure(config.log_config(durability));
            }
        }
        info!(namespace, topic = name, ?config, "topic config changed");
        Ok(())
    }

    /// Saves `record` for the topic, or puts `previous` back when saving fails.
    fn update_record(
        &self,
        state: &mut State,
        namespace: &str,
        name: &str,
        record: TopicRecord,
        previous: TopicRecord,
    ) -> Result<(), CatalogError> {
        let topics = state.document.namespaces.entry(namespace.to_string()).or_default();
        topics.insert(name.to_string(), record);
        if let Err(e) = self.save(&state.document) {
            state.document.namespaces.entry(namespace.to_string()).or_default().insert(name.to_string(), previous);
            return Err(e);
        }
        Ok(())
    }

    /// Deletes a topic and all its data.
    pub fn delete_topic(&self, namespace: &str, name: &str) -> Result<(), CatalogError> {
        let mut state = self.lock();
        let Some(topic) = state.topics.get_mut(namespace).and_then(|t| t.remove(name)) else {
            return Err(CatalogError::NotFound);
        };
        let removed = state.document.namespaces.get_mut(namespace).and_then(|t| t.remove(name));
        state.document.namespaces.retain(|_, topics| !topics.is_empty());
        state.document.remote_garbage.extend(removed.into_iter().filter_map(|r| r.garbage(namespace)));
        self.save(&state.document)?;
        drop(state);
        remove_logs(&topic);
        info!(namespace, topic = name, "topic deleted");
        Ok(())
    }

    /// Deletes every topic of a namespace and its data.
    pub fn delete_namespace(&self, namespace: &str) -> Result<(), CatalogError> {
        let mut state = self.lock();
        let topics = state.topics.remove(namespace).unwrap_or_default();
        state.durability.remove(namespace);
        state.limits.remove(namespace);
        if let Some(removed) = state.document.namespaces.remove(namespace) {
            state.document.remote_garbage.extend(removed.into_values().filter_map(|r| r.garbage(namespace)));
            self.save(&state.document)?;
        }
        drop(state);
        for topic in topics.values() {
            remove_logs(topic);
        }
        let dir = self.dir.join("logs").join(namespace);
        if let Err(e) =
            fs::remove_dir_all(&dir).or_else(|e| if e.kind() == io::ErrorKind::NotFound { Ok(()) } else { Err(e) })
        {
            warn!(path = %dir.display(), error = %e, "cannot remove a deleted namespace's log directory");
        }
        Ok(())
    }

    /// Applies retention to every log; returns the bytes freed.
    pub fn apply_retention(&self, now_ms: i64) -> u64 {
        let topics: Vec<Arc<Topic>> = self.lock().topics.values().flat_map(|t| t.values().cloned()).collect();
        let mut freed = 0;
        for topic in topics {
            for log in &topic.partitions {
                match log.apply_retention(now_ms) {
                    Ok(bytes) => freed += bytes,
                    Err(e) => warn!(topic = %topic.name, error = %e, "retention failed"),
                }
            }
        }
        freed
    }

    fn save(&self, document: &Document) -> Result<(), CatalogError> {
        save(&self.dir, document)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl TopicRecord {
    /// What the tier must delete once this topic is gone: nothing unless it
    /// was tiered.
    fn garbage(self, namespace: &str) -> Option<DeletedTopic> {
        self.config.remote_storage_enable.then(|| DeletedTopic {
            namespace: namespace.to_string(),
            id: self.id,
            partitions: self.partitions,
        })
    }
}

/// Replaces `catalog.json` in `dir` atomically.
fn save(dir: &Path, document: &Document) -> Result<(), CatalogError> {
    let path = dir.join(FILE_NAME);
    let bytes = serde_json::to_vec_pretty(document)
        .map_err(|e| CatalogError::Io { path: path.clone(), source: io::Error::other(e) })?;
    crate::durable_file::replace(dir, FILE_NAME, &bytes).map_err(|source| CatalogError::Io { path, source })
}

fn open_topic(
    data_dir: &Path,
    namespace: &str,
    name: &str,
    record: &TopicRecord,
    durability: WriteDurability,
) -> Result<Topic, CatalogError> {
    let partitions = (0..record.partitions)
        .map(|index| open_partition(data_dir, namespace, record, index, durability))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Topic { name: name.to_string(), id: record.id, partitions })
}

fn open_partition(
    data_dir: &Path,
    namespace: &str,
    record: &TopicRecord,
    index: i32,
    durability: WriteDurability,
) -> Result<Arc<PartitionLog>, CatalogError> {
    let path = Catalog::partition_dir(data_dir, namespace, record.id, index);
    PartitionLog::open(&path, record.config.log_config(durability)).map_err(|source| CatalogError::Log { path, source })
}

fn remove_logs(topic: &Topic) {
    for log in &topic.partitions {
        if let Err(e) = log.clone().delete() {
            warn!(topic = %topic.name, error = %e, "cannot remove a deleted topic's log");
        }
    }
}

/// Kafka's rules: 1-249 characters of `[a-zA-Z0-9._-]`, not `.` or `..`.
pub fn validate_name(name: &str) -> Result<(), CatalogError> {
    omnibus_api::kafka_topic::validate(name).map_err(CatalogError::InvalidName)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        std::env::temp_dir().join(format!("omnibus-dp-catalog-{}", uuid::Uuid::new_v4()))
    }

    #[test]
    fn count_quotas_hold_per_namespace() {
        let dir = dir();
        let catalog = Catalog::open(&dir, |_| WriteDurability::Fsync).unwrap();
        catalog.set_limits(
            "small",
            KafkaLimits { max_topics: Some(2), max_partitions: Some(4), ..KafkaLimits::default() },
        );
        catalog.create_topic("small", "a", 1, TopicConfig::default()).unwrap();
        let quota = |result: Result<(), CatalogError>| match result {
            Err(CatalogError::Quota { quota, .. }) => quota,
            other => panic!("not a quota refusal: {other:?}"),
        };
        // Four partitions in all: a second topic of 4 would make 5.
        assert_eq!(quota(catalog.create_topic("small", "b", 4, TopicConfig::default()).map(drop)), "max_partitions");
        assert_eq!(quota(catalog.check_new_topic("small", 4)), "max_partitions");
        catalog.create_topic("small", "b", 2, TopicConfig::default()).unwrap();
        assert_eq!(quota(catalog.create_topic("small", "c", 1, TopicConfig::default()).map(drop)), "max_topics");
        assert_eq!(quota(catalog.add_partitions("small", "b", 4)), "max_partitions");
        catalog.add_partitions("small", "b", 3).unwrap();
        // Deleting makes room; another namespace, and one with no limits, are not held back.
        catalog.delete_topic("small", "a").unwrap();
        catalog.create_topic("small", "c", 1, TopicConfig::default()).unwrap();
        for i in 0..5 {
            catalog.create_topic("other", &format!("t{i}"), 1, TopicConfig::default()).unwrap();
        }
        // A lowered quota refuses new topics and keeps those there.
        catalog.set_limits("other", KafkaLimits { max_topics: Some(3), ..KafkaLimits::default() });
        assert_eq!(quota(catalog.create_topic("other", "t9", 1, TopicConfig::default()).map(drop)), "max_topics");
        assert_eq!(catalog.topics("other").len(), 5);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn topics_partitions_and_configs_survive_a_reopen() {
        let dir = dir();
        let catalog = Catalog::open(&dir, |_| WriteDurability::Fsync).unwrap();
        catalog.create_topic("ns-a", "orders", 2, TopicConfig::default()).unwrap();
        assert!(matches!(
            catalog.create_topic("ns-a", "orders", 1, TopicConfig::default()),
            Err(CatalogError::AlreadyExists)
        ));
        // The same name in another namespace is another topic.
        catalog.create_topic("ns-b", "orders", 1, TopicConfig::default()).unwrap();
        catalog.add_partitions("ns-a", "orders", 5).unwrap();
        assert!(matches!(
            catalog.add_partitions("ns-a", "orders", 3),
            Err(CatalogError::PartitionCount { current: 5 })
        ));
        let mut config = catalog.topic_config("ns-a", "orders").unwrap();
        config.set("retention.ms", "60000").unwrap();
        catalog.set_topic_config("ns-a", "orders", config).unwrap();
        drop(catalog);

        let catalog = Catalog::open(&dir, |_| WriteDurability::Fsync).unwrap();
        assert_eq!(catalog.topic("ns-a", "orders").unwrap().partitions.len(), 5);
        assert_eq!(catalog.topic("ns-b", "orders").unwrap().partitions.len(), 1);
        assert_eq!(catalog.topic_config("ns-a", "orders").unwrap().retention_ms, 60_000);
        assert_eq!(catalog.topic_config("ns-b", "orders").unwrap(), TopicConfig::default());
        catalog.delete_namespace("ns-a").unwrap();
        assert!(catalog.topics("ns-a").is_empty());
        assert!(!dir.join("logs").join("ns-a").exists());
        assert_eq!(catalog.topics("ns-b").len(), 1);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn a_namespace_is_full_once_its_logs_hold_its_storage_quota() {
        let dir = dir();
        let catalog = Catalog::open(&dir, |_| WriteDurability::Fsync).unwrap();
        let topic = catalog.create_topic("small", "t", 1, TopicConfig::default()).unwrap();
        catalog.create_topic("other", "t", 1, TopicConfig::default()).unwrap();
        let value = [7u8; 100];
        let record = omnibus_commit_log::Record { key: None, value: Some(&value), timestamp_delta: 0, headers: &[] };
        let batch = omnibus_commit_log::encode_batch(&[record], 0).unwrap();
        let size = batch.len() as u64;
        catalog.set_limits("small", KafkaLimits { max_storage_bytes: Some(2 * size), ..KafkaLimits::default() });
        catalog.set_limits("other", KafkaLimits { max_storage_bytes: Some(size), ..KafkaLimits::default() });
        let log = topic.partitions[0].clone();
        log.append(batch.clone(), omnibus_commit_log::TimestampType::CreateTime).await.unwrap();
        catalog.measure_storage();
        assert_eq!(catalog.storage_full("small"), None, "half used");
        log.append(batch, omnibus_commit_log::TimestampType::CreateTime).await.unwrap();
        assert_eq!(catalog.storage_full("small"), None, "not measured yet");
        catalog.measure_storage();
        assert_eq!(catalog.storage_full("small"), Some(2 * size));
        assert_eq!(catalog.storage_full("other"), None, "another namespace is measured on its own");
        // A changed quota counts from the next measurement (within a second).
        catalog.set_limits("small", KafkaLimits::default());
        catalog.measure_storage();
        assert_eq!(catalog.storage_full("small"), None, "no quota, never full");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn each_namespace_writes_with_its_own_durability_changed_live() {
        let dir = dir();
        let hour = WriteDurability::Interval { flush_interval_ms: 3_600_000 };
        let catalog = Catalog::open(&dir, |_| WriteDurability::Fsync).unwrap();
        catalog.set_durability("relaxed", hour);
        let relaxed = catalog.create_topic("relaxed", "t", 1, TopicConfig::default()).unwrap();
        let strict = catalog.create_topic("strict", "t", 1, TopicConfig::default()).unwrap();
        let record = omnibus_commit_log::Record { key: None, value: Some(b"v"), timestamp_delta: 0, headers: &[] };
        let batch = || omnibus_commit_log::encode_batch(&[record], 0).unwrap();
        let append = |topic: &Topic| {
            let log = topic.partitions[0].clone();
            let batch = batch();
            async move { log.append(batch, omnibus_commit_log::TimestampType::CreateTime).await.unwrap() }
        };
        append(&relaxed).await;
        append(&strict).await;
        assert_eq!(relaxed.partitions[0].stats().fsyncs, 0, "acknowledged from the page cache");
        assert!(strict.partitions[0].stats().fsyncs > 0, "acknowledged after an fsync");

        // The plan changes: the open log syncs its tail now and waits for fsync from then on.
        catalog.set_durability("relaxed", WriteDurability::Fsync);
        append(&relaxed).await;
        assert!(relaxed.partitions[0].stats().fsyncs > 0);
        drop((relaxed, strict, catalog));

        // On reopen each namespace gets the durability it has then.
        let catalog = Catalog::open(&dir, |ns| if ns == "relaxed" { hour } else { WriteDurability::Fsync }).unwrap();
        let relaxed = catalog.topic("relaxed", "t").unwrap();
        append(&relaxed).await;
        assert_eq!(relaxed.partitions[0].stats().fsyncs, 0);
        assert_eq!(relaxed.partitions[0].high_watermark(), 3);
        drop((relaxed, catalog));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn names_and_settings_are_checked() {
        for bad in ["", ".", "..", "a b", "a/b", &"x".repeat(250)] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
        assert!(validate_name("orders.v2_EU-1").is_ok());
        let mut config = TopicConfig::default();
        assert!(matches!(config.set("cleanup.policy", "compact"), Err(CatalogError::UnknownConfig(_))));
        assert!(matches!(config.set("retention.ms", "-5"), Err(CatalogError::InvalidConfig(_))));
        assert!(matches!(config.set("segment.bytes", "lots"), Err(CatalogError::InvalidConfig(_))));
        config.set("retention.bytes", "1048576").unwrap();
        config.reset("retention.bytes").unwrap();
        assert_eq!(config, TopicConfig::default());
    }

    #[test]
    fn tiered_storage_settings_follow_kafkas_rules() {
        let mut tiered = TopicConfig::default();
        assert!(tiered.log_config(WriteDurability::Fsync).tiered.is_none(), "off by default");
        tiered.set("remote.storage.enable", "true").unwrap();
        assert!(matches!(tiered.set("remote.storage.enable", "yes"), Err(CatalogError::InvalidConfig(_))));
        // -2 (the default) takes the whole log's retention; -1 is none.
        let local = tiered.log_config(WriteDurability::Fsync).tiered.unwrap();
        assert_eq!(local, LocalRetention { ms: Some(7 * 24 * 3600 * 1000), bytes: None });
        tiered.set("local.retention.ms", "-1").unwrap();
        tiered.set("local.retention.bytes", "1000").unwrap();
        let local = tiered.log_config(WriteDurability::Fsync).tiered.unwrap();
        assert_eq!(local, LocalRetention { ms: None, bytes: Some(1000) });
        assert!(matches!(tiered.set("local.retention.ms", "-3"), Err(CatalogError::InvalidConfig(_))));
        // A local retention longer than the total one is refused, and so is switching tiering off.
        let mut longer = tiered.clone();
        longer.set("retention.bytes", "500").unwrap();
        assert!(matches!(longer.check(), Err(CatalogError::InvalidConfig(_))));
        let mut off = tiered.clone();
        off.reset("remote.storage.enable").unwrap();
        assert!(matches!(tiered.check_change(&off), Err(CatalogError::InvalidConfig(_))));
        assert!(off.check_change(&tiered).is_ok(), "switching it on is fine");
        let described: Vec<&str> = tiered.entries().iter().map(|(name, _)| *name).collect();
        assert_eq!(described, CONFIG_NAMES);
        // Catalogs written before these settings existed read as untiered.
        let old: TopicConfig =
            serde_json::from_str(r#"{"retention_ms":1,"retention_bytes":-1,"segment_bytes":1024}"#).unwrap();
        assert!(!old.remote_storage_enable);
        assert_eq!(old.local_retention_ms, -2);
    }
}
