//! `/v1/instances/{id}/mappings`: which MQTT topics and Kafka topics of an
//! instance are joined, and which way. Create, list, get, change, delete; every
//! change is applied to the fleet (the whole set) before the answer when the
//! fleet answers within [`FLEET_WAIT`].

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use omnibus_api::rest::{CreateMappingRequest, Mapping, MappingDirection, MappingPage, Problem, UpdateMappingRequest};

use super::conditional::{Preconditions, etag, with_etag};
use super::extract::{ApiJson, ApiQuery, PageParams, paginate};
use super::instances::live_instance;
use super::{AppState, FLEET_WAIT};
use crate::auth::{Caller, Permission};
use crate::clock::{now_ms, rfc3339};
use crate::error::{ApiError, ApiResult, InternalError};
use crate::store::{MappingInsert, MappingRow, is_unique_violation};

const NO_INSTANCE: &str = "no instance with that id in this organization";
const NO_MAPPING: &str = "no mapping with that id on this instance";
const MAX_MAPPINGS: i64 = 100;

/// The mapping every instance starts with: every MQTT topic ↔ Kafka topic `mqtt`.
const DEFAULT_MQTT_FILTER: &str = "#";
const DEFAULT_KAFKA_TOPIC: &str = "mqtt";

/// Filters the broker gives another meaning: shared subscriptions and delayed
/// publishes.
const RESERVED_PREFIXES: [&str; 2] = ["$share/", "$delayed/"];

/// The default mapping of a new instance.
pub fn default_mapping(instance_id: &str, now: i64) -> MappingRow {
    MappingRow {
        id: uuid::Uuid::now_v7().to_string(),
        instance_id: instance_id.to_string(),
        mqtt_filter: DEFAULT_MQTT_FILTER.into(),
        kafka_topic: DEFAULT_KAFKA_TOPIC.into(),
        direction: direction_text(MappingDirection::Both).into(),
        mqtt_topic_prefix: String::new(),
        created_at: now,
    }
}

#[utoipa::path(post, path = "/v1/instances/{id}/mappings", tag = "mappings",
    params(("id" = String, Path, description = "Instance id")),
    request_body = CreateMappingRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created; applied to the fleet when it answered within two seconds", body = Mapping),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The instance already maps this filter to this topic, has 100 mappings, or is being deleted", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(instance_id): Path<String>,
    ApiJson(request): ApiJson<CreateMappingRequest>,
) -> ApiResult<impl IntoResponse> {
    caller.require(Permission::MappingsWrite)?;
    let instance = live_instance(&state, &caller, &instance_id).await?;
    validate_filter(&request.mqtt_filter)?;
    validate_topic(&request.kafka_topic)?;
    validate_prefix(&request.mqtt_topic_prefix, &request.mqtt_filter, request.direction)?;
    let row = MappingRow {
        id: uuid::Uuid::now_v7().to_string(),
        instance_id: instance.id.clone(),
        mqtt_filter: request.mqtt_filter,
        kafka_topic: request.kafka_topic,
        direction: direction_text(request.direction).into(),
        mqtt_topic_prefix: request.mqtt_topic_prefix,
        created_at: now_ms(),
    };
    match state.store.insert_mapping(&row, MAX_MAPPINGS).await {
        Ok(MappingInsert::Inserted) => {}
        Ok(MappingInsert::Full) => {
            return Err(ApiError::Conflict(format!("an instance has at most {MAX_MAPPINGS} mappings")));
        }
        Ok(MappingInsert::NoInstance) => return Err(ApiError::Conflict("the instance is being deleted".into())),
        Err(e) if is_unique_violation(&e) => return Err(duplicate(&row)),
        Err(e) => return Err(e.into()),
    }
    tracing::info!(
        instance = %instance.id, mapping = %row.id, mqtt_filter = %row.mqtt_filter,
        kafka_topic = %row.kafka_topic, direction = %row.direction, "mapping created"
    );
    state.reconciler.kick_and_wait(&instance.id, FLEET_WAIT).await;
    let location = format!("/v1/instances/{}/mappings/{}", instance.id, row.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], axum::Json(to_api(&row)?)))
}

#[utoipa::path(get, path = "/v1/instances/{id}/mappings", tag = "mappings",
    params(("id" = String, Path, description = "Instance id"), PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of the instance's mappings, oldest first", body = MappingPage),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(instance_id): Path<String>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<axum::Json<MappingPage>> {
    caller.require(Permission::MappingsRead)?;
    let page = params.page()?;
    state.store.instance_in_org(&caller.organization_id, &instance_id).await?.ok_or(ApiError::NotFound(NO_INSTANCE))?;
    let rows = state.store.list_mappings(&instance_id, page.after.as_deref(), page.size + 1).await?;
    let (rows, next_page_token) = paginate(rows, page.size, |r| r.id.as_str());
    let items = rows.iter().map(to_api).collect::<ApiResult<Vec<_>>>()?;
    Ok(axum::Json(MappingPage { items, next_page_token }))
}

#[utoipa::path(get, path = "/v1/instances/{id}/mappings/{mapping_id}", tag = "mappings",
    params(("id" = String, Path, description = "Instance id"), ("mapping_id" = String, Path, description = "Mapping id"),
        ("If-None-Match" = Option<String>, Header, description = "ETags the client holds")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Mapping, headers(("ETag" = String))),
        (status = 304, description = "The mapping is the one If-None-Match names"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    preconditions: Preconditions,
    Path((instance_id, mapping_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    caller.require(Permission::MappingsRead)?;
    state.store.instance_in_org(&caller.organization_id, &instance_id).await?.ok_or(ApiError::NotFound(NO_INSTANCE))?;
    let row = state.store.mapping(&instance_id, &mapping_id).await?.ok_or(ApiError::NotFound(NO_MAPPING))?;
    Ok(with_etag(&preconditions, to_api(&row)?))
}

#[utoipa::path(patch, path = "/v1/instances/{id}/mappings/{mapping_id}", tag = "mappings",
    params(("id" = String, Path, description = "Instance id"), ("mapping_id" = String, Path, description = "Mapping id"),
        ("If-Match" = Option<String>, Header, description = "Change only if the mapping still has this ETag")),
    request_body = UpdateMappingRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed; applied to the fleet when it answered within two seconds", body = Mapping, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another mapping of the instance maps this filter to this topic, the instance is being deleted, or the mapping changed during the call", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The mapping changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    preconditions: Preconditions,
    Path((instance_id, mapping_id)): Path<(String, String)>,
    ApiJson(request): ApiJson<UpdateMappingRequest>,
) -> ApiResult<Response> {
    caller.require(Permission::MappingsWrite)?;
    let instance = live_instance(&state, &caller, &instance_id).await?;
    let current = state.store.mapping(&instance.id, &mapping_id).await?.ok_or(ApiError::NotFound(NO_MAPPING))?;
    preconditions.check(&etag(&to_api(&current)?))?;
    if let Some(filter) = &request.mqtt_filter {
        validate_filter(filter)?;
    }
    if let Some(topic) = &request.kafka_topic {
        validate_topic(topic)?;
    }
    let row = MappingRow {
        mqtt_filter: request.mqtt_filter.unwrap_or_else(|| current.mqtt_filter.clone()),
        kafka_topic: request.kafka_topic.unwrap_or_else(|| current.kafka_topic.clone()),
        direction: request.direction.map_or_else(|| current.direction.clone(), |d| direction_text(d).into()),
        mqtt_topic_prefix: request.mqtt_topic_prefix.unwrap_or_else(|| current.mqtt_topic_prefix.clone()),
        ..current.clone()
    };
    validate_prefix(&row.mqtt_topic_prefix, &row.mqtt_filter, direction_of(&row)?)?;
    if row == current {
        return Ok(with_etag(&Preconditions::none(), to_api(&row)?));
    }
    match state.store.update_mapping(&row, &current).await {
        Ok(true) => {}
        // Changed or deleted since it was read.
        Ok(false) if preconditions.has_if_match() => return Err(ApiError::PreconditionFailed),
        Ok(false) if state.store.mapping(&instance.id, &mapping_id).await?.is_some() => {
            return Err(ApiError::Conflict("the mapping changed during the call; GET it and try again".into()));
        }
        Ok(false) => return Err(ApiError::NotFound(NO_MAPPING)),
        Err(e) if is_unique_violation(&e) => return Err(duplicate(&row)),
        Err(e) => return Err(e.into()),
    }
    tracing::info!(
        instance = %instance.id, mapping = %row.id, mqtt_filter = %row.mqtt_filter,
        kafka_topic = %row.kafka_topic, direction = %row.direction, "mapping changed"
    );
    state.reconciler.kick_and_wait(&instance.id, FLEET_WAIT).await;
    Ok(with_etag(&Preconditions::none(), to_api(&row)?))
}

#[utoipa::path(delete, path = "/v1/instances/{id}/mappings/{mapping_id}", tag = "mappings",
    params(("id" = String, Path, description = "Instance id"), ("mapping_id" = String, Path, description = "Mapping id"),
        ("If-Match" = Option<String>, Header, description = "Delete only if the mapping still has this ETag")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted; the fleet stops applying it (before this answer when it answered within two seconds)"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The mapping changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    preconditions: Preconditions,
    Path((instance_id, mapping_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    caller.require(Permission::MappingsWrite)?;
    state.store.instance_in_org(&caller.organization_id, &instance_id).await?.ok_or(ApiError::NotFound(NO_INSTANCE))?;
    let expected = if preconditions.has_if_match() {
        let current = state.store.mapping(&instance_id, &mapping_id).await?.ok_or(ApiError::NotFound(NO_MAPPING))?;
        preconditions.check(&etag(&to_api(&current)?))?;
        Some(current)
    } else {
        None
    };
    if !state.store.delete_mapping(&instance_id, &mapping_id, expected.as_ref()).await? {
        return Err(if expected.is_some() { ApiError::PreconditionFailed } else { ApiError::NotFound(NO_MAPPING) });
    }
    tracing::info!(instance = %instance_id, mapping = %mapping_id, "mapping deleted");
    state.reconciler.kick_and_wait(&instance_id, FLEET_WAIT).await;
    Ok(StatusCode::NO_CONTENT)
}

fn duplicate(row: &MappingRow) -> ApiError {
    ApiError::Conflict(format!(
        "the instance already maps MQTT filter {:?} to Kafka topic {:?}",
        row.mqtt_filter, row.kafka_topic
    ))
}

fn to_api(row: &MappingRow) -> ApiResult<Mapping> {
    Ok(Mapping {
        id: row.id.clone(),
        instance_id: row.instance_id.clone(),
        mqtt_filter: row.mqtt_filter.clone(),
        kafka_topic: row.kafka_topic.clone(),
        direction: direction_of(row)?,
        mqtt_topic_prefix: row.mqtt_topic_prefix.clone(),
        created_at: rfc3339(row.created_at),
    })
}

fn direction_of(row: &MappingRow) -> ApiResult<MappingDirection> {
    match row.direction.as_str() {
        "mqtt_to_kafka" => Ok(MappingDirection::MqttToKafka),
        "kafka_to_mqtt" => Ok(MappingDirection::KafkaToMqtt),
        "both" => Ok(MappingDirection::Both),
        other => Err(InternalError::Corrupt(format!("mapping {} has direction {other:?}", row.id)).into()),
    }
}

/// How a direction is stored (the same spelling as in the API).
fn direction_text(direction: MappingDirection) -> &'static str {
    match direction {
        MappingDirection::MqttToKafka => "mqtt_to_kafka",
        MappingDirection::KafkaToMqtt => "kafka_to_mqtt",
        MappingDirection::Both => "both",
    }
}

/// An MQTT topic filter, as ACL rules and SUBSCRIBE check it, that is neither
/// shared nor delayed.
fn validate_filter(filter: &str) -> ApiResult<()> {
    if let Err(e) = omnibus_api::topic::validate_filter(filter) {
        return Err(ApiError::validation("mqtt_filter", format!("{filter:?} is not an MQTT topic filter: {e}")));
    }
    if let Some(prefix) = RESERVED_PREFIXES.iter().find(|p| filter.starts_with(*p)) {
        return Err(ApiError::validation("mqtt_filter", format!("mqtt_filter must not start with {prefix:?}")));
    }
    Ok(())
}

/// A prefix is empty or the start of a topic name (no wildcards), and when
/// records go to MQTT the filter must match topics under it, or none would
/// arrive.
fn validate_prefix(prefix: &str, filter: &str, direction: MappingDirection) -> ApiResult<()> {
    if prefix.is_empty() {
        return Ok(());
    }
    if let Err(e) = omnibus_api::topic::validate_name(prefix) {
        return Err(ApiError::validation("mqtt_topic_prefix", format!("{prefix:?} cannot start a topic name: {e}")));
    }
    if direction != MappingDirection::MqttToKafka && !reaches_under(filter, prefix) {
        return Err(ApiError::validation(
            "mqtt_topic_prefix",
            format!("mqtt_filter {filter:?} matches no topic starting with {prefix:?}, so no record would reach MQTT"),
        ));
    }
    Ok(())
}

/// Whether `filter` matches some topic name that starts with `prefix`: each
/// whole level of the prefix must be matched, and its last, open level must
/// be the start of what the filter allows there. Topics starting with `$` are
/// not matched by a leading wildcard (MQTT-4.7.2-1).
fn reaches_under(filter: &str, prefix: &str) -> bool {
    let mut filter_levels = filter.split('/');
    let mut prefix_levels = prefix.split('/').peekable();
    let mut first = true;
    while let Some(level) = prefix_levels.next() {
        let open = prefix_levels.peek().is_none();
        let Some(wanted) = filter_levels.next() else { return false };
        let wildcard = wanted == "#" || wanted == "+";
        if wildcard && first && level.starts_with('$') {
            return false;
        }
        if wanted == "#" {
            return true;
        }
        let fits = if open { wildcard || wanted.starts_with(level) } else { wildcard || wanted == level };
        if !fits {
            return false;
        }
        first = false;
    }
    true
}

fn validate_topic(topic: &str) -> ApiResult<()> {
    omnibus_api::kafka_topic::validate(topic)
        .map_err(|e| ApiError::validation("kafka_topic", format!("{topic:?} is not a Kafka topic name: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(result: ApiResult<()>) -> Option<&'static str> {
        match result {
            Err(ApiError::Validation { field, .. }) => Some(field),
            _ => None,
        }
    }

    #[test]
    fn filters_are_mqtt_filters_that_are_neither_shared_nor_delayed() {
        for good in ["#", "sensors/+/temp", "$SYS/#", "a", "$sharex/a", "share/a"] {
            assert!(validate_filter(good).is_ok(), "{good}");
        }
        for bad in ["", "a/#/b", "a+", "$share/g/a", "$delayed/10/a", "a\0b"] {
            assert_eq!(field(validate_filter(bad)), Some("mqtt_filter"), "{bad:?}");
        }
    }

    #[test]
    fn topics_are_kafka_topic_names() {
        for good in ["mqtt", "orders.v2_EU-1", &"x".repeat(249)] {
            assert!(validate_topic(good).is_ok(), "{good}");
        }
        for bad in ["", ".", "..", "a b", "a/b", &"x".repeat(250)] {
            assert_eq!(field(validate_topic(bad)), Some("kafka_topic"), "{bad:?}");
        }
    }

    #[test]
    fn prefixes_start_topic_names_the_filter_reaches() {
        let both = MappingDirection::Both;
        for (prefix, filter) in [
            ("", "a/b"),
            ("devices/", "devices/#"),
            ("devices/", "+/+/cmd"),
            ("devices", "devices/#"),
            ("dev", "devices/#"),
            ("plant/line-", "plant/+/temp"),
            ("plant/line-", "plant/line-1"),
            ("$SYS/", "$SYS/#"),
            ("a", "#"),
        ] {
            assert!(validate_prefix(prefix, filter, both).is_ok(), "{prefix:?} under {filter:?}");
        }
        for (prefix, filter) in [
            ("devices/+/", "#"),
            ("a#", "#"),
            ("devices/", "sensors/#"),
            ("devices/", "devices"),
            ("plant/line-", "plant/belt-1"),
            ("plant/a/b/", "plant/+"),
            ("$SYS/", "#"),
            ("$SYS/", "+/x"),
        ] {
            assert_eq!(
                field(validate_prefix(prefix, filter, both)),
                Some("mqtt_topic_prefix"),
                "{prefix:?} {filter:?}"
            );
        }
        assert!(
            validate_prefix("devices/", "sensors/#", MappingDirection::MqttToKafka).is_ok(),
            "only keys are shortened when nothing goes to MQTT"
        );
    }

    #[test]
    fn directions_are_stored_as_the_api_spells_them() {
        for direction in [MappingDirection::MqttToKafka, MappingDirection::KafkaToMqtt, MappingDirection::Both] {
            let spelled = serde_json::to_value(direction).unwrap();
            assert_eq!(spelled, direction_text(direction));
            let row = MappingRow { direction: direction_text(direction).into(), ..default_mapping("i", 0) };
            assert_eq!(to_api(&row).unwrap().direction, direction);
        }
        let default = default_mapping("i", 0);
        assert_eq!((default.mqtt_filter.as_str(), default.kafka_topic.as_str()), ("#", "mqtt"));
        assert_eq!(default.direction, "both");
    }
}
