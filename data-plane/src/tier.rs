//! Tiered storage: closed segments of topics with `remote.storage.enable`
//! copied to the object store, local copies dropped after the topic's local
//! retention, the whole log's retention applied to both tiers, and reads
//! below the local segments served from the store.
//!
//! One task ([`run`]) does all the writing, a pass a second: it registers the
//! catalog's tiered partitions (loading each manifest and deleting what an
//! interrupted upload left), publishes topic records, copies each partition's
//! closed segments in order (objects first, then the manifest), trims what
//! retention or DeleteRecords put below the log start, and deletes deleted
//! topics' objects. A failed step is retried with backoff on a later pass and
//! never deletes a local copy: the log drops one only once a saved manifest
//! names it. Reads ([`Tier::read`]) may run at any time, on a snapshot of the
//! manifest. `adopt` seeds an empty disk from the store. The object store
//! itself is `omnibus-object-store`'s; the segment files are the log's.

mod adopt;
mod cache;
mod manifest;
mod reader;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use omnibus_commit_log::{ClosedSegment, PartitionLog};
use omnibus_object_store::{ObjectStore, StoreError};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::catalog::{Catalog, DeletedTopic, TieredTopic};
pub use adopt::adopt;
use manifest::{Manifest, ManifestError, Part, PartitionKeys, RemoteSegment, StoredTopic, topic_key};
pub use reader::ReadError;
use reader::Reader;

/// Longest any one object-store call may take before it counts as failed.
const OP_TIMEOUT: Duration = Duration::from_secs(120);
/// Backoff after a failed step: doubling from the first to the last.
const BACKOFF: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(60));
/// Partitions worked on at once in a pass.
const CONCURRENCY: usize = 4;

/// One tiered partition as registered.
struct Remote {
    namespace: String,
    topic: String,
    index: i32,
    keys: PartitionKeys,
    log: Arc<PartitionLog>,
    /// What the store holds, as last saved; readers take a snapshot.
    manifest: RwLock<Arc<Manifest>>,
    /// When the next step may run, after a failure, and the wait after that.
    retry: Mutex<Option<(Instant, Duration)>>,
}

impl Remote {
    fn manifest(&self) -> Arc<Manifest> {
        self.manifest.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn set_manifest(&self, manifest: Manifest) {
        self.log.set_remote(manifest.range());
        *self.manifest.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(manifest);
    }

    fn due(&self) -> bool {
        self.retry.lock().unwrap_or_else(PoisonError::into_inner).is_none_or(|(at, _)| Instant::now() >= at)
    }

    fn failed(&self, step: &str, error: &TierError) {
        let mut retry = self.retry.lock().unwrap_or_else(PoisonError::into_inner);
        let wait = retry.map_or(BACKOFF.0, |(_, wait)| (wait * 2).min(BACKOFF.1));
        *retry = Some((Instant::now() + wait, wait));
        metrics::counter!("omnibus_tier_failures_total", "step" => step.to_string()).increment(1);
        warn!(namespace = %self.namespace, topic = %self.topic, partition = self.index, step, error = %error, retry_in = ?wait, "tiered storage step failed");
    }

    fn succeeded(&self) {
        *self.retry.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    fn report(&self) {
        let labels = [
            ("namespace", self.namespace.clone()),
            ("topic", self.topic.clone()),
            ("partition", self.index.to_string()),
        ];
        let (lag_bytes, lag_offsets) = self.log.upload_lag();
        let remote = self.manifest().range().map_or(0, |r| r.bytes);
        metrics::gauge!("omnibus_tier_upload_lag_bytes", &labels).set(lag_bytes as f64);
        metrics::gauge!("omnibus_tier_upload_lag_offsets", &labels).set(lag_offsets as f64);
        metrics::gauge!("omnibus_tier_remote_bytes", &labels).set(remote as f64);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TierError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("the object store did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the partition's closed segments start at {found}, but the store's copy ends at {expected}")]
    Gap { expected: i64, found: i64 },
    #[error("the log refused a change: {0}")]
    Log(#[from] omnibus_commit_log::LogError),
    #[error("the partition is not registered with the tier yet")]
    NotRegistered,
}

/// The tiered storage of one broker.
pub struct Tier {
    store: Arc<dyn ObjectStore>,
    /// Longest one call to the store may take.
    timeout: Duration,
    reader: Reader,
    /// Tiered partitions by log directory.
    partitions: RwLock<HashMap<PathBuf, Arc<Remote>>>,
    /// Topic records as last put, by topic id.
    published: Mutex<HashMap<uuid::Uuid, StoredTopic>>,
}

async fn timed_by<T, E: Into<TierError>>(
    timeout: Duration,
    work: impl Future<Output = Result<T, E>>,
) -> Result<T, TierError> {
    match tokio::time::timeout(timeout, work).await {
        Ok(result) => result.map_err(Into::into),
        Err(_) => Err(TierError::Timeout(timeout)),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Tier {
    /// A tier over `store` whose read cache holds up to `cache_bytes`.
    pub fn new(store: Arc<dyn ObjectStore>, cache_bytes: usize) -> Tier {
        Self::with_timeout(store, cache_bytes, OP_TIMEOUT)
    }

    /// A tier whose calls to the store fail after `timeout`.
    pub fn with_timeout(store: Arc<dyn ObjectStore>, cache_bytes: usize, timeout: Duration) -> Tier {
        Tier {
            reader: Reader::new(store.clone(), cache_bytes, timeout),
            timeout,
            store,
            partitions: RwLock::default(),
            published: Mutex::default(),
        }
    }

    async fn timed<T, E: Into<TierError>>(&self, work: impl Future<Output = Result<T, E>>) -> Result<T, TierError> {
        timed_by(self.timeout, work).await
    }

    fn remote(&self, log: &PartitionLog) -> Option<Arc<Remote>> {
        self.partitions.read().unwrap_or_else(PoisonError::into_inner).get(log.dir()).cloned()
    }

    /// Whole batches at `offset` from the store, for an offset below the local segments.
    pub async fn read(&self, log: &PartitionLog, offset: i64, max_bytes: usize) -> Result<Bytes, TierError> {
        let remote = self.remote(log).ok_or(TierError::NotRegistered)?;
        let started = Instant::now();
        let bytes = self.reader.read(&remote.keys, &remote.manifest(), offset, max_bytes).await?;
        metrics::counter!("omnibus_tier_read_bytes_total").increment(bytes.len() as u64);
        metrics::histogram!("omnibus_tier_read_seconds").record(started.elapsed().as_secs_f64());
        metrics::gauge!("omnibus_tier_cache_bytes").set(self.reader.cached_bytes() as f64);
        Ok(bytes)
    }

    /// [`Tier::read`] from a blocking thread (a Fetch's read pass runs on one).
    pub fn read_blocking(&self, log: &PartitionLog, offset: i64, max_bytes: usize) -> Result<Bytes, TierError> {
        tokio::runtime::Handle::current().block_on(self.read(log, offset, max_bytes))
    }

    /// The first batch whose max timestamp is at least `timestamp`, if the store's copy holds it.
    pub async fn offset_for_timestamp(
        &self,
        log: &PartitionLog,
        timestamp: i64,
    ) -> Result<Option<(i64, i64)>, TierError> {
        let Some(remote) = self.remote(log) else { return Ok(None) };
        let manifest = remote.manifest();
        Ok(self.reader.offset_for_timestamp(&remote.keys, &manifest, log.log_start_offset(), timestamp).await?)
    }

    /// One pass: register new tiered partitions, forget gone ones, publish topic records, copy closed
    /// segments, apply retention and delete deleted topics' objects.
    pub async fn pass(&self, catalog: &Arc<Catalog>) {
        let tiered = catalog.tiered();
        self.register(&tiered).await;
        for topic in &tiered {
            if let Err(e) = self.publish(topic).await {
                warn!(namespace = %topic.namespace, topic = %topic.topic.name, error = %e, "cannot publish a tiered topic's record");
            }
        }
        let remotes: Vec<Arc<Remote>> =
            self.partitions.read().unwrap_or_else(PoisonError::into_inner).values().cloned().collect();
        let work = remotes.iter().filter(|r| r.due()).map(|remote| async move {
            let copied = self.copy(remote).await;
            let trimmed = match copied {
                Ok(()) => self.trim(remote).await.map_err(|e| ("retention", e)),
                Err(e) => Err(("upload", e)),
            };
            match trimmed {
                Ok(()) => remote.succeeded(),
                Err((step, e)) => remote.failed(step, &e),
            }
            // Local copies the store now holds may go at once, not at the next retention round.
            let log = remote.log.clone();
            if let Ok(Err(e)) = tokio::task::spawn_blocking(move || log.apply_retention(now_ms())).await {
                warn!(namespace = %remote.namespace, topic = %remote.topic, error = %e, "local retention failed");
            }
            remote.report();
        });
        futures_util::StreamExt::for_each_concurrent(futures_util::stream::iter(work), CONCURRENCY, |f| f).await;
        for gone in catalog.remote_garbage() {
            match self.collect(&gone).await {
                Ok(()) => {
                    let catalog = catalog.clone();
                    let noted = tokio::task::spawn_blocking(move || catalog.remote_garbage_collected(&gone)).await;
                    if let Ok(Err(e)) = noted {
                        warn!(error = %e, "cannot note a deleted topic's objects as gone");
                    }
                }
                Err(e) => {
                    warn!(namespace = %gone.namespace, topic_id = %gone.id, error = %e, "cannot delete a deleted topic's objects yet")
                }
            }
        }
    }

    /// Registers the partitions of `tiered` not registered yet and forgets those no longer there.
    async fn register(&self, tiered: &[TieredTopic]) {
        let mut present = HashSet::new();
        for topic in tiered {
            for (index, log) in topic.topic.partitions.iter().enumerate() {
                present.insert(log.dir().to_path_buf());
                if self.remote(log).is_some() {
                    continue;
                }
                let index = i32::try_from(index).unwrap_or(i32::MAX);
                let keys = PartitionKeys::new(&topic.namespace, topic.topic.id, index);
                match self.load(&keys).await {
                    Ok(manifest) => {
                        let remote = Arc::new(Remote {
                            namespace: topic.namespace.clone(),
                            topic: topic.topic.name.clone(),
                            index,
                            keys,
                            log: log.clone(),
                            manifest: RwLock::new(Arc::new(Manifest::default())),
                            retry: Mutex::new(None),
                        });
                        remote.set_manifest(manifest);
                        info!(namespace = %topic.namespace, topic = %topic.topic.name, partition = index, remote = ?remote.manifest().range(), "tiered partition registered");
                        let dir = log.dir().to_path_buf();
                        self.partitions.write().unwrap_or_else(PoisonError::into_inner).insert(dir, remote);
                    }
                    Err(e) => {
                        warn!(namespace = %topic.namespace, topic = %topic.topic.name, partition = index, error = %e, "cannot load a tiered partition's manifest yet")
                    }
                }
            }
        }
        self.partitions.write().unwrap_or_else(PoisonError::into_inner).retain(|dir, _| present.contains(dir));
    }

    /// A partition's manifest, after deleting the objects it does not name (an interrupted upload's).
    async fn load(&self, keys: &PartitionKeys) -> Result<Manifest, TierError> {
        let manifest = self.timed(Manifest::load(self.store.as_ref(), keys)).await?;
        let named: HashSet<String> = manifest.keys(keys).into_iter().collect();
        for object in self.timed(self.store.list(keys.prefix())).await? {
            if !named.contains(&object.key) {
                info!(key = %object.key, "deleting an object no manifest names (an interrupted upload's)");
                self.timed(self.store.delete(&object.key)).await?;
            }
        }
        Ok(manifest)
    }

    /// Puts the topic's record when it changed since it was last put.
    async fn publish(&self, topic: &TieredTopic) -> Result<(), TierError> {
        let stored = StoredTopic {
            namespace: topic.namespace.clone(),
            name: topic.topic.name.clone(),
            record: topic.record.clone(),
        };
        if self.published.lock().unwrap_or_else(PoisonError::into_inner).get(&topic.record.id) == Some(&stored) {
            return Ok(());
        }
        let body = serde_json::to_vec(&stored).map_err(|e| StoreError::Io(std::io::Error::other(e)))?;
        self.timed(self.store.put(&topic_key(&topic.namespace, topic.record.id), Bytes::from(body))).await?;
        self.published.lock().unwrap_or_else(PoisonError::into_inner).insert(topic.record.id, stored);
        Ok(())
    }

    /// Copies the partition's closed segments the store does not hold yet, oldest first.
    async fn copy(&self, remote: &Remote) -> Result<(), TierError> {
        loop {
            let manifest = remote.manifest();
            let from = manifest.end().unwrap_or(i64::MIN);
            let Some(segment) = remote.log.closed_segments(from, 1).into_iter().next() else { return Ok(()) };
            if let Some(expected) = manifest.end()
                && segment.base_offset != expected
            {
                return Err(TierError::Gap { expected, found: segment.base_offset });
            }
            let copied = RemoteSegment {
                base_offset: segment.base_offset,
                next_offset: segment.next_offset,
                size: segment.size,
                max_timestamp: segment.max_timestamp,
                object: uuid::Uuid::new_v4(),
                uploaded_ms: now_ms(),
            };
            let started = Instant::now();
            if let Err(e) = self.upload(&remote.keys, &segment, &copied).await {
                for part in Part::ALL {
                    let _ = self.timed(self.store.delete(&remote.keys.segment(&copied, part))).await;
                }
                return Err(e);
            }
            let mut next = (*manifest).clone();
            next.segments.push(copied);
            self.timed(next.save(self.store.as_ref(), &remote.keys)).await?;
            remote.set_manifest(next);
            metrics::counter!("omnibus_tier_uploaded_bytes_total").increment(segment.size);
            metrics::counter!("omnibus_tier_uploaded_segments_total").increment(1);
            info!(namespace = %remote.namespace, topic = %remote.topic, partition = remote.index,
                base_offset = segment.base_offset, next_offset = segment.next_offset, bytes = segment.size,
                took = ?started.elapsed(), "segment copied to the object store");
        }
    }

    async fn upload(
        &self,
        keys: &PartitionKeys,
        segment: &ClosedSegment,
        copied: &RemoteSegment,
    ) -> Result<(), TierError> {
        // A large segment may take a while: the timeout allows it 1 MiB/s on top.
        let timeout = self.timeout + Duration::from_secs(segment.size >> 20);
        timed_by(timeout, self.store.put_file(&keys.segment(copied, Part::Log), &segment.path)).await?;
        self.timed(self.store.put(&keys.segment(copied, Part::Index), Bytes::from(segment.index.clone()))).await?;
        self.timed(self.store.put(&keys.segment(copied, Part::TimeIndex), Bytes::from(segment.time_index.clone())))
            .await?;
        Ok(())
    }

    /// Applies the whole log's retention to the store's copy and drops what lies below the log start
    /// (retention here, DeleteRecords): the log start moves first (checkpointed by the log), then the
    /// manifest is saved without those segments, then their objects are deleted.
    async fn trim(&self, remote: &Remote) -> Result<(), TierError> {
        let manifest = remote.manifest();
        let config = remote.log.config();
        let now = now_ms();
        let mut total = remote.log.total_bytes();
        let mut start = remote.log.log_start_offset();
        let mut dropped = 0;
        for segment in &manifest.segments {
            if segment.next_offset > start {
                let by_time =
                    config.retention_ms.is_some_and(|ms| now.saturating_sub(segment.retention_timestamp()) > ms);
                let by_size = config.retention_bytes.is_some_and(|limit| total.saturating_sub(segment.size) >= limit);
                if !by_time && !by_size {
                    break;
                }
                start = segment.next_offset;
            }
            total = total.saturating_sub(segment.size);
            dropped += 1;
        }
        if dropped == 0 && start <= manifest.log_start {
            return Ok(());
        }
        if start > remote.log.log_start_offset() {
            let log = remote.log.clone();
            tokio::task::spawn_blocking(move || log.delete_records_before(start))
                .await
                .map_err(|e| StoreError::Io(std::io::Error::other(e)))??;
        }
        let mut next = (*manifest).clone();
        next.log_start = next.log_start.max(start);
        let gone: Vec<RemoteSegment> = next.segments.drain(..dropped).collect();
        self.timed(next.save(self.store.as_ref(), &remote.keys)).await?;
        remote.set_manifest(next);
        for segment in &gone {
            for part in Part::ALL {
                self.timed(self.store.delete(&remote.keys.segment(segment, part))).await?;
            }
        }
        if !gone.is_empty() {
            info!(namespace = %remote.namespace, topic = %remote.topic, partition = remote.index, log_start = start,
                segments = gone.len(), "retention removed segments from the object store");
        }
        Ok(())
    }

    /// Deletes every object of a deleted topic, its record last.
    async fn collect(&self, gone: &DeletedTopic) -> Result<(), TierError> {
        for index in 0..gone.partitions {
            let keys = PartitionKeys::new(&gone.namespace, gone.id, index);
            for object in self.timed(self.store.list(keys.prefix())).await? {
                self.timed(self.store.delete(&object.key)).await?;
            }
        }
        self.timed(self.store.delete(&topic_key(&gone.namespace, gone.id))).await?;
        self.published.lock().unwrap_or_else(PoisonError::into_inner).remove(&gone.id);
        info!(namespace = %gone.namespace, topic_id = %gone.id, "a deleted topic's objects are gone from the object store");
        Ok(())
    }
}

/// Runs a pass every `interval` until `stop`.
pub async fn run(tier: Arc<Tier>, catalog: Arc<Catalog>, interval: Duration, stop: CancellationToken) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tier.pass(&catalog) => {}
        }
    }
}

#[cfg(test)]
mod tests;
