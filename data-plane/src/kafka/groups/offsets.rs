//! Committed offsets of one namespace's groups, persisted in
//! `{data_dir}/groups/{namespace, escaped}.json` and replaced atomically (and
//! fsynced) by `durable_file::replace` on every change, before the change is
//! visible or acknowledged.
//!
//! Owns the file format and the file; knows nothing of group membership or
//! the wire protocol. Blocking I/O: async callers run `save` and `load_all`
//! off the async workers.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

const SUFFIX: &str = ".json";

#[derive(Debug, thiserror::Error)]
pub enum OffsetsError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path} is not a valid offsets file: {source}")]
    Parse { path: PathBuf, source: serde_json::Error },
}

/// One committed position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Committed {
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: Option<String>,
}

/// topic → partition → committed position.
pub type GroupOffsets = BTreeMap<String, BTreeMap<i32, Committed>>;

/// What one namespace's file holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    pub namespace: String,
    /// group id → its offsets; a group with no offsets is not kept.
    pub groups: BTreeMap<String, GroupOffsets>,
}

impl Document {
    pub fn new(namespace: &str) -> Document {
        Document { namespace: namespace.to_string(), groups: BTreeMap::new() }
    }

    /// This document with `commits` ((topic, partition, position)) applied to `group`.
    pub fn with_commits(&self, group: &str, commits: &[(String, i32, Committed)]) -> Document {
        let mut next = self.clone();
        let offsets = next.groups.entry(group.to_string()).or_default();
        for (topic, partition, committed) in commits {
            offsets.entry(topic.clone()).or_default().insert(*partition, committed.clone());
        }
        next
    }

    /// This document without `group`.
    pub fn without(&self, group: &str) -> Document {
        let mut next = self.clone();
        next.groups.remove(group);
        next
    }
}

/// The file name of a namespace's offsets: the id with every byte outside
/// `[A-Za-z0-9_-]` written as `%XX`, so any id is one safe file name.
pub fn file_name(namespace: &str) -> String {
    let mut name = String::with_capacity(namespace.len() + SUFFIX.len());
    for byte in namespace.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-' {
            name.push(char::from(byte));
        } else {
            name.push_str(&format!("%{byte:02X}"));
        }
    }
    name.push_str(SUFFIX);
    name
}

/// Writes `document` durably (see the module docs).
pub fn save(dir: &Path, document: &Document) -> Result<(), OffsetsError> {
    let name = file_name(&document.namespace);
    let path = dir.join(&name);
    let io_error = |source| OffsetsError::Io { path: path.clone(), source };
    fs::create_dir_all(dir).map_err(io_error)?;
    let bytes = serde_json::to_vec(document).map_err(|e| io_error(io::Error::other(e)))?;
    crate::durable_file::replace(dir, &name, &bytes).map_err(io_error)
}

/// Removes a namespace's file; a missing one is fine.
pub fn remove(dir: &Path, namespace: &str) -> Result<(), OffsetsError> {
    let path = dir.join(file_name(namespace));
    match fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(OffsetsError::Io { path, source }),
    }
}

/// Every namespace's document in `dir` (none when `dir` does not exist).
pub fn load_all(dir: &Path) -> Result<Vec<Document>, OffsetsError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(OffsetsError::Io { path: dir.to_path_buf(), source }),
    };
    let mut documents = Vec::new();
    for entry in entries {
        let path = entry.map_err(|source| OffsetsError::Io { path: dir.to_path_buf(), source })?.path();
        if !path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with(SUFFIX)) {
            continue; // e.g. a temporary file left by a crash during `replace`
        }
        let bytes = fs::read(&path).map_err(|source| OffsetsError::Io { path: path.clone(), source })?;
        let document = serde_json::from_slice(&bytes).map_err(|source| OffsetsError::Parse { path, source })?;
        documents.push(document);
    }
    Ok(documents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_survive_a_reload_and_removal_is_idempotent() {
        let dir = std::env::temp_dir().join(format!("omnibus-dp-offsets-{}", uuid::Uuid::new_v4()));
        assert!(load_all(&dir).unwrap().is_empty());
        let committed = |offset| Committed { offset, leader_epoch: 0, metadata: Some("m".into()) };
        let a = Document::new("ns/a")
            .with_commits("g1", &[("orders".into(), 0, committed(5)), ("orders".into(), 3, committed(9))])
            .with_commits("g1", &[("orders".into(), 0, committed(7))])
            .with_commits("g2", &[("x".into(), 1, committed(1))]);
        let b = Document::new("b").with_commits("g1", &[("orders".into(), 0, committed(1))]);
        save(&dir, &a).unwrap();
        save(&dir, &b).unwrap();
        fs::write(dir.join("leftover.json.tmp"), b"{").unwrap();
        let mut loaded = load_all(&dir).unwrap();
        loaded.sort_by(|x, y| x.namespace.cmp(&y.namespace));
        assert_eq!(loaded, vec![b.clone(), a.clone()]);
        assert_eq!(loaded[1].groups["g1"]["orders"][&0].offset, 7);
        assert_eq!(file_name("ns/a"), "ns%2Fa.json");
        save(&dir, &a.without("g1")).unwrap();
        remove(&dir, "b").unwrap();
        remove(&dir, "b").unwrap();
        let loaded = load_all(&dir).unwrap();
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[0].groups.keys().collect::<Vec<_>>(), ["g2"]);
        fs::remove_dir_all(dir).unwrap();
    }
}
