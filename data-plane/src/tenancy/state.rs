//! The applied namespaces, credentials and MQTT↔Kafka mappings as one value,
//! and the pure rules for changing it.
//!
//! Owns the invariants: every credential belongs to an applied namespace and a
//! user name names at most one credential; mappings live and die with their
//! namespace. No I/O, no locking, no sessions;
//! callers persist the result and act on the returned [`Effect`]s.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::model::{Credential, KafkaLimits, Mapping, MqttLimits, Namespace, RateLimits, WriteDurability};

/// Why a change is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error("namespace {0:?} is not applied")]
    NamespaceNotFound(String),
    #[error("user name {username:?} already belongs to credential {credential_id:?} of namespace {namespace_id:?}")]
    UsernameTaken { username: String, namespace_id: String, credential_id: String },
}

/// What a change means for live connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Nothing changed: no need to persist.
    Unchanged,
    /// Persist; no connection is affected.
    Changed,
    /// Persist, then close the connections of this credential.
    CredentialWithdrawn { namespace_id: String, credential_id: String },
    /// Persist, then close every connection of this namespace.
    NamespaceRemoved { namespace_id: String },
}

/// One applied namespace with its credentials by id and its mappings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NamespaceEntry {
    pub plan: String,
    /// Absent in files written before plans carried them: the broker's own.
    #[serde(default)]
    pub mqtt_limits: MqttLimits,
    /// Absent in files written before plans carried them: none.
    #[serde(default)]
    pub kafka_limits: KafkaLimits,
    /// Absent in files written before plans carried them: none.
    #[serde(default)]
    pub rate_limits: RateLimits,
    /// Absent in files written before plans carried it: fsync.
    #[serde(default)]
    pub durability: WriteDurability,
    pub credentials: BTreeMap<String, Arc<Credential>>,
    /// In the order applied; absent in files written before mappings. Shared,
    /// so a reader's copy is a reference count (on disk, a plain array).
    #[serde(default)]
    pub mappings: Arc<[Mapping]>,
}

/// Everything applied to this broker. Cloned per change; credentials are
/// shared, so the clone is cheap and an unchanged credential keeps its
/// identity (connections compare it by pointer).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub namespaces: BTreeMap<String, NamespaceEntry>,
    #[serde(skip)]
    by_username: HashMap<String, Arc<Credential>>,
}

impl State {
    /// Rebuilds the user-name index after deserialising, checking that every
    /// credential sits under its own namespace and id and that user names are
    /// unique.
    pub fn reindex(&mut self) -> Result<(), String> {
        self.by_username.clear();
        for (namespace_id, entry) in &self.namespaces {
            for (credential_id, credential) in &entry.credentials {
                if &credential.namespace_id != namespace_id || &credential.id != credential_id {
                    return Err(format!(
                        "credential {credential_id:?} is filed under namespace {namespace_id:?} \
                         but names {:?}/{:?}",
                        credential.namespace_id, credential.id
                    ));
                }
                let previous = self.by_username.insert(credential.username.clone(), credential.clone());
                if previous.is_some() {
                    return Err(format!("user name {:?} is used twice", credential.username));
                }
            }
        }
        Ok(())
    }

    pub fn namespace_count(&self) -> usize {
        self.namespaces.len()
    }

    /// Every applied namespace with its Kafka limits.
    pub fn kafka_limits_all(&self) -> Vec<(String, KafkaLimits)> {
        self.namespaces.iter().map(|(id, entry)| (id.clone(), entry.kafka_limits)).collect()
    }

    /// Every applied namespace with its rate limits.
    pub fn rate_limits_all(&self) -> Vec<(String, RateLimits)> {
        self.namespaces.iter().map(|(id, entry)| (id.clone(), entry.rate_limits)).collect()
    }

    pub fn credential_by_username(&self, username: &str) -> Option<&Arc<Credential>> {
        self.by_username.get(username)
    }

    pub fn mqtt_limits(&self, namespace_id: &str) -> MqttLimits {
        self.namespaces.get(namespace_id).map(|entry| entry.mqtt_limits).unwrap_or_default()
    }

    pub fn kafka_limits(&self, namespace_id: &str) -> KafkaLimits {
        self.namespaces.get(namespace_id).map(|entry| entry.kafka_limits).unwrap_or_default()
    }

    pub fn durability(&self, namespace_id: &str) -> Option<WriteDurability> {
        self.namespaces.get(namespace_id).map(|entry| entry.durability)
    }

    pub fn credential(&self, namespace_id: &str, credential_id: &str) -> Option<&Arc<Credential>> {
        self.namespaces.get(namespace_id)?.credentials.get(credential_id)
    }

    /// The namespace's mappings; none for an unknown namespace.
    pub fn mappings(&self, namespace_id: &str) -> Arc<[Mapping]> {
        self.namespaces.get(namespace_id).map(|entry| entry.mappings.clone()).unwrap_or_default()
    }

    pub fn apply_namespace(&mut self, namespace: Namespace) -> Effect {
        match self.namespaces.get_mut(&namespace.id) {
            Some(entry)
                if entry.plan == namespace.plan
                    && entry.durability == namespace.durability
                    && entry.mqtt_limits == namespace.mqtt_limits
                    && entry.kafka_limits == namespace.kafka_limits
                    && entry.rate_limits == namespace.rate_limits =>
            {
                Effect::Unchanged
            }
            Some(entry) => {
                entry.plan = namespace.plan;
                entry.durability = namespace.durability;
                entry.mqtt_limits = namespace.mqtt_limits;
                entry.kafka_limits = namespace.kafka_limits;
                entry.rate_limits = namespace.rate_limits;
                Effect::Changed
            }
            None => {
                let entry = NamespaceEntry {
                    plan: namespace.plan,
                    durability: namespace.durability,
                    mqtt_limits: namespace.mqtt_limits,
                    kafka_limits: namespace.kafka_limits,
                    rate_limits: namespace.rate_limits,
                    credentials: BTreeMap::new(),
                    mappings: Arc::default(),
                };
                self.namespaces.insert(namespace.id, entry);
                Effect::Changed
            }
        }
    }

    pub fn delete_namespace(&mut self, namespace_id: &str) -> Effect {
        let Some(entry) = self.namespaces.remove(namespace_id) else {
            return Effect::Unchanged;
        };
        for credential in entry.credentials.values() {
            self.by_username.remove(&credential.username);
        }
        Effect::NamespaceRemoved { namespace_id: namespace_id.to_owned() }
    }

    /// Creates or replaces a credential. Replacing it with different content
    /// withdraws the old one, so connections made with it are closed.
    pub fn apply_credential(&mut self, credential: Credential) -> Result<Effect, StateError> {
        if let Some(owner) = self.by_username.get(&credential.username)
            && (owner.namespace_id != credential.namespace_id || owner.id != credential.id)
        {
            return Err(StateError::UsernameTaken {
                username: credential.username,
                namespace_id: owner.namespace_id.clone(),
                credential_id: owner.id.clone(),
            });
        }
        let entry = self
            .namespaces
            .get_mut(&credential.namespace_id)
            .ok_or_else(|| StateError::NamespaceNotFound(credential.namespace_id.clone()))?;
        let new = Arc::new(credential);
        let effect = match entry.credentials.insert(new.id.clone(), new.clone()) {
            Some(old) if *old == *new => {
                // Keep the existing value so live connections stay current.
                entry.credentials.insert(old.id.clone(), old);
                return Ok(Effect::Unchanged);
            }
            Some(old) => {
                self.by_username.remove(&old.username);
                Effect::CredentialWithdrawn { namespace_id: old.namespace_id.clone(), credential_id: old.id.clone() }
            }
            None => Effect::Changed,
        };
        self.by_username.insert(new.username.clone(), new);
        Ok(effect)
    }

    /// Replaces the namespace's mappings with `mappings`.
    pub fn apply_mappings(&mut self, namespace_id: &str, mappings: Vec<Mapping>) -> Result<Effect, StateError> {
        let entry = self
            .namespaces
            .get_mut(namespace_id)
            .ok_or_else(|| StateError::NamespaceNotFound(namespace_id.to_owned()))?;
        if *entry.mappings == *mappings {
            return Ok(Effect::Unchanged);
        }
        entry.mappings = mappings.into();
        Ok(Effect::Changed)
    }

    pub fn revoke_credential(&mut self, namespace_id: &str, credential_id: &str) -> Effect {
        let Some(entry) = self.namespaces.get_mut(namespace_id) else {
            return Effect::Unchanged;
        };
        let Some(old) = entry.credentials.remove(credential_id) else {
            return Effect::Unchanged;
        };
        self.by_username.remove(&old.username);
        Effect::CredentialWithdrawn { namespace_id: namespace_id.to_owned(), credential_id: credential_id.to_owned() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenancy::acl::Acl;
    use crate::tenancy::model::{MappingDirection, ScramSecret};

    fn namespace(id: &str) -> Namespace {
        Namespace { id: id.to_owned(), plan: "free".to_owned(), ..Namespace::default() }
    }

    fn credential(namespace_id: &str, id: &str, username: &str) -> Credential {
        Credential {
            id: id.to_owned(),
            namespace_id: namespace_id.to_owned(),
            username: username.to_owned(),
            scram_sha256: ScramSecret {
                salt: vec![1],
                iterations: 1,
                stored_key: vec![0; 32],
                server_key: vec![0; 32],
            },
            scram_sha512: None,
            acl: Acl::default(),
        }
    }

    #[test]
    fn applying_twice_is_applying_once() {
        let mut state = State::default();
        assert_eq!(state.apply_namespace(namespace("a")), Effect::Changed);
        assert_eq!(state.apply_namespace(namespace("a")), Effect::Unchanged);
        assert_eq!(state.apply_credential(credential("a", "c1", "u1")), Ok(Effect::Changed));
        let before = state.credential("a", "c1").cloned().unwrap();
        assert_eq!(state.apply_credential(credential("a", "c1", "u1")), Ok(Effect::Unchanged));
        assert!(Arc::ptr_eq(&before, state.credential("a", "c1").unwrap()));
    }

    #[test]
    fn a_changed_credential_withdraws_the_old_one() {
        let mut state = State::default();
        state.apply_namespace(namespace("a"));
        state.apply_credential(credential("a", "c1", "u1")).unwrap();
        let effect = state.apply_credential(credential("a", "c1", "u2")).unwrap();
        assert_eq!(effect, Effect::CredentialWithdrawn { namespace_id: "a".into(), credential_id: "c1".into() });
        assert!(state.credential_by_username("u1").is_none());
        assert_eq!(state.credential_by_username("u2").unwrap().id, "c1");
    }

    #[test]
    fn credentials_need_their_namespace_and_a_free_user_name() {
        let mut state = State::default();
        assert_eq!(state.apply_credential(credential("a", "c1", "u1")), Err(StateError::NamespaceNotFound("a".into())));
        state.apply_namespace(namespace("a"));
        state.apply_namespace(namespace("b"));
        state.apply_credential(credential("a", "c1", "u1")).unwrap();
        assert!(matches!(state.apply_credential(credential("b", "c2", "u1")), Err(StateError::UsernameTaken { .. })));
        assert!(matches!(state.apply_credential(credential("a", "c2", "u1")), Err(StateError::UsernameTaken { .. })));
    }

    #[test]
    fn revoking_and_deleting_forget_user_names() {
        let mut state = State::default();
        state.apply_namespace(namespace("a"));
        state.apply_credential(credential("a", "c1", "u1")).unwrap();
        state.apply_credential(credential("a", "c2", "u2")).unwrap();
        assert!(matches!(state.revoke_credential("a", "c1"), Effect::CredentialWithdrawn { .. }));
        assert_eq!(state.revoke_credential("a", "c1"), Effect::Unchanged);
        assert!(state.credential_by_username("u1").is_none());
        assert_eq!(state.delete_namespace("a"), Effect::NamespaceRemoved { namespace_id: "a".into() });
        assert_eq!(state.delete_namespace("a"), Effect::Unchanged);
        assert!(state.credential_by_username("u2").is_none());
        assert_eq!(state.namespace_count(), 0);
    }

    fn mapping(id: &str, mqtt_filter: &str, kafka_topic: &str) -> Mapping {
        Mapping {
            id: id.to_owned(),
            mqtt_filter: mqtt_filter.to_owned(),
            kafka_topic: kafka_topic.to_owned(),
            direction: MappingDirection::Both,
            mqtt_topic_prefix: String::new(),
        }
    }

    #[test]
    fn mappings_are_replaced_whole_and_go_with_their_namespace() {
        let mut state = State::default();
        let set = vec![mapping("m1", "#", "mqtt")];
        assert_eq!(state.apply_mappings("a", set.clone()), Err(StateError::NamespaceNotFound("a".into())));
        assert!(state.mappings("a").is_empty());
        state.apply_namespace(namespace("a"));
        assert_eq!(state.apply_mappings("a", set.clone()), Ok(Effect::Changed));
        assert_eq!(state.apply_mappings("a", set.clone()), Ok(Effect::Unchanged));
        // Re-applying the namespace keeps them.
        state.apply_namespace(Namespace { plan: "pro".into(), ..namespace("a") });
        assert_eq!(*state.mappings("a"), *set);
        let replaced = vec![mapping("m2", "a/+", "t2"), mapping("m3", "b/#", "t3")];
        assert_eq!(state.apply_mappings("a", replaced.clone()), Ok(Effect::Changed));
        assert_eq!(*state.mappings("a"), *replaced);
        assert_eq!(state.apply_mappings("a", Vec::new()), Ok(Effect::Changed));
        assert!(state.mappings("a").is_empty());
        state.apply_mappings("a", set).unwrap();
        state.delete_namespace("a");
        state.apply_namespace(namespace("a"));
        assert!(state.mappings("a").is_empty(), "a recreated namespace starts without the old mappings");
    }

    #[test]
    fn reindex_refuses_inconsistent_documents() {
        let mut state = State::default();
        state.apply_namespace(namespace("a"));
        state.apply_namespace(namespace("b"));
        state.apply_credential(credential("a", "c1", "u1")).unwrap();
        let mut copy = state.clone();
        assert!(copy.reindex().is_ok());
        let misfiled = Arc::new(credential("a", "c1", "u9"));
        copy.namespaces.get_mut("b").unwrap().credentials.insert("c1".into(), misfiled);
        assert!(copy.reindex().is_err());
        let mut duplicate = state.clone();
        let twin = Arc::new(credential("b", "c2", "u1"));
        duplicate.namespaces.get_mut("b").unwrap().credentials.insert("c2".into(), twin);
        assert!(duplicate.reindex().is_err());
    }
}
