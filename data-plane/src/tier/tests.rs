//! The tier over a catalog and the local-directory store, with faults injected between them: every offset
//! read back exactly once, from whichever tier holds it, whatever failed on the way. (The same store trait
//! over S3 passes the object store's conformance suite; the end-to-end tests run the broker on S3.)

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use omnibus_commit_log::format::batch_at;
use omnibus_commit_log::{LogError, Record, TimestampType, encode_batch};
use omnibus_object_store::local::LocalDir;
use omnibus_object_store::{BoxFuture, ObjectMeta};

use super::*;
use crate::catalog::TopicConfig;
use crate::tenancy::WriteDurability;

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("omnibus-dp-tier-{name}-{}", uuid::Uuid::new_v4()))
}

/// A local directory that fails on demand: the next `fail` writes, every index write and every delete while
/// `index_gone` (the store vanishing between a segment's objects), or hangs while `hang`.
#[derive(Debug)]
struct Faulty {
    inner: LocalDir,
    fail: AtomicUsize,
    index_gone: AtomicBool,
    hang: AtomicBool,
}

impl Faulty {
    fn new(root: &std::path::Path) -> Arc<Faulty> {
        Arc::new(Faulty {
            inner: LocalDir::open(root).unwrap(),
            fail: AtomicUsize::new(0),
            index_gone: AtomicBool::new(false),
            hang: AtomicBool::new(false),
        })
    }

    async fn fault(&self, key: &str) -> Result<(), StoreError> {
        if self.hang.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        if self.index_gone.load(Ordering::SeqCst) && key.ends_with(".index") {
            return Err(StoreError::Backend("connection reset".into()));
        }
        if self.fail.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
            return Err(StoreError::Backend("503 Slow Down".into()));
        }
        Ok(())
    }
}

impl ObjectStore for Faulty {
    fn put<'a>(&'a self, key: &'a str, body: Bytes) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.fault(key).await?;
            self.inner.put(key, body).await
        })
    }
    fn put_file<'a>(&'a self, key: &'a str, path: &'a std::path::Path) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move {
            self.fault(key).await?;
            self.inner.put_file(key, path).await
        })
    }
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Bytes, StoreError>> {
        self.inner.get(key)
    }
    fn get_range<'a>(&'a self, key: &'a str, range: std::ops::Range<u64>) -> BoxFuture<'a, Result<Bytes, StoreError>> {
        self.inner.get_range(key, range)
    }
    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<ObjectMeta>, StoreError>> {
        self.inner.list(prefix)
    }
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            if self.index_gone.load(Ordering::SeqCst) {
                return Err(StoreError::Backend("connection reset".into()));
            }
            self.inner.delete(key).await
        })
    }
}

fn tiered_config() -> TopicConfig {
    let mut config = TopicConfig::default();
    config.set("remote.storage.enable", "true").unwrap();
    config.set("segment.bytes", "2048").unwrap();
    config.set("local.retention.bytes", "0").unwrap();
    config
}

/// Appends `batches` batches of 5 records of 100 bytes each, numbered by their first record.
async fn produce(log: &PartitionLog, batches: usize) {
    for _ in 0..batches {
        let value = [b'v'; 100];
        let records: Vec<Record<'_>> =
            (0..5).map(|i| Record { key: None, value: Some(&value), timestamp_delta: i, headers: &[] }).collect();
        let batch = encode_batch(&records, now_ms()).unwrap();
        log.append(batch, TimestampType::CreateTime).await.unwrap();
    }
}

/// Every offset from the log start to the high watermark, read the way Fetch reads: locally, or from the
/// store below the local segments. Fails on a gap or a repeat.
async fn read_all(tier: &Tier, log: &PartitionLog) -> Vec<i64> {
    let mut offsets = Vec::new();
    let mut next = log.log_start_offset();
    while next < log.high_watermark() {
        let bytes = match log.read(next, 3000) {
            Ok(read) => read.bytes,
            Err(LogError::InRemoteTier { .. }) => tier.read(log, next, 3000).await.unwrap(),
            Err(e) => panic!("read {next}: {e}"),
        };
        let mut at = 0;
        while let Some(span) = batch_at(&bytes[at..]).unwrap() {
            for offset in span.base_offset..=span.last_offset {
                if offset >= next {
                    assert_eq!(offset, next, "offsets are contiguous");
                    offsets.push(offset);
                    next += 1;
                }
            }
            at += span.len;
        }
        assert!(at > 0, "no batch at {next}");
    }
    offsets
}

fn catalog(dir: &std::path::Path) -> Arc<Catalog> {
    Arc::new(Catalog::open(dir, |_| WriteDurability::Fsync).unwrap())
}

#[tokio::test]
async fn segments_move_to_the_store_and_read_back_from_it_and_from_an_empty_disk() {
    let (data, objects) = (temp("data"), temp("objects"));
    let store: Arc<dyn ObjectStore> = Arc::new(LocalDir::open(&objects).unwrap());
    let catalog = catalog(&data);
    let topic = catalog.create_topic("ns-a", "telemetry", 1, tiered_config()).unwrap();
    let plain =
        catalog.create_topic("ns-b", "telemetry", 1, TopicConfig { segment_bytes: 2048, ..TopicConfig::default() });
    let log = topic.partitions[0].clone();
    produce(&log, 40).await;
    produce(&plain.unwrap().partitions[0], 40).await;
    let before = log.total_bytes();

    let tier = Tier::new(store.clone(), 1 << 20);
    tier.pass(&catalog).await;
    let remote = log.remote().expect("the store holds the closed segments");
    assert_eq!(remote.start, 0);
    assert_eq!(log.upload_lag(), (0, 0), "nothing closed is left to copy");
    assert_eq!(log.total_bytes(), before, "both tiers counted, each byte once");
    // Local copies go by local retention, and only those the store holds.
    catalog.apply_retention(now_ms());
    assert_eq!(log.local_start_offset(), remote.end);
    assert_eq!(log.log_start_offset(), 0);
    assert_eq!(catalog.storage("ns-a").1, before, "metering counts the object store's bytes too");
    assert_eq!(read_all(&tier, &log).await, (0..200).collect::<Vec<_>>());
    // A timestamp lookup finds the first batch, in the store.
    let earliest = tier.offset_for_timestamp(&log, 0).await.unwrap();
    assert_eq!(earliest.map(|(offset, _)| offset), Some(0));
    // Only the tiered topic's namespace has objects: the other is not there to see or touch.
    let listed = store.list("").await.unwrap();
    assert!(listed.iter().all(|o| o.key.contains("ns-a")), "{listed:?}");
    assert!(listed.iter().any(|o| o.key.starts_with("topics/ns-a/")));

    // A broker on an empty disk against the same store serves the whole remote history.
    drop((tier, log, topic, catalog));
    let empty = temp("empty");
    assert_eq!(adopt(store.as_ref(), &empty).await.unwrap(), 1);
    let catalog = self::catalog(&empty);
    let tier = Tier::new(store.clone(), 1 << 20);
    tier.pass(&catalog).await;
    let log = catalog.topic("ns-a", "telemetry").unwrap().partitions[0].clone();
    assert_eq!(log.log_start_offset(), 0);
    assert_eq!(log.local_start_offset(), remote.end, "only the store's copy, no local data");
    assert_eq!(read_all(&tier, &log).await, (0..remote.end).collect::<Vec<_>>());
    assert!(catalog.topic("ns-b", "telemetry").is_none(), "untiered topics stay with their disk");
    produce(&log, 1).await;
    assert_eq!(log.high_watermark(), remote.end + 5, "new data continues the remote history");
    for dir in [data, objects, empty] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[tokio::test]
async fn failures_mid_upload_lose_nothing_and_store_nothing_twice() {
    let (data, objects) = (temp("data"), temp("objects"));
    let faulty = Faulty::new(&objects);
    let catalog = catalog(&data);
    let log = catalog.create_topic("ns", "t", 1, tiered_config()).unwrap().partitions[0].clone();
    produce(&log, 30).await;
    let tier = Tier::with_timeout(faulty.clone(), 1 << 20, Duration::from_millis(200));

    // The store errors: nothing is copied, no local copy goes.
    faulty.fail.store(1_000, Ordering::SeqCst);
    tier.pass(&catalog).await;
    assert_eq!(log.remote(), None);
    catalog.apply_retention(now_ms());
    assert_eq!(log.local_start_offset(), 0, "a failed upload never deletes the local copy");

    // The store vanishes between a segment's objects: a .log object is left that no manifest names.
    // (Each phase waits out the backoff of the failure before: 1 s, then 2 s, then 4 s.)
    tokio::time::sleep(BACKOFF.0 + Duration::from_millis(100)).await;
    faulty.fail.store(0, Ordering::SeqCst);
    faulty.index_gone.store(true, Ordering::SeqCst);
    tier.pass(&catalog).await;
    assert_eq!(log.remote(), None);
    let orphans = faulty.list("logs/").await.unwrap();
    assert_eq!(orphans.len(), 1, "{orphans:?}");
    assert!(orphans[0].key.ends_with(".log"));

    // The store hangs: the call times out instead of holding the pass.
    tokio::time::sleep(BACKOFF.0 * 2 + Duration::from_millis(100)).await;
    faulty.index_gone.store(false, Ordering::SeqCst);
    faulty.hang.store(true, Ordering::SeqCst);
    let started = Instant::now();
    tier.pass(&catalog).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(log.remote(), None);
    faulty.hang.store(false, Ordering::SeqCst);

    // Back to health: after the backoff the segments are copied, once each.
    tokio::time::sleep(BACKOFF.0 * 4 + Duration::from_millis(100)).await;
    for _ in 0..20 {
        tier.pass(&catalog).await;
        if log.upload_lag().0 == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(log.upload_lag().0, 0, "everything closed is in the store");
    catalog.apply_retention(now_ms());
    assert!(log.local_start_offset() > 0);
    assert_eq!(read_all(&tier, &log).await, (0..150).collect::<Vec<_>>());

    // A restart (a new tier over the same store) deletes what the interrupted uploads left.
    let manifest = tier.remote(&log).unwrap().manifest();
    let before: Vec<_> = faulty.list("logs/").await.unwrap();
    drop(tier);
    let tier = Tier::new(faulty.clone(), 1 << 20);
    tier.pass(&catalog).await;
    let after = faulty.list("logs/").await.unwrap();
    assert_eq!(after.len(), manifest.segments.len() * 3 + 1, "three objects per segment and the manifest");
    assert!(before.len() > after.len(), "the orphan .log of the vanished upload is gone");
    assert_eq!(read_all(&tier, &log).await, (0..150).collect::<Vec<_>>());
    let _ = (std::fs::remove_dir_all(data), std::fs::remove_dir_all(objects));
}

#[tokio::test]
async fn retention_and_delete_records_trim_the_store_and_deleted_topics_leave_it() {
    let (data, objects) = (temp("data"), temp("objects"));
    let store: Arc<dyn ObjectStore> = Arc::new(LocalDir::open(&objects).unwrap());
    let catalog = catalog(&data);
    let topic = catalog.create_topic("ns", "t", 1, tiered_config()).unwrap();
    let log = topic.partitions[0].clone();
    produce(&log, 40).await;
    let tier = Tier::new(store.clone(), 1 << 20);
    tier.pass(&catalog).await;
    catalog.apply_retention(now_ms());
    let first = tier.remote(&log).unwrap().manifest().segments.len();
    assert!(first >= 3);

    // DeleteRecords into the store's copy: the segments wholly below go from the store.
    let cut = tier.remote(&log).unwrap().manifest().segments[1].next_offset;
    log.delete_records_before(cut).unwrap();
    tier.pass(&catalog).await;
    let manifest = tier.remote(&log).unwrap().manifest();
    assert_eq!(manifest.segments.len(), first - 2);
    assert_eq!((manifest.log_start, log.log_start_offset()), (cut, cut));
    assert_eq!(read_all(&tier, &log).await, (cut..200).collect::<Vec<_>>());

    // Size retention over both tiers: the oldest remote segments go first.
    let mut config = catalog.topic_config("ns", "t").unwrap();
    config.set("retention.bytes", "3000").unwrap();
    catalog.set_topic_config("ns", "t", config.clone()).unwrap();
    tier.pass(&catalog).await;
    assert!(log.total_bytes() < 3000 + 2048, "{} bytes left", log.total_bytes());
    let start = log.log_start_offset();
    assert!(start > cut);
    assert_eq!(read_all(&tier, &log).await, (start..200).collect::<Vec<_>>());

    // Tiering cannot be switched off; deleting the topic deletes its objects.
    config.set("remote.storage.enable", "false").unwrap();
    assert!(matches!(catalog.set_topic_config("ns", "t", config), Err(crate::catalog::CatalogError::InvalidConfig(_))));
    drop(log);
    drop(topic);
    catalog.delete_topic("ns", "t").unwrap();
    tier.pass(&catalog).await;
    assert!(store.list("").await.unwrap().is_empty(), "nothing of the topic is left in the store");
    assert!(catalog.remote_garbage().is_empty());
    let _ = (std::fs::remove_dir_all(data), std::fs::remove_dir_all(objects));
}
