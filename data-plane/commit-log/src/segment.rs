//! One segment: its `.log` file, its in-memory sparse indexes, and reads of whole batches from it.
//! Owns the file naming, appending bytes at the end, index maintenance and index file writes. It does not
//! decide when to roll, fsync (the flusher does) or what is visible to readers (the log passes the limit).

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use crate::batch::{self, BatchError, BatchHeader, HEADER_LEN, LOG_OVERHEAD};
use crate::index::{OffsetIndex, TimeIndex};

pub(crate) const LOG_EXT: &str = "log";
pub(crate) const INDEX_EXT: &str = "index";
pub(crate) const TIME_INDEX_EXT: &str = "timeindex";

/// The largest byte size and offset span a segment's 32-bit index entries can address.
pub(crate) const MAX_SPAN: u64 = u32::MAX as u64;

pub(crate) fn path(dir: &Path, base_offset: i64, ext: &str) -> PathBuf {
    dir.join(format!("{base_offset:020}.{ext}"))
}

/// A read-only handle on the readable part of a segment, used outside the log's lock.
pub(crate) struct SegmentView {
    file: Arc<File>,
    base_offset: i64,
    /// Bytes readers may see.
    end: u64,
}

/// Where reading stopped because the segment's bytes are not a valid batch.
#[derive(Debug)]
pub(crate) enum ViewError {
    Io(io::Error),
    Corrupt { segment: i64, position: u64, reason: BatchError },
}

impl From<io::Error> for ViewError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

impl SegmentView {
    fn header_at(&self, position: u64) -> Result<BatchHeader, ViewError> {
        let corrupt = |reason| ViewError::Corrupt { segment: self.base_offset, position, reason };
        if self.end.saturating_sub(position) < HEADER_LEN as u64 {
            return Err(corrupt(BatchError::Truncated));
        }
        let mut buf = [0u8; HEADER_LEN];
        self.file.read_exact_at(&mut buf, position)?;
        let header = batch::parse_header(&buf).map_err(corrupt)?;
        if position + header.len_u64() > self.end {
            return Err(corrupt(BatchError::Truncated));
        }
        Ok(header)
    }

    /// From `position` (a batch boundary), the first batch whose last offset is at least `offset`.
    pub fn find_batch(&self, mut position: u64, offset: i64) -> Result<Option<(u64, BatchHeader)>, ViewError> {
        while position < self.end {
            let header = self.header_at(position)?;
            if header.last_offset() >= offset {
                return Ok(Some((position, header)));
            }
            position += header.len_u64();
        }
        Ok(None)
    }

    /// Calls `visit` with the header of every batch in the view, in order.
    pub fn for_each_header(&self, mut visit: impl FnMut(&BatchHeader)) -> Result<(), ViewError> {
        let mut position = 0;
        while position < self.end {
            let header = self.header_at(position)?;
            visit(&header);
            position += header.len_u64();
        }
        Ok(())
    }

    /// From `position`, the first batch ending at or after `min_offset` whose max timestamp is at least `timestamp`.
    pub fn find_timestamp(
        &self,
        mut position: u64,
        min_offset: i64,
        timestamp: i64,
    ) -> Result<Option<BatchHeader>, ViewError> {
        while position < self.end {
            let header = self.header_at(position)?;
            if header.last_offset() >= min_offset && header.max_timestamp >= timestamp {
                return Ok(Some(header));
            }
            position += header.len_u64();
        }
        Ok(None)
    }

    /// Whole batches from `position` totalling at most `max_bytes`, but at least one batch if any.
    pub fn read(&self, position: u64, max_bytes: usize) -> Result<Bytes, ViewError> {
        let available = self.end.saturating_sub(position);
        if available == 0 {
            return Ok(Bytes::new());
        }
        let want = available.min(max_bytes.max(HEADER_LEN) as u64);
        let mut buf = vec![0u8; usize::try_from(want).unwrap_or(usize::MAX)];
        self.file.read_exact_at(&mut buf, position)?;
        let corrupt = |at: usize, reason| ViewError::Corrupt {
            segment: self.base_offset,
            position: position + at as u64,
            reason,
        };
        let mut cut = 0;
        while buf.len() - cut >= LOG_OVERHEAD {
            let len = batch::total_len(&buf[cut..]).map_err(|e| corrupt(cut, e))?;
            if cut + len > buf.len() {
                break;
            }
            cut += len;
        }
        if cut == 0 {
            let first = self.header_at(position)?;
            buf.resize(first.len, 0);
            self.file.read_exact_at(&mut buf, position)?;
            cut = first.len;
        }
        buf.truncate(cut);
        Ok(Bytes::from(buf))
    }
}

/// A segment of the log. The last segment of a log is its active segment; the others are closed.
#[derive(Debug)]
pub(crate) struct Segment {
    dir: PathBuf,
    base_offset: i64,
    next_offset: i64,
    size: u64,
    file: Arc<File>,
    index: OffsetIndex,
    time_index: TimeIndex,
    max_timestamp: i64,
    bytes_since_index: u64,
    created_ms: i64,
}

impl Segment {
    /// Creates a new, empty segment file; fails if one already exists.
    pub fn create(dir: &Path, base_offset: i64, now_ms: i64) -> io::Result<Self> {
        let file = OpenOptions::new().read(true).write(true).create_new(true).open(path(dir, base_offset, LOG_EXT))?;
        Ok(Self::empty(dir, base_offset, file, now_ms))
    }

    /// A segment over an existing file, with no batches known yet (recovery fills them in).
    pub fn empty(dir: &Path, base_offset: i64, file: File, created_ms: i64) -> Self {
        Self {
            dir: dir.to_path_buf(),
            base_offset,
            next_offset: base_offset,
            size: 0,
            file: Arc::new(file),
            index: OffsetIndex::default(),
            time_index: TimeIndex::default(),
            max_timestamp: -1,
            bytes_since_index: 0,
            created_ms,
        }
    }

    pub fn base_offset(&self) -> i64 {
        self.base_offset
    }

    pub fn next_offset(&self) -> i64 {
        self.next_offset
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn file(&self) -> &Arc<File> {
        &self.file
    }

    pub fn max_timestamp(&self) -> i64 {
        self.max_timestamp
    }

    pub fn created_ms(&self) -> i64 {
        self.created_ms
    }

    pub fn index(&self) -> &OffsetIndex {
        &self.index
    }

    pub fn time_index(&self) -> &TimeIndex {
        &self.time_index
    }

    /// Replaces the indexes with ones loaded from files, positioned at the last offset-index entry so that
    /// [`Segment::observe`] can continue from there. `start` is that entry's (position, offset).
    pub fn resume_from(&mut self, index: OffsetIndex, time_index: TimeIndex, position: u64, offset: i64) {
        self.max_timestamp = time_index.last().map_or(-1, |(t, _)| t);
        self.index = index;
        self.time_index = time_index;
        self.size = position;
        self.next_offset = offset;
        self.bytes_since_index = 0;
    }

    /// Whether `bytes` more bytes and `offsets` more offsets still fit the segment's 32-bit index range.
    pub fn fits(&self, bytes: u64, offsets: i64) -> bool {
        let span = self.next_offset - self.base_offset + offsets;
        self.size + bytes <= MAX_SPAN && u64::try_from(span).is_ok_and(|s| s <= MAX_SPAN)
    }

    /// Accounts for a valid batch at `position` (its end becomes the segment's end), adding index entries
    /// every `index_interval` bytes. The caller has checked [`Segment::fits`].
    pub fn observe(&mut self, position: u64, header: &BatchHeader, index_interval: u64) {
        let relative = u32::try_from(header.base_offset - self.base_offset).unwrap_or(u32::MAX);
        let indexed = self.index.len() == 0 || self.bytes_since_index >= index_interval;
        if indexed {
            self.index.push(relative, u32::try_from(position).unwrap_or(u32::MAX));
            self.bytes_since_index = 0;
        }
        self.bytes_since_index += header.len_u64();
        self.max_timestamp = self.max_timestamp.max(header.max_timestamp);
        if indexed {
            self.time_index.push(self.max_timestamp, relative);
        }
        self.size = position + header.len_u64();
        self.next_offset = header.next_offset();
    }

    /// Writes `data` (whole batches with their offsets assigned, described by `headers`) at the end.
    /// On failure the file is cut back and the segment is unchanged.
    pub fn append(&mut self, data: &[u8], headers: &[BatchHeader], index_interval: u64) -> io::Result<()> {
        let start = self.size;
        if let Err(e) = self.file.write_all_at(data, start) {
            if let Err(cut) = self.file.set_len(start) {
                tracing::warn!(segment = self.base_offset, error = %cut, "could not cut back a failed append");
            }
            return Err(e);
        }
        let mut position = start;
        for header in headers {
            self.observe(position, header, index_interval);
            position += header.len_u64();
        }
        Ok(())
    }

    /// The position of the indexed batch at or before `offset`.
    pub fn position_for(&self, offset: i64) -> u64 {
        let relative = u32::try_from((offset - self.base_offset).max(0)).unwrap_or(u32::MAX);
        self.index.floor(relative).map_or(0, |(_, p)| u64::from(p))
    }

    /// An offset at or before the first batch whose max timestamp can be at least `timestamp`.
    pub fn offset_before_timestamp(&self, timestamp: i64) -> i64 {
        self.time_index.last_below(timestamp).map_or(self.base_offset, |(_, o)| self.base_offset + i64::from(o))
    }

    pub fn view(&self, end: u64) -> SegmentView {
        SegmentView { file: Arc::clone(&self.file), base_offset: self.base_offset, end: end.min(self.size) }
    }

    /// Writes both index files in full and returns them, still to be fsynced.
    pub fn write_indexes(&self) -> io::Result<[Arc<File>; 2]> {
        let write = |ext: &str, bytes: Vec<u8>| -> io::Result<Arc<File>> {
            let file = OpenOptions::new().write(true).create(true).truncate(true).open(path(
                &self.dir,
                self.base_offset,
                ext,
            ))?;
            file.write_all_at(&bytes, 0)?;
            Ok(Arc::new(file))
        };
        Ok([write(INDEX_EXT, self.index.to_bytes())?, write(TIME_INDEX_EXT, self.time_index.to_bytes())?])
    }

    /// Cuts the file to `size` bytes (recovery of a torn tail) and makes that durable.
    pub fn truncate_file(&self, size: u64) -> io::Result<()> {
        self.file.set_len(size)?;
        self.file.sync_all()
    }

    /// Removes the segment's three files; missing files are fine.
    pub fn remove_files(dir: &Path, base_offset: i64) -> io::Result<()> {
        for ext in [LOG_EXT, INDEX_EXT, TIME_INDEX_EXT] {
            match fs::remove_file(path(dir, base_offset, ext)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    /// The time retention measures from: the newest batch timestamp, or the file's mtime if batches carry none.
    pub fn retention_timestamp(&self) -> i64 {
        if self.max_timestamp >= 0 {
            return self.max_timestamp;
        }
        self.file
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(i64::MAX, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}
