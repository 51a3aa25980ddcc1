//! Command-line flags. Every flag has an environment variable; both override
//! the configuration file, which overrides the built-in defaults.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "omnibus", version, about = "Omnibus: converged MQTT and Kafka message queues as a service")]
pub struct Cli {
    /// Log line format.
    #[arg(long, global = true, env = "OMNIBUS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Everything in one process on embedded defaults: control plane (SQLite),
    /// one broker, data under --data-dir. Listens on 127.0.0.1 only.
    Dev(DevArgs),
    /// The management REST API and the reconciler.
    ControlPlane(ControlPlaneArgs),
    /// One broker of a fleet.
    Broker(BrokerArgs),
    /// Prints the configuration in effect for a command, as TOML, and exits.
    PrintConfig(PrintConfigArgs),
    /// Makes a signed-up user a platform operator (fleets, quota overrides:
    /// `/v1/operator/...`), or with --revoke no longer one, in the control
    /// plane's database.
    GrantOperator(GrantOperatorArgs),
}

#[derive(Debug, Args)]
pub struct GrantOperatorArgs {
    /// The user's email address.
    #[arg(long)]
    pub email: String,
    /// Withdraw the grant instead.
    #[arg(long)]
    pub revoke: bool,
    /// Where the control plane's database is (the same flags as `control-plane`).
    #[command(flatten)]
    pub control_plane: ControlPlaneArgs,
}

#[derive(Debug, Args)]
pub struct DevArgs {
    /// TOML configuration file (keys: data_dir, [control_plane], [broker]).
    #[arg(long, env = "OMNIBUS_CONFIG")]
    pub config: Option<PathBuf>,
    /// Directory for all state [default: ./omnibus-data].
    #[arg(long, env = "OMNIBUS_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// REST API address [default: 127.0.0.1:8080].
    #[arg(long, env = "OMNIBUS_HTTP_LISTEN")]
    pub http_listen: Option<SocketAddr>,
    /// MQTT address [default: 127.0.0.1:1883].
    #[arg(long, env = "OMNIBUS_MQTT_LISTEN")]
    pub mqtt_listen: Option<SocketAddr>,
    /// MQTT over WebSocket address, path /mqtt [default: 127.0.0.1:8083].
    #[arg(long, env = "OMNIBUS_MQTT_WS_LISTEN")]
    pub mqtt_ws_listen: Option<SocketAddr>,
    /// MQTT over TLS address, served when a certificate is set [default: 127.0.0.1:8883].
    #[arg(long, env = "OMNIBUS_MQTT_TLS_LISTEN")]
    pub mqtt_tls_listen: Option<SocketAddr>,
    /// MQTT over WebSocket over TLS address, served when a certificate is set [default: 127.0.0.1:8084].
    #[arg(long, env = "OMNIBUS_MQTT_WSS_LISTEN")]
    pub mqtt_wss_listen: Option<SocketAddr>,
    /// PEM certificate chain (server certificate first) for the TLS listeners [default: none, no TLS].
    #[arg(long, env = "OMNIBUS_TLS_CERT_PATH")]
    pub tls_cert_path: Option<PathBuf>,
    /// PEM private key of that certificate [default: none].
    #[arg(long, env = "OMNIBUS_TLS_KEY_PATH")]
    pub tls_key_path: Option<PathBuf>,
    /// Kafka address [default: 127.0.0.1:9092].
    #[arg(long, env = "OMNIBUS_KAFKA_LISTEN")]
    pub kafka_listen: Option<SocketAddr>,
    /// Fleet gRPC and broker metrics address [default: 127.0.0.1:9190].
    #[arg(long, env = "OMNIBUS_GRPC_LISTEN")]
    pub grpc_listen: Option<SocketAddr>,
    /// Control-plane database [default: sqlite://{data_dir}/control-plane/control-plane.db].
    #[arg(long, env = "OMNIBUS_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Host name put in instance endpoints [default: localhost].
    #[arg(long, env = "OMNIBUS_ADVERTISED_HOST")]
    pub advertised_host: Option<String>,
    /// Port Kafka clients are told to use [default: the bound Kafka port].
    #[arg(long, env = "OMNIBUS_ADVERTISED_KAFKA_PORT")]
    pub advertised_kafka_port: Option<u16>,
    /// Object store of tiered storage: file:///path or s3://bucket/prefix (AWS_ENDPOINT_URL, AWS_REGION and
    /// credentials from the standard AWS environment) [default: file://{data_dir}/object-store].
    #[arg(long, env = "OMNIBUS_OBJECT_STORE")]
    pub object_store: Option<String>,
}

#[derive(Debug, Args)]
pub struct ControlPlaneArgs {
    /// TOML configuration file (the keys of ControlPlaneConfig).
    #[arg(long, env = "OMNIBUS_CONFIG")]
    pub config: Option<PathBuf>,
    /// Directory for local state [default: ./omnibus-data/control-plane].
    #[arg(long, env = "OMNIBUS_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// REST API address [default: 0.0.0.0:8080].
    #[arg(long, env = "OMNIBUS_HTTP_LISTEN")]
    pub http_listen: Option<SocketAddr>,
    /// `sqlite://PATH` or `postgres://...` [default: sqlite://{data_dir}/control-plane.db].
    #[arg(long, env = "OMNIBUS_DATABASE_URL")]
    pub database_url: Option<String>,
    /// gRPC address of the fleet of the default region [default: http://127.0.0.1:9190].
    #[arg(long, env = "OMNIBUS_FLEET_ENDPOINT")]
    pub fleet_endpoint: Option<String>,
}

#[derive(Debug, Args)]
pub struct BrokerArgs {
    /// TOML configuration file (the keys of BrokerConfig).
    #[arg(long, env = "OMNIBUS_CONFIG")]
    pub config: Option<PathBuf>,
    /// Directory for broker state [default: ./omnibus-data/broker].
    #[arg(long, env = "OMNIBUS_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Name of this broker in its fleet [default: broker-0].
    #[arg(long, env = "OMNIBUS_BROKER_ID")]
    pub broker_id: Option<String>,
    /// MQTT address [default: 0.0.0.0:1883].
    #[arg(long, env = "OMNIBUS_MQTT_LISTEN")]
    pub mqtt_listen: Option<SocketAddr>,
    /// MQTT over WebSocket address, path /mqtt [default: 0.0.0.0:8083].
    #[arg(long, env = "OMNIBUS_MQTT_WS_LISTEN")]
    pub mqtt_ws_listen: Option<SocketAddr>,
    /// MQTT over TLS address, served when a certificate is set [default: 0.0.0.0:8883].
    #[arg(long, env = "OMNIBUS_MQTT_TLS_LISTEN")]
    pub mqtt_tls_listen: Option<SocketAddr>,
    /// MQTT over WebSocket over TLS address, served when a certificate is set [default: 0.0.0.0:8084].
    #[arg(long, env = "OMNIBUS_MQTT_WSS_LISTEN")]
    pub mqtt_wss_listen: Option<SocketAddr>,
    /// PEM certificate chain (server certificate first) for the TLS listeners [default: none, no TLS].
    #[arg(long, env = "OMNIBUS_TLS_CERT_PATH")]
    pub tls_cert_path: Option<PathBuf>,
    /// PEM private key of that certificate [default: none].
    #[arg(long, env = "OMNIBUS_TLS_KEY_PATH")]
    pub tls_key_path: Option<PathBuf>,
    /// Kafka address [default: 0.0.0.0:9092].
    #[arg(long, env = "OMNIBUS_KAFKA_LISTEN")]
    pub kafka_listen: Option<SocketAddr>,
    /// Fleet gRPC and metrics address [default: 0.0.0.0:9190].
    #[arg(long, env = "OMNIBUS_GRPC_LISTEN")]
    pub grpc_listen: Option<SocketAddr>,
    /// Host name clients reach this broker by [default: localhost].
    #[arg(long, env = "OMNIBUS_ADVERTISED_HOST")]
    pub advertised_host: Option<String>,
    /// Port Kafka clients are told to use [default: the bound Kafka port].
    #[arg(long, env = "OMNIBUS_ADVERTISED_KAFKA_PORT")]
    pub advertised_kafka_port: Option<u16>,
    /// Object store of tiered storage: file:///path or s3://bucket/prefix (AWS_ENDPOINT_URL, AWS_REGION and
    /// credentials from the standard AWS environment) [default: file://{data_dir}/object-store].
    #[arg(long, env = "OMNIBUS_OBJECT_STORE")]
    pub object_store: Option<String>,
}

#[derive(Debug, Args)]
pub struct PrintConfigArgs {
    #[command(subcommand)]
    pub of: PrintConfigOf,
}

#[derive(Debug, Subcommand)]
pub enum PrintConfigOf {
    Dev(DevArgs),
    ControlPlane(ControlPlaneArgs),
    Broker(BrokerArgs),
}
