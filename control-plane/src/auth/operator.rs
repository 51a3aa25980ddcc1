//! The `PlatformOperator` extractor: it guards `/v1/operator/...`. A request
//! passes only with the access token of a user the database marks as a
//! platform operator, read on every request so a withdrawn grant takes effect
//! at once. API keys never pass: they belong to an organization, and
//! operators act on the platform.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::caller::{Actor, Caller};
use crate::error::ApiError;
use crate::http::AppState;

/// A platform operator, by user id.
#[derive(Debug, Clone)]
pub struct PlatformOperator {
    pub user_id: String,
}

impl FromRequestParts<AppState> for PlatformOperator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let Actor::User(user_id) = caller.actor else {
            return Err(ApiError::Forbidden(
                "operator endpoints take a platform operator's access token, not an API key".into(),
            ));
        };
        if !state.store.is_platform_operator(&user_id).await? {
            return Err(ApiError::Forbidden("only platform operators may call operator endpoints".into()));
        }
        Ok(PlatformOperator { user_id })
    }
}
