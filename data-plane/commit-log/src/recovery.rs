//! Crash recovery on open: finds the segments in a directory, verifies batches (lengths, CRC, contiguous
//! offsets), truncates a torn or corrupt tail, rebuilds indexes that are missing or inconsistent, and
//! rebuilds the idempotent producers' sequence state from the newest segments.
//! Owns only the reconstruction of segments from disk; it never appends and knows nothing of readers.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::time::UNIX_EPOCH;

use crate::batch::{self, BatchError, BatchHeader, LOG_OVERHEAD};
use crate::checkpoint;
use crate::error::LogError;
use crate::index::{OffsetIndex, TimeIndex};
use crate::producers::Producers;
use crate::segment::{self, INDEX_EXT, LOG_EXT, MAX_SPAN, Segment, TIME_INDEX_EXT};

/// The segments of a recovered log (never empty; the last is active), its log start offset and the
/// producer state of its newest batches.
pub(crate) struct Recovered {
    pub segments: Vec<Segment>,
    pub log_start: i64,
    /// The log start DeleteRecords (or remote retention) last moved, if ever.
    pub checkpoint: Option<i64>,
    pub producers: Producers,
}

/// Producer state is rebuilt from this many of the newest non-empty segments (plus an empty active one).
///
/// The bound: a producer none of whose batches is in them (with default settings, the newest 1 to 2 GiB
/// of the partition, or 7 to 14 days) is forgotten, and its next batch is accepted at any sequence, as
/// Kafka 2.5+ does for a producer whose state was cleaned. Only a retry of a batch written before those
/// segments could then be stored twice; a client retries for at most its delivery timeout (2 minutes by
/// default), so this needs more than a whole segment written in that time by others after the batch.
const PRODUCER_SEGMENTS: usize = 2;

/// Replays the batch headers of the newest segments into a fresh producer state.
fn rebuild_producers(segments: &[Segment]) -> Result<Producers, LogError> {
    let mut producers = Producers::default();
    let mut non_empty = 0;
    let from = segments
        .iter()
        .rposition(|s| {
            non_empty += usize::from(s.size() > 0);
            non_empty == PRODUCER_SEGMENTS
        })
        .unwrap_or(0);
    for seg in &segments[from..] {
        seg.view(seg.size()).for_each_header(|h| producers.record(h)).map_err(crate::log::view_error)?;
    }
    Ok(producers)
}

/// How a scan ended.
#[derive(Debug, PartialEq, Eq)]
enum ScanEnd {
    /// Clean end of file.
    Clean,
    /// The bytes at `position` are not a valid batch.
    Corrupt { position: u64, reason: BatchError },
}

/// Reads batches from `position`, the first expected to start at `offset`, calling `visit` for each valid one.
fn scan(
    file: &File,
    segment_base: i64,
    mut position: u64,
    mut offset: i64,
    mut visit: impl FnMut(u64, &BatchHeader),
) -> io::Result<ScanEnd> {
    let len = file.metadata()?.len();
    let mut reader = BufReader::with_capacity(1 << 20, file);
    reader.seek(SeekFrom::Start(position))?;
    let mut buf = Vec::new();
    while position < len {
        let corrupt = |reason| Ok(ScanEnd::Corrupt { position, reason });
        let remaining = len - position;
        buf.resize(LOG_OVERHEAD, 0);
        if remaining < LOG_OVERHEAD as u64 {
            return corrupt(BatchError::Truncated);
        }
        reader.read_exact(&mut buf)?;
        let total = match batch::total_len(&buf) {
            Ok(total) if total as u64 <= remaining => total,
            Ok(_) => return corrupt(BatchError::Truncated),
            Err(e) => return corrupt(e),
        };
        buf.resize(total, 0);
        reader.read_exact(&mut buf[LOG_OVERHEAD..])?;
        let header = match batch::check_batch(&buf) {
            Ok(h) => h,
            Err(e) => return corrupt(e),
        };
        if header.base_offset != offset {
            return corrupt(BatchError::OffsetMismatch { expected: offset, found: header.base_offset });
        }
        let span = u64::try_from(header.next_offset() - segment_base).unwrap_or(u64::MAX);
        if position + header.len_u64() > MAX_SPAN || span > MAX_SPAN {
            return corrupt(BatchError::IndexRange);
        }
        visit(position, &header);
        position += header.len_u64();
        offset = header.next_offset();
    }
    Ok(ScanEnd::Clean)
}

fn read_optional(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// For a closed segment: trusts its index files if they are consistent and the batches after the last
/// index entry are valid. Returns `false` when the segment needs a full scan.
fn resume_closed(seg: &mut Segment, file: &File, index_interval: u64) -> io::Result<bool> {
    let (dir, base) = (seg.dir().to_path_buf(), seg.base_offset());
    let Some(index) = read_optional(&segment::path(&dir, base, INDEX_EXT))?.and_then(|b| OffsetIndex::from_bytes(&b))
    else {
        return Ok(false);
    };
    let Some(time_index) =
        read_optional(&segment::path(&dir, base, TIME_INDEX_EXT))?.and_then(|b| TimeIndex::from_bytes(&b))
    else {
        return Ok(false);
    };
    let (Some((last_offset, last_position)), len) = (index.last(), file.metadata()?.len()) else {
        return Ok(false);
    };
    if u64::from(last_position) >= len || time_index.last().is_some_and(|(_, o)| o > last_offset) {
        return Ok(false);
    }
    let (entries, time_entries) = (index.len(), time_index.len());
    let resume_offset = base + i64::from(last_offset);
    seg.resume_from(index, time_index, u64::from(last_position), resume_offset);
    let end = scan(file, base, u64::from(last_position), resume_offset, |p, h| seg.observe(p, h, index_interval))?;
    if end != ScanEnd::Clean {
        return Ok(false);
    }
    if seg.index().len() != entries || seg.time_index().len() != time_entries {
        tracing::info!(segment = base, "extending stale index files");
        for f in seg.write_indexes()? {
            f.sync_data()?;
        }
    }
    Ok(true)
}

/// Recovers one segment. Returns it and whether its tail had to be truncated.
fn recover_segment(dir: &Path, base: i64, is_last: bool, index_interval: u64) -> Result<(Segment, bool), LogError> {
    let file = OpenOptions::new().read(true).write(true).open(segment::path(dir, base, LOG_EXT))?;
    let meta = file.metadata()?;
    let created_ms = meta
        .created()
        .or_else(|_| meta.modified())
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or_else(crate::log::now_ms, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let reader = file.try_clone()?;
    let mut seg = Segment::empty(dir, base, file, created_ms);
    if !is_last && resume_closed(&mut seg, &reader, index_interval)? {
        return Ok((seg, false));
    }
    seg = Segment::empty(dir, base, reader.try_clone()?, created_ms);
    let mut batches = 0u64;
    let end = scan(&reader, base, 0, base, |p, h| {
        batches += 1;
        seg.observe(p, h, index_interval);
    })?;
    let truncated = match end {
        ScanEnd::Clean => false,
        ScanEnd::Corrupt { position, reason } => {
            let dropped = meta.len() - position;
            seg.truncate_file(position)?;
            tracing::info!(segment = base, position, bytes_dropped = dropped, %reason, "truncated torn or corrupt tail");
            true
        }
    };
    tracing::info!(segment = base, batches, next_offset = seg.next_offset(), "rebuilt segment indexes from a scan");
    if !is_last && !truncated {
        for f in seg.write_indexes()? {
            f.sync_data()?;
        }
    }
    Ok((seg, truncated))
}

fn segment_bases(dir: &Path) -> io::Result<Vec<i64>> {
    let mut logs = Vec::new();
    let mut indexes = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let (Some(stem), Some(ext)) = (path.file_stem().and_then(|s| s.to_str()), path.extension()) else {
            continue;
        };
        let Ok(base) = stem.parse::<i64>() else { continue };
        if stem.len() != 20 {
            continue;
        }
        if ext == LOG_EXT {
            logs.push(base);
        } else if ext == INDEX_EXT || ext == TIME_INDEX_EXT {
            indexes.push((base, path));
        }
    }
    logs.sort_unstable();
    for (base, path) in indexes {
        if logs.binary_search(&base).is_err() {
            tracing::info!(path = %path.display(), "removing index without a segment");
            fs::remove_file(path)?;
        }
    }
    Ok(logs)
}

/// Opens the log in `dir` (creating it if missing) and recovers it. A log with no segment yet starts at
/// its checkpoint, else at `empty_start`.
pub(crate) fn recover(dir: &Path, index_interval: u64, empty_start: i64) -> Result<Recovered, LogError> {
    fs::create_dir_all(dir)?;
    let checkpoint = checkpoint::read(dir)?;
    let bases = segment_bases(dir)?;
    if bases.is_empty() {
        let base = checkpoint.unwrap_or(empty_start).max(0);
        let seg = Segment::create(dir, base, crate::log::now_ms())?;
        File::open(dir)?.sync_all()?;
        return Ok(Recovered { segments: vec![seg], log_start: base, checkpoint, producers: Producers::default() });
    }
    let mut segments: Vec<Segment> = Vec::with_capacity(bases.len());
    for (i, &base) in bases.iter().enumerate() {
        let is_last = i + 1 == bases.len();
        let (seg, truncated) = recover_segment(dir, base, is_last, index_interval)?;
        if let Some(prev) = segments.last()
            && prev.next_offset() != base
        {
            return Err(LogError::Inconsistent {
                dir: dir.to_path_buf(),
                reason: format!("segment {base} follows a segment ending at offset {}", prev.next_offset()),
            });
        }
        segments.push(seg);
        if truncated && !is_last {
            for &later in &bases[i + 1..] {
                tracing::info!(segment = later, "removing segment after a truncated one");
                Segment::remove_files(dir, later)?;
            }
            File::open(dir)?.sync_all()?;
            break;
        }
    }
    let end = segments.last().map_or(0, Segment::next_offset);
    let first = segments.first().map_or(0, Segment::base_offset);
    let log_start = checkpoint.unwrap_or(first).max(first).min(end);
    while segments.len() > 1 && segments[0].next_offset() <= log_start {
        let gone = segments.remove(0);
        tracing::info!(segment = gone.base_offset(), log_start, "removing segment below the log start");
        Segment::remove_files(dir, gone.base_offset())?;
    }
    let producers = rebuild_producers(&segments)?;
    tracing::info!(dir = %dir.display(), segments = segments.len(), log_start, next_offset = end, "recovered log");
    Ok(Recovered { segments, log_start, checkpoint, producers })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;

    use super::*;
    use crate::batch::tests::batch;
    use crate::log::tests::{read_all, tiny};
    use crate::test_dir::TestDir;
    use crate::{LogConfig, PartitionLog, TimestampType};

    fn open(dir: &TestDir, config: LogConfig) -> Arc<PartitionLog> {
        match PartitionLog::open(dir.path(), config) {
            Ok(log) => log,
            Err(e) => panic!("open: {e}"),
        }
    }

    /// A log of `n` 3-record batches with timestamps 1000*i; returns (base, last) per batch.
    async fn fill(dir: &TestDir, config: LogConfig, n: i64) -> Vec<(i64, i64)> {
        let log = open(dir, config);
        let mut out = Vec::new();
        for i in 0..n {
            match log.append(Bytes::from(batch(3, 1000 * i)), TimestampType::CreateTime).await {
                Ok(info) => out.push((info.base_offset, info.last_offset)),
                Err(e) => panic!("append: {e}"),
            }
        }
        out
    }

    fn segment_files(dir: &TestDir, ext: &str) -> Vec<std::path::PathBuf> {
        let mut files: Vec<_> = fs::read_dir(dir.path())
            .map(|d| {
                d.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == ext)).collect()
            })
            .unwrap_or_default();
        files.sort();
        files
    }

    fn file_len(path: &Path) -> u64 {
        fs::metadata(path).map(|m| m.len()).unwrap_or(0)
    }

    #[tokio::test]
    async fn torn_tail_is_truncated_to_last_whole_batch() {
        let dir = TestDir::new("torn");
        let written = fill(&dir, LogConfig::default(), 10).await;
        let log_file = segment_files(&dir, "log").remove(0);
        let len = file_len(&log_file);
        let cut = len - batch(3, 0).len() as u64 / 2;
        assert!(OpenOptions::new().write(true).open(&log_file).and_then(|f| f.set_len(cut)).is_ok());
        let log = open(&dir, LogConfig::default());
        assert_eq!(read_all(&log), written[..9]);
        assert_eq!(log.high_watermark(), 27);
        assert_eq!(file_len(&log_file), len - batch(3, 0).len() as u64);
        let next = log.append(Bytes::from(batch(1, 0)), TimestampType::CreateTime).await.map(|i| i.base_offset);
        assert_eq!(next.ok(), Some(27));
    }

    #[tokio::test]
    async fn corrupt_last_batch_is_dropped() {
        let dir = TestDir::new("flipped");
        let written = fill(&dir, LogConfig::default(), 5).await;
        let log_file = segment_files(&dir, "log").remove(0);
        let mut bytes = fs::read(&log_file).unwrap_or_default();
        let at = bytes.len() - 3;
        bytes[at] ^= 0x40;
        assert!(fs::write(&log_file, &bytes).is_ok());
        let log = open(&dir, LogConfig::default());
        assert_eq!(read_all(&log), written[..4]);
    }

    #[tokio::test]
    async fn missing_or_damaged_indexes_are_rebuilt() {
        let dir = TestDir::new("indexes");
        let config = tiny(700);
        let written = fill(&dir, config.clone(), 60).await;
        let indexes = segment_files(&dir, "index");
        let time_indexes = segment_files(&dir, "timeindex");
        assert!(indexes.len() > 5);
        let originals: Vec<_> = indexes.iter().map(|p| fs::read(p).unwrap_or_default()).collect();
        assert!(fs::remove_file(&indexes[0]).is_ok());
        assert!(fs::remove_file(&time_indexes[1]).is_ok());
        let short = &originals[2][..originals[2].len() - 8];
        assert!(fs::write(&indexes[2], short).is_ok());
        assert!(fs::write(&indexes[3], [0u8; 5]).is_ok());
        let log = open(&dir, config);
        assert_eq!(read_all(&log), written);
        for (path, original) in indexes.iter().zip(&originals).take(4) {
            assert_eq!(fs::read(path).ok().as_ref(), Some(original), "{}", path.display());
        }
        assert!(time_indexes[1].exists());
        assert_eq!(log.offset_for_timestamp(20_500).ok().flatten(), Some((63, 21_002)));
    }

    #[tokio::test]
    async fn torn_closed_segment_drops_the_segments_after_it() {
        let dir = TestDir::new("torn-closed");
        let config = tiny(700);
        let written = fill(&dir, config.clone(), 30).await;
        let logs = segment_files(&dir, "log");
        assert!(logs.len() > 3);
        let len = file_len(&logs[1]);
        assert!(OpenOptions::new().write(true).open(&logs[1]).and_then(|f| f.set_len(len - 1)).is_ok());
        let log = open(&dir, config);
        let kept = read_all(&log);
        assert_eq!(kept, written[..kept.len()]);
        assert_eq!(segment_files(&dir, "log").len(), 2);
        assert_eq!(Some(log.high_watermark()), kept.last().map(|b| b.1 + 1));
    }

    #[tokio::test]
    async fn a_gap_between_segments_refuses_to_open() {
        let dir = TestDir::new("gap");
        fill(&dir, tiny(700), 30).await;
        let logs = segment_files(&dir, "log");
        assert!(fs::remove_file(&logs[1]).is_ok());
        let r = PartitionLog::open(dir.path(), tiny(700));
        assert!(matches!(r, Err(LogError::Inconsistent { .. })), "{r:?}");
    }
}
