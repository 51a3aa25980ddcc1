//! `/v1/api-keys`: an organization's keys for machines (Terraform, CI). A key
//! is bound to a role, shown once, kept only as a digest, may expire, and is
//! revoked by id; keys are independent, so a new one can be put in place
//! before the old one is revoked and rotation has no gap.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use omnibus_api::rest::{ApiKey, ApiKeyPage, CreateApiKeyRequest, CreatedApiKey, Problem, RoleName};

use super::AppState;
use super::conditional::{Preconditions, etag, with_etag};
use super::extract::{ApiJson, ApiQuery, PageParams, display_name, paginate};
use crate::auth::{Caller, Permission, Role, new_api_key};
use crate::clock::{now_ms, parse_rfc3339, rfc3339};
use crate::error::{ApiError, ApiResult};
use crate::store::ApiKeyRow;

const NOT_FOUND: &str = "no API key with that id in this organization";
/// Characters of a key kept to recognise it: `omk_` and four of the secret.
const PREFIX_LEN: usize = 8;

#[utoipa::path(post, path = "/v1/api-keys", tag = "api-keys", request_body = CreateApiKeyRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created; `key` is shown only here", body = CreatedApiKey),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller's role may not create keys, or not of this role", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<CreateApiKeyRequest>,
) -> ApiResult<impl IntoResponse> {
    caller.require(Permission::ApiKeysWrite)?;
    let role = role_of(request.role);
    if !caller.role.can_grant(role) {
        return Err(ApiError::Forbidden(format!("the {} role may not create {role} keys", caller.role)));
    }
    let name = display_name("name", &request.name)?;
    let now = now_ms();
    let expires_at = match request.expires_at.as_deref() {
        None => None,
        Some(text) => match parse_rfc3339(text) {
            Some(at) if at > now => Some(at),
            Some(_) => return Err(ApiError::validation("expires_at", "expires_at must be in the future")),
            None => return Err(ApiError::validation("expires_at", "expires_at must be an RFC 3339 time")),
        },
    };
    let (key, key_hash) = new_api_key();
    let row = ApiKeyRow {
        id: uuid::Uuid::now_v7().to_string(),
        organization_id: caller.organization_id.clone(),
        name,
        role: role.as_str().to_owned(),
        key_hash,
        prefix: key.chars().take(PREFIX_LEN).collect(),
        created_by: caller.actor.to_string(),
        created_at: now,
        expires_at,
        last_used_at: None,
        revoked_at: None,
    };
    state.store.insert_api_key(&row).await?;
    tracing::info!(api_key = %row.id, role = %role, by = %caller.actor, "API key created");
    let created = CreatedApiKey { api_key: to_api(&row)?, key };
    let location = format!("/v1/api-keys/{}", row.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], axum::Json(created)))
}

#[utoipa::path(get, path = "/v1/api-keys", tag = "api-keys", params(PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The organization's keys not revoked, oldest first, without their secrets", body = ApiKeyPage),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<axum::Json<ApiKeyPage>> {
    caller.require(Permission::ApiKeysRead)?;
    let page = params.page()?;
    let rows = state.store.list_api_keys(&caller.organization_id, page.after.as_deref(), page.size + 1).await?;
    let (rows, next_page_token) = paginate(rows, page.size, |r| r.id.as_str());
    let items = rows.iter().map(to_api).collect::<ApiResult<Vec<_>>>()?;
    Ok(axum::Json(ApiKeyPage { items, next_page_token }))
}

#[utoipa::path(get, path = "/v1/api-keys/{id}", tag = "api-keys",
    params(("id" = String, Path), ("If-None-Match" = Option<String>, Header, description = "ETags the client holds")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ApiKey, headers(("ETag" = String, description = "Changes with last_used_at too"))),
        (status = 304, description = "The key is the one If-None-Match names"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    preconditions: Preconditions,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    caller.require(Permission::ApiKeysRead)?;
    let row = state.store.api_key(&caller.organization_id, &id).await?.ok_or(ApiError::NotFound(NOT_FOUND))?;
    Ok(with_etag(&preconditions, to_api(&row)?))
}

#[utoipa::path(delete, path = "/v1/api-keys/{id}", tag = "api-keys",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "Revoke only if the key still has this ETag")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked: the key is refused from now on"),
        (status = 403, description = "The caller's role may not revoke keys, or not of this role", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The key changed (was used) since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    preconditions: Preconditions,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require(Permission::ApiKeysWrite)?;
    let row = state.store.api_key(&caller.organization_id, &id).await?.ok_or(ApiError::NotFound(NOT_FOUND))?;
    // A key's name, role and expiry never change; the write below only
    // revokes a key not yet revoked, so checking the tag first loses nothing.
    preconditions.check(&etag(&to_api(&row)?))?;
    let role = Role::stored(&row.role)?;
    if !caller.role.can_grant(role) {
        return Err(ApiError::Forbidden(format!("the {} role may not revoke {role} keys", caller.role)));
    }
    if !state.store.revoke_api_key(&caller.organization_id, &id, now_ms()).await? {
        return Err(ApiError::NotFound(NOT_FOUND));
    }
    tracing::info!(api_key = %id, by = %caller.actor, "API key revoked");
    Ok(StatusCode::NO_CONTENT)
}

pub fn role_of(name: RoleName) -> Role {
    match name {
        RoleName::Owner => Role::Owner,
        RoleName::Admin => Role::Admin,
        RoleName::Developer => Role::Developer,
        RoleName::Viewer => Role::Viewer,
        RoleName::Billing => Role::Billing,
    }
}

pub fn name_of(role: Role) -> RoleName {
    match role {
        Role::Owner => RoleName::Owner,
        Role::Admin => RoleName::Admin,
        Role::Developer => RoleName::Developer,
        Role::Viewer => RoleName::Viewer,
        Role::Billing => RoleName::Billing,
    }
}

fn to_api(row: &ApiKeyRow) -> ApiResult<ApiKey> {
    Ok(ApiKey {
        id: row.id.clone(),
        name: row.name.clone(),
        role: name_of(Role::stored(&row.role)?),
        prefix: row.prefix.clone(),
        created_by: row.created_by.clone(),
        created_at: rfc3339(row.created_at),
        expires_at: row.expires_at.map(rfc3339),
        last_used_at: row.last_used_at.map(rfc3339),
    })
}
