//! `/v1/instances/{id}/topics`: an instance's Kafka topics, listed, created,
//! changed (more partitions, retention) and deleted on its fleet directly (a
//! topic is the fleet's state, not the control plane's): the answer says
//! what the broker did, and a fleet that cannot be reached is 503. `If-Match`
//! is compared with the topic as the fleet reports it just before the change;
//! the fleet has no compare-and-set, so a change made by a Kafka client in
//! between those two calls is not detected.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use omnibus_api::fleet;
use omnibus_api::rest::{
    CreateTopicRequest, Problem, Topic, TopicMessage, TopicMessagePage, TopicPage, UpdateTopicRequest,
};

use super::AppState;
use super::conditional::{Preconditions, etag, with_etag};
use super::extract::{ApiJson, ApiQuery, PageParams, paginate};
use super::instances::live_instance;
use crate::auth::{Caller, Permission};
use crate::error::{ApiError, ApiResult};
use crate::fleet::Client;
use crate::store::InstanceRow;

const NO_TOPIC: &str = "no topic of that name on this instance";

/// The client of the fleet the instance is placed on.
async fn client(state: &AppState, instance: &InstanceRow) -> ApiResult<Client> {
    let endpoint = state
        .store
        .instance_fleet_endpoint(&instance.id)
        .await?
        .ok_or(ApiError::Unavailable("the instance is placed on no fleet yet; retry"))?;
    state.fleets.client(&endpoint).map_err(|e| {
        tracing::error!(error = %e, "the instance's fleet has a bad endpoint");
        ApiError::Unavailable("the instance's fleet cannot be reached")
    })
}

/// A fleet refusal as the API's answer.
fn refused(status: tonic::Status) -> ApiError {
    match status.code() {
        tonic::Code::AlreadyExists => ApiError::Conflict("the instance already has a topic of that name".into()),
        tonic::Code::NotFound => ApiError::NotFound(NO_TOPIC),
        tonic::Code::InvalidArgument => ApiError::validation("topic", status.message().to_owned()),
        tonic::Code::FailedPrecondition => ApiError::Unavailable("the instance is not on its fleet yet; retry"),
        tonic::Code::ResourceExhausted => ApiError::QuotaExceeded(status.message().to_owned()),
        code => {
            tracing::warn!(?code, message = status.message(), "topic call to the fleet failed");
            ApiError::Unavailable("the fleet did not answer; retry")
        }
    }
}

fn to_api(topic: fleet::Topic) -> Topic {
    Topic {
        name: topic.name,
        partitions: topic.partitions,
        retention_ms: topic.retention_ms,
        retention_bytes: topic.retention_bytes,
        remote_storage_enable: topic.remote_storage_enable,
        local_retention_ms: topic.local_retention_ms,
        local_retention_bytes: topic.local_retention_bytes,
    }
}

#[utoipa::path(get, path = "/v1/instances/{id}/topics", tag = "topics",
    params(("id" = String, Path, description = "Instance id"), PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = TopicPage),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(instance_id): Path<String>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<axum::Json<TopicPage>> {
    caller.require(Permission::TopicsRead)?;
    let page = params.page()?;
    let instance = live_instance(&state, &caller, &instance_id).await?;
    let answer = client(&state, &instance)
        .await?
        .list_topics(fleet::ListTopicsRequest { namespace_id: instance.id.clone() })
        .await
        .map_err(refused)?;
    let after = page.after.unwrap_or_default();
    let topics: Vec<Topic> =
        answer.into_inner().topics.into_iter().map(to_api).filter(|t| t.name.as_str() > after.as_str()).collect();
    let limit = usize::try_from(page.size).unwrap_or(usize::MAX).saturating_add(1);
    let (items, next_page_token) = paginate(topics.into_iter().take(limit).collect(), page.size, |t| t.name.as_str());
    Ok(axum::Json(TopicPage { items, next_page_token }))
}

#[utoipa::path(post, path = "/v1/instances/{id}/topics", tag = "topics",
    params(("id" = String, Path, description = "Instance id")), request_body = CreateTopicRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, body = Topic),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The instance has a topic of that name, or is being deleted", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(instance_id): Path<String>,
    ApiJson(request): ApiJson<CreateTopicRequest>,
) -> ApiResult<impl IntoResponse> {
    caller.require(Permission::TopicsWrite)?;
    let instance = live_instance(&state, &caller, &instance_id).await?;
    let topic = fleet::Topic {
        name: request.name,
        partitions: request.partitions.unwrap_or(1),
        retention_ms: request.retention_ms.unwrap_or(7 * 24 * 3600 * 1000),
        retention_bytes: request.retention_bytes.unwrap_or(-1),
        remote_storage_enable: request.remote_storage_enable.unwrap_or(false),
        local_retention_ms: request.local_retention_ms.unwrap_or(-2),
        local_retention_bytes: request.local_retention_bytes.unwrap_or(-2),
    };
    let answer = client(&state, &instance)
        .await?
        .create_topic(fleet::CreateTopicRequest { namespace_id: instance.id.clone(), topic: Some(topic) })
        .await
        .map_err(refused)?;
    let topic = answer.into_inner().topic.map(to_api).ok_or(ApiError::Unavailable("the fleet did not answer"))?;
    tracing::info!(instance = %instance.id, topic = %topic.name, by = %caller.actor, "topic created");
    let location = format!("/v1/instances/{}/topics/{}", instance.id, topic.name);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], axum::Json(topic)))
}

#[utoipa::path(get, path = "/v1/instances/{id}/topics/{name}", tag = "topics",
    params(("id" = String, Path, description = "Instance id"), ("name" = String, Path),
        ("If-None-Match" = Option<String>, Header, description = "ETags the client holds")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Topic, headers(("ETag" = String))),
        (status = 304, description = "The topic is the one If-None-Match names"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    preconditions: Preconditions,
    Path((instance_id, name)): Path<(String, String)>,
) -> ApiResult<Response> {
    caller.require(Permission::TopicsRead)?;
    let instance = live_instance(&state, &caller, &instance_id).await?;
    Ok(with_etag(&preconditions, topic(&state, &instance, &name).await?))
}

/// `?limit=` of the message browser.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessagesParams {
    /// Records to return, 1-100. Default 20.
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/v1/instances/{id}/topics/{name}/messages", tag = "topics",
    params(("id" = String, Path, description = "Instance id"), ("name" = String, Path), MessagesParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The newest records, read without consuming anything", body = TopicMessagePage),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn messages(
    State(state): State<AppState>,
    caller: Caller,
    Path((instance_id, name)): Path<(String, String)>,
    ApiQuery(params): ApiQuery<MessagesParams>,
) -> ApiResult<axum::Json<TopicMessagePage>> {
    caller.require(Permission::MessagesRead)?;
    let limit = params.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::validation("limit", "limit must be 1-100"));
    }
    let instance = live_instance(&state, &caller, &instance_id).await?;
    let answer = client(&state, &instance)
        .await?
        .read_messages(fleet::ReadMessagesRequest { namespace_id: instance.id.clone(), topic: name, limit })
        .await
        .map_err(refused)?;
    let items = answer.into_inner().records.into_iter().map(to_message).collect();
    Ok(axum::Json(TopicMessagePage { items }))
}

fn to_message(mut record: fleet::StoredRecord) -> TopicMessage {
    use base64::Engine as _;
    // A value cut at 4 KiB may end inside a character: drop its first bytes.
    if let Some(value) = record.value.as_mut().filter(|_| record.value_truncated)
        && let Err(error) = std::str::from_utf8(value)
        && error.error_len().is_none()
    {
        value.truncate(error.valid_up_to());
    }
    let text = |b: &Option<Vec<u8>>| b.as_deref().is_none_or(|b| std::str::from_utf8(b).is_ok());
    let binary = !(text(&record.key) && text(&record.value));
    let show = |b: Option<Vec<u8>>| {
        b.map(|b| {
            if binary {
                base64::engine::general_purpose::STANDARD.encode(b)
            } else {
                String::from_utf8(b).unwrap_or_default()
            }
        })
    };
    TopicMessage {
        partition: record.partition,
        offset: record.offset,
        timestamp: crate::clock::rfc3339(record.timestamp_ms),
        key: show(record.key),
        value: show(record.value),
        binary,
        value_truncated: record.value_truncated,
    }
}

/// The topic as the fleet has it now.
async fn topic(state: &AppState, instance: &InstanceRow, name: &str) -> ApiResult<Topic> {
    let answer = client(state, instance)
        .await?
        .list_topics(fleet::ListTopicsRequest { namespace_id: instance.id.clone() })
        .await
        .map_err(refused)?;
    let topic = answer.into_inner().topics.into_iter().find(|t| t.name == name).ok_or(ApiError::NotFound(NO_TOPIC))?;
    Ok(to_api(topic))
}

/// Checks `If-Match` against the topic the fleet has now.
async fn check(state: &AppState, instance: &InstanceRow, name: &str, preconditions: &Preconditions) -> ApiResult<()> {
    if preconditions.has_if_match() {
        preconditions.check(&etag(&topic(state, instance, name).await?))?;
    }
    Ok(())
}

#[utoipa::path(patch, path = "/v1/instances/{id}/topics/{name}", tag = "topics",
    params(("id" = String, Path, description = "Instance id"), ("name" = String, Path),
        ("If-Match" = Option<String>, Header, description = "Change only if the topic still has this ETag")),
    request_body = UpdateTopicRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Topic, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The topic changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Fewer partitions than now, or a bad retention", body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    preconditions: Preconditions,
    Path((instance_id, name)): Path<(String, String)>,
    ApiJson(request): ApiJson<UpdateTopicRequest>,
) -> ApiResult<Response> {
    caller.require(Permission::TopicsWrite)?;
    let instance = live_instance(&state, &caller, &instance_id).await?;
    check(&state, &instance, &name, &preconditions).await?;
    let answer = client(&state, &instance)
        .await?
        .update_topic(fleet::UpdateTopicRequest {
            namespace_id: instance.id.clone(),
            name,
            partitions: request.partitions,
            retention_ms: request.retention_ms,
            retention_bytes: request.retention_bytes,
            remote_storage_enable: request.remote_storage_enable,
            local_retention_ms: request.local_retention_ms,
            local_retention_bytes: request.local_retention_bytes,
        })
        .await
        .map_err(refused)?;
    let topic = answer.into_inner().topic.map(to_api).ok_or(ApiError::NotFound(NO_TOPIC))?;
    tracing::info!(instance = %instance.id, topic = %topic.name, by = %caller.actor, "topic changed");
    Ok(with_etag(&Preconditions::none(), topic))
}

#[utoipa::path(delete, path = "/v1/instances/{id}/topics/{name}", tag = "topics",
    params(("id" = String, Path, description = "Instance id"), ("name" = String, Path),
        ("If-Match" = Option<String>, Header, description = "Delete only if the topic still has this ETag")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted with its data"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The topic changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    preconditions: Preconditions,
    Path((instance_id, name)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    caller.require(Permission::TopicsWrite)?;
    let instance = live_instance(&state, &caller, &instance_id).await?;
    check(&state, &instance, &name, &preconditions).await?;
    client(&state, &instance)
        .await?
        .delete_topic(fleet::DeleteTopicRequest { namespace_id: instance.id.clone(), name: name.clone() })
        .await
        .map_err(refused)?;
    tracing::info!(instance = %instance.id, topic = %name, by = %caller.actor, "topic deleted");
    Ok(StatusCode::NO_CONTENT)
}
