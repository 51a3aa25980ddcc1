//! `/v1/operator/...`: what platform operators do, apart from what tenants
//! do. Fleets (register, list, get, change, drain, resume, remove), one
//! instance's quota overrides, and the platform's audit log. Every handler
//! takes a [`PlatformOperator`]; tenants' roles give no access here.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use omnibus_api::rest::{
    AuditEventPage, Fleet, FleetPage, FleetState, InstanceQuotas, Problem, QuotaOverrides, RegisterFleetRequest,
    UpdateFleetRequest,
};

use super::audit::{AuditQuery, read};
use super::conditional::{Preconditions, etag, with_etag};
use super::extract::{ApiJson, ApiQuery, PageParams, dns_label, paginate};
use super::{AppState, FLEET_WAIT};
use crate::auth::PlatformOperator;
use crate::clock::{now_ms, rfc3339};
use crate::error::{ApiError, ApiResult, InternalError};
use crate::fleet::check_endpoint;
use crate::plans;
use crate::store::{AuditScope, FleetRow, FleetSpec, is_unique_violation};

const NO_FLEET: &str = "no fleet with that id";
const NO_INSTANCE: &str = "no instance with that id";

#[utoipa::path(get, path = "/v1/operator/fleets", tag = "operator", params(PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every fleet, in registration order", body = FleetPage),
        (status = 403, description = "Not a platform operator", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_fleets(
    State(state): State<AppState>,
    _operator: PlatformOperator,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<axum::Json<FleetPage>> {
    let page = params.page()?;
    let rows = state.store.list_fleets(page.after.as_deref(), page.size + 1).await?;
    let (rows, next_page_token) = paginate(rows, page.size, |r| r.id.as_str());
    let items = rows.iter().map(to_api).collect::<ApiResult<Vec<_>>>()?;
    Ok(axum::Json(FleetPage { items, next_page_token }))
}

#[utoipa::path(post, path = "/v1/operator/fleets", tag = "operator", request_body = RegisterFleetRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Registered, active: new instances of its region may be placed on it", body = Fleet),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn register_fleet(
    State(state): State<AppState>,
    operator: PlatformOperator,
    ApiJson(request): ApiJson<RegisterFleetRequest>,
) -> ApiResult<impl IntoResponse> {
    dns_label("name", &request.name)?;
    dns_label("region", &request.region)?;
    endpoint(&request.endpoint)?;
    let capacity = capacity(request.capacity)?;
    let id = uuid::Uuid::now_v7().to_string();
    let spec = FleetSpec { name: &request.name, region: &request.region, endpoint: &request.endpoint, capacity };
    match state.store.insert_fleet(&id, &spec, now_ms()).await {
        Ok(()) => {}
        Err(e) if is_unique_violation(&e) => {
            return Err(ApiError::Conflict(format!("a fleet named {:?} already exists", request.name)));
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(fleet = %id, name = %request.name, region = %request.region, by = %operator.user_id, "fleet registered");
    let row = state.store.fleet(&id).await?.ok_or(ApiError::NotFound(NO_FLEET))?;
    Ok((StatusCode::CREATED, [(header::LOCATION, format!("/v1/operator/fleets/{id}"))], axum::Json(to_api(&row)?)))
}

#[utoipa::path(get, path = "/v1/operator/fleets/{id}", tag = "operator",
    params(("id" = String, Path), ("If-None-Match" = Option<String>, Header, description = "ETags the client holds")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Fleet, headers(("ETag" = String, description = "Changes whenever the fleet does, its instance count included"))),
        (status = 304, description = "The fleet is the one If-None-Match names"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_fleet(
    State(state): State<AppState>,
    _operator: PlatformOperator,
    preconditions: Preconditions,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let row = state.store.fleet(&id).await?.ok_or(ApiError::NotFound(NO_FLEET))?;
    Ok(with_etag(&preconditions, to_api(&row)?))
}

#[utoipa::path(patch, path = "/v1/operator/fleets/{id}", tag = "operator", request_body = UpdateFleetRequest,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "Change only if the fleet still has this ETag")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed; a new endpoint is where its instances are applied from now on", body = Fleet, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_fleet(
    State(state): State<AppState>,
    operator: PlatformOperator,
    preconditions: Preconditions,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<UpdateFleetRequest>,
) -> ApiResult<Response> {
    let current = state.store.fleet(&id).await?.ok_or(ApiError::NotFound(NO_FLEET))?;
    preconditions.check(&etag(&to_api(&current)?))?;
    let endpoint = match request.endpoint {
        Some(new) => {
            self::endpoint(&new)?;
            new
        }
        None => current.endpoint.clone(),
    };
    let capacity = match request.capacity {
        Some(new) => capacity(new)?,
        None => current.capacity,
    };
    let changed = change(&state, &operator, &preconditions, &current, &endpoint, capacity, &current.state).await?;
    if changed.endpoint != current.endpoint {
        // Its instances are applied at the new address now, not at the next resync.
        for instance in state.store.fleet_instance_ids(&id).await? {
            state.reconciler.kick(&instance);
        }
    }
    Ok(with_etag(&Preconditions::none(), to_api(&changed)?))
}

#[utoipa::path(post, path = "/v1/operator/fleets/{id}/drain", tag = "operator",
    params(("id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Draining: it keeps its instances and new ones of its region go to other fleets", body = Fleet),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn drain_fleet(
    State(state): State<AppState>,
    operator: PlatformOperator,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Fleet>> {
    set_state(&state, &operator, &id, "draining").await
}

#[utoipa::path(post, path = "/v1/operator/fleets/{id}/resume", tag = "operator",
    params(("id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Active again: new instances may be placed on it", body = Fleet),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn resume_fleet(
    State(state): State<AppState>,
    operator: PlatformOperator,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Fleet>> {
    set_state(&state, &operator, &id, "active").await
}

#[utoipa::path(delete, path = "/v1/operator/fleets/{id}", tag = "operator",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "Remove only if the fleet still has this ETag")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Instances are still placed on it: drain it and delete them first", body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_fleet(
    State(state): State<AppState>,
    operator: PlatformOperator,
    preconditions: Preconditions,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let current = state.store.fleet(&id).await?.ok_or(ApiError::NotFound(NO_FLEET))?;
    preconditions.check(&etag(&to_api(&current)?))?;
    if !state.store.delete_empty_fleet(&id).await? {
        return Err(match state.store.fleet(&id).await? {
            None => ApiError::NotFound(NO_FLEET),
            Some(_) => ApiError::Conflict(
                "instances are still placed on the fleet; drain it and wait until they are deleted".into(),
            ),
        });
    }
    tracing::info!(fleet = %id, by = %operator.user_id, "fleet removed");
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/operator/instances/{id}/quotas", tag = "operator",
    params(("id" = String, Path, description = "Instance id, of any organization")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The plan's quotas, the overrides and what the fleet enforces", body = InstanceQuotas),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_quotas(
    State(state): State<AppState>,
    _operator: PlatformOperator,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<InstanceQuotas>> {
    let instance = state.store.instance(&id).await?.ok_or(ApiError::NotFound(NO_INSTANCE))?;
    Ok(axum::Json(quotas(&instance.id, &instance.plan, stored_overrides(&instance.quota_overrides)?)))
}

#[utoipa::path(put, path = "/v1/operator/instances/{id}/quotas", tag = "operator", request_body = QuotaOverrides,
    params(("id" = String, Path, description = "Instance id, of any organization")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Set (`{}` clears them) and applied to the fleet live when it answered within two seconds", body = InstanceQuotas),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The instance is being deleted", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_quotas(
    State(state): State<AppState>,
    operator: PlatformOperator,
    Path(id): Path<String>,
    ApiJson(overrides): ApiJson<QuotaOverrides>,
) -> ApiResult<axum::Json<InstanceQuotas>> {
    let instance = state.store.instance(&id).await?.ok_or(ApiError::NotFound(NO_INSTANCE))?;
    for (field, value) in [
        ("max_connections", overrides.max_connections),
        ("max_subscriptions_per_session", overrides.max_subscriptions_per_session),
        ("max_queued_messages", overrides.max_queued_messages),
        ("max_retained_messages", overrides.max_retained_messages),
        ("max_inflight", overrides.max_inflight),
        ("max_sessions", overrides.max_sessions),
        ("max_topics", overrides.max_topics),
        ("max_partitions", overrides.max_partitions),
        ("max_consumer_groups", overrides.max_consumer_groups),
    ] {
        if value == Some(0) {
            return Err(ApiError::validation(field, format!("{field} must be at least 1")));
        }
    }
    if overrides.max_storage_bytes == Some(0) {
        return Err(ApiError::validation("max_storage_bytes", "max_storage_bytes must be at least 1"));
    }
    // MQTT's remaining-length field caps a packet at 268,435,455 bytes + 5 of header.
    if overrides.max_packet_size.is_some_and(|size| !(128..=268_435_460).contains(&size)) {
        return Err(ApiError::validation("max_packet_size", "max_packet_size must be 128 to 268,435,460 bytes"));
    }
    let stored = if overrides == QuotaOverrides::default() {
        None
    } else {
        Some(serde_json::to_string(&overrides).map_err(|e| InternalError::Corrupt(e.to_string()))?)
    };
    if !state.store.set_quota_overrides(&id, stored.as_deref(), now_ms()).await? {
        return Err(ApiError::Conflict("the instance is being deleted".into()));
    }
    tracing::info!(instance = %id, by = %operator.user_id, ?overrides, "quota overrides set");
    state.reconciler.kick_and_wait(&id, FLEET_WAIT).await;
    Ok(axum::Json(quotas(&instance.id, &instance.plan, overrides)))
}

#[utoipa::path(get, path = "/v1/operator/audit-events", tag = "operator", params(AuditQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The platform's events (operators' calls, and calls that named no organization), newest first", body = AuditEventPage),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn audit_events(
    State(state): State<AppState>,
    _operator: PlatformOperator,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<axum::Json<AuditEventPage>> {
    read(&state, AuditScope::Platform, &query).await
}

async fn set_state(state: &AppState, operator: &PlatformOperator, id: &str, to: &str) -> ApiResult<axum::Json<Fleet>> {
    let current = state.store.fleet(id).await?.ok_or(ApiError::NotFound(NO_FLEET))?;
    if current.state == to {
        return Ok(axum::Json(to_api(&current)?));
    }
    let changed =
        change(state, operator, &Preconditions::none(), &current, &current.endpoint, current.capacity, to).await?;
    Ok(axum::Json(to_api(&changed)?))
}

/// Writes a fleet's endpoint, capacity and state over `current` and reads it back.
async fn change(
    state: &AppState,
    operator: &PlatformOperator,
    preconditions: &Preconditions,
    current: &FleetRow,
    endpoint: &str,
    capacity: i64,
    to: &str,
) -> ApiResult<FleetRow> {
    if !state.store.update_fleet(current, endpoint, capacity, to, now_ms()).await? {
        return Err(if preconditions.has_if_match() {
            ApiError::PreconditionFailed
        } else {
            ApiError::Conflict("the fleet changed during the call; GET it and try again".into())
        });
    }
    tracing::info!(fleet = %current.id, endpoint, capacity, state = to, by = %operator.user_id, "fleet changed");
    state.store.fleet(&current.id).await?.ok_or(ApiError::NotFound(NO_FLEET))
}

fn quotas(instance_id: &str, plan_name: &str, overrides: QuotaOverrides) -> InstanceQuotas {
    let plan = plans::plan(plan_name);
    InstanceQuotas {
        instance_id: instance_id.to_owned(),
        plan: plan_name.to_owned(),
        plan_mqtt: plan.map(|plan| plan.mqtt.into()),
        effective_mqtt: plan.map(|plan| plan.mqtt.overridden(&overrides).into()),
        plan_kafka: plan.map(|plan| plan.kafka.into()),
        effective_kafka: plan.map(|plan| plan.kafka.overridden(&overrides).into()),
        plan_rates: plan.map(|plan| plan.rates.into()),
        effective_rates: plan.map(|plan| plan.rates.overridden(&overrides).into()),
        overrides,
    }
}

fn stored_overrides(json: &Option<String>) -> ApiResult<QuotaOverrides> {
    match json {
        None => Ok(QuotaOverrides::default()),
        Some(json) => {
            Ok(serde_json::from_str(json)
                .map_err(|e| InternalError::Corrupt(format!("stored quota overrides: {e}")))?)
        }
    }
}

fn to_api(row: &FleetRow) -> ApiResult<Fleet> {
    let state = match row.state.as_str() {
        "active" => FleetState::Active,
        "draining" => FleetState::Draining,
        other => return Err(InternalError::Corrupt(format!("fleet {} has state {other:?}", row.id)).into()),
    };
    Ok(Fleet {
        id: row.id.clone(),
        name: row.name.clone(),
        region: row.region.clone(),
        endpoint: row.endpoint.clone(),
        capacity: u32::try_from(row.capacity).unwrap_or(u32::MAX),
        state,
        instances: u64::try_from(row.instances).unwrap_or_default(),
        created_at: rfc3339(row.created_at),
        updated_at: rfc3339(row.updated_at),
    })
}

fn endpoint(endpoint: &str) -> ApiResult<()> {
    check_endpoint(endpoint).map_err(|e| ApiError::validation("endpoint", e.to_string()))
}

fn capacity(capacity: u32) -> ApiResult<i64> {
    if capacity == 0 {
        return Err(ApiError::validation("capacity", "capacity must be at least 1"));
    }
    Ok(i64::from(capacity))
}
