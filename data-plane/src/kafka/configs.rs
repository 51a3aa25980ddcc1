//! DescribeConfigs and IncrementalAlterConfigs for topics, by Kafka's config
//! names (`retention.ms`, `retention.bytes`, `segment.bytes`; `cleanup.policy`
//! is shown, read-only). Describing needs `produce` or `consume` on the topic,
//! altering needs `produce`. Broker resources describe as empty: brokers are
//! ours to configure, not the tenant's.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsRequest;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResponse, DescribeConfigsResult,
};
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, IncrementalAlterConfigsRequest,
};
use kafka_protocol::messages::incremental_alter_configs_response::{
    AlterConfigsResourceResponse, IncrementalAlterConfigsResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::connection::Ctx;
use crate::catalog::{CatalogError, TopicConfig};
use crate::tenancy::Action;

const TOPIC: i8 = 2;
const BROKER: i8 = 4;
/// ConfigSource: set on the topic / a default.
const DYNAMIC_TOPIC_CONFIG: i8 = 1;
const DEFAULT_CONFIG: i8 = 5;
/// ConfigType.
const TYPE_BOOLEAN: i8 = 1;
const TYPE_STRING: i8 = 2;
const TYPE_INT: i8 = 3;
const TYPE_LONG: i8 = 5;
/// AlterConfigOp.
const SET: i8 = 0;
const DELETE: i8 = 1;

pub fn describe(ctx: &Ctx<'_>, request: DescribeConfigsRequest) -> DescribeConfigsResponse {
    let namespace = ctx.principal.namespace_id();
    let results = request
        .resources
        .into_iter()
        .map(|resource| {
            let result = DescribeConfigsResult::default()
                .with_resource_type(resource.resource_type)
                .with_resource_name(resource.resource_name.clone());
            let name = resource.resource_name.as_str();
            match resource.resource_type {
                BROKER => result,
                TOPIC => {
                    let acl = ctx.principal.acl();
                    if !acl.allows(Action::Produce, name) && !acl.allows(Action::Consume, name) {
                        return error(result, ResponseError::TopicAuthorizationFailed, "not authorized");
                    }
                    let Some(config) = ctx.shared.catalog.topic_config(namespace, name) else {
                        return error(result, ResponseError::UnknownTopicOrPartition, "no such topic");
                    };
                    let wanted = resource.configuration_keys;
                    let entries = entries(&config)
                        .into_iter()
                        .filter(|e| {
                            wanted.as_ref().is_none_or(|keys| keys.iter().any(|k| k.as_str() == e.name.as_str()))
                        })
                        .collect();
                    result.with_configs(entries)
                }
                _ => error(result, ResponseError::InvalidRequest, "only topic and broker resources are supported"),
            }
        })
        .collect();
    DescribeConfigsResponse::default().with_results(results)
}

/// A topic's settings as Kafka describes them (CreateTopics answers them too).
pub fn entries(config: &TopicConfig) -> Vec<DescribeConfigsResourceResult> {
    let default = TopicConfig::default();
    let defaults = default.entries();
    let mut entries: Vec<DescribeConfigsResourceResult> = config
        .entries()
        .into_iter()
        .zip(defaults)
        .map(|((name, value), (_, default_value))| {
            let source = if value == default_value { DEFAULT_CONFIG } else { DYNAMIC_TOPIC_CONFIG };
            let kind = match name {
                "segment.bytes" => TYPE_INT,
                "remote.storage.enable" => TYPE_BOOLEAN,
                _ => TYPE_LONG,
            };
            DescribeConfigsResourceResult::default()
                .with_name(StrBytes::from_static_str(name))
                .with_value(Some(StrBytes::from_string(value)))
                .with_config_source(source)
                .with_config_type(kind)
        })
        .collect();
    entries.push(
        DescribeConfigsResourceResult::default()
            .with_name(StrBytes::from_static_str("cleanup.policy"))
            .with_value(Some(StrBytes::from_static_str("delete")))
            .with_read_only(true)
            .with_config_source(DEFAULT_CONFIG)
            .with_config_type(TYPE_STRING),
    );
    entries
}

fn error(result: DescribeConfigsResult, error: ResponseError, message: &str) -> DescribeConfigsResult {
    result.with_error_code(error.code()).with_error_message(Some(StrBytes::from_string(message.to_string())))
}

pub async fn alter(ctx: &Ctx<'_>, request: IncrementalAlterConfigsRequest) -> IncrementalAlterConfigsResponse {
    let mut responses = Vec::with_capacity(request.resources.len());
    for resource in request.resources {
        let response = AlterConfigsResourceResponse::default()
            .with_resource_type(resource.resource_type)
            .with_resource_name(resource.resource_name.clone());
        let response = match alter_one(ctx, resource, request.validate_only).await {
            Ok(()) => response,
            Err((error, message)) => {
                response.with_error_code(error.code()).with_error_message(Some(StrBytes::from_string(message)))
            }
        };
        responses.push(response);
    }
    IncrementalAlterConfigsResponse::default().with_responses(responses)
}

async fn alter_one(
    ctx: &Ctx<'_>,
    resource: AlterConfigsResource,
    validate_only: bool,
) -> Result<(), (ResponseError, String)> {
    let name = resource.resource_name.as_str().to_string();
    if resource.resource_type != TOPIC {
        return Err((ResponseError::InvalidRequest, "only topic configs can be altered".into()));
    }
    if !ctx.principal.acl().allows(Action::Produce, &name) {
        return Err((ResponseError::TopicAuthorizationFailed, format!("not authorized to alter {name}")));
    }
    let namespace = ctx.principal.namespace_id().to_string();
    let current = ctx
        .shared
        .catalog
        .topic_config(&namespace, &name)
        .ok_or((ResponseError::UnknownTopicOrPartition, format!("no topic {name}")))?;
    let mut config = current.clone();
    for change in &resource.configs {
        let key = change.name.as_str();
        let applied = match (change.config_operation, &change.value) {
            (SET, Some(value)) => config.set(key, value.as_str()),
            (DELETE, _) => config.reset(key),
            (SET, None) => Err(CatalogError::InvalidConfig(format!("{key} needs a value"))),
            _ => Err(CatalogError::InvalidConfig(format!("{key}: APPEND and SUBTRACT apply to list configs only"))),
        };
        applied.map_err(|e| (ResponseError::InvalidConfig, e.to_string()))?;
    }
    current.check_change(&config).map_err(|e| (ResponseError::InvalidConfig, e.to_string()))?;
    if validate_only {
        return Ok(());
    }
    let catalog = ctx.shared.catalog.clone();
    match tokio::task::spawn_blocking(move || catalog.set_topic_config(&namespace, &name, config)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(CatalogError::NotFound)) => Err((ResponseError::UnknownTopicOrPartition, "no such topic".into())),
        Ok(Err(e @ CatalogError::InvalidConfig(_))) => Err((ResponseError::InvalidConfig, e.to_string())),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "topic config change failed");
            Err((ResponseError::KafkaStorageError, "the config could not be saved".into()))
        }
        Err(e) => Err((ResponseError::KafkaStorageError, format!("the config change did not finish: {e}"))),
    }
}
