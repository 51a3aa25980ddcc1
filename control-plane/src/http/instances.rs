//! `/v1/instances`: create (with the default MQTT↔Kafka mapping), list, get,
//! delete.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use omnibus_api::rest::{
    CreateInstanceRequest, Endpoints, Instance, InstancePage, InstanceStatus, Problem, UpdateInstanceRequest,
};

use super::conditional::{Preconditions, etag, with_etag};
use super::extract::{ApiJson, ApiQuery, PageParams, dns_label, paginate};
use super::{AppState, FLEET_WAIT, mappings};
use crate::auth::{Caller, Permission};
use crate::clock::{now_ms, rfc3339};
use crate::error::{ApiError, ApiResult, InternalError};
use crate::plans;
use crate::store::{InstanceRow, is_unique_violation};

const NOT_FOUND: &str = "no instance with that id in this organization";

#[utoipa::path(post, path = "/v1/instances", tag = "instances", request_body = CreateInstanceRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created; `ready` when the fleet applied it within two seconds", body = Instance),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken in this organization", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Every fleet of the region is full or draining", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<CreateInstanceRequest>,
) -> ApiResult<impl IntoResponse> {
    caller.require(Permission::InstancesWrite)?;
    dns_label("name", &request.name)?;
    if plans::plan(&request.plan).is_none() {
        return Err(ApiError::validation("plan", format!("plan must be one of: {}", plans::names())));
    }
    let region = match request.region {
        Some(region) => region,
        None => state.config.default_region().unwrap_or_default().to_string(),
    };
    let now = now_ms();
    let id = uuid::Uuid::now_v7().to_string();
    let mut row = InstanceRow {
        id: id.clone(),
        organization_id: caller.organization_id.clone(),
        name: request.name,
        plan: request.plan,
        region,
        status: "provisioning".into(),
        status_reason: None,
        endpoints: "{}".into(),
        created_at: now,
        updated_at: now,
        fleet_id: None,
        quota_overrides: None,
    };
    // Placement can race with other creates and drains; the insert checks the
    // fleet again, and a lost race places the instance anew.
    let mut placed = false;
    for _ in 0..3 {
        let Some(fleet_id) = state.store.place(&row.region).await? else {
            let known = state.store.regions().await?;
            if !known.contains(&row.region) {
                return Err(ApiError::validation("region", format!("region must be one of: {}", known.join(", "))));
            }
            break;
        };
        row.fleet_id = Some(fleet_id);
        match state.store.insert_instance(&row, &[mappings::default_mapping(&id, now)]).await {
            Ok(true) => {
                placed = true;
                break;
            }
            Ok(false) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(ApiError::Conflict(format!("an instance named {:?} already exists", row.name)));
            }
            Err(e) => return Err(e.into()),
        }
    }
    if !placed {
        return Err(ApiError::Unavailable("every fleet of the region is full or draining; try another region"));
    }
    tracing::info!(instance = %row.id, name = %row.name, by = %caller.actor, "instance created");
    state.reconciler.kick_and_wait(&row.id, FLEET_WAIT).await;
    let row = state.store.instance(&row.id).await?.unwrap_or(row);
    let location = format!("/v1/instances/{}", row.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], axum::Json(to_api(&row)?)))
}

#[utoipa::path(get, path = "/v1/instances", tag = "instances", params(PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of the organization's instances, oldest first", body = InstancePage),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<axum::Json<InstancePage>> {
    caller.require(Permission::InstancesRead)?;
    let page = params.page()?;
    let rows = state.store.list_instances(&caller.organization_id, page.after.as_deref(), page.size + 1).await?;
    let (rows, next_page_token) = paginate(rows, page.size, |r| r.id.as_str());
    let items = rows.iter().map(to_api).collect::<ApiResult<Vec<_>>>()?;
    Ok(axum::Json(InstancePage { items, next_page_token }))
}

#[utoipa::path(get, path = "/v1/instances/{id}", tag = "instances",
    params(("id" = String, Path), ("If-None-Match" = Option<String>, Header, description = "ETags the client holds")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Instance, headers(("ETag" = String, description = "Changes whenever the instance does, its status included"))),
        (status = 304, description = "The instance is the one If-None-Match names"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    preconditions: Preconditions,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    caller.require(Permission::InstancesRead)?;
    let row = state.store.instance_in_org(&caller.organization_id, &id).await?.ok_or(ApiError::NotFound(NOT_FOUND))?;
    Ok(with_etag(&preconditions, to_api(&row)?))
}

#[utoipa::path(delete, path = "/v1/instances/{id}", tag = "instances",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "Delete only if the instance still has this ETag")),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Deletion under way; the instance disappears once the fleet has removed it", body = Instance),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The instance changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    preconditions: Preconditions,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, axum::Json<Instance>)> {
    caller.require(Permission::InstancesWrite)?;
    let row = state.store.instance_in_org(&caller.organization_id, &id).await?.ok_or(ApiError::NotFound(NOT_FOUND))?;
    preconditions.check(&etag(&to_api(&row)?))?;
    let expected = preconditions.has_if_match().then_some(&row);
    if !state.store.mark_instance_deleting(&caller.organization_id, &id, now_ms(), expected).await? {
        return Err(if expected.is_some() { ApiError::PreconditionFailed } else { ApiError::NotFound(NOT_FOUND) });
    }
    tracing::info!(instance = %id, by = %caller.actor, "instance deletion requested");
    state.reconciler.kick(&id);
    let mut instance = to_api(&row)?;
    instance.status = InstanceStatus::Deleting;
    instance.status_reason = None;
    Ok((StatusCode::ACCEPTED, axum::Json(instance)))
}

#[utoipa::path(patch, path = "/v1/instances/{id}", tag = "instances", request_body = UpdateInstanceRequest,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "Change only if the instance still has this ETag")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed; a new plan is `ready` again when the fleet applied it within two seconds, `updating` until then", body = Instance, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken, the instance is being deleted, or it changed during the call", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The instance changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    preconditions: Preconditions,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<UpdateInstanceRequest>,
) -> ApiResult<Response> {
    caller.require(Permission::InstancesWrite)?;
    let current = live_instance(&state, &caller, &id).await?;
    preconditions.check(&etag(&to_api(&current)?))?;
    let name = request.name.unwrap_or_else(|| current.name.clone());
    dns_label("name", &name)?;
    let plan = request.plan.unwrap_or_else(|| current.plan.clone());
    if plans::plan(&plan).is_none() {
        return Err(ApiError::validation("plan", format!("plan must be one of: {}", plans::names())));
    }
    if name == current.name && plan == current.plan {
        return Ok(with_etag(&Preconditions::none(), to_api(&current)?));
    }
    match state.store.update_instance(&current, &name, &plan, now_ms()).await {
        Ok(true) => {}
        Ok(false) if preconditions.has_if_match() => return Err(ApiError::PreconditionFailed),
        Ok(false) => {
            return Err(ApiError::Conflict("the instance changed or is being deleted; GET it and try again".into()));
        }
        Err(e) if is_unique_violation(&e) => {
            return Err(ApiError::Conflict(format!("an instance named {name:?} already exists")));
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(instance = %id, name = %name, plan = %plan, by = %caller.actor, "instance changed");
    if plan != current.plan {
        state.reconciler.kick_and_wait(&id, FLEET_WAIT).await;
    }
    let row = state.store.instance(&id).await?.ok_or(ApiError::NotFound(NOT_FOUND))?;
    Ok(with_etag(&Preconditions::none(), to_api(&row)?))
}

/// An instance of the caller's organization that is not being deleted: what
/// the resources under it may be added to.
pub async fn live_instance(state: &AppState, caller: &Caller, id: &str) -> ApiResult<InstanceRow> {
    let instance =
        state.store.instance_in_org(&caller.organization_id, id).await?.ok_or(ApiError::NotFound(NOT_FOUND))?;
    if instance.status == "deleting" {
        return Err(ApiError::Conflict("the instance is being deleted".into()));
    }
    Ok(instance)
}

pub fn to_api(row: &InstanceRow) -> ApiResult<Instance> {
    let status = match row.status.as_str() {
        "provisioning" => InstanceStatus::Provisioning,
        "ready" => InstanceStatus::Ready,
        "updating" => InstanceStatus::Updating,
        "deleting" => InstanceStatus::Deleting,
        "failed" => InstanceStatus::Failed,
        other => return Err(InternalError::Corrupt(format!("instance {} has status {other:?}", row.id)).into()),
    };
    let endpoints: Endpoints = serde_json::from_str(&row.endpoints)
        .map_err(|e| InternalError::Corrupt(format!("instance {} endpoints: {e}", row.id)))?;
    Ok(Instance {
        id: row.id.clone(),
        name: row.name.clone(),
        status,
        status_reason: row.status_reason.clone(),
        plan: row.plan.clone(),
        region: row.region.clone(),
        endpoints,
        created_at: rfc3339(row.created_at),
    })
}
