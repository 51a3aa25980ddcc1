//! The Omnibus broker: protocol front ends, tenancy and the fleet admin service.
//!
//! [`Broker::bind`] loads the persisted tenancy metadata and takes the ports;
//! [`Broker::serve`] runs until told to stop. Inside:
//! - [`config`]: the broker's settings;
//! - [`tenancy`]: namespaces, credentials, authentication, ACLs, live sessions;
//! - [`mqtt`]: the MQTT 3.1 / 3.1.1 front end;
//! - `admin`: the fleet gRPC service, `/metrics` and `/healthz`.
//!
//! Invariants: every name a client uses lives inside the namespace of its
//! credential, so tenants never see each other; the codecs and protocol state
//! machines do no I/O; nothing a client sends can panic the broker. The data
//! plane never reads the control plane's database: it learns tenancy only
//! through the fleet service.

mod admin;
pub mod config;
pub mod mqtt;
pub mod tenancy;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use tokio_util::sync::CancellationToken;
use tracing::info;

pub use config::BrokerConfig;

use admin::{AdminListener, Identity};
use mqtt::MqttListener;
use tenancy::{StoreError, Tenancy};

/// Where a bound broker listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrokerAddrs {
    pub mqtt: SocketAddr,
    pub grpc: SocketAddr,
}

/// Why the broker could not start or stopped serving.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("cannot bind the {listener} listener on {addr}: {source}")]
    Bind { listener: &'static str, addr: SocketAddr, source: io::Error },
    #[error("cannot load broker metadata: {0}")]
    Metadata(#[from] StoreError),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// A broker with its metadata loaded and its ports bound.
pub struct Broker {
    addrs: BrokerAddrs,
    mqtt: MqttListener,
    admin: AdminListener,
}

impl Broker {
    /// Loads persisted metadata from `config.data_dir` and binds all
    /// listeners, so the ports are taken when this returns.
    pub async fn bind(config: BrokerConfig, metrics: PrometheusHandle) -> Result<Broker, BrokerError> {
        let BrokerConfig { broker_id, data_dir, mqtt_listen, grpc_listen, advertised_host, max_packet_size } = config;
        let tenancy = Arc::new(Tenancy::open(&data_dir).await?);
        info!(
            data_dir = %data_dir.display(),
            namespaces = tenancy.namespace_count(),
            "broker metadata loaded"
        );
        mqtt::metrics::describe();

        let bind_error = |listener, addr| move |source| BrokerError::Bind { listener, addr, source };
        let mqtt = MqttListener::bind(mqtt_listen, tenancy.clone(), max_packet_size)
            .await
            .map_err(bind_error("mqtt", mqtt_listen))?;
        let mqtt_addr = mqtt.local_addr()?;
        let identity = Identity {
            broker_id,
            incarnation: uuid::Uuid::now_v7().to_string(),
            mqtt_endpoint: format!("{advertised_host}:{}", mqtt_addr.port()),
        };
        let admin = AdminListener::bind(grpc_listen, tenancy, identity, metrics)
            .await
            .map_err(bind_error("grpc", grpc_listen))?;
        let addrs = BrokerAddrs { mqtt: mqtt_addr, grpc: admin.local_addr()? };
        Ok(Broker { addrs, mqtt, admin })
    }

    pub fn local_addrs(&self) -> BrokerAddrs {
        self.addrs
    }

    /// Serves until `shutdown` resolves; then stops accepting, closes client
    /// connections and returns.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), BrokerError> {
        let stop = CancellationToken::new();
        let trigger = stop.clone();
        let signal = tokio::spawn(async move {
            shutdown.await;
            trigger.cancel();
        });
        let mqtt = async {
            self.mqtt.serve(stop.clone()).await;
            stop.cancel();
        };
        let admin = async {
            let result = self.admin.serve(stop.clone()).await;
            stop.cancel();
            result
        };
        let ((), admin_result) = tokio::join!(mqtt, admin);
        signal.abort();
        info!("broker stopped");
        Ok(admin_result?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use omnibus_api::fleet::HealthRequest;
    use omnibus_api::fleet::fleet_client::FleetClient;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    fn config() -> BrokerConfig {
        BrokerConfig {
            data_dir: std::env::temp_dir().join(format!("omnibus-dp-broker-{}", uuid::Uuid::new_v4())),
            mqtt_listen: "127.0.0.1:0".parse().unwrap(),
            grpc_listen: "127.0.0.1:0".parse().unwrap(),
            advertised_host: "broker.test".into(),
            ..BrokerConfig::default()
        }
    }

    fn metrics() -> PrometheusHandle {
        metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder().handle()
    }

    async fn http_get(addr: SocketAddr, path: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response
    }

    #[tokio::test]
    async fn serves_fleet_metrics_and_health_on_one_port_then_stops() {
        let config = config();
        let data_dir = config.data_dir.clone();
        let broker = Broker::bind(config, metrics()).await.unwrap();
        let addrs = broker.local_addrs();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = tokio::spawn(broker.serve(async move {
            let _ = stopped.await;
        }));

        let mut fleet = FleetClient::connect(format!("http://{}", addrs.grpc)).await.unwrap();
        let health = fleet.health(HealthRequest {}).await.unwrap().into_inner();
        assert_eq!(health.broker_id, "broker-0");
        assert_eq!(health.endpoints.unwrap().mqtt, format!("broker.test:{}", addrs.mqtt.port()));

        let metrics = http_get(addrs.grpc, "/metrics").await;
        assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
        assert!(metrics.contains("content-type: text/plain; version=0.0.4"), "{metrics}");
        let healthz = http_get(addrs.grpc, "/healthz").await;
        assert!(healthz.starts_with("HTTP/1.1 200") && healthz.ends_with("ok\n"), "{healthz}");

        let mut client = tokio::net::TcpStream::connect(addrs.mqtt).await.unwrap();
        stop.send(()).unwrap();
        let result = tokio::time::timeout(std::time::Duration::from_secs(5), serving).await.unwrap().unwrap();
        assert!(result.is_ok());
        let mut rest = Vec::new();
        assert_eq!(client.read_to_end(&mut rest).await.unwrap(), 0, "the client connection is closed");
        std::fs::remove_dir_all(data_dir).unwrap();
    }

    #[tokio::test]
    async fn reports_a_taken_port() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let config = BrokerConfig { mqtt_listen: taken.local_addr().unwrap(), ..config() };
        let data_dir = config.data_dir.clone();
        let error = Broker::bind(config, metrics()).await.err().unwrap();
        assert!(matches!(error, BrokerError::Bind { listener: "mqtt", .. }), "{error}");
        std::fs::remove_dir_all(data_dir).unwrap();
    }
}
