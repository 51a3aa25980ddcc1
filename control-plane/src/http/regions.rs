//! `GET /v1/regions`: the regions instances can be created in, public like
//! the plans. Reads the configuration; placement inside a region is the
//! reconciler's.

use axum::extract::State;
use omnibus_api::rest::{Region, RegionPage};

use super::AppState;

#[utoipa::path(get, path = "/v1/regions", tag = "plans",
    responses((status = 200, description = "The regions, in the configuration's order; no login needed", body = RegionPage)))]
pub async fn list(State(state): State<AppState>) -> axum::Json<RegionPage> {
    let default = state.config.default_region();
    let items = state
        .config
        .regions
        .iter()
        .map(|region| Region { name: region.name.clone(), default: Some(region.name.as_str()) == default })
        .collect();
    axum::Json(RegionPage { items, next_page_token: None })
}
