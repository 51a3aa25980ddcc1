//! `/v1/auth`: sign up, log in, refresh, log out, change the password.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use omnibus_api::rest::{
    ChangePasswordRequest, LoginRequest, LogoutRequest, Organization, Problem, RefreshRequest, SignupRequest,
    SignupResponse, TokenPair, User,
};

use super::AppState;
use super::audit::SignedIn;
use super::client_addr::ClientAddr;
use super::extract::{ApiJson, display_name};
use super::rate_limit::RateLimit;
use crate::auth::{Caller, hash_password, new_refresh_token, refresh_token_digest, verify_password};
use crate::clock::{now_ms, rfc3339};
use crate::error::{ApiError, ApiResult, InternalError};
use crate::store::{NewSignup, OrganizationRow, RefreshTokenRow, UserRow, is_unique_violation};

/// A valid argon2id hash of a random password: login verifies against it when
/// the email is unknown, so both answers take the same time.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3sCMQfYqYjQJnHBIB6Ixbd6KZpU5y2rH5wTRo5cKfVw";

const REFRESH_INVALID: &str = "the refresh token is invalid, expired or already used";

#[utoipa::path(post, path = "/v1/auth/signup", tag = "auth", request_body = SignupRequest,
    responses(
        (status = 201, description = "Signed up; tokens for the new organization", body = SignupResponse),
        (status = 409, description = "The email is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn signup(State(state): State<AppState>, ApiJson(request): ApiJson<SignupRequest>) -> ApiResult<Response> {
    let email = normalize_email(&request.email)?;
    validate_password(&request.password)?;
    let org_name = display_name("organization_name", &request.organization_name)?;
    let password = request.password;
    let password_hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| InternalError::PasswordHash(e.to_string()))??;
    let now = now_ms();
    let user = UserRow { id: uuid::Uuid::now_v7().to_string(), email, password_hash, created_at: now };
    let organization = OrganizationRow { id: uuid::Uuid::now_v7().to_string(), name: org_name, created_at: now };
    match state.store.create_signup(NewSignup { user: &user, organization: &organization }).await {
        Ok(()) => {}
        Err(e) if is_unique_violation(&e) => {
            return Err(ApiError::Conflict("an account with this email already exists; log in instead".into()));
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(user = %user.id, organization = %organization.id, "signed up");
    // The account works at once; a mail that cannot be written is logged, and
    // the user can ask for another (POST /v1/auth/verify-email).
    if let Err(error) = super::recovery::send_verification(&state, &user).await {
        tracing::error!(%error, user = %user.id, "cannot send the verification mail");
    }
    let pair = issue_pair(&state, &user.id, &organization.id, None).await?;
    let (user_id, organization_id) = (user.id.clone(), organization.id.clone());
    let answer = (
        StatusCode::CREATED,
        axum::Json(SignupResponse {
            access_token: pair.access_token,
            refresh_token: pair.refresh_token,
            token_type: pair.token_type,
            expires_in: pair.expires_in,
            user: User { id: user.id, email: user.email, created_at: rfc3339(user.created_at) },
            organization: Organization {
                id: organization.id,
                name: organization.name,
                created_at: rfc3339(organization.created_at),
            },
        }),
    );
    Ok(signed_in(answer, &user_id, &organization_id))
}

#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenPair),
        (status = 401, description = "Wrong email or password", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed logins to the account or from the address; `Retry-After` says when to try again", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn login(
    State(state): State<AppState>,
    client: ClientAddr,
    ApiJson(request): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    let wrong = ApiError::Unauthorized("the email or password is wrong");
    let email = request.email.trim().to_lowercase();
    let limit = RateLimit::login(&state, &email, client);
    limit.check().await?;
    let user = state.store.user_by_email(&email).await?;
    let hash = user.as_ref().map_or(DUMMY_HASH.to_string(), |u| u.password_hash.clone());
    let password = request.password;
    let matches = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(|e| InternalError::PasswordHash(e.to_string()))?;
    let Some(user) = user.clone().filter(|_| matches) else {
        limit.record().await?;
        let mut refused = wrong.into_response();
        if let Some(user) = user {
            // A wrong password for a real account shows in its organizations' logs.
            let organization_ids = state.store.organization_ids(&user.id).await?;
            refused.extensions_mut().insert(SignedIn { user_id: user.id, organization_ids });
        }
        return Ok(refused);
    };
    let organizations = state.store.organization_ids(&user.id).await?;
    let organization_id = match request.organization_id {
        Some(wanted) if organizations.contains(&wanted) => wanted,
        Some(_) => return Err(ApiError::validation("organization_id", "you are not a member of that organization")),
        None => {
            organizations.into_iter().next().ok_or(ApiError::Unauthorized("the account belongs to no organization"))?
        }
    };
    let pair = issue_pair(&state, &user.id, &organization_id, None).await?;
    Ok(signed_in(axum::Json(pair), &user.id, &organization_id))
}

/// An answer that shows in the audit log of `organization_id` as `user_id`'s.
fn signed_in(answer: impl IntoResponse, user_id: &str, organization_id: &str) -> Response {
    let mut response = answer.into_response();
    response
        .extensions_mut()
        .insert(SignedIn { user_id: user_id.to_owned(), organization_ids: vec![organization_id.to_owned()] });
    response
}

#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair; the refresh token sent is spent", body = TokenPair),
        (status = 422, description = "`organization_id` names an organization the user is not in; the refresh token stays unspent", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Invalid, expired or reused refresh token", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn refresh(State(state): State<AppState>, ApiJson(request): ApiJson<RefreshRequest>) -> ApiResult<Response> {
    let digest = refresh_token_digest(&request.refresh_token);
    let now = now_ms();
    let Some(row) = state.store.refresh_token(&digest).await? else {
        return Err(ApiError::Unauthorized(REFRESH_INVALID));
    };
    if row.revoked_at.is_some() || row.expires_at <= now {
        return Err(ApiError::Unauthorized(REFRESH_INVALID));
    }
    if row.used_at.is_some() {
        return reused(&state, &row, now).await;
    }
    let organization_id = match request.organization_id {
        Some(wanted) if wanted != row.organization_id => {
            if !state.store.organization_ids(&row.user_id).await?.contains(&wanted) {
                return Err(ApiError::validation("organization_id", "you are not a member of that organization"));
            }
            wanted
        }
        _ => row.organization_id.clone(),
    };
    if !state.store.use_refresh_token(&digest, now).await? {
        return reused(&state, &row, now).await;
    }
    let pair = issue_pair(&state, &row.user_id, &organization_id, Some(row.family_id)).await?;
    Ok(signed_in(axum::Json(pair), &row.user_id, &organization_id))
}

/// A spent refresh token came back: someone holds a copy. Ends the whole login.
async fn reused(state: &AppState, row: &RefreshTokenRow, now: i64) -> ApiResult<Response> {
    state.store.revoke_refresh_family(&row.family_id, now).await?;
    tracing::warn!(user = %row.user_id, "refresh token reused; its family is revoked");
    Err(ApiError::Unauthorized(REFRESH_INVALID))
}

#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", request_body = LogoutRequest,
    responses(
        (status = 204, description = "The login the refresh token belongs to is over: none of its refresh tokens works any more. Also for a token that was already invalid (RFC 7009). Access tokens already issued run out on their own (15 minutes by default)."),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn logout(State(state): State<AppState>, ApiJson(request): ApiJson<LogoutRequest>) -> ApiResult<StatusCode> {
    let digest = refresh_token_digest(&request.refresh_token);
    if let Some(row) = state.store.refresh_token(&digest).await? {
        state.store.revoke_refresh_family(&row.family_id, now_ms()).await?;
        tracing::info!(user = %row.user_id, "logged out");
    }
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/auth/change-password", tag = "auth", request_body = ChangePasswordRequest,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Changed; every refresh token of the user is revoked, so other logins end when their access token runs out"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The current password is wrong", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong passwords for the account", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn change_password(
    State(state): State<AppState>,
    client: ClientAddr,
    caller: Caller,
    ApiJson(request): ApiJson<ChangePasswordRequest>,
) -> ApiResult<StatusCode> {
    validate_password(&request.new_password)
        .map_err(|_| ApiError::validation("new_password", "new_password must be 10-1024 characters"))?;
    let user_id = caller.user_id().ok_or_else(|| ApiError::Forbidden("an API key has no password".into()))?;
    let user = state.store.user_by_id(user_id).await?.ok_or(ApiError::Unauthorized("the user is gone"))?;
    // Wrong current passwords count like failed logins: this is a password oracle too.
    let limit = RateLimit::login(&state, &user.email, client);
    limit.check().await?;
    let (current, hash) = (request.current_password, user.password_hash.clone());
    let matches = tokio::task::spawn_blocking(move || verify_password(&current, &hash))
        .await
        .map_err(|e| InternalError::PasswordHash(e.to_string()))?;
    if !matches {
        limit.record().await?;
        return Err(ApiError::Forbidden("the current password is wrong".into()));
    }
    let new = request.new_password;
    let new_hash = tokio::task::spawn_blocking(move || hash_password(&new))
        .await
        .map_err(|e| InternalError::PasswordHash(e.to_string()))??;
    state.store.change_password(&user.id, &new_hash, now_ms()).await?;
    tracing::info!(user = %user.id, "password changed; refresh tokens revoked");
    Ok(StatusCode::NO_CONTENT)
}

/// Issues an access token and a new refresh token (in `family`, or a new one).
async fn issue_pair(state: &AppState, user_id: &str, org_id: &str, family: Option<String>) -> ApiResult<TokenPair> {
    let now_secs = u64::try_from(now_ms() / 1000).unwrap_or_default();
    let access_token = state.tokens.issue(user_id, org_id, now_secs).map_err(InternalError::from)?;
    let (refresh_token, token_hash) = new_refresh_token();
    let ttl_ms = i64::try_from(state.config.refresh_token_ttl_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    state
        .store
        .insert_refresh_token(&RefreshTokenRow {
            token_hash,
            family_id: family.unwrap_or_else(|| uuid::Uuid::now_v7().to_string()),
            user_id: user_id.into(),
            organization_id: org_id.into(),
            expires_at: now_ms().saturating_add(ttl_ms),
            used_at: None,
            revoked_at: None,
        })
        .await?;
    Ok(TokenPair { access_token, refresh_token, token_type: "Bearer".into(), expires_in: state.tokens.access_ttl_secs })
}

pub fn normalize_email(email: &str) -> ApiResult<String> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        })
        && !email.chars().any(char::is_whitespace);
    if valid { Ok(email) } else { Err(ApiError::validation("email", "email must be an address like name@example.com")) }
}

pub fn validate_password(password: &str) -> ApiResult<()> {
    let length = password.chars().count();
    if !(10..=1024).contains(&length) {
        return Err(ApiError::validation("password", "password must be 10-1024 characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dummy_hash_is_a_valid_argon2id_hash() {
        assert!(argon2::password_hash::phc::PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(normalize_email(" Ada@Example.COM ").unwrap(), "ada@example.com");
        for bad in ["", "ada", "@example.com", "ada@", "ada@example", "a da@example.com", "ada@.com"] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }
}
