//! `PartitionLog`: the segments of one partition behind one lock, offset assignment, segment rolls, reads
//! below the high watermark, retention, DeleteRecords and topic deletion. Owns the log's state and its
//! high-watermark watch; batch bytes are checked by `batch`, segment files handled by `segment`, fsyncs
//! done by the `flusher` thread, reconstruction on open by `recovery`, and idempotent producers' sequence
//! checks by `producers` (run under the lock, so check and append are one step).

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tokio::sync::watch;

use crate::batch::{self, BatchHeader};
use crate::checkpoint;
use crate::config::{Durability, LocalRetention, LogConfig, TimestampType};
use crate::error::LogError;
use crate::flusher::{FlushJob, FlushSource, Flusher};
use crate::producers::{self, BatchMeta, Producers};
use crate::recovery;
use crate::segment::{MAX_SPAN, Segment, ViewError};

/// What an append did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendInfo {
    pub base_offset: i64,
    pub last_offset: i64,
    /// The broker time stamped on the batches, for [`TimestampType::LogAppendTime`].
    pub log_append_time: Option<i64>,
    pub log_start_offset: i64,
    pub batches: usize,
    pub bytes: usize,
    /// The append repeated an idempotent producer's batch already in the log: nothing was written, and the
    /// offsets (and LogAppendTime) are those of the original batch.
    pub duplicate: bool,
}

/// An append that is written but not yet known durable: [`PendingAppend::durable`] resolves once the
/// group-commit fsync covers it (at once under `Durability::Interval`).
#[must_use = "an append is acknowledged only once it is durable"]
pub struct PendingAppend {
    info: AppendInfo,
    /// The log to wait on, under `Durability::Fsync`.
    wait: Option<Arc<Shared>>,
}

impl PendingAppend {
    /// Whether the batches repeat ones already stored (a producer's retry),
    /// so nothing was written.
    pub fn is_duplicate(&self) -> bool {
        self.info.duplicate
    }

    pub async fn durable(self) -> Result<AppendInfo, LogError> {
        if let Some(shared) = self.wait {
            let next_offset = self.info.last_offset + 1;
            let mut hw = shared.high_watermark.subscribe();
            let poisoned = &shared.poisoned;
            let reached = hw
                .wait_for(|&hw| hw >= next_offset || poisoned.load(Ordering::Acquire))
                .await
                .map(|hw| *hw >= next_offset);
            match reached {
                Ok(true) => {}
                Ok(false) => return Err(LogError::Poisoned),
                Err(_) => return Err(LogError::Closed),
            }
        }
        Ok(self.info)
    }
}

/// Whole batches read from the log.
#[derive(Clone, Debug)]
pub struct ReadResult {
    pub bytes: Bytes,
    pub high_watermark: i64,
    pub log_start_offset: i64,
}

/// The part of the log the remote tier holds: segments from `start` up to `end`, `bytes` in all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemoteRange {
    pub start: i64,
    pub end: i64,
    pub bytes: u64,
}

/// A closed segment, for copying to the remote tier: its files never change again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClosedSegment {
    pub base_offset: i64,
    pub next_offset: i64,
    pub size: u64,
    pub max_timestamp: i64,
    /// The `.log` file.
    pub path: PathBuf,
    /// The `.index` and `.timeindex` files' bytes, from memory (always in step with the data).
    pub index: Vec<u8>,
    pub time_index: Vec<u8>,
}

/// Counters for tests and metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogStats {
    /// Appends acknowledged.
    pub appends: u64,
    /// fdatasync/fsync calls made by the flusher (log files, index files, directory).
    pub fsyncs: u64,
    /// Group-commit rounds of the flusher.
    pub flush_rounds: u64,
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A point in the log: the next offset and where it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Mark {
    offset: i64,
    segment: i64,
    position: u64,
}

struct State {
    config: LogConfig,
    /// Never empty; the last is the active segment.
    segments: Vec<Segment>,
    /// The first offset readers may ask for, in either tier.
    log_start: i64,
    /// The log start as last checkpointed (DeleteRecords, remote retention).
    checkpoint: Option<i64>,
    /// What the remote tier holds, as it last said; `None` until it says, or with no tiering.
    remote: Option<RemoteRange>,
    /// End of the written data.
    written: Mark,
    /// End of the data readers may see: the high watermark.
    visible: Mark,
    /// End of the data an fdatasync has covered (behind `visible` only under `Durability::Interval`).
    synced: Mark,
    /// Files of rolled segments still to be fsynced.
    unsynced: Vec<Arc<File>>,
    /// A segment file was created since the directory was last fsynced.
    dir_dirty: bool,
    closed: bool,
    producers: Producers,
}

/// What `write` did under the lock.
enum Written {
    /// Appended: the batches start at `base` and end before `next`.
    New { base: i64, next: i64 },
    /// A retry of this batch, already in the log.
    Duplicate(BatchMeta),
}

impl State {
    fn active(&self) -> &Segment {
        &self.segments[self.segments.len() - 1]
    }

    fn active_mut(&mut self) -> &mut Segment {
        let last = self.segments.len() - 1;
        &mut self.segments[last]
    }

    fn mark(&self) -> Mark {
        let active = self.active();
        Mark { offset: active.next_offset(), segment: active.base_offset(), position: active.size() }
    }

    /// The bytes of `seg` below the high watermark.
    fn visible_end(&self, seg: &Segment) -> u64 {
        match seg.base_offset().cmp(&self.visible.segment) {
            std::cmp::Ordering::Less => seg.size(),
            std::cmp::Ordering::Equal => self.visible.position,
            std::cmp::Ordering::Greater => 0,
        }
    }

    /// The segment that holds `offset` (the last one starting at or before it).
    fn segment_for(&self, offset: i64) -> Option<&Segment> {
        let n = self.segments.partition_point(|s| s.base_offset() <= offset);
        n.checked_sub(1).map(|i| &self.segments[i])
    }

    /// The first offset local segments hold.
    fn local_start(&self) -> i64 {
        self.segments[0].base_offset().max(self.log_start)
    }

    /// The log start from the checkpoint, the remote tier and the local segments.
    fn derive_log_start(&mut self) {
        let first = self.segments[0].base_offset();
        let earliest = match self.remote {
            Some(remote) if self.config.tiered.is_some() && remote.end >= first => remote.start.min(first),
            _ => first,
        };
        self.log_start = self.checkpoint.map_or(earliest, |c| c.max(earliest)).min(self.visible.offset);
    }

    fn out_of_range(&self, requested: i64) -> LogError {
        LogError::OffsetOutOfRange { requested, log_start: self.log_start, high_watermark: self.visible.offset }
    }

    fn check_open(&self) -> Result<(), LogError> {
        if self.closed { Err(LogError::Closed) } else { Ok(()) }
    }

    fn should_roll(&self, bytes: u64, offsets: i64, now: i64) -> bool {
        let active = self.active();
        if active.size() == 0 {
            return false;
        }
        let limit = self.config.segment_bytes.clamp(1, MAX_SPAN);
        let too_old = self
            .config
            .segment_ms
            .is_some_and(|ms| now.saturating_sub(active.created_ms()) >= i64::try_from(ms).unwrap_or(i64::MAX));
        active.size() + bytes > limit || !active.fits(bytes, offsets) || too_old
    }

    /// Closes the active segment (its index files written, it and they queued for fsync) and opens a new one.
    fn roll(&mut self, dir: &Path, now: i64) -> io::Result<()> {
        let active = self.active();
        let [index, time_index] = active.write_indexes()?;
        let next = Segment::create(dir, active.next_offset(), now)?;
        tracing::debug!(closed = active.base_offset(), new = next.base_offset(), "rolled segment");
        self.unsynced.extend([Arc::clone(active.file()), index, time_index]);
        self.segments.push(next);
        self.producers.expire(now.saturating_sub(producers::EXPIRATION_MS));
        self.dir_dirty = true;
        Ok(())
    }

    /// Removes the oldest segment (never the active one) and returns its size. The log start moves past
    /// it unless the remote tier still holds it.
    fn remove_oldest(&mut self, dir: &Path) -> u64 {
        let gone = self.segments.remove(0);
        if let Err(e) = Segment::remove_files(dir, gone.base_offset()) {
            tracing::warn!(segment = gone.base_offset(), error = %e, "could not remove segment files");
        }
        let kept_remotely = self.remote.is_some_and(|r| r.start <= gone.base_offset() && r.end >= gone.next_offset());
        if !kept_remotely {
            self.log_start = self.log_start.max(self.segments[0].base_offset());
        }
        gone.size()
    }

    /// Local retention under tiering: the oldest local copies the remote tier holds, while past a limit.
    fn apply_local_retention(&mut self, dir: &Path, limits: LocalRetention, now_ms: i64) -> u64 {
        let remote_end = self.remote.map_or(i64::MIN, |r| r.end);
        let mut total: u64 = self.segments.iter().map(Segment::size).sum();
        let mut freed = 0;
        while self.segments.len() > 1 {
            let oldest = &self.segments[0];
            if oldest.next_offset() > remote_end || oldest.next_offset() > self.visible.offset {
                break;
            }
            let by_time = limits.ms.is_some_and(|ms| now_ms.saturating_sub(oldest.retention_timestamp()) > ms);
            let by_size = limits.bytes.is_some_and(|limit| total - oldest.size() >= limit);
            if !by_time && !by_size {
                break;
            }
            let size = self.remove_oldest(dir);
            total -= size;
            freed += size;
        }
        freed
    }
}

struct Shared {
    dir: PathBuf,
    state: Mutex<State>,
    high_watermark: watch::Sender<i64>,
    poisoned: AtomicBool,
    appends: AtomicU64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn publish(&self, state: &mut State, mark: Mark) {
        if mark.offset > state.visible.offset {
            state.visible = mark;
            self.high_watermark.send_replace(mark.offset);
        }
    }
}

impl FlushSource for Shared {
    type Mark = Mark;

    fn take_job(&self) -> Option<FlushJob<Mark>> {
        let mut state = self.lock();
        let sync_active = state.written.offset > state.synced.offset;
        if state.unsynced.is_empty() && !state.dir_dirty && !sync_active {
            return None;
        }
        let mut files = std::mem::take(&mut state.unsynced);
        if sync_active {
            files.push(Arc::clone(state.active().file()));
        }
        let dir = std::mem::take(&mut state.dir_dirty).then(|| self.dir.clone());
        Some(FlushJob { files, dir, mark: state.written })
    }

    fn complete(&self, mark: Mark, result: io::Result<()>) {
        match result {
            Ok(()) if !self.poisoned.load(Ordering::Acquire) => {
                let mut state = self.lock();
                if mark.offset > state.synced.offset {
                    state.synced = mark;
                }
                self.publish(&mut state, mark);
            }
            Ok(()) => {}
            Err(e) => {
                tracing::error!(dir = %self.dir.display(), error = %e, "fsync failed; the log refuses writes until reopened");
                self.poisoned.store(true, Ordering::Release);
                self.high_watermark.send_modify(|_| {});
            }
        }
    }
}

/// The log of one partition. Shared as `Arc<PartitionLog>`; all methods take `&self`.
///
/// `open`, `read`, `offset_for_timestamp`, `delete_records_before`, `apply_retention` and `delete` do file
/// I/O (and some an fsync) on the calling thread: call them from `spawn_blocking` in async code. `append`
/// only writes to the page cache on the caller's thread and waits for fsync asynchronously.
pub struct PartitionLog {
    shared: Arc<Shared>,
    flusher: Flusher,
}

impl std::fmt::Debug for PartitionLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartitionLog").field("dir", &self.shared.dir).finish_non_exhaustive()
    }
}

impl PartitionLog {
    /// Opens (creating if missing) the log in `dir`, running crash recovery.
    pub fn open(dir: &Path, config: LogConfig) -> Result<Arc<PartitionLog>, LogError> {
        Self::open_at(dir, config, 0)
    }

    /// Like [`PartitionLog::open`], but a log with no segment yet starts at `start` (the end of what the
    /// remote tier holds, for a partition opened on an empty disk).
    pub fn open_at(dir: &Path, config: LogConfig, start: i64) -> Result<Arc<PartitionLog>, LogError> {
        let recovered = recovery::recover(dir, u64::from(config.index_interval_bytes), start)?;
        let last = recovered.segments.last().ok_or_else(|| LogError::Inconsistent {
            dir: dir.to_path_buf(),
            reason: "no segment after recovery".into(),
        })?;
        let mark = Mark { offset: last.next_offset(), segment: last.base_offset(), position: last.size() };
        let state = State {
            config,
            segments: recovered.segments,
            log_start: recovered.log_start,
            checkpoint: recovered.checkpoint,
            remote: None,
            written: mark,
            visible: mark,
            synced: mark,
            unsynced: Vec::new(),
            dir_dirty: false,
            closed: false,
            producers: recovered.producers,
        };
        let shared = Arc::new(Shared {
            dir: dir.to_path_buf(),
            state: Mutex::new(state),
            high_watermark: watch::Sender::new(mark.offset),
            poisoned: AtomicBool::new(false),
            appends: AtomicU64::new(0),
        });
        let flusher = Flusher::spawn(Arc::clone(&shared))?;
        Ok(Arc::new(PartitionLog { shared, flusher }))
    }

    /// Validates, assigns offsets, appends. Returns when the data is durable per `config.durability`
    /// (`Fsync`: after a group-commit fdatasync that covers it). Concurrent appends are ordered.
    ///
    /// A batch with a producer id (>= 0) is checked against that producer's sequence state first: a fenced
    /// epoch or a gap is [`LogError::Sequence`]; a repeat of one of its last five batches writes nothing and
    /// answers with the original batch's offsets once they are durable ([`AppendInfo::duplicate`]).
    pub async fn append(&self, batches: Bytes, timestamp_type: TimestampType) -> Result<AppendInfo, LogError> {
        self.append_pending(batches, timestamp_type)?.durable().await
    }

    /// The first half of [`PartitionLog::append`]: validates, assigns offsets and writes now, in call order,
    /// and returns the wait for durability. A caller that pipelines appends (a Kafka connection with several
    /// Produce requests in flight) writes them in order and lets the fsyncs overlap.
    pub fn append_pending(&self, batches: Bytes, timestamp_type: TimestampType) -> Result<PendingAppend, LogError> {
        let mut headers =
            batch::split_batches(&batches).map_err(|(index, reason)| LogError::CorruptBatch { index, reason })?;
        let mut data = batches.to_vec();
        let log_append_time = match timestamp_type {
            TimestampType::CreateTime => None,
            TimestampType::LogAppendTime => {
                let now = now_ms();
                let mut position = 0;
                for header in &mut headers {
                    batch::set_log_append_time(&mut data[position..position + header.len], now);
                    header.max_timestamp = now;
                    position += header.len;
                }
                Some(now)
            }
        };
        let (written, log_start_offset, durability) = self.write(&mut data, &mut headers)?;
        match durability {
            Durability::Fsync => self.flusher.notify(),
            Durability::Interval(interval) => self.flusher.notify_by(Instant::now() + interval),
        }
        let info = match written {
            Written::New { base, next } => {
                self.shared.appends.fetch_add(1, Ordering::Relaxed);
                AppendInfo {
                    base_offset: base,
                    last_offset: next - 1,
                    log_append_time,
                    log_start_offset,
                    batches: headers.len(),
                    bytes: data.len(),
                    duplicate: false,
                }
            }
            Written::Duplicate(meta) => AppendInfo {
                base_offset: meta.base_offset,
                last_offset: meta.last_offset,
                log_append_time: log_append_time.map(|_| meta.timestamp),
                log_start_offset,
                batches: 0,
                bytes: 0,
                duplicate: true,
            },
        };
        let wait = (durability == Durability::Fsync).then(|| self.shared.clone());
        Ok(PendingAppend { info, wait })
    }

    /// Under the lock: checks producer sequences, rolls if needed, assigns offsets and writes.
    /// Returns what was written, the log start and the durability to wait for.
    fn write(&self, data: &mut [u8], headers: &mut [BatchHeader]) -> Result<(Written, i64, Durability), LogError> {
        let offsets: i64 = headers.iter().map(|h| i64::from(h.last_offset_delta) + 1).sum();
        let bytes = data.len() as u64;
        let mut state = self.shared.lock();
        state.check_open()?;
        if self.shared.poisoned.load(Ordering::Acquire) {
            return Err(LogError::Poisoned);
        }
        if let Some(duplicate) = state.producers.check(headers)? {
            return Ok((Written::Duplicate(duplicate), state.log_start, state.config.durability));
        }
        let now = now_ms();
        if state.should_roll(bytes, offsets, now) {
            state.roll(&self.shared.dir, now)?;
        }
        if !state.active().fits(bytes, offsets) {
            return Err(LogError::TooLarge { bytes: data.len() });
        }
        let base = state.active().next_offset();
        let mut offset = base;
        let mut position = 0;
        for header in headers.iter_mut() {
            batch::set_base_offset(&mut data[position..], offset);
            header.base_offset = offset;
            offset = header.next_offset();
            position += header.len;
        }
        let interval = u64::from(state.config.index_interval_bytes);
        state.active_mut().append(data, headers, interval)?;
        for header in headers.iter() {
            state.producers.record(header);
        }
        state.written = state.mark();
        let durability = state.config.durability;
        if matches!(durability, Durability::Interval(_)) {
            let mark = state.written;
            self.shared.publish(&mut state, mark);
        }
        Ok((Written::New { base, next: offset }, state.log_start, durability))
    }

    /// Whole batches starting with the one containing `offset` (the first batch may start before `offset`), up
    /// to about `max_bytes` but always at least one whole batch if any exists at or after `offset`. Only data
    /// below the high watermark is returned; `offset == high_watermark` gives empty bytes; an offset outside
    /// `[log_start, high_watermark]` is `OffsetOutOfRange`. Reads one segment at most.
    pub fn read(&self, offset: i64, max_bytes: usize) -> Result<ReadResult, LogError> {
        let (view, position, high_watermark, log_start_offset) = {
            let state = self.shared.lock();
            state.check_open()?;
            if offset < state.log_start || offset > state.visible.offset {
                return Err(state.out_of_range(offset));
            }
            let (hw, start) = (state.visible.offset, state.log_start);
            let local_start = state.local_start();
            if offset < local_start {
                return Err(LogError::InRemoteTier { requested: offset, local_start });
            }
            let seg = match state.segment_for(offset) {
                Some(seg) if offset < hw => seg,
                _ => return Ok(ReadResult { bytes: Bytes::new(), high_watermark: hw, log_start_offset: start }),
            };
            (seg.view(state.visible_end(seg)), seg.position_for(offset), hw, start)
        };
        let bytes = match view.find_batch(position, offset).map_err(view_error)? {
            Some((position, _)) => view.read(position, max_bytes).map_err(view_error)?,
            None => Bytes::new(),
        };
        Ok(ReadResult { bytes, high_watermark, log_start_offset })
    }

    pub fn log_start_offset(&self) -> i64 {
        self.shared.lock().log_start
    }

    /// Next offset to be assigned once everything written is durable; the end of the data readers see.
    pub fn high_watermark(&self) -> i64 {
        *self.shared.high_watermark.borrow()
    }

    /// A watch of the high watermark, for Fetch long-polling.
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.shared.high_watermark.subscribe()
    }

    /// The first batch at or after the log start whose maxTimestamp is at least `ts`, as (its base offset,
    /// or the log start if the batch straddles it; its maxTimestamp). `None` if no visible batch qualifies.
    pub fn offset_for_timestamp(&self, ts: i64) -> Result<Option<(i64, i64)>, LogError> {
        let (view, position, log_start) = {
            let state = self.shared.lock();
            state.check_open()?;
            let Some(seg) =
                state.segments.iter().find(|s| s.next_offset() > state.log_start && s.max_timestamp() >= ts)
            else {
                return Ok(None);
            };
            let from = seg.offset_before_timestamp(ts).max(state.log_start);
            (seg.view(state.visible_end(seg)), seg.position_for(from), state.log_start)
        };
        let found = view.find_timestamp(position, log_start, ts).map_err(view_error)?;
        Ok(found.map(|h| (h.base_offset.max(log_start), h.max_timestamp)))
    }

    /// DeleteRecords: moves the log start to `offset` (which must be in `[0, high_watermark]`), checkpointing
    /// it durably, and deletes closed segments wholly below it. Returns the new log start.
    pub fn delete_records_before(&self, offset: i64) -> Result<i64, LogError> {
        let mut state = self.shared.lock();
        state.check_open()?;
        if offset < 0 || offset > state.visible.offset {
            return Err(state.out_of_range(offset));
        }
        if offset <= state.log_start {
            return Ok(state.log_start);
        }
        checkpoint::write(&self.shared.dir, offset)?;
        state.log_start = offset;
        state.checkpoint = Some(offset);
        while state.segments.len() > 1 && state.segments[0].next_offset() <= offset {
            state.remove_oldest(&self.shared.dir);
        }
        tracing::info!(dir = %self.shared.dir.display(), log_start = offset, "deleted records");
        Ok(offset)
    }

    /// Applies time and size retention to closed segments wholly below the high watermark, oldest first.
    /// Returns the bytes freed.
    /// Under tiering ([`LogConfig::tiered`]) it applies only the local limits, to copies the remote tier
    /// holds; the whole log's retention is then the remote tier's, which moves the log start with
    /// [`PartitionLog::delete_records_before`].
    pub fn apply_retention(&self, now_ms: i64) -> Result<u64, LogError> {
        let mut state = self.shared.lock();
        state.check_open()?;
        if let Some(limits) = state.config.tiered {
            let freed = state.apply_local_retention(&self.shared.dir, limits, now_ms);
            if freed > 0 {
                let local_start = state.local_start();
                tracing::info!(dir = %self.shared.dir.display(), freed, local_start, "applied local retention");
            }
            return Ok(freed);
        }
        let mut total: u64 = state.segments.iter().map(Segment::size).sum();
        let mut freed = 0;
        while state.segments.len() > 1 {
            let oldest = &state.segments[0];
            if oldest.next_offset() > state.visible.offset {
                break;
            }
            let by_time =
                state.config.retention_ms.is_some_and(|ms| now_ms.saturating_sub(oldest.retention_timestamp()) > ms);
            let by_size = state.config.retention_bytes.is_some_and(|limit| total - oldest.size() >= limit);
            if !by_time && !by_size {
                break;
            }
            let size = state.remove_oldest(&self.shared.dir);
            total -= size;
            freed += size;
        }
        if freed > 0 {
            tracing::info!(dir = %self.shared.dir.display(), freed, log_start = state.log_start, "applied retention");
        }
        Ok(freed)
    }

    /// The bytes of the local segments.
    pub fn size_bytes(&self) -> u64 {
        self.shared.lock().segments.iter().map(Segment::size).sum()
    }

    /// The bytes the log holds in both tiers, each stored byte once: the remote tier's, and the local
    /// segments it does not hold yet.
    pub fn total_bytes(&self) -> u64 {
        let state = self.shared.lock();
        let remote = state.remote.filter(|_| state.config.tiered.is_some());
        let end = remote.map_or(i64::MIN, |r| r.end);
        let local: u64 = state.segments.iter().filter(|s| s.base_offset() >= end).map(Segment::size).sum();
        local + remote.map_or(0, |r| r.bytes)
    }

    /// The first offset the local segments hold; below it (down to the log start) is the remote tier's.
    pub fn local_start_offset(&self) -> i64 {
        self.shared.lock().local_start()
    }

    /// Tells the log what the remote tier holds (after loading its manifest, and after each change to it).
    /// Local copies of what it holds may then go by local retention, and the log start covers it.
    pub fn set_remote(&self, remote: Option<RemoteRange>) {
        let mut state = self.shared.lock();
        state.remote = remote;
        state.derive_log_start();
    }

    /// What the remote tier holds, as last told.
    pub fn remote(&self) -> Option<RemoteRange> {
        self.shared.lock().remote
    }

    /// Up to `limit` closed segments that start at or after `from` and lie wholly below the high watermark
    /// and at or above the log start, oldest first: what the remote tier may copy next.
    pub fn closed_segments(&self, from: i64, limit: usize) -> Vec<ClosedSegment> {
        let state = self.shared.lock();
        let closed = &state.segments[..state.segments.len() - 1];
        closed
            .iter()
            .filter(|s| s.base_offset() >= from && s.next_offset() <= state.visible.offset)
            .filter(|s| s.next_offset() > state.log_start && s.size() > 0)
            .take(limit)
            .map(|s| ClosedSegment {
                base_offset: s.base_offset(),
                next_offset: s.next_offset(),
                size: s.size(),
                max_timestamp: s.max_timestamp(),
                path: crate::segment::path(&self.shared.dir, s.base_offset(), crate::segment::LOG_EXT),
                index: s.index().to_bytes(),
                time_index: s.time_index().to_bytes(),
            })
            .collect()
    }

    /// The closed segments' bytes not yet in the remote tier, and how many offsets they hold (upload lag).
    pub fn upload_lag(&self) -> (u64, i64) {
        let state = self.shared.lock();
        let end = state.remote.map_or(state.log_start, |r| r.end);
        let closed = &state.segments[..state.segments.len() - 1];
        closed
            .iter()
            .filter(|s| s.base_offset() >= end)
            .fold((0, 0), |(bytes, offsets), s| (bytes + s.size(), offsets + (s.next_offset() - s.base_offset())))
    }

    /// Flushes, closes and removes every file of this log and then its directory (topic deletion).
    /// Any other handle on the log gets `Closed` from then on.
    pub fn delete(self: Arc<Self>) -> Result<(), LogError> {
        self.shared.lock().closed = true;
        self.flusher.shutdown();
        let mut state = self.shared.lock();
        let dir = &self.shared.dir;
        for seg in state.segments.drain(..) {
            Segment::remove_files(dir, seg.base_offset())?;
        }
        checkpoint::remove(dir)?;
        match std::fs::remove_dir(dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// Changes retention/segment/durability settings live (topic config change, plan change). Data written
    /// under one durability and not yet synced is synced under the new one's terms.
    pub fn reconfigure(&self, config: LogConfig) {
        let mut state = self.shared.lock();
        state.config = config;
        state.derive_log_start();
        let unsynced = state.written.offset > state.synced.offset;
        if let Durability::Interval(interval) = state.config.durability {
            let mark = state.written;
            self.shared.publish(&mut state, mark);
            drop(state);
            if unsynced {
                self.flusher.notify_by(Instant::now() + interval);
            }
        } else if unsynced {
            drop(state);
            self.flusher.notify();
        }
    }

    /// The settings in effect.
    pub fn config(&self) -> LogConfig {
        self.shared.lock().config.clone()
    }

    pub fn stats(&self) -> LogStats {
        LogStats {
            appends: self.shared.appends.load(Ordering::Relaxed),
            fsyncs: self.flusher.fsyncs(),
            flush_rounds: self.flusher.rounds(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }
}

pub(crate) fn view_error(e: ViewError) -> LogError {
    match e {
        ViewError::Io(e) => LogError::Io(e),
        ViewError::Corrupt { segment, position, reason } => LogError::CorruptSegment { segment, position, reason },
    }
}

impl Drop for PartitionLog {
    fn drop(&mut self) {
        self.flusher.shutdown();
    }
}

#[cfg(test)]
pub(crate) mod tests;
