//! The `omnibus.fleet.v1.Fleet` gRPC service: how the control plane drives
//! this broker.
//!
//! Validates each request, applies it to [`Tenancy`] (namespaces, credentials
//! and MQTT↔Kafka mappings) or, for topics, to the catalog (`topics.rs`), and
//! maps failures to gRPC codes. Deleting a namespace also deletes its topics, its Kafka groups and
//! its MQTT sessions and retained messages.
//! Every call is idempotent, as the reconciler retries freely. Holds no
//! state of its own besides the broker's identity.

use std::sync::Arc;

use omnibus_api::fleet::fleet_server::Fleet;
use omnibus_api::fleet::{
    AcknowledgeUsageRequest, AcknowledgeUsageResponse, ApplyCredentialRequest, ApplyCredentialResponse,
    ApplyMappingsRequest, ApplyMappingsResponse, ApplyNamespaceRequest, ApplyNamespaceResponse, CreateTopicRequest,
    CreateTopicResponse, DeleteNamespaceRequest, DeleteNamespaceResponse, DeleteTopicRequest, DeleteTopicResponse,
    Endpoints, HealthRequest, HealthResponse, ListTopicsRequest, ListTopicsResponse, ReadMessagesRequest,
    ReadMessagesResponse, ReadUsageRequest, ReadUsageResponse, RevokeCredentialRequest, RevokeCredentialResponse,
    UpdateTopicRequest, UpdateTopicResponse,
};
use tonic::{Request, Response, Status};
use tracing::{error, info};

use super::{convert, messages, topics};
use crate::catalog::{Catalog, CatalogError};
use crate::kafka::Groups;
use crate::meter::MeterError;
use crate::mqtt::Hub;
use crate::tenancy::{StateError, Tenancy, TenancyError};

/// Who this broker is, as Health reports it.
#[derive(Debug, Clone)]
pub struct Identity {
    pub broker_id: String,
    /// New every time the process starts.
    pub incarnation: String,
    /// `host:port` of the MQTT listener.
    pub mqtt_endpoint: String,
    /// `host:port` of the MQTT over WebSocket listener.
    pub mqtt_ws_endpoint: String,
    /// `host:port` of the MQTT over TLS listener; empty when there is none.
    pub mqtt_tls_endpoint: String,
    /// `host:port` of the MQTT over WebSocket over TLS listener; empty when
    /// there is none.
    pub mqtt_wss_endpoint: String,
    /// `host:port` of the Kafka listener.
    pub kafka_endpoint: String,
}

pub struct FleetService {
    tenancy: Arc<Tenancy>,
    catalog: Arc<Catalog>,
    groups: Arc<Groups>,
    hub: Arc<Hub>,
    identity: Identity,
}

impl FleetService {
    pub fn new(
        tenancy: Arc<Tenancy>,
        catalog: Arc<Catalog>,
        groups: Arc<Groups>,
        hub: Arc<Hub>,
        identity: Identity,
    ) -> FleetService {
        FleetService { tenancy, catalog, groups, hub, identity }
    }
}

fn meter_status(error: MeterError) -> Status {
    error!(%error, "usage journal failed");
    Status::unavailable("the broker cannot read its usage journal now")
}

/// Maps a refused change to its gRPC code; storage failures are logged here
/// and not described to the caller.
fn status(error: TenancyError) -> Status {
    match error {
        TenancyError::Conflict(conflict @ StateError::NamespaceNotFound(_)) => {
            Status::failed_precondition(conflict.to_string())
        }
        TenancyError::Conflict(conflict @ StateError::UsernameTaken { .. }) => {
            Status::already_exists(conflict.to_string())
        }
        TenancyError::Persist(error) => {
            error!(%error, "cannot persist tenancy metadata");
            Status::internal("the broker could not persist the change")
        }
        TenancyError::Meter(error @ MeterError::Full) => Status::resource_exhausted(error.to_string()),
        TenancyError::Meter(error @ MeterError::IdTooLong) => Status::invalid_argument(error.to_string()),
        TenancyError::Meter(error) => {
            error!(%error, "cannot meter the namespace");
            Status::internal("the broker could not meter the namespace")
        }
    }
}

#[tonic::async_trait]
impl Fleet for FleetService {
    async fn apply_namespace(
        &self,
        request: Request<ApplyNamespaceRequest>,
    ) -> Result<Response<ApplyNamespaceResponse>, Status> {
        let namespace = convert::namespace(request.into_inner().namespace)?;
        info!(namespace = %namespace.id, plan = %namespace.plan, durability = ?namespace.durability, "applying namespace");
        let (id, durability, limits) = (namespace.id.clone(), namespace.durability, namespace.kafka_limits);
        self.tenancy.apply_namespace(namespace).await.map_err(status)?;
        self.catalog.set_durability(&id, durability);
        self.catalog.set_limits(&id, limits);
        self.groups.set_limit(&id, limits.max_consumer_groups);
        Ok(Response::new(ApplyNamespaceResponse {}))
    }

    async fn delete_namespace(
        &self,
        request: Request<DeleteNamespaceRequest>,
    ) -> Result<Response<DeleteNamespaceResponse>, Status> {
        let namespace_id = convert::name("namespace_id", request.into_inner().namespace_id)?;
        info!(namespace = %namespace_id, "deleting namespace");
        self.tenancy.delete_namespace(&namespace_id).await.map_err(status)?;
        if let Err(error) = self.groups.delete_namespace(&namespace_id).await {
            error!(%error, "cannot delete the namespace's consumer groups");
            return Err(Status::internal("the namespace's consumer groups could not be deleted; retry"));
        }
        if let Err(error) = self.hub.delete_namespace(&namespace_id).await {
            error!(%error, "cannot delete the namespace's MQTT sessions and retained messages");
            return Err(Status::internal("the namespace's MQTT sessions could not be deleted; retry"));
        }
        let catalog = self.catalog.clone();
        let deleted = tokio::task::spawn_blocking(move || catalog.delete_namespace(&namespace_id)).await;
        match deleted {
            Ok(Ok(())) => Ok(Response::new(DeleteNamespaceResponse {})),
            Ok(Err(error)) => {
                error!(%error, "cannot delete the namespace's topics");
                Err(Status::internal("the namespace's topics could not be deleted; retry"))
            }
            Err(error) => Err(Status::internal(format!("topic deletion did not finish: {error}"))),
        }
    }

    async fn apply_credential(
        &self,
        request: Request<ApplyCredentialRequest>,
    ) -> Result<Response<ApplyCredentialResponse>, Status> {
        let credential = convert::credential(request.into_inner().credential)?;
        info!(
            namespace = %credential.namespace_id,
            credential_id = %credential.id,
            username = %credential.username,
            "applying credential"
        );
        self.tenancy.apply_credential(credential).await.map_err(status)?;
        Ok(Response::new(ApplyCredentialResponse {}))
    }

    async fn revoke_credential(
        &self,
        request: Request<RevokeCredentialRequest>,
    ) -> Result<Response<RevokeCredentialResponse>, Status> {
        let request = request.into_inner();
        let namespace_id = convert::name("namespace_id", request.namespace_id)?;
        let credential_id = convert::name("credential_id", request.credential_id)?;
        info!(namespace = %namespace_id, credential_id = %credential_id, "revoking credential");
        self.tenancy.revoke_credential(&namespace_id, &credential_id).await.map_err(status)?;
        Ok(Response::new(RevokeCredentialResponse {}))
    }

    async fn apply_mappings(
        &self,
        request: Request<ApplyMappingsRequest>,
    ) -> Result<Response<ApplyMappingsResponse>, Status> {
        let request = request.into_inner();
        let namespace_id = convert::name("namespace_id", request.namespace_id)?;
        let mappings = convert::mappings(request.mappings)?;
        info!(namespace = %namespace_id, mappings = mappings.len(), "applying mappings");
        self.tenancy.apply_mappings(&namespace_id, mappings.clone()).await.map_err(status)?;
        let catalog = self.catalog.clone();
        let created =
            tokio::task::spawn_blocking(move || crate::bridge::ensure_topics(&catalog, &namespace_id, &mappings)).await;
        match created {
            Ok(Ok(())) => Ok(Response::new(ApplyMappingsResponse {})),
            Ok(Err(error @ CatalogError::Quota { .. })) => Err(Status::resource_exhausted(format!(
                "a mapping's Kafka topic cannot be created: {error}; delete the mapping or raise the quota"
            ))),
            Ok(Err(error)) => {
                error!(%error, "cannot create the Kafka topics of the namespace's mappings");
                Err(Status::internal("the mappings' Kafka topics could not be created; retry"))
            }
            Err(error) => Err(Status::internal(format!("topic creation did not finish: {error}"))),
        }
    }

    async fn list_topics(&self, request: Request<ListTopicsRequest>) -> Result<Response<ListTopicsResponse>, Status> {
        topics::list(&self.tenancy, &self.catalog, request.into_inner()).await.map(Response::new)
    }

    async fn create_topic(
        &self,
        request: Request<CreateTopicRequest>,
    ) -> Result<Response<CreateTopicResponse>, Status> {
        topics::create(&self.tenancy, &self.catalog, request.into_inner()).await.map(Response::new)
    }

    async fn update_topic(
        &self,
        request: Request<UpdateTopicRequest>,
    ) -> Result<Response<UpdateTopicResponse>, Status> {
        topics::update(&self.tenancy, &self.catalog, request.into_inner()).await.map(Response::new)
    }

    async fn delete_topic(
        &self,
        request: Request<DeleteTopicRequest>,
    ) -> Result<Response<DeleteTopicResponse>, Status> {
        topics::delete(&self.tenancy, &self.catalog, request.into_inner()).await.map(Response::new)
    }

    async fn read_messages(
        &self,
        request: Request<ReadMessagesRequest>,
    ) -> Result<Response<ReadMessagesResponse>, Status> {
        messages::read(&self.tenancy, &self.catalog, request.into_inner()).await.map(Response::new)
    }

    async fn read_usage(&self, request: Request<ReadUsageRequest>) -> Result<Response<ReadUsageResponse>, Status> {
        let request = request.into_inner();
        let limit = match request.limit {
            0 => 1000,
            n @ 1..=10_000 => n as usize,
            _ => return Err(Status::invalid_argument("limit must be between 1 and 10000")),
        };
        let meter = self.tenancy.meter().clone();
        let (records, pending) = tokio::task::spawn_blocking(move || {
            Ok::<_, MeterError>((meter.read(request.after_seq, limit)?, meter.pending()?))
        })
        .await
        .map_err(|e| Status::internal(e.to_string()))?
        .map_err(meter_status)?;
        Ok(Response::new(ReadUsageResponse {
            journal_id: self.tenancy.meter().journal_id().to_owned(),
            broker_id: self.identity.broker_id.clone(),
            records: records.into_iter().map(convert::usage_record).collect(),
            pending,
        }))
    }

    async fn acknowledge_usage(
        &self,
        request: Request<AcknowledgeUsageRequest>,
    ) -> Result<Response<AcknowledgeUsageResponse>, Status> {
        let request = request.into_inner();
        let meter = self.tenancy.meter().clone();
        if request.journal_id != meter.journal_id() {
            return Err(Status::failed_precondition(format!(
                "this broker's usage journal is {}, not {}",
                meter.journal_id(),
                request.journal_id
            )));
        }
        let removed = tokio::task::spawn_blocking(move || meter.acknowledge(request.through_seq))
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(meter_status)?;
        Ok(Response::new(AcknowledgeUsageResponse { removed: removed as u64 }))
    }

    async fn health(&self, _request: Request<HealthRequest>) -> Result<Response<HealthResponse>, Status> {
        Ok(Response::new(HealthResponse {
            broker_id: self.identity.broker_id.clone(),
            incarnation: self.identity.incarnation.clone(),
            endpoints: Some(Endpoints {
                mqtt: self.identity.mqtt_endpoint.clone(),
                kafka: self.identity.kafka_endpoint.clone(),
                mqtt_ws: self.identity.mqtt_ws_endpoint.clone(),
                mqtt_tls: self.identity.mqtt_tls_endpoint.clone(),
                mqtt_wss: self.identity.mqtt_wss_endpoint.clone(),
            }),
            namespaces: self.tenancy.namespace_count() as u64,
            connections: self.tenancy.sessions().len() as u64,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenancy::MappingDirection;
    use crate::tenancy::WriteDurability;
    use omnibus_api::fleet::{AclRule, Action, Credential, Mapping, Namespace};
    use omnibus_api::scram::ScramHash;
    use tonic::Code;

    async fn service() -> (FleetService, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("omnibus-dp-fleet-{}", uuid::Uuid::new_v4()));
        let tenancy = Arc::new(Tenancy::open(&dir).await.unwrap());
        let identity = Identity {
            broker_id: "broker-7".into(),
            incarnation: "inc".into(),
            mqtt_endpoint: "localhost:1883".into(),
            mqtt_ws_endpoint: "localhost:8083".into(),
            mqtt_tls_endpoint: String::new(),
            mqtt_wss_endpoint: String::new(),
            kafka_endpoint: "localhost:9092".into(),
        };
        let catalog = Arc::new(Catalog::open(&dir, |_| WriteDurability::Fsync).unwrap());
        let groups = Arc::new(Groups::open(&dir).unwrap());
        let hub = Arc::new(Hub::open(&dir.join("mqtt"), 100, None).unwrap());
        (FleetService::new(tenancy, catalog, groups, hub, identity), dir)
    }

    fn credential(namespace_id: &str, id: &str, username: &str) -> ApplyCredentialRequest {
        ApplyCredentialRequest {
            credential: Some(Credential {
                id: id.into(),
                namespace_id: namespace_id.into(),
                username: username.into(),
                scram_sha256: Some(omnibus_api::scram::derive_with(ScramHash::Sha256, "pw", vec![1; 16], 1)),
                scram_sha512: None,
                acl: vec![AclRule { topic_filter: "#".into(), actions: vec![Action::Publish as i32] }],
            }),
        }
    }

    fn namespace(id: &str) -> ApplyNamespaceRequest {
        ApplyNamespaceRequest {
            namespace: Some(Namespace { id: id.into(), plan: "free".into(), ..Namespace::default() }),
        }
    }

    #[tokio::test]
    async fn applies_idempotently_and_reports_health() {
        let (fleet, dir) = service().await;
        for _ in 0..2 {
            fleet.apply_namespace(Request::new(namespace("ns-1"))).await.unwrap();
            fleet.apply_credential(Request::new(credential("ns-1", "c1", "alice"))).await.unwrap();
        }
        let health = fleet.health(Request::new(HealthRequest {})).await.unwrap().into_inner();
        assert_eq!(health.broker_id, "broker-7");
        assert_eq!(health.namespaces, 1);
        let endpoints = health.endpoints.unwrap();
        assert_eq!(endpoints.mqtt, "localhost:1883");
        assert_eq!(endpoints.kafka, "localhost:9092");
        for _ in 0..2 {
            let request = RevokeCredentialRequest { namespace_id: "ns-1".into(), credential_id: "c1".into() };
            fleet.revoke_credential(Request::new(request)).await.unwrap();
            let request = DeleteNamespaceRequest { namespace_id: "ns-1".into() };
            fleet.delete_namespace(Request::new(request)).await.unwrap();
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn maps_conflicts_and_bad_input_to_grpc_codes() {
        let (fleet, dir) = service().await;
        let missing_namespace = fleet.apply_credential(Request::new(credential("ns-1", "c1", "alice"))).await;
        assert_eq!(missing_namespace.unwrap_err().code(), Code::FailedPrecondition);
        fleet.apply_namespace(Request::new(namespace("ns-1"))).await.unwrap();
        fleet.apply_namespace(Request::new(namespace("ns-2"))).await.unwrap();
        fleet.apply_credential(Request::new(credential("ns-1", "c1", "alice"))).await.unwrap();
        let taken = fleet.apply_credential(Request::new(credential("ns-2", "c2", "alice"))).await;
        assert_eq!(taken.unwrap_err().code(), Code::AlreadyExists);
        let empty = fleet.apply_namespace(Request::new(namespace(""))).await;
        assert_eq!(empty.unwrap_err().code(), Code::InvalidArgument);
        let no_body = fleet.apply_credential(Request::new(ApplyCredentialRequest { credential: None })).await;
        assert_eq!(no_body.unwrap_err().code(), Code::InvalidArgument);
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn mappings(
        namespace_id: &str,
        set: &[(&str, &str, &str, omnibus_api::fleet::MappingDirection)],
    ) -> ApplyMappingsRequest {
        ApplyMappingsRequest {
            namespace_id: namespace_id.into(),
            mappings: set
                .iter()
                .map(|&(id, mqtt_filter, kafka_topic, direction)| Mapping {
                    id: id.into(),
                    mqtt_filter: mqtt_filter.into(),
                    kafka_topic: kafka_topic.into(),
                    direction: direction as i32,
                    mqtt_topic_prefix: String::new(),
                })
                .collect(),
        }
    }

    #[tokio::test]
    async fn apply_mappings_validates_persists_and_replaces() {
        use omnibus_api::fleet::MappingDirection as Wire;
        let (fleet, dir) = service().await;
        let default = [("m1", "#", "mqtt", Wire::Unspecified)];
        let unknown = fleet.apply_mappings(Request::new(mappings("ns-1", &default))).await;
        assert_eq!(unknown.unwrap_err().code(), Code::FailedPrecondition);
        fleet.apply_namespace(Request::new(namespace("ns-1"))).await.unwrap();
        fleet.apply_namespace(Request::new(namespace("ns-2"))).await.unwrap();
        for _ in 0..2 {
            fleet.apply_mappings(Request::new(mappings("ns-1", &default))).await.unwrap();
        }
        let applied = fleet.tenancy.mappings("ns-1");
        assert_eq!(applied.len(), 1);
        assert_eq!((applied[0].id.as_str(), applied[0].mqtt_filter.as_str()), ("m1", "#"));
        assert_eq!((applied[0].kafka_topic.as_str(), applied[0].direction), ("mqtt", MappingDirection::Both));
        assert!(fleet.tenancy.mappings("ns-2").is_empty());
        let created = fleet.catalog.topic("ns-1", "mqtt").expect("the mapping's Kafka topic exists once applied");
        assert_eq!(created.partitions.len(), 3);
        assert!(fleet.catalog.topic("ns-2", "mqtt").is_none());
        assert!(fleet.tenancy.mappings("nowhere").is_empty());

        // A bad set is refused whole, naming the field; the applied one stays.
        let bad = [("m2", "a/+", "readings", Wire::MqttToKafka), ("m3", "$share/g/#", "t", Wire::Both)];
        let refused = fleet.apply_mappings(Request::new(mappings("ns-1", &bad))).await.unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument);
        assert!(refused.message().contains("mappings[1].mqtt_filter"), "{}", refused.message());
        let refused = fleet.apply_mappings(Request::new(mappings("ns-1", &[("m2", "a", "a/b", Wire::Both)]))).await;
        assert!(refused.unwrap_err().message().contains("mappings[0].kafka_topic"));
        let empty_namespace = fleet.apply_mappings(Request::new(mappings("", &default))).await;
        assert_eq!(empty_namespace.unwrap_err().code(), Code::InvalidArgument);
        assert_eq!(fleet.tenancy.mappings("ns-1").len(), 1);

        // A new set replaces the old one, and survives a restart.
        let replacement =
            [("m2", "a/+", "readings", Wire::MqttToKafka), ("m4", "cmd/#", "commands", Wire::KafkaToMqtt)];
        fleet.apply_mappings(Request::new(mappings("ns-1", &replacement))).await.unwrap();
        let reopened = Tenancy::open_with(&dir, fleet.tenancy.meter().clone()).await.unwrap();
        let applied = reopened.mappings("ns-1");
        let summary: Vec<_> = applied.iter().map(|m| (m.id.as_str(), m.to_kafka(), m.to_mqtt())).collect();
        assert_eq!(summary, [("m2", true, false), ("m4", false, true)]);
        assert_eq!(applied[1].kafka_topic, "commands");
        drop(reopened);

        // An empty set removes them all; deleting the namespace drops them too.
        fleet.apply_mappings(Request::new(mappings("ns-2", &default))).await.unwrap();
        fleet.apply_mappings(Request::new(mappings("ns-1", &[]))).await.unwrap();
        assert!(fleet.tenancy.mappings("ns-1").is_empty());
        let request = DeleteNamespaceRequest { namespace_id: "ns-2".into() };
        fleet.delete_namespace(Request::new(request)).await.unwrap();
        assert!(fleet.tenancy.mappings("ns-2").is_empty());
        let created = fleet.catalog.topic("ns-1", "mqtt").expect("the mapping's Kafka topic exists once applied");
        assert_eq!(created.partitions.len(), 3);
        assert!(fleet.catalog.topic("ns-2", "mqtt").is_none());
        fleet.apply_namespace(Request::new(namespace("ns-2"))).await.unwrap();
        let reopened = Tenancy::open_with(&dir, fleet.tenancy.meter().clone()).await.unwrap();
        assert!(reopened.mappings("ns-2").is_empty());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
