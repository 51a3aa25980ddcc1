//! A broker starting on an empty disk against an object store that holds
//! tiered topics: their records and manifests become its catalog and empty
//! partition logs that continue where the store's copies end, so it serves
//! the whole remote history. Runs once, before the catalog opens; a data
//! directory that has a catalog is left alone.

use std::path::Path;

use omnibus_commit_log::{LogConfig, PartitionLog};
use omnibus_object_store::{ObjectStore, StoreError};
use tracing::info;

use super::manifest::{Manifest, PartitionKeys, StoredTopic, TOPICS_PREFIX};
use super::{OP_TIMEOUT, TierError, timed_by};
use crate::catalog::Catalog;

/// Seeds `data_dir` from the store when it has no catalog; returns how many topics it adopted.
pub async fn adopt(store: &dyn ObjectStore, data_dir: &Path) -> Result<usize, TierError> {
    if Catalog::exists(data_dir) {
        return Ok(0);
    }
    let mut topics = Vec::new();
    for object in timed_by(OP_TIMEOUT, store.list(TOPICS_PREFIX)).await? {
        let body = timed_by(OP_TIMEOUT, store.get(&object.key)).await?;
        let stored: StoredTopic = serde_json::from_slice(&body)
            .map_err(|e| StoreError::Backend(format!("{} is not a topic record: {e}", object.key)))?;
        for index in 0..stored.record.partitions {
            let keys = PartitionKeys::new(&stored.namespace, stored.record.id, index);
            let end = timed_by(OP_TIMEOUT, Manifest::load(store, &keys)).await?.end().unwrap_or(0);
            let dir = Catalog::partition_dir(data_dir, &stored.namespace, stored.record.id, index);
            tokio::task::spawn_blocking(move || PartitionLog::open_at(&dir, LogConfig::default(), end).map(drop))
                .await
                .map_err(|e| StoreError::Io(std::io::Error::other(e)))??;
        }
        info!(namespace = %stored.namespace, topic = %stored.name, partitions = stored.record.partitions, "adopting a tiered topic from the object store");
        topics.push((stored.namespace, stored.name, stored.record));
    }
    let adopted = topics.len();
    if adopted > 0 {
        let dir = data_dir.to_path_buf();
        tokio::task::spawn_blocking(move || Catalog::seed(&dir, topics))
            .await
            .map_err(|e| StoreError::Io(std::io::Error::other(e)))?
            .map_err(|e| StoreError::Io(std::io::Error::other(e.to_string())))?;
    }
    Ok(adopted)
}
