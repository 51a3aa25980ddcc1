//! Where a tiered partition's objects live and the manifest that names them.
//!
//! A partition's objects sit under `logs/{namespace}/{topic id}-{partition}/`:
//! each copied segment as three objects (`{base:020}-{object id}.log`,
//! `.index`, `.timeindex`), and `manifest.json`, which lists the segments the
//! tier holds and the partition's log start there. The manifest is written
//! only after the objects it names, in one put, so it never names a missing
//! one; an object it does not name is an interrupted upload's, and is
//! deleted when the partition is next registered. A topic's record
//! (`topics/{namespace}/{topic id}.json`) lets a broker on an empty disk find
//! it. Owns the key layout and the manifest's format; knows nothing of
//! uploading or reading.

use bytes::Bytes;
use omnibus_commit_log::RemoteRange;
use omnibus_object_store::{ObjectStore, StoreError};
use serde::{Deserialize, Serialize};

use crate::catalog::TopicRecord;

/// The kinds of object a copied segment has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    Log,
    Index,
    TimeIndex,
}

impl Part {
    pub const ALL: [Part; 3] = [Part::Log, Part::Index, Part::TimeIndex];

    fn extension(self) -> &'static str {
        match self {
            Part::Log => "log",
            Part::Index => "index",
            Part::TimeIndex => "timeindex",
        }
    }
}

/// The keys of one partition's objects.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PartitionKeys {
    prefix: String,
}

impl PartitionKeys {
    pub fn new(namespace: &str, topic_id: uuid::Uuid, partition: i32) -> PartitionKeys {
        PartitionKeys { prefix: format!("logs/{namespace}/{topic_id}-{partition}/") }
    }

    /// Every object of the partition starts with this.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn manifest(&self) -> String {
        format!("{}manifest.json", self.prefix)
    }

    pub fn segment(&self, segment: &RemoteSegment, part: Part) -> String {
        format!("{}{:020}-{}.{}", self.prefix, segment.base_offset, segment.object, part.extension())
    }
}

/// The key of a tiered topic's record.
pub fn topic_key(namespace: &str, topic_id: uuid::Uuid) -> String {
    format!("topics/{namespace}/{topic_id}.json")
}

/// Every topic record is under this.
pub const TOPICS_PREFIX: &str = "topics/";

/// A topic's record in the object store: its name and what the catalog holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTopic {
    pub namespace: String,
    pub name: String,
    pub record: TopicRecord,
}

/// One segment the tier holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteSegment {
    pub base_offset: i64,
    pub next_offset: i64,
    pub size: u64,
    /// -1 when the batches carry no timestamps.
    pub max_timestamp: i64,
    /// Tells this copy's objects from an interrupted upload's at the same offset.
    pub object: uuid::Uuid,
    /// When it was copied (milliseconds since the epoch).
    pub uploaded_ms: i64,
}

impl RemoteSegment {
    /// The time retention measures from: its newest timestamp, else when it was copied.
    pub fn retention_timestamp(&self) -> i64 {
        if self.max_timestamp >= 0 { self.max_timestamp } else { self.uploaded_ms }
    }
}

/// What the tier holds of one partition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The partition's log start as the tier last applied it (retention, DeleteRecords).
    pub log_start: i64,
    /// Contiguous, oldest first.
    pub segments: Vec<RemoteSegment>,
}

impl Manifest {
    /// Where the next copied segment must start, if the tier holds any.
    pub fn end(&self) -> Option<i64> {
        self.segments.last().map(|s| s.next_offset)
    }

    /// The range to tell the log, `None` when the tier holds nothing.
    pub fn range(&self) -> Option<RemoteRange> {
        let first = self.segments.first()?;
        Some(RemoteRange {
            start: first.base_offset.max(self.log_start),
            end: self.end()?,
            bytes: self.segments.iter().map(|s| s.size).sum(),
        })
    }

    /// The segment holding `offset`.
    pub fn find(&self, offset: i64) -> Option<&RemoteSegment> {
        let n = self.segments.partition_point(|s| s.base_offset <= offset);
        n.checked_sub(1).map(|i| &self.segments[i]).filter(|s| offset < s.next_offset)
    }

    /// The object keys it names, the manifest's own included.
    pub fn keys(&self, keys: &PartitionKeys) -> Vec<String> {
        let mut named: Vec<String> =
            self.segments.iter().flat_map(|s| Part::ALL.map(|part| keys.segment(s, part))).collect();
        named.push(keys.manifest());
        named
    }

    /// The partition's manifest, or an empty one when it has none yet.
    pub async fn load(store: &dyn ObjectStore, keys: &PartitionKeys) -> Result<Manifest, ManifestError> {
        match store.get(&keys.manifest()).await {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| ManifestError::Parse(keys.manifest(), e)),
            Err(StoreError::NotFound(_)) => Ok(Manifest::default()),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn save(&self, store: &dyn ObjectStore, keys: &PartitionKeys) -> Result<(), ManifestError> {
        let bytes = serde_json::to_vec(self).map_err(|e| ManifestError::Parse(keys.manifest(), e))?;
        Ok(store.put(&keys.manifest(), Bytes::from(bytes)).await?)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0} is not a valid manifest: {1}")]
    Parse(String, serde_json::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(base: i64, next: i64) -> RemoteSegment {
        RemoteSegment {
            base_offset: base,
            next_offset: next,
            size: 100,
            max_timestamp: -1,
            object: uuid::Uuid::nil(),
            uploaded_ms: 7,
        }
    }

    #[test]
    fn a_manifest_finds_segments_and_states_its_range() {
        let empty = Manifest::default();
        assert_eq!((empty.end(), empty.range(), empty.find(0)), (None, None, None));
        let manifest = Manifest { log_start: 5, segments: vec![segment(0, 10), segment(10, 30)] };
        assert_eq!(manifest.range(), Some(RemoteRange { start: 5, end: 30, bytes: 200 }));
        assert_eq!(manifest.find(9).map(|s| s.base_offset), Some(0));
        assert_eq!(manifest.find(10).map(|s| s.base_offset), Some(10));
        assert_eq!(manifest.find(30), None);
        assert_eq!(manifest.segments[0].retention_timestamp(), 7);
        let keys = PartitionKeys::new("ns", uuid::Uuid::nil(), 3);
        let named = manifest.keys(&keys);
        assert_eq!(named.len(), 7);
        assert!(named.iter().all(|k| k.starts_with("logs/ns/00000000-0000-0000-0000-000000000000-3/")));
        assert!(named.contains(&"logs/ns/00000000-0000-0000-0000-000000000000-3/00000000000000000010-00000000-0000-0000-0000-000000000000.timeindex".to_string()));
    }
}
