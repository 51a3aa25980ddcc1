//! CreateTopics, DeleteTopics and CreatePartitions in the credential's namespace. Managing a
//! topic needs the credential's `produce` permission on its name. One broker,
//! so the replication factor is 1 (or -1, the default).

use kafka_protocol::ResponseError;
use kafka_protocol::messages::TopicName;
use kafka_protocol::messages::create_partitions_request::CreatePartitionsRequest;
use kafka_protocol::messages::create_partitions_response::{CreatePartitionsResponse, CreatePartitionsTopicResult};
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreateTopicsRequest};
use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult, CreateTopicsResponse,
};
use kafka_protocol::messages::delete_topics_request::DeleteTopicsRequest;
use kafka_protocol::messages::delete_topics_response::{DeletableTopicResult, DeleteTopicsResponse};
use kafka_protocol::protocol::StrBytes;

use super::connection::Ctx;
use crate::catalog::{CatalogError, TopicConfig};
use crate::tenancy::Action;

pub async fn create(ctx: &Ctx<'_>, request: CreateTopicsRequest) -> CreateTopicsResponse {
    let mut results = Vec::with_capacity(request.topics.len());
    for topic in request.topics {
        results.push(create_one(ctx, topic, request.validate_only).await);
    }
    CreateTopicsResponse::default().with_topics(results)
}

async fn create_one(ctx: &Ctx<'_>, topic: CreatableTopic, validate_only: bool) -> CreatableTopicResult {
    let name = topic.name.0.as_str().to_string();
    let result = CreatableTopicResult::default().with_name(topic.name.clone());
    let fail = |error: ResponseError, message: String| {
        CreatableTopicResult::default()
            .with_name(topic.name.clone())
            .with_error_code(error.code())
            .with_error_message(Some(StrBytes::from_string(message)))
    };
    if !ctx.principal.acl().allows(Action::Produce, &name) {
        return fail(ResponseError::TopicAuthorizationFailed, format!("not authorized to create {name}"));
    }
    if !matches!(topic.replication_factor, -1 | 1) {
        return fail(ResponseError::InvalidReplicationFactor, "the replication factor must be 1".into());
    }
    if !topic.assignments.is_empty() {
        return fail(ResponseError::InvalidRequest, "manual replica assignment is not supported".into());
    }
    let partitions = if topic.num_partitions == -1 { 1 } else { topic.num_partitions };
    let mut config = TopicConfig::default();
    for entry in &topic.configs {
        let Some(value) = &entry.value else { continue };
        if let Err(e) = config.set(entry.name.as_str(), value.as_str()) {
            return fail(ResponseError::InvalidConfig, e.to_string());
        }
    }
    if let Err(e) = config.check() {
        return fail(ResponseError::InvalidConfig, e.to_string());
    }
    if let Err(e) = crate::catalog::validate_name(&name) {
        return fail(ResponseError::InvalidTopicException, e.to_string());
    }
    let shown = config.clone();
    if validate_only {
        if ctx.shared.catalog.topic(ctx.principal.namespace_id(), &name).is_some() {
            return fail(ResponseError::TopicAlreadyExists, format!("topic {name} already exists"));
        }
        if let Err(e @ CatalogError::Quota { .. }) =
            ctx.shared.catalog.check_new_topic(ctx.principal.namespace_id(), partitions)
        {
            return fail(ResponseError::PolicyViolation, e.to_string());
        }
    } else {
        let catalog = ctx.shared.catalog.clone();
        let namespace = ctx.principal.namespace_id().to_string();
        let created = tokio::task::spawn_blocking({
            let name = name.clone();
            move || catalog.create_topic(&namespace, &name, partitions, config)
        })
        .await;
        match created {
            Ok(Ok(created)) => return described(result.with_topic_id(created.id), partitions, &shown),
            Ok(Err(CatalogError::AlreadyExists)) => {
                return fail(ResponseError::TopicAlreadyExists, format!("topic {name} already exists"));
            }
            Ok(Err(CatalogError::InvalidPartitions)) => {
                return fail(ResponseError::InvalidPartitions, CatalogError::InvalidPartitions.to_string());
            }
            // A count quota: Kafka's answer for a request the cluster's policy refuses.
            Ok(Err(e @ CatalogError::Quota { .. })) => return fail(ResponseError::PolicyViolation, e.to_string()),
            Ok(Err(e)) => {
                tracing::warn!(topic = %name, error = %e, "topic creation failed");
                return fail(ResponseError::KafkaStorageError, "the topic could not be created".into());
            }
            Err(e) => {
                tracing::warn!(topic = %name, error = %e, "topic creation task failed");
                return fail(ResponseError::KafkaStorageError, "the topic could not be created".into());
            }
        }
    }
    if !(1..=crate::catalog::MAX_PARTITIONS).contains(&partitions) {
        return fail(ResponseError::InvalidPartitions, CatalogError::InvalidPartitions.to_string());
    }
    described(result, partitions, &shown)
}

fn described(result: CreatableTopicResult, partitions: i32, config: &TopicConfig) -> CreatableTopicResult {
    // The same entries DescribeConfigs answers, with their sources: the Java
    // admin client refuses an answer without a valid config source.
    let configs = super::configs::entries(config)
        .into_iter()
        .map(|entry| {
            CreatableTopicConfigs::default()
                .with_name(entry.name)
                .with_value(entry.value)
                .with_read_only(entry.read_only)
                .with_config_source(entry.config_source)
                .with_is_sensitive(entry.is_sensitive)
        })
        .collect();
    result.with_num_partitions(partitions).with_replication_factor(1).with_configs(Some(configs))
}

pub async fn delete(ctx: &Ctx<'_>, request: DeleteTopicsRequest, _version: i16) -> DeleteTopicsResponse {
    let mut results = Vec::with_capacity(request.topic_names.len());
    for name in request.topic_names {
        results.push(delete_one(ctx, name).await);
    }
    DeleteTopicsResponse::default().with_responses(results)
}

async fn delete_one(ctx: &Ctx<'_>, name: TopicName) -> DeletableTopicResult {
    let text = name.0.as_str().to_string();
    let result = DeletableTopicResult::default().with_name(Some(name));
    if !ctx.principal.acl().allows(Action::Produce, &text) {
        return result.with_error_code(ResponseError::TopicAuthorizationFailed.code());
    }
    let catalog = ctx.shared.catalog.clone();
    let namespace = ctx.principal.namespace_id().to_string();
    match tokio::task::spawn_blocking(move || catalog.delete_topic(&namespace, &text)).await {
        Ok(Ok(())) => result,
        Ok(Err(CatalogError::NotFound)) => result.with_error_code(ResponseError::UnknownTopicOrPartition.code()),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "topic deletion failed");
            result.with_error_code(ResponseError::KafkaStorageError.code())
        }
        Err(e) => {
            tracing::warn!(error = %e, "topic deletion task failed");
            result.with_error_code(ResponseError::KafkaStorageError.code())
        }
    }
}

/// CreatePartitions: grows topics; the count is the new total.
pub async fn create_partitions(ctx: &Ctx<'_>, request: CreatePartitionsRequest) -> CreatePartitionsResponse {
    let mut results = Vec::with_capacity(request.topics.len());
    for topic in request.topics {
        let name = topic.name.0.as_str().to_string();
        let result = CreatePartitionsTopicResult::default().with_name(topic.name);
        let fail = |error: ResponseError, message: String| {
            result.clone().with_error_code(error.code()).with_error_message(Some(StrBytes::from_string(message)))
        };
        let outcome = if !ctx.principal.acl().allows(Action::Produce, &name) {
            fail(ResponseError::TopicAuthorizationFailed, format!("not authorized to alter {name}"))
        } else if topic.assignments.is_some() {
            fail(ResponseError::InvalidRequest, "manual replica assignment is not supported".into())
        } else {
            let namespace = ctx.principal.namespace_id().to_string();
            let catalog = ctx.shared.catalog.clone();
            let (count, validate_only) = (topic.count, request.validate_only);
            let grown = tokio::task::spawn_blocking(move || {
                let current = catalog.topic(&namespace, &name).map(|t| t.partitions.len());
                match current {
                    None => Err(CatalogError::NotFound),
                    Some(n) if validate_only => {
                        let current = i32::try_from(n).unwrap_or(i32::MAX);
                        if count > current && count <= crate::catalog::MAX_PARTITIONS {
                            Ok(())
                        } else {
                            Err(CatalogError::PartitionCount { current })
                        }
                    }
                    Some(_) => catalog.add_partitions(&namespace, &name, count),
                }
            })
            .await;
            match grown {
                Ok(Ok(())) => result,
                Ok(Err(CatalogError::NotFound)) => fail(ResponseError::UnknownTopicOrPartition, "no such topic".into()),
                Ok(Err(e @ CatalogError::PartitionCount { .. })) => {
                    fail(ResponseError::InvalidPartitions, e.to_string())
                }
                Ok(Err(e @ CatalogError::Quota { .. })) => fail(ResponseError::PolicyViolation, e.to_string()),
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "adding partitions failed");
                    fail(ResponseError::KafkaStorageError, "the partitions could not be created".into())
                }
                Err(e) => fail(ResponseError::KafkaStorageError, format!("adding partitions did not finish: {e}")),
            }
        };
        results.push(outcome);
    }
    CreatePartitionsResponse::default().with_results(results)
}
