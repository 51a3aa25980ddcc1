//! The Fleet service's topic calls: list, create, update (grow partitions,
//! change retention) and delete the Kafka topics of a namespace, through the
//! catalog, off the async threads (the catalog writes files). Refuses
//! namespaces this broker does not have.

use std::sync::Arc;

use omnibus_api::fleet::{
    CreateTopicRequest, CreateTopicResponse, DeleteTopicRequest, DeleteTopicResponse, ListTopicsRequest,
    ListTopicsResponse, Topic, UpdateTopicRequest, UpdateTopicResponse,
};
use tonic::Status;
use tracing::error;

use super::convert;
use crate::catalog::{Catalog, CatalogError, TopicConfig};
use crate::tenancy::Tenancy;

fn status(error: CatalogError) -> Status {
    match error {
        CatalogError::AlreadyExists => Status::already_exists(error.to_string()),
        CatalogError::NotFound => Status::not_found(error.to_string()),
        CatalogError::InvalidName(_)
        | CatalogError::InvalidPartitions
        | CatalogError::PartitionCount { .. }
        | CatalogError::UnknownConfig(_)
        | CatalogError::InvalidConfig(_) => Status::invalid_argument(error.to_string()),
        CatalogError::Quota { .. } => Status::resource_exhausted(error.to_string()),
        other => {
            error!(error = %other, "topic change failed");
            Status::internal("the broker could not store the topic change")
        }
    }
}

pub(super) fn known_namespace(tenancy: &Tenancy, namespace_id: String) -> Result<String, Status> {
    let namespace_id = convert::name("namespace_id", namespace_id)?;
    if !tenancy.has_namespace(&namespace_id) {
        return Err(Status::failed_precondition(format!("namespace {namespace_id} is not on this broker")));
    }
    Ok(namespace_id)
}

fn describe(catalog: &Catalog, namespace: &str, name: &str) -> Option<Topic> {
    let topic = catalog.topic(namespace, name)?;
    let config = catalog.topic_config(namespace, name)?;
    Some(Topic {
        name: topic.name.clone(),
        partitions: i32::try_from(topic.partitions.len()).unwrap_or(i32::MAX),
        retention_ms: config.retention_ms,
        retention_bytes: config.retention_bytes,
        remote_storage_enable: config.remote_storage_enable,
        local_retention_ms: config.local_retention_ms,
        local_retention_bytes: config.local_retention_bytes,
    })
}

/// Runs a catalog change off the async threads.
async fn blocking<T: Send + 'static>(
    change: impl FnOnce() -> Result<T, CatalogError> + Send + 'static,
) -> Result<T, Status> {
    match tokio::task::spawn_blocking(change).await {
        Ok(result) => result.map_err(status),
        Err(error) => Err(Status::internal(format!("the topic change did not finish: {error}"))),
    }
}

pub async fn list(
    tenancy: &Tenancy,
    catalog: &Catalog,
    request: ListTopicsRequest,
) -> Result<ListTopicsResponse, Status> {
    let namespace = known_namespace(tenancy, request.namespace_id)?;
    let mut topics: Vec<Topic> =
        catalog.topics(&namespace).iter().filter_map(|topic| describe(catalog, &namespace, &topic.name)).collect();
    topics.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(ListTopicsResponse { topics })
}

pub async fn create(
    tenancy: &Tenancy,
    catalog: &Arc<Catalog>,
    request: CreateTopicRequest,
) -> Result<CreateTopicResponse, Status> {
    let namespace = known_namespace(tenancy, request.namespace_id)?;
    let topic = request.topic.ok_or_else(|| Status::invalid_argument("topic is required"))?;
    let mut config = TopicConfig::default();
    config.set("retention.ms", &topic.retention_ms.to_string()).map_err(status)?;
    config.set("retention.bytes", &topic.retention_bytes.to_string()).map_err(status)?;
    config.set("remote.storage.enable", &topic.remote_storage_enable.to_string()).map_err(status)?;
    config.set("local.retention.ms", &topic.local_retention_ms.to_string()).map_err(status)?;
    config.set("local.retention.bytes", &topic.local_retention_bytes.to_string()).map_err(status)?;
    let (owned, ns, name) = (catalog.clone(), namespace.clone(), topic.name.clone());
    blocking(move || owned.create_topic(&ns, &name, topic.partitions, config).map(|_| ())).await?;
    Ok(CreateTopicResponse { topic: describe(catalog, &namespace, &topic.name) })
}

pub async fn update(
    tenancy: &Tenancy,
    catalog: &Arc<Catalog>,
    request: UpdateTopicRequest,
) -> Result<UpdateTopicResponse, Status> {
    let namespace = known_namespace(tenancy, request.namespace_id)?;
    let name = request.name;
    let mut config = catalog.topic_config(&namespace, &name).ok_or_else(|| status(CatalogError::NotFound))?;
    if let Some(ms) = request.retention_ms {
        config.set("retention.ms", &ms.to_string()).map_err(status)?;
    }
    if let Some(bytes) = request.retention_bytes {
        config.set("retention.bytes", &bytes.to_string()).map_err(status)?;
    }
    if let Some(enable) = request.remote_storage_enable {
        config.set("remote.storage.enable", &enable.to_string()).map_err(status)?;
    }
    if let Some(ms) = request.local_retention_ms {
        config.set("local.retention.ms", &ms.to_string()).map_err(status)?;
    }
    if let Some(bytes) = request.local_retention_bytes {
        config.set("local.retention.bytes", &bytes.to_string()).map_err(status)?;
    }
    let (owned, ns, topic) = (catalog.clone(), namespace.clone(), name.clone());
    let partitions = request.partitions;
    blocking(move || {
        if let Some(total) = partitions
            && owned.topic(&ns, &topic).is_some_and(|t| t.partitions.len() != usize::try_from(total).unwrap_or(0))
        {
            owned.add_partitions(&ns, &topic, total)?;
        }
        owned.set_topic_config(&ns, &topic, config)
    })
    .await?;
    Ok(UpdateTopicResponse { topic: describe(catalog, &namespace, &name) })
}

pub async fn delete(
    tenancy: &Tenancy,
    catalog: &Arc<Catalog>,
    request: DeleteTopicRequest,
) -> Result<DeleteTopicResponse, Status> {
    let namespace = known_namespace(tenancy, request.namespace_id)?;
    let owned = catalog.clone();
    blocking(move || owned.delete_topic(&namespace, &request.name)).await?;
    Ok(DeleteTopicResponse {})
}
