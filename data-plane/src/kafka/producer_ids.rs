//! Producer ids for idempotent producers: unique over the broker's whole lifetime, across restarts.
//!
//! Ids are reserved in blocks of [`BLOCK`]: `{data_dir}/producer-ids.json` holds the end of the last
//! reserved block, replaced atomically (`durable_file`) before any id of a new block is handed out, so a
//! restart resumes after it and never repeats an id (at most one block's unused ids are skipped).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use crate::durable_file;

const FILE_NAME: &str = "producer-ids.json";
/// Ids reserved per write of the file.
const BLOCK: i64 = 1000;

#[derive(Debug, thiserror::Error)]
pub enum ProducerIdError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path} is not a valid producer id document: {source}")]
    Parse { path: PathBuf, source: serde_json::Error },
    #[error("producer ids are exhausted")]
    Exhausted,
}

/// What the file holds.
#[derive(Debug, Serialize, Deserialize)]
struct Document {
    /// No id at or above this was ever handed out.
    reserved_until: i64,
}

/// The ids of the current block still to hand out: `next..end`.
struct Block {
    next: i64,
    end: i64,
}

pub struct ProducerIds {
    dir: PathBuf,
    block: Mutex<Block>,
}

impl ProducerIds {
    /// Loads the reservation mark from `data_dir` (none yet: ids start at 0). Blocking.
    pub fn open(data_dir: &Path) -> Result<ProducerIds, ProducerIdError> {
        let path = data_dir.join(FILE_NAME);
        let reserved_until = match fs::read(&path) {
            Ok(bytes) => {
                let document: Document =
                    serde_json::from_slice(&bytes).map_err(|source| ProducerIdError::Parse { path, source })?;
                document.reserved_until
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
            Err(source) => return Err(ProducerIdError::Io { path, source }),
        };
        let block = Block { next: reserved_until, end: reserved_until };
        Ok(ProducerIds { dir: data_dir.to_path_buf(), block: Mutex::new(block) })
    }

    /// A producer id never handed out before. Blocking: writes and fsyncs the file once per [`BLOCK`] ids.
    pub fn allocate(&self) -> Result<i64, ProducerIdError> {
        let mut block = self.block.lock().unwrap_or_else(PoisonError::into_inner);
        if block.next == block.end {
            let end = block.end.checked_add(BLOCK).ok_or(ProducerIdError::Exhausted)?;
            let bytes = serde_json::to_vec(&Document { reserved_until: end })
                .map_err(|source| ProducerIdError::Parse { path: self.dir.join(FILE_NAME), source })?;
            durable_file::replace(&self.dir, FILE_NAME, &bytes)
                .map_err(|source| ProducerIdError::Io { path: self.dir.join(FILE_NAME), source })?;
            block.end = end;
        }
        let id = block.next;
        block.next += 1;
        Ok(id)
    }

    /// Whether `id` may have been handed out by this broker.
    pub fn issued(&self, id: i64) -> bool {
        (0..self.block.lock().unwrap_or_else(PoisonError::into_inner).next).contains(&id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_across_reopens_and_reserved_in_blocks() {
        let dir = std::env::temp_dir().join(format!("omnibus-producer-ids-{}", uuid::Uuid::new_v4()));
        assert!(fs::create_dir_all(&dir).is_ok());
        let ids = match ProducerIds::open(&dir) {
            Ok(ids) => ids,
            Err(e) => panic!("open: {e}"),
        };
        let first: Vec<_> = (0..3).filter_map(|_| ids.allocate().ok()).collect();
        assert_eq!(first, [0, 1, 2]);
        assert!(ids.issued(2) && !ids.issued(3) && !ids.issued(-1));
        let saved = fs::read_to_string(dir.join(FILE_NAME)).unwrap_or_default();
        assert_eq!(saved, format!(r#"{{"reserved_until":{BLOCK}}}"#));
        drop(ids);
        let reopened = match ProducerIds::open(&dir) {
            Ok(ids) => ids,
            Err(e) => panic!("reopen: {e}"),
        };
        assert_eq!(reopened.allocate().ok(), Some(BLOCK));
        assert!(reopened.issued(0) && reopened.issued(BLOCK) && !reopened.issued(BLOCK + 1));
        let _ = fs::remove_dir_all(&dir);
    }
}
