//! The sparse per-segment indexes, in memory and in their Kafka file formats: `.index` (relative offset u32 +
//! position u32) and `.timeindex` (timestamp i64 + relative offset u32), big-endian. Owns lookups and
//! (de)serialisation only; when entries are added and when files are written is the segment's business.

const OFFSET_ENTRY: usize = 8;
const TIME_ENTRY: usize = 12;

/// Offset index: strictly increasing relative offsets and positions.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct OffsetIndex {
    entries: Vec<(u32, u32)>,
}

impl OffsetIndex {
    /// Adds an entry unless it does not move forward.
    pub fn push(&mut self, relative_offset: u32, position: u32) {
        if self.entries.last().is_none_or(|&(o, p)| relative_offset > o && position > p) {
            self.entries.push((relative_offset, position));
        }
    }

    pub fn last(&self) -> Option<(u32, u32)> {
        self.entries.last().copied()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The last entry at or below `relative_offset`.
    pub fn floor(&self, relative_offset: u32) -> Option<(u32, u32)> {
        let n = self.entries.partition_point(|&(o, _)| o <= relative_offset);
        n.checked_sub(1).map(|i| self.entries[i])
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.entries.len() * OFFSET_ENTRY);
        for &(o, p) in &self.entries {
            out.extend_from_slice(&o.to_be_bytes());
            out.extend_from_slice(&p.to_be_bytes());
        }
        out
    }

    /// Parses a file's contents; `None` when the size or ordering is wrong.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if !bytes.len().is_multiple_of(OFFSET_ENTRY) {
            return None;
        }
        let mut index = Self::default();
        for chunk in bytes.chunks_exact(OFFSET_ENTRY) {
            let o = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
            let p = u32::from_be_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]);
            let before = index.entries.len();
            index.push(o, p);
            if index.entries.len() == before {
                return None;
            }
        }
        Some(index)
    }
}

/// Time index: strictly increasing timestamps (the running max of batch max timestamps) and relative offsets.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct TimeIndex {
    entries: Vec<(i64, u32)>,
}

impl TimeIndex {
    /// Adds an entry unless it does not move forward.
    pub fn push(&mut self, timestamp: i64, relative_offset: u32) {
        if self.entries.last().is_none_or(|&(t, o)| timestamp > t && relative_offset > o) {
            self.entries.push((timestamp, relative_offset));
        }
    }

    pub fn last(&self) -> Option<(i64, u32)> {
        self.entries.last().copied()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The last entry whose timestamp is below `timestamp`: every batch up to its offset is older.
    pub fn last_below(&self, timestamp: i64) -> Option<(i64, u32)> {
        let n = self.entries.partition_point(|&(t, _)| t < timestamp);
        n.checked_sub(1).map(|i| self.entries[i])
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.entries.len() * TIME_ENTRY);
        for &(t, o) in &self.entries {
            out.extend_from_slice(&t.to_be_bytes());
            out.extend_from_slice(&o.to_be_bytes());
        }
        out
    }

    /// Parses a file's contents; `None` when the size or ordering is wrong.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if !bytes.len().is_multiple_of(TIME_ENTRY) {
            return None;
        }
        let mut index = Self::default();
        for chunk in bytes.chunks_exact(TIME_ENTRY) {
            let mut t = [0u8; 8];
            t.copy_from_slice(&chunk[..8]);
            let o = u32::from_be_bytes([chunk[8], chunk[9], chunk[10], chunk[11]]);
            let before = index.entries.len();
            index.push(i64::from_be_bytes(t), o);
            if index.entries.len() == before {
                return None;
            }
        }
        Some(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_index_lookup_and_round_trip() {
        let mut i = OffsetIndex::default();
        i.push(0, 0);
        i.push(10, 4096);
        i.push(10, 5000);
        i.push(25, 8200);
        assert_eq!(i.len(), 3);
        assert_eq!(i.floor(0), Some((0, 0)));
        assert_eq!(i.floor(24), Some((10, 4096)));
        assert_eq!(i.floor(99), Some((25, 8200)));
        assert_eq!(OffsetIndex::from_bytes(&i.to_bytes()), Some(i.clone()));
        assert_eq!(OffsetIndex::from_bytes(&i.to_bytes()[..12]), None);
        let mut swapped = i.to_bytes();
        swapped.rotate_left(8);
        assert_eq!(OffsetIndex::from_bytes(&swapped), None);
    }

    #[test]
    fn time_index_lookup_and_round_trip() {
        let mut t = TimeIndex::default();
        assert_eq!(t.last_below(5), None);
        t.push(100, 0);
        t.push(100, 3);
        t.push(200, 5);
        assert_eq!(t.len(), 2);
        assert_eq!(t.last_below(100), None);
        assert_eq!(t.last_below(150), Some((100, 0)));
        assert_eq!(t.last_below(201), Some((200, 5)));
        assert_eq!(TimeIndex::from_bytes(&t.to_bytes()), Some(t.clone()));
        assert_eq!(TimeIndex::from_bytes(&[0; 13]), None);
    }
}
