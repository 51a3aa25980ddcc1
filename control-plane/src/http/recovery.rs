//! Password reset and email verification, both through one-use tokens sent
//! to the account's address (the outbox in dev): a reset mail (valid an
//! hour) sets a new password and ends every login; a verification mail (sent
//! at sign-up and on request, valid a day) marks the address verified.
//! Asking for a reset answers the same whether or not the address has an
//! account, so the endpoint tells nobody which addresses do. Both requests
//! are rate-limited per address asked for and per source address.

use axum::extract::State;
use axum::http::StatusCode;
use omnibus_api::rest::{EmailTokenRequest, PasswordResetConfirm, PasswordResetRequest, Problem};

use super::AppState;
use super::auth::{normalize_email, validate_password};
use super::client_addr::ClientAddr;
use super::extract::ApiJson;
use super::rate_limit::RateLimit;
use crate::auth::{Caller, hash_password, new_email_token, refresh_token_digest};
use crate::clock::{now_ms, rfc3339};
use crate::error::{ApiError, ApiResult, InternalError};
use crate::mailer::Mail;
use crate::store::{Purpose, UserRow};

const RESET_TTL_MS: i64 = 3600 * 1000;
const VERIFY_TTL_MS: i64 = 24 * 3600 * 1000;

#[utoipa::path(post, path = "/v1/auth/password-reset", tag = "auth", request_body = PasswordResetRequest,
    responses(
        (status = 202, description = "If the address has an account, a reset link is on its way (valid one hour)"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many mails asked for this address, or from this source address", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn request_reset(
    State(state): State<AppState>,
    client: ClientAddr,
    ApiJson(request): ApiJson<PasswordResetRequest>,
) -> ApiResult<StatusCode> {
    let email = normalize_email(&request.email)?;
    let limit = RateLimit::mail_request(&state, &email, client);
    limit.admit().await?;
    if let Some(user) = state.store.user_by_email(&email).await? {
        let link = "password-reset";
        let what = "reset your Omnibus password";
        send_token(&state, &user, Purpose::Reset, RESET_TTL_MS, link, what).await?;
        tracing::info!(user = %user.id, "password reset mailed");
    }
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(post, path = "/v1/auth/password-reset/confirm", tag = "auth", request_body = PasswordResetConfirm,
    responses(
        (status = 204, description = "The password is changed and every login of the account has ended"),
        (status = 422, description = "The token is unknown, used or expired, or the password too short", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn confirm_reset(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<PasswordResetConfirm>,
) -> ApiResult<StatusCode> {
    validate_password(&request.new_password)
        .map_err(|_| ApiError::validation("new_password", "new_password must be 10-1024 characters"))?;
    let new = request.new_password;
    let hash = tokio::task::spawn_blocking(move || hash_password(&new))
        .await
        .map_err(|e| InternalError::PasswordHash(e.to_string()))??;
    let now = now_ms();
    let user = state
        .store
        .spend_email_token(&refresh_token_digest(&request.token), Purpose::Reset, now)
        .await?
        .ok_or_else(|| ApiError::validation("token", "the reset token is unknown, used or expired"))?;
    state.store.change_password(&user, &hash, now).await?;
    tracing::info!(user = %user, "password reset");
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/auth/verify-email", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 202, description = "A verification link is on its way to the account's address (valid a day)"),
        (status = 409, description = "The address is verified already", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many mails asked for this address, or from this source address", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn request_verification(
    State(state): State<AppState>,
    client: ClientAddr,
    caller: Caller,
) -> ApiResult<StatusCode> {
    let user_id = caller.user_id().ok_or_else(|| ApiError::Forbidden("an API key has no address".into()))?;
    let user = state.store.user_by_id(user_id).await?.ok_or(ApiError::Unauthorized("the user is gone"))?;
    if state.store.email_verified_at(&user.id).await?.is_some() {
        return Err(ApiError::Conflict("the address is verified already".into()));
    }
    let limit = RateLimit::mail_request(&state, &user.email, client);
    limit.admit().await?;
    send_verification(&state, &user).await?;
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(post, path = "/v1/auth/verify-email/confirm", tag = "auth", request_body = EmailTokenRequest,
    responses(
        (status = 204, description = "The address is verified"),
        (status = 422, description = "The token is unknown, used or expired", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn confirm_verification(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<EmailTokenRequest>,
) -> ApiResult<StatusCode> {
    let user = state
        .store
        .spend_email_token(&refresh_token_digest(&request.token), Purpose::Verify, now_ms())
        .await?
        .ok_or_else(|| ApiError::validation("token", "the verification token is unknown, used or expired"))?;
    tracing::info!(user = %user, "email verified");
    Ok(StatusCode::NO_CONTENT)
}

/// Mails `user` a link to verify their address.
pub async fn send_verification(state: &AppState, user: &UserRow) -> ApiResult<()> {
    send_token(state, user, Purpose::Verify, VERIFY_TTL_MS, "verify-email", "verify your address on Omnibus").await
}

async fn send_token(
    state: &AppState,
    user: &UserRow,
    purpose: Purpose,
    ttl_ms: i64,
    page: &str,
    what: &str,
) -> ApiResult<()> {
    let (token, digest) = new_email_token();
    let now = now_ms();
    state.store.insert_email_token(&digest, purpose, &user.id, now, now + ttl_ms).await?;
    let base = state.config.public_url.trim_end_matches('/');
    let mail = Mail {
        to: user.email.clone(),
        subject: format!("Omnibus: {what}"),
        body: format!(
            "To {what}, open\n\n  {base}/{page}?token={token}\n\nor call POST /v1/auth/{page}/confirm with \
             {{\"token\": \"{token}\"}}.\nThe link works once, until {}. If you did not ask for it, ignore this mail.\n",
            rfc3339(now + ttl_ms)
        ),
    };
    state.mailer.send(&mail).await.map_err(InternalError::from)?;
    Ok(())
}
