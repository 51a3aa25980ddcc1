//! Tenancy: the namespaces, credentials and MQTT↔Kafka mappings the fleet
//! service applied, who a connecting client is, and which live sessions a
//! change must close.
//!
//! Owns authentication (SCRAM secrets checked off the async workers),
//! the ACL, the persisted copy in `{data_dir}/metadata.json` and the live
//! session registry. It must not know any wire protocol: front ends ask it
//! for a [`Principal`] and consult the principal's [`Acl`].

pub mod acl;
pub mod model;
pub mod sessions;
mod state;
mod store;

use std::path::Path;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use omnibus_api::scram::ScramHash;
use tracing::info;

pub use acl::{Acl, AclRule, Action};
pub use model::{
    Credential, KafkaLimits, Mapping, MappingDirection, MqttLimits, Namespace, RateLimits, ScramSecret, WriteDurability,
};
pub use sessions::{KickReason, Kicked, Registration, SessionRegistry};
pub use state::StateError;
pub use store::StoreError;

use crate::meter::{Meter, MeterError};
use crate::quota::Quotas;
use state::{Effect, State};
use store::MetadataStore;

/// Who a connection authenticated as.
#[derive(Debug, Clone)]
pub struct Principal {
    credential: Arc<Credential>,
}

impl Principal {
    pub fn namespace_id(&self) -> &str {
        &self.credential.namespace_id
    }

    pub fn credential_id(&self) -> &str {
        &self.credential.id
    }

    pub fn acl(&self) -> &Acl {
        &self.credential.acl
    }
}

/// Why authentication failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("unknown user name")]
    UnknownUser,
    #[error("wrong password")]
    BadPassword,
    #[error("password check did not complete: {0}")]
    Unavailable(#[from] tokio::task::JoinError),
}

/// Why a tenancy change was not applied. Nothing changed when this is returned.
#[derive(Debug, thiserror::Error)]
pub enum TenancyError {
    #[error(transparent)]
    Conflict(#[from] StateError),
    #[error("cannot persist metadata: {0}")]
    Persist(#[from] StoreError),
    #[error("cannot meter the namespace: {0}")]
    Meter(#[from] MeterError),
}

/// The broker's tenants. Reads take a snapshot; changes are serialised,
/// persisted, then published.
pub struct Tenancy {
    state: RwLock<Arc<State>>,
    /// Held across a change and its write to disk, so files land in order.
    writer: tokio::sync::Mutex<MetadataStore>,
    sessions: Arc<SessionRegistry>,
    /// The namespaces' rate quotas, set from their plans as applied.
    quotas: Quotas,
    /// What the namespaces use; a namespace is metered from its apply on.
    meter: Arc<Meter>,
}

impl Tenancy {
    /// Loads `{data_dir}/metadata.json`, creating the directory if needed,
    /// and opens the meter in `{data_dir}/meter`.
    pub async fn open(data_dir: &Path) -> Result<Tenancy, TenancyError> {
        let dir = data_dir.join("meter");
        let meter = tokio::task::spawn_blocking(move || Meter::open(&dir, crate::meter::SLOTS))
            .await
            .map_err(|_| StoreError::Interrupted)??;
        Tenancy::open_with(data_dir, Arc::new(meter)).await
    }

    /// Loads `{data_dir}/metadata.json` and meters its namespaces with `meter`.
    pub async fn open_with(data_dir: &Path, meter: Arc<Meter>) -> Result<Tenancy, TenancyError> {
        let dir = data_dir.to_owned();
        let (store, state) = tokio::task::spawn_blocking(move || MetadataStore::open(&dir))
            .await
            .map_err(|_| StoreError::Interrupted)??;
        let quotas = Quotas::default();
        for (namespace, limits) in state.rate_limits_all() {
            meter.reserve(&namespace)?;
            quotas.set(&namespace, limits);
        }
        Ok(Tenancy {
            state: RwLock::new(Arc::new(state)),
            writer: tokio::sync::Mutex::new(store),
            sessions: Arc::new(SessionRegistry::default()),
            quotas,
            meter,
        })
    }

    /// What the namespaces use.
    pub fn meter(&self) -> &Arc<Meter> {
        &self.meter
    }

    /// The namespaces' rate quotas.
    pub fn quotas(&self) -> &Quotas {
        &self.quotas
    }

    /// The live sessions, for front ends to register in.
    pub fn sessions(&self) -> &Arc<SessionRegistry> {
        &self.sessions
    }

    pub fn namespace_count(&self) -> usize {
        self.snapshot().namespace_count()
    }

    /// Every applied namespace with its Kafka limits, for the catalog at start.
    pub fn kafka_limits_all(&self) -> Vec<(String, KafkaLimits)> {
        self.snapshot().kafka_limits_all()
    }

    /// Checks a user name and password. An unknown user costs the same
    /// PBKDF2 work as a known one, so timing does not reveal user names.
    pub async fn authenticate(&self, username: &str, password: &str) -> Result<Principal, AuthError> {
        let credential = self.snapshot().credential_by_username(username).cloned();
        let secret = credential.as_ref().map(|c| c.scram_sha256.to_api());
        let password = password.to_owned();
        let verified = tokio::task::spawn_blocking(move || match secret {
            Some(secret) => omnibus_api::scram::verify(ScramHash::Sha256, &secret, &password),
            None => {
                omnibus_api::scram::verify(ScramHash::Sha256, decoy_secret(ScramHash::Sha256), &password);
                false
            }
        })
        .await?;
        match credential {
            None => Err(AuthError::UnknownUser),
            Some(_) if !verified => Err(AuthError::BadPassword),
            Some(credential) => Ok(Principal { credential }),
        }
    }

    /// The credential behind `username` and its salted secret for `hash`, for
    /// a SCRAM exchange (which checks the client's proof itself). None for an
    /// unknown user, and for a credential that has no form for `hash` (created
    /// before the control plane derived SHA-512 forms).
    pub fn scram_credential(
        &self,
        username: &str,
        hash: ScramHash,
    ) -> Option<(Principal, omnibus_api::fleet::ScramSecret)> {
        let credential = self.snapshot().credential_by_username(username).cloned()?;
        let Some(secret) = credential.scram(hash).map(ScramSecret::to_api) else {
            info!(credential_id = %credential.id, ?hash, "credential has no SCRAM form for this hash; refused");
            return None;
        };
        Some((Principal { credential }, secret))
    }

    /// A `hash` secret to run a SCRAM exchange on for an unknown user, so the
    /// answer does not reveal that the user is unknown.
    pub fn decoy_scram(&self, hash: ScramHash) -> &'static omnibus_api::fleet::ScramSecret {
        decoy_secret(hash)
    }

    /// Whether `principal`'s credential is still applied unchanged. Front ends
    /// check this after registering a session: a change that raced with the
    /// login has either already been seen here or will kick the session.
    pub fn is_current(&self, principal: &Principal) -> bool {
        self.snapshot()
            .credential(principal.namespace_id(), principal.credential_id())
            .is_some_and(|current| Arc::ptr_eq(current, &principal.credential))
    }

    /// Whether the namespace is applied on this broker.
    pub fn has_namespace(&self, namespace_id: &str) -> bool {
        self.snapshot().namespaces.contains_key(namespace_id)
    }

    /// The MQTT limits of a namespace's plan (an unknown namespace: none).
    pub fn mqtt_limits(&self, namespace_id: &str) -> MqttLimits {
        self.snapshot().mqtt_limits(namespace_id)
    }

    /// The Kafka limits of an applied namespace (none when unknown).
    pub fn kafka_limits(&self, namespace_id: &str) -> KafkaLimits {
        self.snapshot().kafka_limits(namespace_id)
    }

    /// The write durability of an applied namespace.
    pub fn durability(&self, namespace_id: &str) -> Option<WriteDurability> {
        self.snapshot().durability(namespace_id)
    }

    /// The namespace's MQTT↔Kafka mappings as last applied, in the order
    /// applied; empty for an unknown namespace. A snapshot read: a reference
    /// count, no copy.
    pub fn mappings(&self, namespace_id: &str) -> Arc<[Mapping]> {
        self.snapshot().mappings(namespace_id)
    }

    pub async fn apply_namespace(&self, namespace: Namespace) -> Result<(), TenancyError> {
        let (id, rates) = (namespace.id.clone(), namespace.rate_limits);
        self.meter.reserve(&id)?;
        self.change(|state| Ok(state.apply_namespace(namespace))).await?;
        self.quotas.set(&id, rates);
        Ok(())
    }

    /// Deletes a namespace and closes its sessions; a missing one is fine.
    pub async fn delete_namespace(&self, namespace_id: &str) -> Result<(), TenancyError> {
        self.change(|state| Ok(state.delete_namespace(namespace_id))).await?;
        self.quotas.remove(namespace_id);
        self.meter.retire(namespace_id);
        Ok(())
    }

    /// Creates or replaces a credential; replacing it with different content
    /// closes the sessions opened with the old one.
    pub async fn apply_credential(&self, credential: Credential) -> Result<(), TenancyError> {
        self.change(|state| Ok(state.apply_credential(credential)?)).await
    }

    /// Replaces the namespace's mappings; the namespace must be applied.
    pub async fn apply_mappings(&self, namespace_id: &str, mappings: Vec<Mapping>) -> Result<(), TenancyError> {
        self.change(|state| Ok(state.apply_mappings(namespace_id, mappings)?)).await
    }

    /// Revokes a credential and closes its sessions; a missing one is fine.
    pub async fn revoke_credential(&self, namespace_id: &str, credential_id: &str) -> Result<(), TenancyError> {
        self.change(|state| Ok(state.revoke_credential(namespace_id, credential_id))).await
    }

    async fn change(&self, apply: impl FnOnce(&mut State) -> Result<Effect, TenancyError>) -> Result<(), TenancyError> {
        let store = self.writer.lock().await;
        let mut next = State::clone(&self.snapshot());
        let effect = apply(&mut next)?;
        if effect == Effect::Unchanged {
            return Ok(());
        }
        let next = Arc::new(next);
        let to_save = next.clone();
        let saver = store.clone();
        tokio::task::spawn_blocking(move || saver.save(&to_save)).await.map_err(|_| StoreError::Interrupted)??;
        *self.state.write().unwrap_or_else(PoisonError::into_inner) = next;
        drop(store);
        match effect {
            Effect::CredentialWithdrawn { namespace_id, credential_id } => {
                let closed = self.sessions.kick_credential(&namespace_id, &credential_id);
                info!(namespace = %namespace_id, credential_id = %credential_id, closed, "credential withdrawn");
            }
            Effect::NamespaceRemoved { namespace_id } => {
                let closed = self.sessions.kick_namespace(&namespace_id);
                info!(namespace = %namespace_id, closed, "namespace deleted");
            }
            Effect::Unchanged | Effect::Changed => {}
        }
        Ok(())
    }

    fn snapshot(&self) -> Arc<State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// A `hash` secret no password matches in practice, checked for unknown users.
fn decoy_secret(hash: ScramHash) -> &'static omnibus_api::fleet::ScramSecret {
    static SHA256: OnceLock<omnibus_api::fleet::ScramSecret> = OnceLock::new();
    static SHA512: OnceLock<omnibus_api::fleet::ScramSecret> = OnceLock::new();
    let decoy = match hash {
        ScramHash::Sha256 => &SHA256,
        ScramHash::Sha512 => &SHA512,
    };
    decoy.get_or_init(|| omnibus_api::scram::derive(hash, &uuid::Uuid::new_v4().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir() -> std::path::PathBuf {
        std::env::temp_dir().join(format!("omnibus-dp-tenancy-{}", uuid::Uuid::new_v4()))
    }

    fn credential(namespace_id: &str, id: &str, username: &str, password: &str) -> Credential {
        Credential {
            id: id.into(),
            namespace_id: namespace_id.into(),
            username: username.into(),
            scram_sha256: omnibus_api::scram::derive(ScramHash::Sha256, password).into(),
            scram_sha512: None,
            acl: Acl { rules: vec![AclRule { topic_filter: "#".into(), actions: vec![Action::Publish] }] },
        }
    }

    #[tokio::test]
    async fn authenticates_and_survives_a_restart() {
        let dir = temp_dir();
        let tenancy = Tenancy::open(&dir).await.unwrap();
        tenancy
            .apply_namespace(Namespace { id: "ns".into(), plan: "free".into(), ..Namespace::default() })
            .await
            .unwrap();
        tenancy.apply_credential(credential("ns", "c1", "alice", "secret")).await.unwrap();

        let principal = tenancy.authenticate("alice", "secret").await.unwrap();
        assert_eq!(principal.namespace_id(), "ns");
        assert_eq!(principal.credential_id(), "c1");
        assert!(principal.acl().may_publish("x"));
        assert!(tenancy.is_current(&principal));
        assert!(matches!(tenancy.authenticate("alice", "wrong").await, Err(AuthError::BadPassword)));
        assert!(matches!(tenancy.authenticate("bob", "secret").await, Err(AuthError::UnknownUser)));
        drop(tenancy);

        let reopened = Tenancy::open(&dir).await.unwrap();
        assert_eq!(reopened.namespace_count(), 1);
        assert!(reopened.authenticate("alice", "secret").await.is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn revoking_kicks_sessions_and_outdates_principals() {
        let dir = temp_dir();
        let tenancy = Tenancy::open(&dir).await.unwrap();
        tenancy
            .apply_namespace(Namespace { id: "ns".into(), plan: "free".into(), ..Namespace::default() })
            .await
            .unwrap();
        tenancy.apply_credential(credential("ns", "c1", "alice", "pw")).await.unwrap();
        let principal = tenancy.authenticate("alice", "pw").await.unwrap();
        let (_registration, kicked) = tenancy.sessions().register(&"ns".into(), &"client".into(), "c1", 1);
        tenancy.revoke_credential("ns", "c1").await.unwrap();
        assert_eq!(kicked.await, Ok(KickReason::CredentialWithdrawn));
        assert!(!tenancy.is_current(&principal));
        assert!(matches!(tenancy.authenticate("alice", "pw").await, Err(AuthError::UnknownUser)));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_refused_change_changes_nothing() {
        let dir = temp_dir();
        let tenancy = Tenancy::open(&dir).await.unwrap();
        let result = tenancy.apply_credential(credential("missing", "c1", "alice", "pw")).await;
        assert!(matches!(result, Err(TenancyError::Conflict(StateError::NamespaceNotFound(_)))));
        assert!(!dir.join("metadata.json").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
