//! The audit log: a middleware records every mutating call (POST, PUT, PATCH,
//! DELETE) once it is answered, and sign-ins through what the auth handlers
//! attach to their answers ([`SignedIn`]); `GET /v1/audit-events` reads an
//! organization's log and `GET /v1/operator/audit-events` the platform's
//! (operators' calls, and calls that named no organization). An event is who (the caller, or the account signing
//! in), what (`METHOD /route`), on what (the created resource's location, or
//! the path), from which address, under which request id, and the outcome.
//! A failed write of an event is logged; it does not undo the call.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::Method;
use axum::http::header::LOCATION;
use axum::middleware::Next;
use axum::response::Response;
use omnibus_api::rest::{AuditEvent, AuditEventPage, Problem};
use serde::Deserialize;

use super::AppState;
use super::client_addr::ClientAddr;
use super::extract::{ApiQuery, PageParams, paginate, time_param};
use crate::auth::{Caller, Permission};
use crate::clock::{now_ms, rfc3339};
use crate::error::ApiResult;
use crate::store::{AuditEventRow, AuditFilter, AuditScope};

/// Attached by the sign-in handlers to their answers: whose account it was,
/// and the organizations whose logs show it.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user_id: String,
    pub organization_ids: Vec<String>,
}

pub async fn layer(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    if !matches!(*request.method(), Method::POST | Method::PUT | Method::PATCH | Method::DELETE) {
        return next.run(request).await;
    }
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let action = format!("{} {}", request.method(), route.as_deref().unwrap_or("(no route)"));
    // Operators act on the platform: their calls are in its log, not in an organization's.
    let platform = route.as_deref().is_some_and(|route| route.starts_with("/v1/operator/"));
    let path = request.uri().path().to_owned();
    let source_address =
        ClientAddr::of(request.extensions().get::<ConnectInfo<SocketAddr>>(), request.headers(), &state).text();
    let request_id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let caller = Caller::of(request.headers(), &state).await.ok();
    if let Some(caller) = &caller {
        // Found once per request: the idempotency layer and the handler take it from here.
        request.extensions_mut().insert(caller.clone());
    }
    let response = next.run(request).await;

    let status = response.status();
    let outcome = if response.headers().contains_key("idempotent-replayed") {
        "replayed"
    } else if status.is_client_error() || status.is_server_error() {
        "failure"
    } else {
        "success"
    };
    let target = response.headers().get(LOCATION).and_then(|v| v.to_str().ok()).map_or(path, str::to_owned);
    let (actor, organizations) = match (&caller, response.extensions().get::<SignedIn>()) {
        (Some(caller), _) => {
            (caller.actor.to_string(), vec![Some(caller.organization_id.clone()).filter(|_| !platform)])
        }
        (None, Some(signed_in)) => {
            (format!("user:{}", signed_in.user_id), signed_in.organization_ids.iter().cloned().map(Some).collect())
        }
        (None, None) => ("anonymous".to_owned(), vec![None]),
    };
    let now = now_ms();
    for organization_id in organizations {
        let row = AuditEventRow {
            id: uuid::Uuid::now_v7().to_string(),
            organization_id,
            actor: actor.clone(),
            action: action.clone(),
            target: target.clone(),
            source_address: source_address.clone(),
            request_id: request_id.clone(),
            outcome: outcome.to_owned(),
            status: i64::from(status.as_u16()),
            created_at: now,
        };
        if let Err(error) = state.store.insert_audit_event(&row).await {
            tracing::error!(%error, action = %row.action, "cannot record an audit event");
        }
    }
    response
}

/// `GET /v1/audit-events` filters; each is an exact match.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// `user:<id>`, `api_key:<id>` or `anonymous`.
    pub actor: Option<String>,
    /// `METHOD /route`, e.g. `POST /v1/instances`.
    pub action: Option<String>,
    /// The resource's path, e.g. `/v1/instances/{id}`.
    pub target: Option<String>,
    /// `success`, `failure` or `replayed`.
    pub outcome: Option<String>,
    /// RFC 3339; events at or after it.
    pub since: Option<String>,
    /// RFC 3339; events before it.
    pub until: Option<String>,
    /// Items per page, 1-200. Default 50.
    pub page_size: Option<u32>,
    /// `next_page_token` of the previous page.
    pub page_token: Option<String>,
}

#[utoipa::path(get, path = "/v1/audit-events", tag = "audit", params(AuditQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The organization's events, newest first", body = AuditEventPage),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<axum::Json<AuditEventPage>> {
    caller.require(Permission::AuditRead)?;
    read(&state, AuditScope::Organization(&caller.organization_id), &query).await
}

/// A page of `scope`'s events as `query` asks.
pub async fn read(
    state: &AppState,
    scope: AuditScope<'_>,
    query: &AuditQuery,
) -> ApiResult<axum::Json<AuditEventPage>> {
    let filter = AuditFilter {
        actor: query.actor.as_deref(),
        action: query.action.as_deref(),
        target: query.target.as_deref(),
        outcome: query.outcome.as_deref(),
        since: time_param("since", query.since.as_deref())?,
        until: time_param("until", query.until.as_deref())?,
    };
    let page = PageParams { page_size: query.page_size, page_token: query.page_token.clone() }.page()?;
    let rows = state.store.audit_events(scope, &filter, page.after.as_deref(), page.size + 1).await?;
    let (rows, next_page_token) = paginate(rows, page.size, |r| r.id.as_str());
    let items = rows
        .into_iter()
        .map(|row| AuditEvent {
            id: row.id,
            actor: row.actor,
            action: row.action,
            target: row.target,
            source_address: row.source_address,
            request_id: row.request_id,
            outcome: row.outcome,
            status: u16::try_from(row.status).unwrap_or_default(),
            created_at: rfc3339(row.created_at),
        })
        .collect();
    Ok(axum::Json(AuditEventPage { items, next_page_token }))
}
