//! The `omnibus` binary: parses the command line, loads configuration,
//! initialises telemetry, and runs the control plane, a broker, or both
//! (`dev`) until SIGINT/SIGTERM. All behaviour lives in the library crates;
//! this is the only place that uses `anyhow`.

mod cli;
mod config;
mod telemetry;

use anyhow::Context as _;
use clap::Parser as _;
use metrics_exporter_prometheus::PrometheusBuilder;
use omnibus_control_plane::ControlPlane;
use omnibus_data_plane::Broker;

use crate::cli::{Cli, Command};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("start the async runtime")?;
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let telemetry = telemetry::init(cli.log_format)?;
    let metrics = PrometheusBuilder::new().install_recorder().context("install the metrics recorder")?;
    let result = match cli.command {
        Command::Dev(args) => {
            let config = config::dev(&args)?;
            tracing::info!(data_dir = %config.data_dir.display(), "starting omnibus dev");
            let broker = Broker::bind(config.broker, metrics.clone()).await.context("start the broker")?;
            let control_plane =
                ControlPlane::bind(config.control_plane, metrics).await.context("start the control plane")?;
            let addrs = broker.local_addrs();
            let tls = |addr: Option<std::net::SocketAddr>| addr.map_or_else(|| "off".to_owned(), |a| a.to_string());
            tracing::info!(
                http = %control_plane.local_addr(), mqtt = %addrs.mqtt, mqtt_ws = %addrs.mqtt_ws,
                mqtt_tls = %tls(addrs.mqtt_tls), mqtt_wss = %tls(addrs.mqtt_wss),
                kafka = %addrs.kafka, grpc = %addrs.grpc,
                "omnibus is ready"
            );
            let stop = shutdown_signal();
            let (stop_broker, stopped) = tokio::sync::watch::channel(false);
            let broker = tokio::spawn(broker.serve({
                let mut stopped = stopped.clone();
                async move {
                    let _ = stopped.wait_for(|s| *s).await;
                }
            }));
            // The control plane stops first, so the reconciler never talks to a
            // broker that has gone.
            let served = control_plane.serve(stop).await.context("control plane");
            let _ = stop_broker.send(true);
            let brokered = broker.await.context("broker task")?.context("broker");
            served.and(brokered)
        }
        Command::ControlPlane(args) => {
            let config = config::control_plane(&args)?;
            let control_plane = ControlPlane::bind(config, metrics).await.context("start the control plane")?;
            control_plane.serve(shutdown_signal()).await.context("control plane")
        }
        Command::Broker(args) => {
            let config = config::broker(&args)?;
            let broker = Broker::bind(config, metrics).await.context("start the broker")?;
            broker.serve(shutdown_signal()).await.context("broker")
        }
        Command::PrintConfig(args) => config::print(&args),
        Command::GrantOperator(args) => {
            let config = config::control_plane(&args.control_plane)?;
            let granted = !args.revoke;
            if !omnibus_control_plane::set_platform_operator(&config, &args.email, granted).await? {
                anyhow::bail!("no user has the email address {:?}; they must sign up first", args.email);
            }
            println!("{}: platform operator {}", args.email, if granted { "granted" } else { "revoked" });
            Ok(())
        }
    };
    telemetry.shutdown();
    if let Err(e) = &result {
        tracing::error!(error = format!("{e:#}"), "omnibus stopped on an error");
    }
    result
}

/// Resolves on the first SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only SIGINT stops omnibus");
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    tracing::info!("shutting down");
}
