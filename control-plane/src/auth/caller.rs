//! The `Caller` extractor: a handler that takes one runs only for a request
//! with a valid `Authorization: Bearer <access token>`.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::Tokens;
use crate::error::ApiError;
use crate::http::AppState;

/// The authenticated user and the organization the token acts in.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: String,
    pub organization_id: String,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = Caller::of(&parts.headers, &state.tokens)?;
        tracing::Span::current().record("user", tracing::field::display(&caller.user_id));
        Ok(caller)
    }
}

impl Caller {
    /// The caller a request's `Authorization` header names.
    pub fn of(headers: &HeaderMap, tokens: &Tokens) -> Result<Caller, ApiError> {
        let header =
            headers.get(AUTHORIZATION).ok_or(ApiError::Unauthorized("missing Authorization: Bearer <token> header"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .ok_or(ApiError::Unauthorized("the Authorization header must be `Bearer <token>`"))?;
        let claims = tokens.verify(token).ok_or(ApiError::Unauthorized("the access token is invalid or expired"))?;
        Ok(Caller { user_id: claims.sub, organization_id: claims.org })
    }
}
