//! The admin port: the fleet gRPC service, `GET /metrics` and `GET /healthz`
//! on one listener (HTTP/1.1 and HTTP/2).
//!
//! Owns the listener, the HTTP routing and request tracing. It changes broker
//! state only through [`Tenancy`], the topic catalog, the Kafka groups and
//! the MQTT hub; it never talks to client connections.

mod convert;
mod fleet;
mod messages;
mod topics;
mod trace;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use http::header::CONTENT_TYPE;
use metrics_exporter_prometheus::PrometheusHandle;
use omnibus_api::fleet::fleet_server::FleetServer;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::trace::TraceLayer;
use tracing::info;

pub use fleet::Identity;

use crate::catalog::Catalog;
use crate::kafka::Groups;
use crate::mqtt::Hub;
use crate::tenancy::Tenancy;

/// Content type of the Prometheus text exposition format.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4";

/// A bound admin listener, not yet serving.
pub struct AdminListener {
    listener: TcpListener,
    router: Router,
}

impl AdminListener {
    pub async fn bind(
        addr: SocketAddr,
        tenancy: Arc<Tenancy>,
        catalog: Arc<Catalog>,
        groups: Arc<Groups>,
        hub: Arc<Hub>,
        identity: Identity,
        metrics: PrometheusHandle,
    ) -> io::Result<AdminListener> {
        let listener = TcpListener::bind(addr).await?;
        let fleet = fleet::FleetService::new(tenancy, catalog, groups, hub, identity);
        Ok(AdminListener { listener, router: router(fleet, metrics) })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` fires, then lets in-flight requests finish.
    pub async fn serve(self, shutdown: CancellationToken) -> io::Result<()> {
        info!(addr = ?self.listener.local_addr().ok(), "admin listener serving");
        axum::serve(self.listener, self.router).with_graceful_shutdown(async move { shutdown.cancelled().await }).await
    }
}

fn router(fleet: fleet::FleetService, metrics: PrometheusHandle) -> Router {
    let fleet = FleetServer::new(fleet);
    tonic::service::Routes::new(fleet)
        .prepare()
        .into_axum_router()
        .route(
            "/metrics",
            get(move || {
                let metrics = metrics.clone();
                async move { ([(CONTENT_TYPE, PROMETHEUS_TEXT)], metrics.render()) }
            }),
        )
        .route("/healthz", get(|| async { "ok\n" }))
        .layer(TraceLayer::new_for_http().make_span_with(trace::make_span::<axum::body::Body>))
}
