//! The `Caller` extractor: a handler that takes one runs only for a request
//! with a valid `Authorization: Bearer <access token or API key>`, and knows
//! the organization it acts in and the role it acts with. A user's role is
//! read from their membership on every request, so a removed member or a
//! changed role takes effect at once, not when the token runs out.

use std::fmt;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::{API_KEY_PREFIX, Permission, Role, refresh_token_digest};
use crate::clock::now_ms;
use crate::error::{ApiError, ApiResult};
use crate::http::AppState;

/// Who acts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    User(String),
    ApiKey(String),
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::User(id) => write!(f, "user:{id}"),
            Actor::ApiKey(id) => write!(f, "api_key:{id}"),
        }
    }
}

/// The authenticated caller, the organization it acts in and its role there.
#[derive(Debug, Clone)]
pub struct Caller {
    pub actor: Actor,
    pub organization_id: String,
    pub role: Role,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = match parts.extensions.get::<Caller>() {
            Some(found) => found.clone(),
            None => Caller::of(&parts.headers, state).await?,
        };
        tracing::Span::current().record("user", tracing::field::display(&caller.actor));
        Ok(caller)
    }
}

impl Caller {
    /// The caller a request's `Authorization` header names.
    pub async fn of(headers: &HeaderMap, state: &AppState) -> ApiResult<Caller> {
        let header =
            headers.get(AUTHORIZATION).ok_or(ApiError::Unauthorized("missing Authorization: Bearer <token> header"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .ok_or(ApiError::Unauthorized("the Authorization header must be `Bearer <token>`"))?;
        if token.starts_with(API_KEY_PREFIX) {
            return Caller::of_api_key(token, state).await;
        }
        let claims =
            state.tokens.verify(token).ok_or(ApiError::Unauthorized("the access token is invalid or expired"))?;
        let role = state
            .store
            .membership_role(&claims.sub, &claims.org)
            .await?
            .ok_or(ApiError::Unauthorized("the user is no longer a member of the token's organization"))?;
        Ok(Caller { actor: Actor::User(claims.sub), organization_id: claims.org, role: Role::stored(&role)? })
    }

    async fn of_api_key(key: &str, state: &AppState) -> ApiResult<Caller> {
        let invalid = ApiError::Unauthorized("the API key is invalid, expired or revoked");
        let row = state.store.api_key_by_hash(&refresh_token_digest(key)).await?.ok_or(invalid)?;
        let now = now_ms();
        if row.revoked_at.is_some() || row.expires_at.is_some_and(|at| at <= now) {
            return Err(ApiError::Unauthorized("the API key is invalid, expired or revoked"));
        }
        state.store.touch_api_key(&row.id, now).await?;
        Ok(Caller {
            actor: Actor::ApiKey(row.id),
            organization_id: row.organization_id,
            role: Role::stored(&row.role)?,
        })
    }

    /// `Ok` when the caller's role allows `permission`; 403 naming it otherwise.
    pub fn require(&self, permission: Permission) -> ApiResult<()> {
        if self.role.allows(permission) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!("the {} role may not {}", self.role, permission.as_str())))
        }
    }

    /// The user acting, when it is one (not an API key).
    pub fn user_id(&self) -> Option<&str> {
        match &self.actor {
            Actor::User(id) => Some(id),
            Actor::ApiKey(_) => None,
        }
    }
}
