//! The stored formats for readers outside the log — the remote tier, which holds copies of closed
//! segments and their indexes as objects: parsing a segment's `.index` and `.timeindex` and walking the
//! batches of a segment's bytes. Owns no files and no state; the formats themselves are `batch`'s and
//! `index`'s.

use crate::batch::{self, BatchError, HEADER_LEN};
use crate::index::{OffsetIndex, TimeIndex};

/// What a reader needs of one stored batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchSpan {
    pub base_offset: i64,
    pub last_offset: i64,
    /// The whole batch's length in bytes.
    pub len: usize,
    pub max_timestamp: i64,
}

/// The batch at the start of `buf`: `Ok(None)` when `buf` is too short to hold its header.
pub fn batch_at(buf: &[u8]) -> Result<Option<BatchSpan>, BatchError> {
    if buf.len() < HEADER_LEN {
        return Ok(None);
    }
    let header = batch::parse_header(buf)?;
    Ok(Some(BatchSpan {
        base_offset: header.base_offset,
        last_offset: header.last_offset(),
        len: header.len,
        max_timestamp: header.max_timestamp,
    }))
}

/// A segment's sparse offset index, from its `.index` bytes.
#[derive(Debug, Clone)]
pub struct SegmentIndex {
    base_offset: i64,
    index: OffsetIndex,
    time_index: TimeIndex,
}

impl SegmentIndex {
    /// `None` when either file's bytes are not a valid index.
    pub fn parse(base_offset: i64, index: &[u8], time_index: &[u8]) -> Option<SegmentIndex> {
        Some(SegmentIndex {
            base_offset,
            index: OffsetIndex::from_bytes(index)?,
            time_index: TimeIndex::from_bytes(time_index)?,
        })
    }

    /// A batch boundary at or before the batch holding `offset`.
    pub fn position_for(&self, offset: i64) -> u64 {
        let relative = u32::try_from((offset - self.base_offset).max(0)).unwrap_or(u32::MAX);
        self.index.floor(relative).map_or(0, |(_, p)| u64::from(p))
    }

    /// A batch boundary at or before the first batch whose max timestamp can be at least `timestamp`.
    pub fn position_for_timestamp(&self, timestamp: i64) -> u64 {
        let offset =
            self.time_index.last_below(timestamp).map_or(self.base_offset, |(_, o)| self.base_offset + i64::from(o));
        self.position_for(offset)
    }

    /// The bytes this index holds in memory, about.
    pub fn weight(&self) -> usize {
        (self.index.len() * 8) + (self.time_index.len() * 12) + 64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::tests::batch;

    #[test]
    fn batches_and_indexes_read_back_from_bytes() {
        let mut first = batch(3, 1_000);
        batch::set_base_offset(&mut first, 100);
        let mut second = batch(2, 2_000);
        batch::set_base_offset(&mut second, 103);
        let mut bytes = first.clone();
        bytes.extend_from_slice(&second);
        let a = batch_at(&bytes).unwrap().unwrap();
        assert_eq!((a.base_offset, a.last_offset, a.len), (100, 102, first.len()));
        let b = batch_at(&bytes[a.len..]).unwrap().unwrap();
        assert_eq!((b.base_offset, b.last_offset, b.max_timestamp), (103, 104, 2_001), "a batch of two from 2000");
        assert_eq!(batch_at(&bytes[..HEADER_LEN - 1]).unwrap(), None, "too short to tell");
        assert!(batch_at(&[0xff; HEADER_LEN]).is_err());

        let mut index = OffsetIndex::default();
        index.push(0, 0);
        index.push(3, u32::try_from(first.len()).unwrap());
        let mut time = TimeIndex::default();
        time.push(1_000, 0);
        time.push(2_000, 3);
        let parsed = SegmentIndex::parse(100, &index.to_bytes(), &time.to_bytes()).unwrap();
        assert_eq!(parsed.position_for(101), 0);
        assert_eq!(parsed.position_for(104), first.len() as u64);
        assert_eq!(parsed.position_for_timestamp(1_500), 0);
        assert_eq!(parsed.position_for_timestamp(2_500), first.len() as u64);
        assert!(SegmentIndex::parse(100, &[1, 2, 3], &[]).is_none());
    }
}
