//! The Omnibus control plane: the management REST API (`/v1`), identity and
//! tokens, instances and credentials as desired state in SQL, and the
//! reconciler that applies that state to the fleets over gRPC.
//!
//! It never touches a broker's data or disk: everything it knows of the fleet
//! comes back through the fleet gRPC service.

mod auth;
mod billing;
mod clock;
pub mod config;
mod error;
mod fleet;
mod http;
mod invoicing;
mod mailer;
mod metering;
mod plans;
mod reconciler;
mod secrets;
mod store;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;
use rand::RngCore;
use tokio::net::TcpListener;

pub use config::ControlPlaneConfig;
pub use http::openapi_json;

#[derive(Debug, thiserror::Error)]
pub enum ControlPlaneError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("region {region}: {source}")]
    Fleet { region: String, source: fleet::EndpointError },
    #[error("declaring the configured fleets: {0}")]
    DeclareFleets(sqlx::Error),
    #[error("database: {0}")]
    Database(sqlx::Error),
    #[error(transparent)]
    Smtp(#[from] mailer::SmtpConfigError),
    #[error("the default region {0:?} is not among the configured regions")]
    DefaultRegion(String),
    #[error("cannot read or create the token key {path}: {source}")]
    TokenKey { path: String, source: std::io::Error },
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("serving HTTP: {0}")]
    Serve(std::io::Error),
}

/// A bound control plane, ready to serve.
pub struct ControlPlane {
    listener: TcpListener,
    router: axum::Router,
    reconciler: reconciler::Reconciler,
    collector: metering::Collector,
}

impl ControlPlane {
    /// Connects and migrates the database and binds the listener.
    pub async fn bind(
        config: ControlPlaneConfig,
        metrics: PrometheusHandle,
    ) -> Result<ControlPlane, ControlPlaneError> {
        if let Some(region) = config.default_region.as_ref().filter(|r| !config.regions.iter().any(|c| &c.name == *r)) {
            return Err(ControlPlaneError::DefaultRegion(region.clone()));
        }
        for region in &config.regions {
            fleet::check_endpoint(&region.fleet_endpoint)
                .map_err(|source| ControlPlaneError::Fleet { region: region.name.clone(), source })?;
        }
        let store = store::Store::connect(&config.database_url()).await?;
        for region in &config.regions {
            let spec = store::FleetSpec {
                name: &region.name,
                region: &region.name,
                endpoint: &region.fleet_endpoint,
                capacity: i64::from(region.fleet_capacity.max(1)),
            };
            store.declare_fleet(&spec, clock::now_ms()).await.map_err(ControlPlaneError::DeclareFleets)?;
        }
        let prices = serde_json::to_string(&billing::first_prices()).map_err(|e| {
            ControlPlaneError::Database(sqlx::Error::Protocol(format!("cannot encode the first price book: {e}")))
        })?;
        store.ensure_first_price_book("USD", &prices, clock::now_ms()).await.map_err(ControlPlaneError::Database)?;
        let secret = match &config.secrets.jwt_secret {
            Some(secret) => secret.as_bytes().to_vec(),
            None => token_key(&config.data_dir.join("jwt.key"))?,
        };
        let tokens = auth::Tokens::new(&secret, config.access_token_ttl_secs);
        let idempotency = http::IdempotencyKeys::new(&secret);
        let mailer = match &config.secrets.smtp_url {
            Some(url) => mailer::Mailer::Smtp(mailer::Smtp::new(url, &config.mail_from)?),
            None => {
                mailer::Mailer::Outbox(mailer::Outbox::new(config.data_dir.join("outbox"), config.mail_from.clone()))
            }
        };
        let fleets = fleet::Fleets::default();
        let reconciler = reconciler::Reconciler::new(
            store.clone(),
            fleets.clone(),
            Duration::from_secs(config.resync_interval_secs.max(1)),
        );
        let collector = metering::Collector {
            store: store.clone(),
            fleets: fleets.clone(),
            mailer: mailer.clone(),
            schedule: metering::Schedule {
                collect: Duration::from_secs(config.usage_collect_interval_secs.max(1)),
                billing: Duration::from_secs(config.billing_interval_secs.max(1)),
                finalize_delay: Duration::from_secs(config.invoice_finalize_delay_secs),
            },
        };
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| ControlPlaneError::Bind { addr: config.listen, source })?;
        let state = http::AppState {
            store,
            tokens,
            idempotency,
            mailer,
            reconciler: reconciler.clone(),
            fleets,
            metrics,
            config: Arc::new(config),
            openapi: Arc::new(http::openapi_json()),
        };
        Ok(ControlPlane { listener, router: http::router(state), reconciler, collector })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// Serves the API and runs the reconciler until `shutdown` resolves, then
    /// finishes in-flight requests.
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), ControlPlaneError> {
        let addr = self.local_addr();
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let reconciler = tokio::spawn(self.reconciler.run({
            let mut stop = stop_rx.clone();
            async move {
                let _ = stop.wait_for(|s| *s).await;
            }
        }));
        let collector = tokio::spawn(self.collector.run({
            let mut stop = stop_rx.clone();
            async move {
                let _ = stop.wait_for(|s| *s).await;
            }
        }));
        tracing::info!(%addr, "control plane listening");
        let router = self.router.into_make_service_with_connect_info::<std::net::SocketAddr>();
        let served = axum::serve(self.listener, router)
            .with_graceful_shutdown(async move {
                shutdown.await;
                let _ = stop_tx.send(true);
            })
            .await
            .map_err(ControlPlaneError::Serve);
        let _ = reconciler.await;
        let _ = collector.await;
        served
    }
}

/// Makes the user with `email` a platform operator, or no longer one, in the
/// configured database; false when no user has that address.
pub async fn set_platform_operator(
    config: &ControlPlaneConfig,
    email: &str,
    operator: bool,
) -> Result<bool, ControlPlaneError> {
    let store = store::Store::connect(&config.database_url()).await?;
    store.set_platform_operator(&email.trim().to_lowercase(), operator).await.map_err(ControlPlaneError::Database)
}

/// Reads the token key, creating it (32 random bytes, mode 0600) on first start.
fn token_key(path: &Path) -> Result<Vec<u8>, ControlPlaneError> {
    let err = |source| ControlPlaneError::TokenKey { path: path.display().to_string(), source };
    match std::fs::read(path) {
        Ok(key) if key.len() >= 32 => return Ok(key),
        Ok(_) => return Err(err(std::io::Error::new(std::io::ErrorKind::InvalidData, "shorter than 32 bytes"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(err(e)),
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let mut key = vec![0u8; 32];
    rand::rng().fill_bytes(&mut key);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(err)?;
    std::io::Write::write_all(&mut file, &key).map_err(err)?;
    file.sync_all().map_err(err)?;
    Ok(key)
}
