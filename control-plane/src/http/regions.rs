//! `GET /v1/regions`: the regions instances can be created in (those with a
//! fleet), public like the plans. Placement inside a region is the store's.

use axum::extract::State;
use omnibus_api::rest::{Region, RegionPage};

use super::AppState;
use crate::error::ApiResult;

#[utoipa::path(get, path = "/v1/regions", tag = "plans", operation_id = "list_regions",
    responses((status = 200, description = "The regions, by name; no login needed", body = RegionPage)))]
pub async fn list(State(state): State<AppState>) -> ApiResult<axum::Json<RegionPage>> {
    let default = state.config.default_region();
    let items = state
        .store
        .regions()
        .await?
        .into_iter()
        .map(|name| Region { default: Some(name.as_str()) == default, name })
        .collect();
    Ok(axum::Json(RegionPage { items, next_page_token: None }))
}
