//! `/v1/instances/{id}/credentials`: create (password shown once), list, get,
//! change (name, ACL), rotate, delete; changes conditional on the ETag.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use omnibus_api::rest::{
    AclAction, AclRule, CreateCredentialRequest, CreatedCredential, Credential, CredentialPage, Problem,
    UpdateCredentialRequest,
};

use super::conditional::{Preconditions, etag, with_etag};
use super::extract::{ApiJson, ApiQuery, PageParams, display_name, paginate};
use super::instances::{live_instance, to_api};
use super::{AppState, FLEET_WAIT};
use crate::auth::{Caller, Permission};
use crate::clock::{now_ms, rfc3339};
use crate::error::{ApiError, ApiResult, InternalError};
use crate::secrets::{self, StoredScrams};
use crate::store::{CredentialRow, CredentialState, is_unique_violation};

const NO_INSTANCE: &str = "no instance with that id in this organization";
const NO_CREDENTIAL: &str = "no credential with that id on this instance";
const MAX_ACL_RULES: usize = 100;

#[utoipa::path(post, path = "/v1/instances/{id}/credentials", tag = "credentials",
    params(("id" = String, Path, description = "Instance id")),
    request_body = CreateCredentialRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created; the password is in this response only", body = CreatedCredential),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The instance is being deleted", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(instance_id): Path<String>,
    ApiJson(request): ApiJson<CreateCredentialRequest>,
) -> ApiResult<(StatusCode, axum::Json<CreatedCredential>)> {
    caller.require(Permission::CredentialsWrite)?;
    let instance = live_instance(&state, &caller, &instance_id).await?;
    let name = match request.name {
        Some(name) => display_name("name", &name)?,
        None => "default".to_string(),
    };
    let acl = match request.acl {
        Some(acl) => validate_acl(acl)?,
        None => vec![AclRule {
            topic: "#".into(),
            actions: vec![
                AclAction::Publish,
                AclAction::Subscribe,
                AclAction::Produce,
                AclAction::Consume,
                AclAction::Group,
            ],
        }],
    };
    let acl_json = serde_json::to_string(&acl).map_err(|e| InternalError::Corrupt(e.to_string()))?;
    let (password, scrams) = new_secret().await?;
    let mut row = CredentialRow {
        id: uuid::Uuid::now_v7().to_string(),
        instance_id: instance.id.clone(),
        name,
        username: String::new(),
        scram_salt: String::new(),
        scram_iterations: 0,
        scram_stored_key: String::new(),
        scram_server_key: String::new(),
        scram_sha512_salt: None,
        scram_sha512_iterations: None,
        scram_sha512_stored_key: None,
        scram_sha512_server_key: None,
        acl: acl_json,
        state: CredentialState::Active.as_str().into(),
        created_at: now_ms(),
    };
    set_secret(&mut row, scrams);
    // Usernames are unique fleet-wide; a clash of the random suffix is retried.
    let mut attempts = 0;
    loop {
        row.username = secrets::new_username(&instance.name);
        match state.store.insert_credential(&row).await {
            Ok(()) => break,
            Err(e) if is_unique_violation(&e) && attempts < 3 => attempts += 1,
            Err(e) => return Err(e.into()),
        }
    }
    tracing::info!(instance = %instance.id, credential = %row.id, username = %row.username, "credential created");
    state.reconciler.kick_and_wait(&instance.id, FLEET_WAIT).await;
    let instance = state.store.instance(&instance.id).await?.unwrap_or(instance);
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedCredential {
            id: row.id,
            instance_id: row.instance_id,
            name: row.name,
            username: row.username,
            password,
            acl,
            endpoints: to_api(&instance)?.endpoints,
            created_at: rfc3339(row.created_at),
        }),
    ))
}

#[utoipa::path(get, path = "/v1/instances/{id}/credentials", tag = "credentials",
    params(("id" = String, Path, description = "Instance id"), PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of the instance's credentials (never their passwords)", body = CredentialPage),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(instance_id): Path<String>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<axum::Json<CredentialPage>> {
    caller.require(Permission::CredentialsRead)?;
    let page = params.page()?;
    state.store.instance_in_org(&caller.organization_id, &instance_id).await?.ok_or(ApiError::NotFound(NO_INSTANCE))?;
    let rows = state.store.list_credentials(&instance_id, page.after.as_deref(), page.size + 1).await?;
    let (rows, next_page_token) = paginate(rows, page.size, |r| r.id.as_str());
    let items = rows.iter().map(to_credential).collect::<ApiResult<Vec<_>>>()?;
    Ok(axum::Json(CredentialPage { items, next_page_token }))
}

#[utoipa::path(post, path = "/v1/instances/{id}/credentials/{cid}/rotate", tag = "credentials",
    params(("id" = String, Path, description = "Instance id"), ("cid" = String, Path, description = "Credential id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A new password, in this response only; the old one stops working and connections that used it are closed (before this answer when the fleet answered within two seconds)", body = CreatedCredential),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The instance is being deleted", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn rotate(
    State(state): State<AppState>,
    caller: Caller,
    Path((instance_id, credential_id)): Path<(String, String)>,
) -> ApiResult<axum::Json<CreatedCredential>> {
    caller.require(Permission::CredentialsWrite)?;
    let instance = live_instance(&state, &caller, &instance_id).await?;
    let current =
        state.store.credential(&instance.id, &credential_id).await?.ok_or(ApiError::NotFound(NO_CREDENTIAL))?;
    let (password, scrams) = new_secret().await?;
    let mut row = current.clone();
    set_secret(&mut row, scrams);
    if !state.store.update_credential(&row, &current).await? {
        return Err(changed_or_gone(&state, &Preconditions::none(), &instance.id, &credential_id).await);
    }
    tracing::info!(instance = %instance.id, credential = %row.id, by = %caller.actor, "credential rotated");
    state.reconciler.kick_and_wait(&instance.id, FLEET_WAIT).await;
    let instance = state.store.instance(&instance.id).await?.unwrap_or(instance);
    let shown = to_credential(&row)?;
    Ok(axum::Json(CreatedCredential {
        id: shown.id,
        instance_id: shown.instance_id,
        name: shown.name,
        username: shown.username,
        password,
        acl: shown.acl,
        endpoints: to_api(&instance)?.endpoints,
        created_at: shown.created_at,
    }))
}

#[utoipa::path(get, path = "/v1/instances/{id}/credentials/{cid}", tag = "credentials",
    params(("id" = String, Path, description = "Instance id"), ("cid" = String, Path, description = "Credential id"),
        ("If-None-Match" = Option<String>, Header, description = "ETags the client holds")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The credential, never its password", body = Credential, headers(("ETag" = String))),
        (status = 304, description = "The credential is the one If-None-Match names"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    preconditions: Preconditions,
    Path((instance_id, credential_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    caller.require(Permission::CredentialsRead)?;
    state.store.instance_in_org(&caller.organization_id, &instance_id).await?.ok_or(ApiError::NotFound(NO_INSTANCE))?;
    let row = state.store.credential(&instance_id, &credential_id).await?.ok_or(ApiError::NotFound(NO_CREDENTIAL))?;
    Ok(with_etag(&preconditions, to_credential(&row)?))
}

#[utoipa::path(patch, path = "/v1/instances/{id}/credentials/{cid}", tag = "credentials",
    params(("id" = String, Path, description = "Instance id"), ("cid" = String, Path, description = "Credential id"),
        ("If-Match" = Option<String>, Header, description = "Change only if the credential still has this ETag")),
    request_body = UpdateCredentialRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed; a new ACL closes the connections that used the credential (before this answer when the fleet answered within two seconds), which reconnect under it", body = Credential, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The instance is being deleted, or the credential changed during the call", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The credential changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    preconditions: Preconditions,
    Path((instance_id, credential_id)): Path<(String, String)>,
    ApiJson(request): ApiJson<UpdateCredentialRequest>,
) -> ApiResult<Response> {
    caller.require(Permission::CredentialsWrite)?;
    let instance = live_instance(&state, &caller, &instance_id).await?;
    let current =
        state.store.credential(&instance.id, &credential_id).await?.ok_or(ApiError::NotFound(NO_CREDENTIAL))?;
    preconditions.check(&etag(&to_credential(&current)?))?;
    let name = match request.name {
        Some(name) => display_name("name", &name)?,
        None => current.name.clone(),
    };
    let acl = match request.acl {
        Some(acl) => serde_json::to_string(&validate_acl(acl)?).map_err(|e| InternalError::Corrupt(e.to_string()))?,
        None => current.acl.clone(),
    };
    let row = CredentialRow { name, acl, ..current.clone() };
    if !state.store.update_credential(&row, &current).await? {
        return Err(changed_or_gone(&state, &preconditions, &instance.id, &credential_id).await);
    }
    tracing::info!(instance = %instance.id, credential = %row.id, by = %caller.actor, "credential changed");
    state.reconciler.kick_and_wait(&instance.id, FLEET_WAIT).await;
    Ok(with_etag(&Preconditions::none(), to_credential(&row)?))
}

#[utoipa::path(delete, path = "/v1/instances/{id}/credentials/{cid}", tag = "credentials",
    params(("id" = String, Path, description = "Instance id"), ("cid" = String, Path, description = "Credential id"),
        ("If-Match" = Option<String>, Header, description = "Revoke only if the credential still has this ETag")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked; connections that used it are closed"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The credential changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    preconditions: Preconditions,
    Path((instance_id, credential_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    caller.require(Permission::CredentialsWrite)?;
    state.store.instance_in_org(&caller.organization_id, &instance_id).await?.ok_or(ApiError::NotFound(NO_INSTANCE))?;
    let expected = if preconditions.has_if_match() {
        let current =
            state.store.credential(&instance_id, &credential_id).await?.ok_or(ApiError::NotFound(NO_CREDENTIAL))?;
        preconditions.check(&etag(&to_credential(&current)?))?;
        Some(current)
    } else {
        None
    };
    if !state.store.mark_credential_revoking(&instance_id, &credential_id, expected.as_ref()).await? {
        return Err(changed_or_gone(&state, &preconditions, &instance_id, &credential_id).await);
    }
    tracing::info!(instance = %instance_id, credential = %credential_id, "credential revocation requested");
    state.reconciler.kick_and_wait(&instance_id, FLEET_WAIT).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Why a conditional write touched no row: 412 under If-Match, 404 when the
/// credential is gone, 409 when it changed during the call.
async fn changed_or_gone(state: &AppState, preconditions: &Preconditions, instance_id: &str, id: &str) -> ApiError {
    if preconditions.has_if_match() {
        return ApiError::PreconditionFailed;
    }
    match state.store.credential(instance_id, id).await {
        Ok(Some(_)) => ApiError::Conflict("the credential changed during the call; GET it and try again".into()),
        Ok(None) => ApiError::NotFound(NO_CREDENTIAL),
        Err(e) => e.into(),
    }
}

/// A new password and its salted SCRAM forms (derived on the blocking pool:
/// thousands of hash iterations).
async fn new_secret() -> ApiResult<(String, StoredScrams)> {
    let password = secrets::new_password();
    let scrams = tokio::task::spawn_blocking({
        let password = password.clone();
        move || secrets::scrams_for(&password)
    })
    .await
    .map_err(|e| InternalError::PasswordHash(e.to_string()))?;
    Ok((password, scrams))
}

fn set_secret(row: &mut CredentialRow, scrams: StoredScrams) {
    row.scram_salt = scrams.sha256.salt;
    row.scram_iterations = scrams.sha256.iterations;
    row.scram_stored_key = scrams.sha256.stored_key;
    row.scram_server_key = scrams.sha256.server_key;
    row.scram_sha512_salt = Some(scrams.sha512.salt);
    row.scram_sha512_iterations = Some(scrams.sha512.iterations);
    row.scram_sha512_stored_key = Some(scrams.sha512.stored_key);
    row.scram_sha512_server_key = Some(scrams.sha512.server_key);
}

fn to_credential(row: &CredentialRow) -> ApiResult<Credential> {
    let acl = serde_json::from_str(&row.acl)
        .map_err(|e| InternalError::Corrupt(format!("credential {} acl: {e}", row.id)))?;
    Ok(Credential {
        id: row.id.clone(),
        instance_id: row.instance_id.clone(),
        name: row.name.clone(),
        username: row.username.clone(),
        acl,
        created_at: rfc3339(row.created_at),
    })
}

fn validate_acl(acl: Vec<AclRule>) -> ApiResult<Vec<AclRule>> {
    if acl.len() > MAX_ACL_RULES {
        return Err(ApiError::validation("acl", format!("at most {MAX_ACL_RULES} rules")));
    }
    for rule in &acl {
        if let Err(e) = omnibus_api::topic::validate_filter(&rule.topic) {
            return Err(ApiError::validation("acl", format!("{:?} is not an MQTT topic filter: {e}", rule.topic)));
        }
        if rule.actions.is_empty() {
            return Err(ApiError::validation("acl", format!("the rule for {:?} allows no action", rule.topic)));
        }
    }
    Ok(acl)
}
