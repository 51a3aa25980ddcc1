//! Tests of `PartitionLog` through its public API.

use super::*;
use crate::SequenceError;
use crate::batch::tests::{batch, gzip_batch, idempotent_batch};
use crate::test_dir::TestDir;

pub(crate) fn tiny(segment_bytes: u64) -> LogConfig {
    LogConfig { segment_bytes, index_interval_bytes: 64, ..LogConfig::default() }
}

/// (base offset, last offset) of every batch in `bytes`.
pub(crate) fn offsets(bytes: &[u8]) -> Vec<(i64, i64)> {
    match batch::split_batches(bytes) {
        Ok(headers) => headers.iter().map(|h| (h.base_offset, h.last_offset())).collect(),
        Err(e) => panic!("read returned invalid batches: {e:?}"),
    }
}

/// Every batch from the log start to the high watermark, read in small steps.
pub(crate) fn read_all(log: &PartitionLog) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut next = log.log_start_offset();
    while next < log.high_watermark() {
        let r = log.read(next, 1).map(|r| offsets(&r.bytes));
        let Ok(batches) = r else { panic!("read {next}: {r:?}") };
        assert!(!batches.is_empty(), "no batch at {next}");
        out.extend(&batches);
        next = batches[batches.len() - 1].1 + 1;
    }
    out
}

fn assert_contiguous(batches: &[(i64, i64)], from: i64) {
    let mut next = from;
    for &(base, last) in batches {
        assert!(base <= next && last >= next, "batch {base}..={last} does not continue at {next}");
        next = last + 1;
    }
}

async fn append(log: &PartitionLog, bytes: Vec<u8>) -> AppendInfo {
    match log.append(Bytes::from(bytes), TimestampType::CreateTime).await {
        Ok(info) => info,
        Err(e) => panic!("append: {e}"),
    }
}

fn open(dir: &TestDir, config: LogConfig) -> Arc<PartitionLog> {
    match PartitionLog::open(dir.path(), config) {
        Ok(log) => log,
        Err(e) => panic!("open: {e}"),
    }
}

#[tokio::test]
async fn round_trip_is_byte_exact() {
    let dir = TestDir::new("round-trip");
    let log = open(&dir, LogConfig::default());
    let payload = [batch(3, 100), gzip_batch()].concat();
    let info = append(&log, payload.clone()).await;
    assert_eq!((info.base_offset, info.last_offset, info.batches, info.bytes), (0, 5, 2, payload.len()));
    assert_eq!(info.log_append_time, None);
    let second = append(&log, gzip_batch()).await;
    assert_eq!((second.base_offset, second.last_offset), (6, 8));
    assert_eq!(log.high_watermark(), 9);
    let r = log.read(0, 1 << 20).map(|r| r.bytes.to_vec());
    let mut expected = [payload, gzip_batch()].concat();
    let second_gzip = expected.len() - gzip_batch().len();
    let first_gzip = second_gzip - gzip_batch().len();
    expected[first_gzip..first_gzip + 8].copy_from_slice(&3i64.to_be_bytes());
    expected[second_gzip..second_gzip + 8].copy_from_slice(&6i64.to_be_bytes());
    assert_eq!(r.ok(), Some(expected));
}

#[tokio::test]
async fn invalid_input_writes_nothing() {
    let dir = TestDir::new("invalid");
    let log = open(&dir, LogConfig::default());
    let mut bad = batch(2, 0);
    bad[30] ^= 1;
    let r = log.append(Bytes::from([batch(1, 0), bad].concat()), TimestampType::CreateTime).await;
    assert!(matches!(r, Err(LogError::CorruptBatch { index: 1, reason: batch::BatchError::BadCrc { .. } })), "{r:?}");
    assert_eq!((log.high_watermark(), log.size_bytes()), (0, 0));
}

#[tokio::test]
async fn log_append_time_restamps() {
    let dir = TestDir::new("append-time");
    let log = open(&dir, LogConfig::default());
    let before = now_ms();
    let info = log.append(Bytes::from(gzip_batch()), TimestampType::LogAppendTime).await;
    let Ok(info) = info else { panic!("{info:?}") };
    let stamped = info.log_append_time.unwrap_or(-1);
    assert!(stamped >= before);
    let bytes = log.read(0, 1000).map(|r| r.bytes).unwrap_or_default();
    let header = batch::check_batch(&bytes);
    assert_eq!(header.map(|h| h.max_timestamp), Ok(stamped));
    assert_eq!(&bytes[batch::HEADER_LEN..], &gzip_batch()[batch::HEADER_LEN..]);
}

#[tokio::test]
async fn offsets_contiguous_across_rolls() {
    let dir = TestDir::new("rolls");
    let log = open(&dir, tiny(1000));
    let mut expected = Vec::new();
    for i in 0..200 {
        let info = append(&log, batch(1 + i % 5, i as i64)).await;
        expected.push((info.base_offset, info.last_offset));
    }
    assert_contiguous(&expected, 0);
    let segments = std::fs::read_dir(dir.path())
        .map(|d| d.filter_map(Result::ok).filter(|e| e.path().extension().is_some_and(|x| x == "log")).count())
        .unwrap_or(0);
    assert!(segments > 10, "expected many segments, got {segments}");
    assert_eq!(read_all(&log), expected);
    // every offset resolves to the batch containing it
    for &(base, last) in &expected {
        for o in base..=last {
            let first = log.read(o, 0).map(|r| offsets(&r.bytes));
            assert_eq!(first.ok().map(|b| b[0]), Some((base, last)), "offset {o}");
        }
    }
    drop(log);
    let log = open(&dir, tiny(1000));
    assert_eq!(read_all(&log), expected);
    let info = append(&log, batch(2, 0)).await;
    assert_eq!(info.base_offset, expected[expected.len() - 1].1 + 1);
}

#[tokio::test]
async fn read_from_middle_and_max_bytes() {
    let dir = TestDir::new("middle");
    let log = open(&dir, LogConfig::default());
    for _ in 0..10 {
        append(&log, batch(10, 0)).await;
    }
    let one = batch(10, 0).len();
    let read = |offset, max| log.read(offset, max).map(|r| offsets(&r.bytes)).unwrap_or_default();
    assert_eq!(read(15, 0), vec![(10, 19)]);
    assert_eq!(read(15, one - 1), vec![(10, 19)]);
    assert_eq!(read(15, 2 * one), vec![(10, 19), (20, 29)]);
    assert_eq!(read(15, 2 * one + one / 2), vec![(10, 19), (20, 29)]);
    assert_eq!(read(95, 1 << 20), vec![(90, 99)]);
    assert_eq!(read(0, 1 << 20).len(), 10);
    let at_end = log.read(100, 100);
    assert_eq!(at_end.map(|r| (r.bytes.len(), r.high_watermark)).ok(), Some((0, 100)));
    for bad in [-1, 101] {
        let r = log.read(bad, 100);
        assert!(
            matches!(r, Err(LogError::OffsetOutOfRange { requested, log_start: 0, high_watermark: 100 }) if requested == bad),
            "{r:?}"
        );
    }
}

#[tokio::test]
async fn offset_for_timestamp_uses_batch_max_timestamps() {
    let dir = TestDir::new("timestamps");
    let log = open(&dir, tiny(600));
    // batch i has timestamps 1000*i .. 1000*i + 2; one batch out of order
    for i in 0..30i64 {
        let ts = if i == 12 { 500 } else { 1000 * i };
        append(&log, batch(3, ts)).await;
    }
    let lookup = |ts| log.offset_for_timestamp(ts).ok().flatten();
    assert_eq!(lookup(0), Some((0, 2)));
    assert_eq!(lookup(3), Some((3, 1002)));
    assert_eq!(lookup(1002), Some((3, 1002)));
    assert_eq!(lookup(1003), Some((6, 2002)));
    assert_eq!(lookup(12_000), Some((39, 13_002)));
    assert_eq!(lookup(29_002), Some((87, 29_002)));
    assert_eq!(lookup(29_003), None);
    let _ = log.delete_records_before(40);
    assert_eq!(lookup(0), Some((40, 13_002)));
}

#[tokio::test]
async fn delete_records_moves_start_and_survives_reopen() {
    let dir = TestDir::new("delete-records");
    let log = open(&dir, tiny(500));
    for _ in 0..40 {
        append(&log, batch(2, 0)).await;
    }
    let size = log.size_bytes();
    assert_eq!(log.delete_records_before(31).ok(), Some(31));
    assert!(log.size_bytes() < size);
    assert_eq!(log.log_start_offset(), 31);
    assert!(matches!(log.read(29, 100), Err(LogError::OffsetOutOfRange { log_start: 31, .. })));
    assert_eq!(log.read(31, 0).map(|r| offsets(&r.bytes)).ok(), Some(vec![(30, 31)]));
    assert_eq!(log.delete_records_before(10).ok(), Some(31));
    assert!(matches!(log.delete_records_before(81), Err(LogError::OffsetOutOfRange { .. })));
    drop(log);
    let log = open(&dir, tiny(500));
    assert_eq!(log.log_start_offset(), 31);
    assert_eq!(log.high_watermark(), 80);
    assert_eq!(log.delete_records_before(80).ok(), Some(80));
    assert_eq!(log.read(80, 10).map(|r| r.bytes.len()).ok(), Some(0));
    assert_eq!(append(&log, batch(1, 0)).await.base_offset, 80);
}

#[tokio::test]
async fn retention_by_size_and_time_deletes_closed_segments_only() {
    let dir = TestDir::new("retention");
    let config = LogConfig { retention_ms: None, ..tiny(400) };
    let log = open(&dir, config.clone());
    for i in 0..30 {
        append(&log, batch(2, 1000 + i)).await;
    }
    let total = log.size_bytes();
    let freed = log.apply_retention(now_ms()).unwrap_or(0);
    assert_eq!(freed, 0, "no limits configured");
    log.reconfigure(LogConfig { retention_bytes: Some(total / 2), ..config.clone() });
    let freed = log.apply_retention(now_ms()).unwrap_or(0);
    assert!(freed > 0 && log.size_bytes() <= total / 2 + 400, "freed {freed}");
    assert_eq!(log.size_bytes(), total - freed);
    let start = log.log_start_offset();
    assert!(start > 0);
    assert_contiguous(&read_all(&log), start);
    // time: every batch is ancient; only the active segment survives
    log.reconfigure(LogConfig { retention_ms: Some(1000), ..config });
    let freed = log.apply_retention(now_ms()).unwrap_or(0);
    assert!(freed > 0);
    let remaining = read_all(&log);
    assert!(!remaining.is_empty(), "the active segment is kept");
    assert_eq!(remaining[remaining.len() - 1].1, 59);
    assert_eq!(log.apply_retention(now_ms()).ok(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_share_fsyncs() {
    let dir = TestDir::new("concurrent");
    let log = open(&dir, tiny(64 * 1024));
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let mut mine = Vec::new();
                for i in 0..25 {
                    let info = log.append(Bytes::from(batch(1 + i % 3, 0)), TimestampType::CreateTime).await;
                    let Ok(info) = info else { panic!("{info:?}") };
                    assert!(log.high_watermark() > info.last_offset, "acknowledged but not visible");
                    mine.push((info.base_offset, info.last_offset));
                }
                mine
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap_or_default());
    }
    all.sort_unstable();
    assert_eq!(all.len(), 800);
    assert_contiguous(&all, 0);
    assert_eq!(read_all(&log), all);
    let stats = log.stats();
    assert_eq!(stats.appends, 800);
    assert!(stats.flush_rounds < stats.appends / 2, "{stats:?}");
}

#[tokio::test]
async fn interval_durability_acknowledges_at_once_and_syncs_within_the_interval() {
    let dir = TestDir::new("interval");
    let interval = std::time::Duration::from_millis(300);
    let log = open(&dir, LogConfig { durability: Durability::Interval(interval), ..LogConfig::default() });
    let mut hw = log.subscribe();
    let started = Instant::now();
    for _ in 0..20 {
        append(&log, batch(4, 0)).await;
    }
    assert_eq!(*hw.borrow_and_update(), 80, "visible once written");
    if started.elapsed() < interval {
        assert_eq!(log.stats().fsyncs, 0, "no fsync before the interval is up");
    }
    wait_for_fsync(&log, started + interval * 10).await;
    assert!(log.stats().flush_rounds <= 2, "one round covers the interval's appends: {:?}", log.stats());
}

/// Waits until the log has made an fsync, failing at `deadline`.
async fn wait_for_fsync(log: &PartitionLog, deadline: Instant) {
    while log.stats().fsyncs == 0 {
        assert!(Instant::now() < deadline, "no fsync by the deadline: {:?}", log.stats());
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn switching_durability_live_syncs_what_the_old_one_left() {
    let dir = TestDir::new("switch");
    let hour = std::time::Duration::from_secs(3600);
    let interval = LogConfig { durability: Durability::Interval(hour), ..LogConfig::default() };
    let log = open(&dir, interval.clone());
    append(&log, batch(2, 0)).await;
    assert_eq!((log.high_watermark(), log.stats().fsyncs), (2, 0));
    // To fsync: the unsynced tail is synced now, not in an hour.
    log.reconfigure(LogConfig::default());
    wait_for_fsync(&log, Instant::now() + std::time::Duration::from_secs(10)).await;
    let before = log.stats().fsyncs;
    append(&log, batch(3, 0)).await;
    assert!(log.stats().fsyncs > before, "an fsync-durable append waits for its own fsync");
    // Back to an interval: later appends are visible at once and not synced yet.
    log.reconfigure(interval);
    let synced = log.stats().fsyncs;
    append(&log, batch(1, 0)).await;
    assert_eq!((log.high_watermark(), log.stats().fsyncs), (6, synced));
}

#[tokio::test]
async fn delete_removes_everything() {
    let dir = TestDir::new("delete");
    let log = open(&dir, tiny(300));
    for _ in 0..10 {
        append(&log, batch(3, 0)).await;
    }
    let other = Arc::clone(&log);
    assert!(log.delete().is_ok());
    assert!(!dir.path().exists());
    assert!(matches!(other.read(0, 10), Err(LogError::Closed)));
    let r = other.append(Bytes::from(batch(1, 0)), TimestampType::CreateTime).await;
    assert!(matches!(r, Err(LogError::Closed)));
}

async fn try_append(log: &PartitionLog, bytes: Vec<u8>) -> Result<(i64, bool), LogError> {
    log.append(Bytes::from(bytes), TimestampType::CreateTime).await.map(|i| (i.base_offset, i.duplicate))
}

#[tokio::test]
async fn idempotent_retries_are_not_stored_twice() {
    let dir = TestDir::new("idempotent");
    let log = open(&dir, LogConfig::default());
    assert_eq!(try_append(&log, idempotent_batch(3, 5, 0, 0)).await.ok(), Some((0, false)));
    assert_eq!(try_append(&log, idempotent_batch(2, 5, 0, 3)).await.ok(), Some((3, false)));
    assert_eq!(try_append(&log, idempotent_batch(3, 5, 0, 0)).await.ok(), Some((0, true)));
    let gap = try_append(&log, idempotent_batch(1, 5, 0, 9)).await;
    assert!(matches!(gap, Err(LogError::Sequence(SequenceError::OutOfOrder { expected: 5, .. }))), "{gap:?}");
    assert_eq!(try_append(&log, idempotent_batch(1, 5, 1, 0)).await.ok(), Some((5, false)));
    let fenced = try_append(&log, idempotent_batch(1, 5, 0, 5)).await;
    assert!(matches!(fenced, Err(LogError::Sequence(SequenceError::StaleEpoch { .. }))), "{fenced:?}");
    let two = [idempotent_batch(1, 6, 0, 0), batch(1, 0)].concat();
    assert!(matches!(try_append(&log, two).await, Err(LogError::Sequence(SequenceError::NotAlone))));
    assert_eq!(log.high_watermark(), 6);
    assert_eq!(log.stats().appends, 3);
}

#[tokio::test]
async fn producer_state_survives_reopen() {
    let dir = TestDir::new("idempotent-reopen");
    let config = tiny(700);
    let log = open(&dir, config.clone());
    let mut seq = 0;
    for i in 0..12 {
        let base = try_append(&log, idempotent_batch(3, 11, 0, seq)).await.map(|r| r.0);
        assert_eq!(base.ok(), Some(i * 3));
        seq += 3;
    }
    assert_eq!(try_append(&log, batch(3, 0)).await.ok(), Some((36, false)));
    drop(log);
    let log = open(&dir, config);
    assert_eq!(try_append(&log, idempotent_batch(3, 11, 0, 30)).await.ok(), Some((30, true)));
    assert_eq!(try_append(&log, idempotent_batch(3, 11, 0, 33)).await.ok(), Some((33, true)));
    let old = try_append(&log, idempotent_batch(3, 11, 0, 3)).await;
    assert!(matches!(old, Err(LogError::Sequence(SequenceError::OutOfOrder { expected: 36, .. }))), "{old:?}");
    assert_eq!(try_append(&log, idempotent_batch(3, 11, 0, 36)).await.ok(), Some((39, false)));
}

#[tokio::test]
async fn duplicates_answer_log_append_time_of_the_original() {
    let dir = TestDir::new("idempotent-lat");
    let log = open(&dir, LogConfig::default());
    let first = log.append(Bytes::from(idempotent_batch(2, 1, 0, 0)), TimestampType::LogAppendTime).await;
    let again = log.append(Bytes::from(idempotent_batch(2, 1, 0, 0)), TimestampType::LogAppendTime).await;
    let (Ok(first), Ok(again)) = (first, again) else { panic!("appends failed") };
    assert!(again.duplicate && !first.duplicate);
    assert_eq!((again.base_offset, again.last_offset, again.log_append_time), (0, 1, first.log_append_time));
}

#[tokio::test]
async fn tiered_logs_keep_local_copies_until_the_remote_tier_holds_them() {
    let dir = TestDir::new("tiered");
    let local = LocalRetention { ms: None, bytes: Some(1) };
    let config = LogConfig { tiered: Some(local), retention_ms: Some(1), ..tiny(400) };
    let log = open(&dir, config);
    for i in 0..30 {
        append(&log, batch(2, 1000 + i)).await;
    }
    let closed = log.closed_segments(0, usize::MAX);
    assert!(closed.len() >= 3, "{} closed segments", closed.len());
    assert_eq!(closed[0].base_offset, 0);
    assert!(closed.windows(2).all(|w| w[0].next_offset == w[1].base_offset));
    assert!(closed.iter().all(|s| s.path.exists() && !s.index.is_empty() && !s.time_index.is_empty()));
    let (lag_bytes, lag_offsets) = log.upload_lag();
    assert_eq!(lag_bytes, closed.iter().map(|s| s.size).sum::<u64>());
    assert_eq!(lag_offsets, closed.last().unwrap().next_offset);

    // Nothing is uploaded: neither the whole log's retention nor the local one deletes a thing.
    assert_eq!(log.apply_retention(now_ms()).unwrap(), 0);
    let before = log.size_bytes();

    // The remote tier takes the first two segments: only those local copies go, and the log still starts at 0.
    let held = RemoteRange { start: 0, end: closed[1].next_offset, bytes: closed[0].size + closed[1].size };
    log.set_remote(Some(held));
    assert_eq!(log.upload_lag().1, lag_offsets - held.end);
    assert_eq!(log.total_bytes(), before, "each byte counted once across the tiers");
    let freed = log.apply_retention(now_ms()).unwrap();
    assert_eq!(freed, held.bytes);
    assert_eq!(log.log_start_offset(), 0);
    assert_eq!(log.local_start_offset(), held.end);
    assert_eq!(log.total_bytes(), before);
    assert!(
        matches!(log.read(3, 100), Err(LogError::InRemoteTier { requested: 3, local_start }) if local_start == held.end)
    );
    assert_eq!(offsets(&log.read(held.end, 1).unwrap().bytes)[0].0, held.end);
    assert_eq!(log.closed_segments(held.end, 1)[0].base_offset, held.end, "the next copy starts where the remote ends");

    // The remote tier drops its oldest segment (the whole log's retention): the log start moves with it.
    log.delete_records_before(closed[1].base_offset).unwrap();
    log.set_remote(Some(RemoteRange { start: closed[1].base_offset, end: held.end, bytes: closed[1].size }));
    assert_eq!(log.log_start_offset(), closed[1].base_offset);
    assert!(matches!(log.read(0, 100), Err(LogError::OffsetOutOfRange { .. })));
    drop(log);

    // Reopened, the log start is the checkpoint until the remote tier says what it holds.
    let log = open(&dir, LogConfig { tiered: Some(local), ..tiny(400) });
    assert_eq!(log.local_start_offset(), held.end);
    log.set_remote(Some(RemoteRange { start: closed[1].base_offset, end: held.end, bytes: closed[1].size }));
    assert_eq!(log.log_start_offset(), closed[1].base_offset);
}

#[tokio::test]
async fn a_log_opened_on_an_empty_disk_continues_where_the_remote_tier_ends() {
    let dir = TestDir::new("open-at");
    let config = LogConfig { tiered: Some(LocalRetention::default()), ..tiny(400) };
    let log = PartitionLog::open_at(dir.path(), config.clone(), 500).unwrap();
    assert_eq!((log.log_start_offset(), log.high_watermark()), (500, 500));
    log.set_remote(Some(RemoteRange { start: 0, end: 500, bytes: 9_000 }));
    assert_eq!(log.log_start_offset(), 0);
    assert_eq!(append(&log, batch(2, 1)).await.base_offset, 500);
    assert!(matches!(log.read(10, 100), Err(LogError::InRemoteTier { local_start: 500, .. })));
    drop(log);
    // A log that has segments ignores the start it is given.
    let log = PartitionLog::open_at(dir.path(), config, 9_999).unwrap();
    assert_eq!(log.high_watermark(), 502);
}
