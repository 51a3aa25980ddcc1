//! The REST edge: the router, its shared state, request tracing and metrics,
//! the OpenAPI document, and extractors that turn malformed input into problem
//! documents. Handlers live in one file per resource.

mod api_keys;
mod audit;
mod auth;
mod billing;
mod client_addr;
mod conditional;
mod console;
mod credentials;
mod extract;
mod idempotency;
mod instances;
mod mappings;
mod me;
mod operator;
mod ops;
mod organizations;
mod plans;
mod rate_limit;
mod recovery;
mod regions;
mod topics;
mod usage;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::PrometheusHandle;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::auth::Tokens;
use crate::config::ControlPlaneConfig;
use crate::error::ApiError;
use crate::fleet::Fleets;
use crate::reconciler::Reconciler;
use crate::store::Store;

pub use idempotency::IdempotencyKeys;

/// How long create and delete calls wait for the fleet before answering with
/// whatever status the instance has reached.
pub const FLEET_WAIT: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub tokens: Tokens,
    pub idempotency: IdempotencyKeys,
    pub mailer: crate::mailer::Mailer,
    pub reconciler: Reconciler,
    pub fleets: Fleets,
    pub metrics: PrometheusHandle,
    pub config: Arc<ControlPlaneConfig>,
    pub openapi: Arc<String>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Omnibus management API",
        version = "v1",
        description = "Create and manage Omnibus instances: converged MQTT and Kafka message queues on a shared fleet. \
Authenticate with `Authorization: Bearer <token>`; every error is an RFC 9457 `application/problem+json` document."
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Sign up, log in, refresh tokens, log out, change the password, and who you are"),
        (name = "api-keys", description = "API keys for machines (Terraform, CI), each bound to a role"),
        (name = "audit", description = "The organization's audit log: every mutating call and sign-in"),
        (name = "instances", description = "Instances: namespaces on a shared fleet"),
        (name = "credentials", description = "Credentials clients use to connect to an instance"),
        (name = "organizations", description = "Organizations, their members and roles, and invitations"),
        (name = "plans", description = "The plan catalogue (what each plan costs and gives) and the regions"),
        (name = "topics", description = "An instance's Kafka topics"),
        (name = "mappings", description = "MQTT↔Kafka mappings: which MQTT topics of an instance are written to which Kafka topic, and back"),
        (name = "usage", description = "Metered usage of instances and of the organization, as time series or CSV"),
        (name = "billing", description = "Invoices (drafts while the month runs, then final), spend alerts and the versioned price book"),
        (name = "operator", description = "Platform operators only: fleets, placement capacity and draining, per-instance quota overrides, the platform's audit log"),
        (name = "operations", description = "Health, metrics and this document")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

/// Documents `Idempotency-Key` on every POST; applied once the routes have
/// added their paths.
struct IdempotencyKeyHeader;

impl Modify for IdempotencyKeyHeader {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        use utoipa::openapi::{ObjectBuilder, Required, Type};
        let parameter = ParameterBuilder::new()
            .name("Idempotency-Key")
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(
                "Makes a retry safe: a repeat with the same key and the same request (method, path, body) within \
24 hours gets the first answer again, marked `Idempotent-Replayed: true`, and does nothing twice. The same key with \
another request is 422 `idempotency-key-reused`; a repeat while the first still runs is 409 with `Retry-After`. \
1-255 visible ASCII characters, e.g. a UUID; scoped to the caller.",
            ))
            .schema(Some(ObjectBuilder::new().schema_type(Type::String).min_length(Some(1)).max_length(Some(255))))
            .build();
        for item in openapi.paths.paths.values_mut() {
            if let Some(post) = item.post.as_mut() {
                post.parameters.get_or_insert_with(Vec::new).push(utoipa::openapi::RefOr::T(parameter.clone()));
            }
        }
    }
}

/// Makes every operation id unique, as OpenAPI requires and generated clients
/// need (utoipa takes the handler's name, and many are `list` or `get`): the
/// operation's tag comes first, `instances_list`, `credentials_rotate`.
struct UniqueOperationIds;

impl Modify for UniqueOperationIds {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for operation in operations.into_iter().flatten() {
                let tag = operation.tags.as_ref().and_then(|t| t.first()).map(|t| t.replace('-', "_"));
                if let (Some(tag), Some(id)) = (tag, operation.operation_id.as_mut()) {
                    *id = format!("{tag}_{id}");
                }
            }
        }
    }
}

fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::signup))
        .routes(routes!(auth::login))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::change_password))
        .routes(routes!(recovery::request_reset))
        .routes(routes!(recovery::confirm_reset))
        .routes(routes!(recovery::request_verification))
        .routes(routes!(recovery::confirm_verification))
        .routes(routes!(me::get))
        .routes(routes!(api_keys::create, api_keys::list))
        .routes(routes!(api_keys::get, api_keys::delete))
        .routes(routes!(audit::list))
        .routes(routes!(organizations::create, organizations::list))
        .routes(routes!(organizations::get, organizations::update))
        .routes(routes!(organizations::members))
        .routes(routes!(organizations::member, organizations::update_member, organizations::remove_member))
        .routes(routes!(organizations::invite, organizations::invitations))
        .routes(routes!(organizations::invitation, organizations::revoke_invitation))
        .routes(routes!(organizations::accept))
        .routes(routes!(instances::create, instances::list))
        .routes(routes!(instances::get, instances::update, instances::delete))
        .routes(routes!(credentials::create, credentials::list))
        .routes(routes!(credentials::get, credentials::update, credentials::delete))
        .routes(routes!(credentials::rotate))
        .routes(routes!(topics::create, topics::list))
        .routes(routes!(topics::get, topics::update, topics::delete))
        .routes(routes!(topics::messages))
        .routes(routes!(mappings::create, mappings::list))
        .routes(routes!(mappings::get, mappings::update, mappings::delete))
        .routes(routes!(usage::instance))
        .routes(routes!(usage::organization))
        .routes(routes!(billing::list_invoices))
        .routes(routes!(billing::get_invoice))
        .routes(routes!(billing::create_alert, billing::list_alerts))
        .routes(routes!(billing::delete_alert))
        .routes(routes!(billing::list_price_books))
        .routes(routes!(billing::get_price_book))
        .routes(routes!(billing::create_price_book))
        .routes(routes!(plans::list))
        .routes(routes!(regions::list))
        .routes(routes!(operator::register_fleet, operator::list_fleets))
        .routes(routes!(operator::get_fleet, operator::update_fleet, operator::delete_fleet))
        .routes(routes!(operator::drain_fleet))
        .routes(routes!(operator::resume_fleet))
        .routes(routes!(operator::get_quotas, operator::put_quotas))
        .routes(routes!(operator::audit_events))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::metrics))
        .routes(routes!(ops::openapi_json))
}

/// The OpenAPI document of the REST API, as served at `/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut openapi = api_router().into_openapi();
    IdempotencyKeyHeader.modify(&mut openapi);
    UniqueOperationIds.modify(&mut openapi);
    openapi
}

/// The OpenAPI document rendered as it is served and checked in.
pub fn openapi_json() -> String {
    let mut json = openapi().to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}

/// Every request has an id: the caller's `X-Request-Id`, or a UUID when it
/// sent none. It is on the request's span (so in every log line and trace of
/// the request) and echoed in the response, problem documents included.
/// `/docs` is Swagger UI over `/openapi.json`, its assets built into the
/// binary (the `vendored` feature), so it works with no internet; every
/// other path outside `/v1/` is the web console.
pub fn router(state: AppState) -> Router {
    let (router, _) = api_router().split_for_parts();
    router
        .merge(SwaggerUi::new("/docs").config(Config::from("/openapi.json")))
        .fallback(console::fallback)
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(middleware::from_fn_with_state(state.clone(), idempotency::layer))
        .layer(middleware::from_fn_with_state(state.clone(), audit::layer))
        .layer(middleware::from_fn(record_metrics))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let route = request.extensions().get::<MatchedPath>().map_or(request.uri().path(), MatchedPath::as_str);
            let request_id = request.headers().get(REQUEST_ID).and_then(|id| id.to_str().ok()).unwrap_or_default();
            tracing::info_span!("http", method = %request.method(), route, request_id, user = tracing::field::Empty)
        }))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

const REQUEST_ID: &str = "x-request-id";

async fn record_metrics(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route =
        request.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let response = next.run(request).await.into_response();
    let status = response.status().as_u16().to_string();
    metrics::counter!("omnibus_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("omnibus_http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}
