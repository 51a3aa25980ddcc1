//! Reads from the remote tier: whole batches at an offset, and the first batch at a timestamp, from the
//! copied segments a manifest names. Objects are read in fixed chunks through the cache, and each read
//! starts fetching the chunks after it (read-ahead), so a consumer replaying a partition finds the next
//! chunk already there. Owns the read path only; never writes to the store.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use omnibus_commit_log::HEADER_LEN;
use omnibus_commit_log::format::{SegmentIndex, batch_at};
use omnibus_object_store::{ObjectStore, StoreError};

use super::cache::{Cache, Key, Value};
use super::manifest::{Manifest, Part, PartitionKeys, RemoteSegment};

/// Objects are read and cached in pieces of this many bytes.
pub const CHUNK: u64 = 4 << 20;
/// Bytes fetched ahead of each read (whole chunks, in parallel), into the next segment when this one ends.
const READ_AHEAD: u64 = 8 * CHUNK;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("offset {0} is not in the remote tier")]
    NotHeld(i64),
    #[error("remote object {object} is corrupt at {position}: {reason}")]
    Corrupt { object: String, position: u64, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the object store did not answer within {0:?}")]
    Timeout(Duration),
}

pub struct Reader {
    store: Arc<dyn ObjectStore>,
    cache: Arc<Cache>,
    timeout: Duration,
}

impl Reader {
    pub fn new(store: Arc<dyn ObjectStore>, cache_bytes: usize, timeout: Duration) -> Reader {
        Reader { store, cache: Arc::new(Cache::new(cache_bytes)), timeout }
    }

    /// Bytes the cache holds.
    pub fn cached_bytes(&self) -> usize {
        self.cache.weight()
    }

    /// Whole batches from the one holding `offset`, about `max_bytes` of them but at least one, all from the
    /// segment holding it.
    pub async fn read(
        &self,
        keys: &PartitionKeys,
        manifest: &Manifest,
        offset: i64,
        max_bytes: usize,
    ) -> Result<Bytes, ReadError> {
        let segment = manifest.find(offset).ok_or(ReadError::NotHeld(offset))?;
        let object = keys.segment(segment, Part::Log);
        let index = self.index(keys, segment).await?;
        let mut position = index.position_for(offset);
        let first = loop {
            let span = self.span_at(&object, segment, position).await?.ok_or(ReadError::NotHeld(offset))?;
            if span.last_offset >= offset {
                break span;
            }
            position += span.len as u64;
        };
        let end = (position + (max_bytes.max(first.len) as u64)).min(segment.size);
        let bytes = self.bytes(&object, segment.size, position, end).await?;
        let mut cut = 0;
        while let Some(span) = batch_at(&bytes[cut..]).map_err(|e| corrupt(&object, position + cut as u64, e))? {
            if cut + span.len > bytes.len() {
                break;
            }
            cut += span.len;
        }
        self.read_ahead(keys, manifest, segment, end);
        Ok(bytes.slice(..cut))
    }

    /// The first batch at or after `log_start` whose max timestamp is at least `timestamp`, as (its base
    /// offset, or `log_start` when it straddles it; its max timestamp), if the tier holds one.
    pub async fn offset_for_timestamp(
        &self,
        keys: &PartitionKeys,
        manifest: &Manifest,
        log_start: i64,
        timestamp: i64,
    ) -> Result<Option<(i64, i64)>, ReadError> {
        let Some(segment) =
            manifest.segments.iter().find(|s| s.next_offset > log_start && s.max_timestamp >= timestamp)
        else {
            return Ok(None);
        };
        let object = keys.segment(segment, Part::Log);
        let index = self.index(keys, segment).await?;
        let mut position = index.position_for_timestamp(timestamp);
        while let Some(span) = self.span_at(&object, segment, position).await? {
            if span.last_offset >= log_start && span.max_timestamp >= timestamp {
                return Ok(Some((span.base_offset.max(log_start), span.max_timestamp)));
            }
            position += span.len as u64;
        }
        Ok(None)
    }

    /// The batch header at `position` of a segment's object; `None` at its end.
    async fn span_at(
        &self,
        object: &str,
        segment: &RemoteSegment,
        position: u64,
    ) -> Result<Option<omnibus_commit_log::format::BatchSpan>, ReadError> {
        if position >= segment.size {
            return Ok(None);
        }
        let head = self.bytes(object, segment.size, position, (position + HEADER_LEN as u64).min(segment.size)).await?;
        match batch_at(&head).map_err(|e| corrupt(object, position, e))? {
            Some(span) if position + span.len as u64 <= segment.size => Ok(Some(span)),
            _ => Err(corrupt(object, position, "a batch runs past the end of the segment")),
        }
    }

    /// The segment's parsed indexes, cached.
    async fn index(&self, keys: &PartitionKeys, segment: &RemoteSegment) -> Result<Arc<SegmentIndex>, ReadError> {
        let object = keys.segment(segment, Part::Index);
        let load = async {
            let index = self.timed(self.store.get(&object)).await?;
            let time_index = self.timed(self.store.get(&keys.segment(segment, Part::TimeIndex))).await?;
            let parsed = SegmentIndex::parse(segment.base_offset, &index, &time_index)
                .ok_or_else(|| corrupt(&object, 0, "not a valid index"))?;
            Ok::<_, ReadError>(Value::Index(Arc::new(parsed)))
        };
        match self.cache.get_or_load(Key::Index { object: object.clone() }, load).await? {
            Value::Index(index) => Ok(index),
            Value::Chunk(_) => Err(corrupt(&object, 0, "cached as data")),
        }
    }

    /// Bytes `[start, end)` of an object of `size` bytes, from its cached chunks.
    async fn bytes(&self, object: &str, size: u64, start: u64, end: u64) -> Result<Bytes, ReadError> {
        let (first, last) = (start / CHUNK, end.saturating_sub(1) / CHUNK);
        if first == last {
            let chunk = self.chunk(object, size, first).await?;
            let from = usize::try_from(start - first * CHUNK).unwrap_or(usize::MAX).min(chunk.len());
            let to = usize::try_from(end - first * CHUNK).unwrap_or(usize::MAX).min(chunk.len());
            return Ok(chunk.slice(from..to.max(from)));
        }
        let mut out = BytesMut::with_capacity(usize::try_from(end - start).unwrap_or(0));
        for index in first..=last {
            let chunk = self.chunk(object, size, index).await?;
            let base = index * CHUNK;
            let from = usize::try_from(start.saturating_sub(base)).unwrap_or(0).min(chunk.len());
            let to = usize::try_from(end - base).unwrap_or(usize::MAX).min(chunk.len());
            out.extend_from_slice(&chunk[from..to.max(from)]);
        }
        Ok(out.freeze())
    }

    async fn chunk(&self, object: &str, size: u64, index: u64) -> Result<Bytes, ReadError> {
        let key = Key::Chunk { object: object.to_string(), index };
        let load = async {
            let range = index * CHUNK..((index + 1) * CHUNK).min(size);
            metrics::counter!("omnibus_tier_fetched_bytes_total").increment(range.end - range.start);
            Ok::<_, ReadError>(Value::Chunk(self.timed(self.store.get_range(object, range)).await?))
        };
        match self.cache.get_or_load(key, load).await? {
            Value::Chunk(bytes) => Ok(bytes),
            Value::Index(_) => Err(corrupt(object, index * CHUNK, "cached as an index")),
        }
    }

    /// Starts loading what follows byte `end` of `segment`, [`READ_AHEAD`] bytes of it, continuing into the
    /// next segments (their indexes too) when this one ends first.
    fn read_ahead(&self, keys: &PartitionKeys, manifest: &Manifest, segment: &RemoteSegment, end: u64) {
        let mut budget = READ_AHEAD;
        let mut from = end;
        let following = manifest.segments.iter().skip_while(|s| s.base_offset != segment.base_offset);
        for (n, next) in following.enumerate() {
            if budget == 0 {
                break;
            }
            let object = keys.segment(next, Part::Log);
            if n > 0 {
                from = 0;
                let index_key = Key::Index { object: keys.segment(next, Part::Index) };
                if !self.cache.contains(&index_key) {
                    let (reader, keys, next) = (self.clone_handle(), keys.clone(), next.clone());
                    tokio::spawn(async move {
                        if let Err(e) = reader.index(&keys, &next).await {
                            tracing::debug!(segment = next.base_offset, error = %e, "index read-ahead failed");
                        }
                    });
                }
            }
            let first = from.div_ceil(CHUNK);
            let last = (from + budget).min(next.size).div_ceil(CHUNK);
            budget = budget.saturating_sub(next.size.saturating_sub(from));
            for index in first..last {
                if self.cache.contains(&Key::Chunk { object: object.clone(), index }) {
                    continue;
                }
                let (reader, object, size) = (self.clone_handle(), object.clone(), next.size);
                tokio::spawn(async move {
                    if let Err(e) = reader.chunk(&object, size, index).await {
                        tracing::debug!(object, index, error = %e, "read-ahead failed");
                    }
                });
            }
        }
    }

    fn clone_handle(&self) -> Reader {
        Reader { store: self.store.clone(), cache: self.cache.clone(), timeout: self.timeout }
    }

    async fn timed<T>(&self, work: impl Future<Output = Result<T, StoreError>>) -> Result<T, ReadError> {
        tokio::time::timeout(self.timeout, work)
            .await
            .map_err(|_| ReadError::Timeout(self.timeout))?
            .map_err(Into::into)
    }
}

fn corrupt(object: &str, position: u64, reason: impl ToString) -> ReadError {
    ReadError::Corrupt { object: object.to_string(), position, reason: reason.to_string() }
}
