//! The reconciler: makes each region's fleet hold what the database says.
//!
//! Level-triggered and idempotent: a pass over an instance re-applies its
//! namespace, its MQTT↔Kafka mappings (the whole set) and its credentials
//! whatever the fleet already has, deletes what is marked for deletion, and
//! writes the observed status back. Handlers `kick` it for the instances they
//! change (and may wait for the pass to finish); a periodic resync re-applies
//! everything, which repairs a restarted broker or a call that failed. Failed passes are retried with backoff.
//! Several control planes may share the database: a pass first takes the
//! instance's lease there, so passes over one instance never overlap.
//!
//! Owns all traffic to the fleets; never answers HTTP.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use omnibus_api::fleet::{
    self, AclRule, ApplyCredentialRequest, ApplyMappingsRequest, ApplyNamespaceRequest, DeleteNamespaceRequest,
    HealthRequest, RevokeCredentialRequest,
};
use omnibus_api::rest::{self, Endpoints};
use tokio::sync::{Notify, broadcast};
use tracing::{Instrument, Span};

use crate::clock::now_ms;
use crate::fleet::Fleets;
use crate::plans;
use crate::secrets;
use crate::store::{CredentialRow, CredentialState, InstanceRow, MappingRow, Store};

const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How long a pass may hold an instance's lease before another control plane
/// takes it for dead: far longer than a pass takes (each fleet call times out
/// after 5 s).
const LEASE_MS: i64 = 60_000;

/// The handle handlers use; cheap to clone.
#[derive(Clone)]
pub struct Reconciler {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    fleets: Fleets,
    resync: Duration,
    /// Instances to reconcile next, with the span and the number of the
    /// latest kick that asked for it (0 for resyncs and retries).
    dirty: Mutex<HashMap<String, (Span, u64)>>,
    /// Numbers kicks, so a waiter is released only by a pass that started
    /// after its kick (and so saw its change).
    kicks: AtomicU64,
    /// Consecutive failures per instance, for backoff.
    failures: Mutex<HashMap<String, u32>>,
    wake: Notify,
    /// Announces every finished pass: the instance and the kick it served.
    done: broadcast::Sender<(String, u64)>,
    /// This process as a lease holder.
    holder: String,
}

#[derive(Debug, thiserror::Error)]
enum PassError {
    #[error("the instance is placed on no fleet")]
    NoFleet,
    #[error(transparent)]
    BadEndpoint(#[from] crate::fleet::EndpointError),
    #[error("fleet unreachable: {0}")]
    Unavailable(String),
    #[error("fleet refused: {0}")]
    Refused(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
}

impl From<tonic::Status> for PassError {
    fn from(status: tonic::Status) -> Self {
        match status.code() {
            // ResourceExhausted: a quota (a mapping whose Kafka topic the
            // instance has no room for); the reason names it.
            tonic::Code::InvalidArgument
            | tonic::Code::FailedPrecondition
            | tonic::Code::PermissionDenied
            | tonic::Code::ResourceExhausted => PassError::Refused(status.message().to_string()),
            _ => PassError::Unavailable(format!("{:?}: {}", status.code(), status.message())),
        }
    }
}

impl Reconciler {
    pub fn new(store: Store, fleets: Fleets, resync: Duration) -> Reconciler {
        let (done, _) = broadcast::channel(1024);
        Reconciler {
            inner: Arc::new(Inner {
                store,
                fleets,
                resync,
                dirty: Mutex::new(HashMap::new()),
                failures: Mutex::new(HashMap::new()),
                kicks: AtomicU64::new(0),
                holder: uuid::Uuid::now_v7().to_string(),
                wake: Notify::new(),
                done,
            }),
        }
    }

    /// Asks for a pass over `instance_id`, traced as a child of the current
    /// span; returns the kick's number.
    pub fn kick(&self, instance_id: &str) -> u64 {
        let kick = self.inner.kicks.fetch_add(1, Ordering::SeqCst) + 1;
        lock(&self.inner.dirty).insert(instance_id.to_string(), (Span::current(), kick));
        self.inner.wake.notify_one();
        kick
    }

    /// Kicks a pass over the instance and waits (at most `timeout`) until it
    /// has finished, successfully or not.
    pub async fn kick_and_wait(&self, instance_id: &str, timeout: Duration) {
        let mut done = self.inner.done.subscribe();
        let kick = self.kick(instance_id);
        let wait = async {
            loop {
                match done.recv().await {
                    Ok((id, served)) if id == instance_id && served >= kick => return,
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        };
        let _ = tokio::time::timeout(timeout, wait).await;
    }

    /// Runs until `shutdown` resolves.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut resync = tokio::time::interval(self.inner.resync);
        resync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut shutdown => return,
                _ = self.inner.wake.notified() => {}
                _ = resync.tick() => self.queue_everything().await,
            }
            let batch: Vec<(String, (Span, u64))> = lock(&self.inner.dirty).drain().collect();
            for (id, (parent, kick)) in batch {
                let span = tracing::info_span!(parent: &parent, "reconcile", instance = %id);
                self.pass(&id).instrument(span).await;
                let _ = self.inner.done.send((id, kick));
            }
        }
    }

    async fn queue_everything(&self) {
        match self.inner.store.all_instance_ids().await {
            Ok(ids) => {
                let mut dirty = lock(&self.inner.dirty);
                for id in ids {
                    dirty.entry(id).or_insert_with(|| (Span::none(), 0));
                }
            }
            Err(e) => tracing::warn!(error = %e, "resync cannot list instances"),
        }
    }

    async fn pass(&self, id: &str) {
        // Another control plane on the same database may be applying this
        // instance: one pass at a time, or a stale read could be applied last.
        let lease = format!("instance:{id}");
        match self.inner.store.acquire_lease(&lease, &self.inner.holder, now_ms(), LEASE_MS).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::debug!("another control plane holds the instance's lease; retrying");
                self.retry_later(id, 0);
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot take the instance's lease; retrying");
                self.retry_later(id, 1);
                return;
            }
        }
        self.apply_once(id).await;
        if let Err(e) = self.inner.store.release_lease(&lease, &self.inner.holder).await {
            tracing::warn!(error = %e, "cannot release the instance's lease; it expires on its own");
        }
    }

    async fn apply_once(&self, id: &str) {
        match self.apply(id).await {
            Ok(()) => {
                lock(&self.inner.failures).remove(id);
            }
            Err(e) => {
                let attempt = {
                    let mut failures = lock(&self.inner.failures);
                    let n = failures.entry(id.to_string()).or_insert(0);
                    *n += 1;
                    *n
                };
                tracing::warn!(error = %e, attempt, "reconcile failed; will retry");
                let status = match e {
                    PassError::Refused(_) | PassError::NoFleet | PassError::BadEndpoint(_) | PassError::Corrupt(_) => {
                        Some("failed")
                    }
                    PassError::Unavailable(_) | PassError::Database(_) => None,
                };
                self.record_failure(id, status, &e.to_string()).await;
                self.retry_later(id, attempt);
            }
        }
    }

    /// Keeps the status (or sets `failed`) and records why, unless the
    /// instance is being deleted.
    async fn record_failure(&self, id: &str, status: Option<&str>, reason: &str) {
        let Ok(Some(row)) = self.inner.store.instance(id).await else { return };
        if row.status == "deleting" {
            return;
        }
        let status = status.unwrap_or(&row.status);
        if let Err(e) = self.inner.store.set_instance_status(id, status, Some(reason), &row.endpoints, now_ms()).await {
            tracing::warn!(error = %e, "cannot record reconcile failure");
        }
    }

    fn retry_later(&self, id: &str, attempt: u32) {
        let delay = Duration::from_millis(200u64.saturating_mul(1 << attempt.min(10))).min(MAX_BACKOFF);
        let this = self.clone();
        let id = id.to_string();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            lock(&this.inner.dirty).entry(id).or_insert_with(|| (Span::none(), 0));
            this.inner.wake.notify_one();
        });
    }

    async fn apply(&self, id: &str) -> Result<(), PassError> {
        let store = &self.inner.store;
        let Some(instance) = store.instance(id).await? else {
            return Ok(());
        };
        let endpoint = store.instance_fleet_endpoint(&instance.id).await?.ok_or(PassError::NoFleet)?;
        let mut client = self.inner.fleets.client(&endpoint)?;

        if instance.status == "deleting" {
            client.delete_namespace(DeleteNamespaceRequest { namespace_id: instance.id.clone() }).await?;
            store.delete_instance(&instance.id).await?;
            tracing::info!("instance removed from the fleet");
            return Ok(());
        }

        client
            .apply_namespace(ApplyNamespaceRequest {
                namespace: Some(plans::namespace(&instance.id, &instance.plan, &quota_overrides(&instance)?)),
            })
            .await?;
        let mappings =
            store.instance_mappings(&instance.id).await?.iter().map(wire_mapping).collect::<Result<_, _>>()?;
        client.apply_mappings(ApplyMappingsRequest { namespace_id: instance.id.clone(), mappings }).await?;
        for credential in store.instance_credentials(&instance.id).await? {
            if credential.state == CredentialState::Revoking.as_str() {
                client
                    .revoke_credential(RevokeCredentialRequest {
                        namespace_id: instance.id.clone(),
                        credential_id: credential.id.clone(),
                    })
                    .await?;
                store.delete_credential(&credential.id).await?;
            } else {
                let credential = wire_credential(&credential)?;
                client.apply_credential(ApplyCredentialRequest { credential: Some(credential) }).await?;
            }
        }
        let health = client.health(HealthRequest {}).await?.into_inner();
        let endpoints = endpoints_of(health.endpoints.unwrap_or_default());
        let endpoints = serde_json::to_string(&endpoints).map_err(|e| PassError::Corrupt(e.to_string()))?;
        if instance.status != "ready" || instance.endpoints != endpoints || instance.status_reason.is_some() {
            store.set_instance_status(&instance.id, "ready", None, &endpoints, now_ms()).await?;
            tracing::info!("instance ready");
        }
        Ok(())
    }
}

fn quota_overrides(instance: &InstanceRow) -> Result<rest::QuotaOverrides, PassError> {
    match &instance.quota_overrides {
        None => Ok(rest::QuotaOverrides::default()),
        Some(json) => serde_json::from_str(json).map_err(|e| PassError::Corrupt(format!("quota overrides: {e}"))),
    }
}

fn endpoints_of(wire: fleet::Endpoints) -> Endpoints {
    let some = |s: String| Some(s).filter(|s| !s.is_empty());
    let fleet::Endpoints { mqtt, kafka, mqtt_ws, mqtt_tls, mqtt_wss } = wire;
    Endpoints {
        mqtt: some(mqtt),
        mqtt_ws: some(mqtt_ws),
        mqtt_tls: some(mqtt_tls),
        mqtt_wss: some(mqtt_wss),
        kafka: some(kafka),
    }
}

fn wire_credential(row: &CredentialRow) -> Result<fleet::Credential, PassError> {
    let acl: Vec<rest::AclRule> = serde_json::from_str(&row.acl).map_err(|e| PassError::Corrupt(e.to_string()))?;
    let acl = acl
        .into_iter()
        .map(|rule| AclRule {
            topic_filter: rule.topic,
            actions: rule.actions.into_iter().map(|a| wire_action(a) as i32).collect(),
        })
        .collect();
    Ok(fleet::Credential {
        id: row.id.clone(),
        namespace_id: row.instance_id.clone(),
        username: row.username.clone(),
        scram_sha256: Some(secrets::scram_sha256_of(row).map_err(PassError::Corrupt)?),
        acl,
        scram_sha512: secrets::scram_sha512_of(row).map_err(PassError::Corrupt)?,
    })
}

fn wire_mapping(row: &MappingRow) -> Result<fleet::Mapping, PassError> {
    let direction = match row.direction.as_str() {
        "mqtt_to_kafka" => fleet::MappingDirection::MqttToKafka,
        "kafka_to_mqtt" => fleet::MappingDirection::KafkaToMqtt,
        "both" => fleet::MappingDirection::Both,
        other => return Err(PassError::Corrupt(format!("mapping {} has direction {other:?}", row.id))),
    };
    Ok(fleet::Mapping {
        id: row.id.clone(),
        mqtt_filter: row.mqtt_filter.clone(),
        kafka_topic: row.kafka_topic.clone(),
        direction: direction as i32,
        mqtt_topic_prefix: row.mqtt_topic_prefix.clone(),
    })
}

fn wire_action(action: rest::AclAction) -> fleet::Action {
    match action {
        rest::AclAction::Publish => fleet::Action::Publish,
        rest::AclAction::Subscribe => fleet::Action::Subscribe,
        rest::AclAction::Produce => fleet::Action::Produce,
        rest::AclAction::Consume => fleet::Action::Consume,
        rest::AclAction::Group => fleet::Action::Group,
    }
}

/// Locks a mutex whose data stays consistent even if a holder panicked (every
/// critical section here is a single map operation).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
