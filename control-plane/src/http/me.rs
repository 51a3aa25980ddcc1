//! `/v1/me`: who the access token is for, and the organizations they are in.

use axum::extract::State;
use omnibus_api::rest::{Me, Membership, Organization, Problem, User};

use super::AppState;
use crate::auth::Caller;
use crate::clock::rfc3339;
use crate::error::{ApiError, ApiResult};

#[utoipa::path(get, path = "/v1/me", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Me),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<Me>> {
    let user_id =
        caller.user_id().ok_or_else(|| ApiError::Forbidden("an API key is no user; it has no `me`".into()))?;
    let user = state.store.user_by_id(user_id).await?.ok_or(ApiError::Unauthorized("the user is gone"))?;
    let memberships = state
        .store
        .memberships(&user.id)
        .await?
        .into_iter()
        .map(|(organization, role)| Membership {
            organization: Organization {
                id: organization.id,
                name: organization.name,
                created_at: rfc3339(organization.created_at),
            },
            role,
        })
        .collect();
    let email_verified = state.store.email_verified_at(&user.id).await?.is_some();
    Ok(axum::Json(Me {
        email_verified,
        user: User { id: user.id, email: user.email, created_at: rfc3339(user.created_at) },
        organization_id: caller.organization_id,
        memberships,
    }))
}
