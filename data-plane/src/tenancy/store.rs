//! `{data_dir}/metadata.json`: the applied tenancy state on disk, so a
//! restarted broker serves its tenants before the control plane reconnects.
//!
//! Owns the file format; `durable_file` does the atomic replace. Blocking std I/O: callers run it off the async
//! workers. Knows nothing of what the state means.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::state::State;

const FILE_NAME: &str = "metadata.json";
/// Bumped when the document changes incompatibly.
const FORMAT_VERSION: u32 = 1;

/// Why the metadata cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create data directory {path}: {source}")]
    CreateDir { path: PathBuf, source: io::Error },
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("{path} is not a valid metadata document: {source}")]
    Parse { path: PathBuf, source: serde_json::Error },
    #[error("{path} has format version {found}; this broker reads version {FORMAT_VERSION}")]
    UnsupportedVersion { path: PathBuf, found: u32 },
    #[error("{path} is inconsistent: {reason}")]
    Inconsistent { path: PathBuf, reason: String },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("the metadata writer stopped before finishing")]
    Interrupted,
}

#[derive(Serialize)]
struct DocumentRef<'a> {
    version: u32,
    #[serde(flatten)]
    state: &'a State,
}

#[derive(Deserialize)]
struct Document {
    version: u32,
    #[serde(flatten)]
    state: State,
}

/// Where the metadata lives.
#[derive(Debug, Clone)]
pub struct MetadataStore {
    dir: PathBuf,
}

impl MetadataStore {
    /// Creates the directory if needed and reads the state; a missing file is
    /// an empty state.
    pub fn open(dir: &Path) -> Result<(MetadataStore, State), StoreError> {
        fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir { path: dir.to_owned(), source })?;
        let store = MetadataStore { dir: dir.to_owned() };
        let path = store.path();
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((store, State::default())),
            Err(source) => return Err(StoreError::Read { path, source }),
        };
        let document: Document =
            serde_json::from_slice(&bytes).map_err(|source| StoreError::Parse { path: path.clone(), source })?;
        if document.version != FORMAT_VERSION {
            return Err(StoreError::UnsupportedVersion { path, found: document.version });
        }
        let mut state = document.state;
        state.reindex().map_err(|reason| StoreError::Inconsistent { path, reason })?;
        Ok((store, state))
    }

    /// Replaces the file with `state`, durably: after this returns, a crash
    /// leaves either the old or the new document, never a torn one.
    pub fn save(&self, state: &State) -> Result<(), StoreError> {
        let path = self.path();
        let write_error = |source| StoreError::Write { path: path.clone(), source };
        let document = DocumentRef { version: FORMAT_VERSION, state };
        let bytes = serde_json::to_vec_pretty(&document).map_err(|e| write_error(io::Error::other(e)))?;
        crate::durable_file::replace(&self.dir, FILE_NAME, &bytes).map_err(write_error)
    }

    fn path(&self) -> PathBuf {
        self.dir.join(FILE_NAME)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenancy::acl::{Acl, AclRule, Action};
    use crate::tenancy::model::{Credential, Mapping, MappingDirection, Namespace, ScramSecret, WriteDurability};

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("omnibus-dp-{name}-{}", uuid::Uuid::new_v4()));
        assert!(!dir.exists());
        dir
    }

    fn sample_state() -> State {
        let mut state = State::default();
        state.apply_namespace(Namespace { id: "ns-1".into(), plan: "free".into(), ..Namespace::default() });
        state.apply_namespace(Namespace {
            id: "ns-2".into(),
            plan: "pro".into(),
            durability: WriteDurability::Interval { flush_interval_ms: 250 },
            mqtt_limits: crate::tenancy::MqttLimits { max_connections: Some(3), ..Default::default() },
            kafka_limits: crate::tenancy::KafkaLimits { max_topics: Some(7), ..Default::default() },
            rate_limits: crate::tenancy::RateLimits { messages_in_per_second: Some(50), ..Default::default() },
        });
        let credential = Credential {
            id: "cred-1".into(),
            namespace_id: "ns-1".into(),
            username: "alice".into(),
            scram_sha256: ScramSecret {
                salt: vec![1, 2, 3],
                iterations: 4096,
                stored_key: vec![7; 32],
                server_key: vec![9; 32],
            },
            scram_sha512: Some(ScramSecret {
                salt: vec![4, 5, 6],
                iterations: 4096,
                stored_key: vec![7; 64],
                server_key: vec![9; 64],
            }),
            acl: Acl {
                rules: vec![AclRule { topic_filter: "a/#".into(), actions: vec![Action::Publish, Action::Subscribe] }],
            },
        };
        state.apply_credential(credential).unwrap();
        let mapping = Mapping {
            id: "map-1".into(),
            mqtt_filter: "#".into(),
            kafka_topic: "mqtt".into(),
            direction: MappingDirection::MqttToKafka,
            mqtt_topic_prefix: "plant/".into(),
        };
        state.apply_mappings("ns-1", vec![mapping]).unwrap();
        state
    }

    #[test]
    fn a_missing_file_is_an_empty_state_and_the_directory_is_created() {
        let dir = temp_dir("empty").join("nested");
        let (_, state) = MetadataStore::open(&dir).unwrap();
        assert_eq!(state, State::default());
        assert!(dir.is_dir());
        fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    }

    #[test]
    fn saved_state_reads_back_equal() {
        let dir = temp_dir("roundtrip");
        let (store, _) = MetadataStore::open(&dir).unwrap();
        let state = sample_state();
        store.save(&state).unwrap();
        store.save(&state).unwrap();
        let (_, loaded) = MetadataStore::open(&dir).unwrap();
        assert_eq!(loaded, state);
        assert_eq!(loaded.credential_by_username("alice").unwrap().id, "cred-1");
        assert!(!dir.join(format!("{FILE_NAME}.tmp")).exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_file_from_before_sha512_forms_still_loads() {
        fn strip(value: &mut serde_json::Value) {
            match value {
                serde_json::Value::Object(map) => {
                    map.remove("scram_sha512");
                    map.values_mut().for_each(strip);
                }
                serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
                _ => {}
            }
        }
        let dir = temp_dir("pre-sha512");
        let (store, _) = MetadataStore::open(&dir).unwrap();
        store.save(&sample_state()).unwrap();
        let mut document: serde_json::Value = serde_json::from_slice(&fs::read(dir.join(FILE_NAME)).unwrap()).unwrap();
        strip(&mut document);
        fs::write(dir.join(FILE_NAME), serde_json::to_vec(&document).unwrap()).unwrap();
        let (_, loaded) = MetadataStore::open(&dir).unwrap();
        let alice = loaded.credential_by_username("alice").unwrap();
        assert_eq!(alice.scram_sha512, None);
        assert_eq!(alice.scram_sha256.stored_key, vec![7; 32]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_file_from_before_mappings_still_loads() {
        let dir = temp_dir("pre-mappings");
        let (store, _) = MetadataStore::open(&dir).unwrap();
        store.save(&sample_state()).unwrap();
        let mut document: serde_json::Value = serde_json::from_slice(&fs::read(dir.join(FILE_NAME)).unwrap()).unwrap();
        assert_eq!(document["namespaces"]["ns-1"]["mappings"][0]["direction"], "mqtt_to_kafka");
        for entry in document["namespaces"].as_object_mut().unwrap().values_mut() {
            entry.as_object_mut().unwrap().remove("mappings");
        }
        fs::write(dir.join(FILE_NAME), serde_json::to_vec(&document).unwrap()).unwrap();
        let (_, loaded) = MetadataStore::open(&dir).unwrap();
        assert!(loaded.mappings("ns-1").is_empty());
        assert_eq!(loaded.credential_by_username("alice").unwrap().id, "cred-1");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_mapping_from_before_topic_prefixes_has_none() {
        let dir = temp_dir("pre-prefix");
        let (store, _) = MetadataStore::open(&dir).unwrap();
        store.save(&sample_state()).unwrap();
        let mut document: serde_json::Value = serde_json::from_slice(&fs::read(dir.join(FILE_NAME)).unwrap()).unwrap();
        let mapping = &mut document["namespaces"]["ns-1"]["mappings"][0];
        assert_eq!(mapping["mqtt_topic_prefix"], "plant/");
        mapping.as_object_mut().unwrap().remove("mqtt_topic_prefix");
        fs::write(dir.join(FILE_NAME), serde_json::to_vec(&document).unwrap()).unwrap();
        let (_, loaded) = MetadataStore::open(&dir).unwrap();
        assert_eq!(loaded.mappings("ns-1")[0].mqtt_topic_prefix, "");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn refuses_a_corrupt_or_future_document() {
        let dir = temp_dir("corrupt");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(FILE_NAME), b"{not json").unwrap();
        assert!(matches!(MetadataStore::open(&dir), Err(StoreError::Parse { .. })));
        fs::write(dir.join(FILE_NAME), br#"{"version": 2, "namespaces": {}}"#).unwrap();
        assert!(matches!(MetadataStore::open(&dir), Err(StoreError::UnsupportedVersion { found: 2, .. })));
        fs::remove_dir_all(&dir).unwrap();
    }
}
