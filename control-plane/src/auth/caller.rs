//! The `Caller` extractor: a handler that takes one runs only for a request
//! with a valid `Authorization: Bearer <access token>`.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

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
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or(ApiError::Unauthorized("missing Authorization: Bearer <token> header"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .ok_or(ApiError::Unauthorized("the Authorization header must be `Bearer <token>`"))?;
        let claims =
            state.tokens.verify(token).ok_or(ApiError::Unauthorized("the access token is invalid or expired"))?;
        tracing::Span::current().record("user", tracing::field::display(&claims.sub));
        Ok(Caller { user_id: claims.sub, organization_id: claims.org })
    }
}
