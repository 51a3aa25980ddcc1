//! Health, Prometheus metrics and the OpenAPI document.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use omnibus_api::rest::{Health, Problem};

use super::AppState;

#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses(
        (status = 200, description = "Serving, database reachable", body = Health),
        (status = 503, description = "The database does not answer", body = Health),
    ))]
pub async fn healthz(State(state): State<AppState>) -> (StatusCode, axum::Json<Health>) {
    if state.store.ping().await {
        (StatusCode::OK, axum::Json(Health { status: "ok".into() }))
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, axum::Json(Health { status: "database unavailable".into() }))
    }
}

#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text exposition", content_type = "text/plain", body = String)))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render())
}

#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses(
        (status = 200, description = "This document", content_type = "application/json", body = Object),
        (status = 500, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn openapi_json(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], state.openapi.as_str().to_owned())
}
