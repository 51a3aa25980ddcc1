//! The broker's configuration: one serde struct with documented defaults.
//!
//! Owns the shape and defaults of the `[broker]` settings. It reads no files and
//! no environment; the binary does that and hands the result to
//! [`Broker::bind`](crate::Broker::bind).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Settings of one broker process.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct BrokerConfig {
    /// Name this broker reports to the control plane. Default `"broker-0"`.
    pub broker_id: String,
    /// Directory for the broker's own state (`metadata.json`, `catalog.json`,
    /// the partition logs under `logs/`). Created if
    /// missing. Default `"./omnibus-data/broker"`.
    pub data_dir: PathBuf,
    /// Where MQTT clients connect. Default `0.0.0.0:1883`.
    pub mqtt_listen: SocketAddr,
    /// Where MQTT over WebSocket clients connect: path `/mqtt`, subprotocol
    /// `mqtt` (or `mqttv3.1`). Default `0.0.0.0:8083`.
    pub mqtt_ws_listen: SocketAddr,
    /// Where MQTT over TLS clients connect; bound only when `tls_cert_path`
    /// and `tls_key_path` are set. Default `0.0.0.0:8883`.
    pub mqtt_tls_listen: SocketAddr,
    /// Where MQTT over WebSocket over TLS clients connect (path `/mqtt`);
    /// bound only when `tls_cert_path` and `tls_key_path` are set.
    /// Default `0.0.0.0:8084`.
    pub mqtt_wss_listen: SocketAddr,
    /// PEM file with the certificate chain the TLS listeners present, the
    /// server's certificate first, then its intermediates. Read once at
    /// startup. Default: none, and no TLS listeners.
    pub tls_cert_path: Option<PathBuf>,
    /// PEM file with the private key of that certificate (PKCS#8, PKCS#1 or
    /// SEC1). Default: none.
    pub tls_key_path: Option<PathBuf>,
    /// Where Kafka clients connect. Default `0.0.0.0:9092`.
    pub kafka_listen: SocketAddr,
    /// Where the fleet gRPC service, `GET /metrics` and `GET /healthz` are
    /// served. Default `0.0.0.0:9190`.
    pub grpc_listen: SocketAddr,
    /// Host name put in front of the bound ports when the broker reports its
    /// client endpoints (`{advertised_host}:{port}`). Default `"localhost"`.
    pub advertised_host: String,
    /// Port Kafka clients are told to use (Metadata, FindCoordinator) and put
    /// in the instance's Kafka endpoint, when it differs from the bound one
    /// (behind a proxy, a load balancer or NAT). Default: the bound port.
    pub advertised_kafka_port: Option<u16>,
    /// Largest Kafka request accepted, in bytes; a larger one closes the
    /// connection. Default 100 MiB (104857600), Kafka's `socket.request.max.bytes`.
    pub max_request_size: u32,
    /// Largest MQTT packet accepted, fixed header included, in bytes; a larger
    /// one closes the connection. Default 1 MiB (1048576).
    pub max_packet_size: u32,
    /// How often what each namespace used is sealed into a usage record, in
    /// seconds, aligned to the wall clock (60: one record per namespace per
    /// minute, the usage API's finest grain). Default 60.
    pub usage_interval_secs: u32,
    /// Where tiered storage keeps closed segments of topics with
    /// `remote.storage.enable=true`: `file:///absolute/path`, or
    /// `s3://bucket/prefix` with the endpoint, region and credentials from the
    /// standard AWS environment (`AWS_ENDPOINT_URL`, `AWS_REGION`,
    /// `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` or any source of the
    /// default chain); `?path_style=true|false` overrides the addressing
    /// (path style by default only with a custom endpoint). Default: none,
    /// which is `file://{data_dir}/object-store`.
    pub object_store: Option<String>,
    /// Bytes of remote data (chunks and indexes) the broker caches in memory
    /// for reads from the object store. Default 256 MiB (268435456).
    pub remote_cache_bytes: u64,
    /// How often closed segments are copied and the object store's copies
    /// trimmed by retention, in milliseconds. Default 1000.
    pub remote_interval_ms: u32,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            broker_id: "broker-0".to_owned(),
            data_dir: PathBuf::from("./omnibus-data/broker"),
            mqtt_listen: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 1883)),
            mqtt_ws_listen: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 8083)),
            mqtt_tls_listen: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 8883)),
            mqtt_wss_listen: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 8084)),
            tls_cert_path: None,
            tls_key_path: None,
            kafka_listen: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 9092)),
            grpc_listen: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 9190)),
            max_request_size: 100 * 1024 * 1024,
            advertised_host: "localhost".to_owned(),
            advertised_kafka_port: None,
            max_packet_size: 1024 * 1024,
            usage_interval_secs: 60,
            object_store: None,
            remote_cache_bytes: 256 << 20,
            remote_interval_ms: 1000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_document_gives_the_defaults() {
        let config: BrokerConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(config.broker_id, "broker-0");
        assert_eq!(config.mqtt_listen.port(), 1883);
        assert_eq!(config.mqtt_ws_listen.port(), 8083);
        assert_eq!(config.mqtt_tls_listen.port(), 8883);
        assert_eq!(config.mqtt_wss_listen.port(), 8084);
        assert_eq!(config.tls_cert_path, None);
        assert_eq!(config.grpc_listen.port(), 9190);
        assert_eq!(config.max_packet_size, 1_048_576);
        assert_eq!(config.usage_interval_secs, 60);
        assert_eq!(config.object_store, None);
        assert_eq!(config.remote_cache_bytes, 268_435_456);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let result = serde_json::from_str::<BrokerConfig>(r#"{"mqtt_port": 1}"#);
        assert!(result.is_err());
    }
}
