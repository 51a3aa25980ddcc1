//! The Omnibus broker: protocol front ends, tenancy and the fleet admin service.
//!
//! [`Broker::bind`] loads the persisted tenancy metadata and takes the ports;
//! [`Broker::serve`] runs until told to stop. Inside:
//! - [`config`]: the broker's settings;
//! - [`tenancy`]: namespaces, credentials, authentication, ACLs, live sessions;
//! - [`mqtt`]: the MQTT 3.1 / 3.1.1 / 5.0 front end, over TCP, TLS, WebSocket and
//!   WebSocket over TLS;
//! - `kafka`: the Kafka wire-protocol front end;
//! - `catalog`: each namespace's topics and their partition logs
//!   (`omnibus-commit-log`);
//! - `tier`: tiered storage, closed segments in the object store
//!   (`omnibus-object-store`) and reads back from it;
//! - `admin`: the fleet gRPC service, `/metrics` and `/healthz`.
//!
//! Invariants: every name a client uses lives inside the namespace of its
//! credential, so tenants never see each other; the codecs and protocol state
//! machines do no I/O; nothing a client sends can panic the broker. The data
//! plane never reads the control plane's database: it learns tenancy only
//! through the fleet service.

mod accept;
mod admin;
mod bridge;
mod catalog;
pub mod config;
mod durable_file;
mod kafka;
mod meter;
pub mod mqtt;
mod quota;
pub mod tenancy;
mod tier;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use tokio_util::sync::CancellationToken;
use tracing::info;

pub use config::BrokerConfig;

use admin::{AdminListener, Identity};
use catalog::Catalog;
use kafka::KafkaListener;
use mqtt::{MqttListener, TlsError, Transport};
use tenancy::{StoreError, Tenancy};

/// Where a bound broker listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrokerAddrs {
    pub mqtt: SocketAddr,
    pub mqtt_ws: SocketAddr,
    /// `None` when no TLS certificate is configured.
    pub mqtt_tls: Option<SocketAddr>,
    /// `None` when no TLS certificate is configured.
    pub mqtt_wss: Option<SocketAddr>,
    pub kafka: SocketAddr,
    pub grpc: SocketAddr,
}

/// Why the broker could not start or stopped serving.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("cannot bind the {listener} listener on {addr}: {source}")]
    Bind { listener: &'static str, addr: SocketAddr, source: io::Error },
    #[error("cannot set up the TLS listeners: {0}")]
    Tls(#[from] TlsError),
    #[error("cannot load broker metadata: {0}")]
    Metadata(#[from] StoreError),
    #[error("cannot open the tenancy: {0}")]
    Tenancy(#[from] tenancy::TenancyError),
    #[error("cannot open the topic catalog: {0}")]
    Catalog(#[from] catalog::CatalogError),
    #[error("cannot load the committed offsets of Kafka groups: {0}")]
    Groups(#[from] kafka::GroupsError),
    #[error("cannot open the MQTT session store: {0}")]
    MqttStore(#[from] mqtt::StoreError),
    #[error("cannot load the Kafka producer id counter: {0}")]
    ProducerIds(#[from] kafka::ProducerIdError),
    #[error("cannot open the object store: {0}")]
    ObjectStore(#[from] omnibus_object_store::StoreError),
    #[error("cannot adopt the object store's tiered topics: {0}")]
    Tier(#[from] tier::TierError),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// A broker with its metadata loaded and its ports bound.
pub struct Broker {
    addrs: BrokerAddrs,
    mqtt: MqttListener,
    kafka: KafkaListener,
    admin: AdminListener,
    catalog: Arc<Catalog>,
    tier: Arc<tier::Tier>,
    remote_interval: std::time::Duration,
    meter: Arc<meter::Meter>,
    usage_interval: std::time::Duration,
}

/// Most messages one MQTT session queues (offline sessions drop and count
/// what does not fit; attached ones hold their publishers back long before).
const MAX_QUEUED_MESSAGES: usize = 100_000;

/// How often retention runs over every partition log.
const RETENTION_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);
/// Longest the first tiered-storage pass may hold up the start.
const FIRST_TIER_PASS: std::time::Duration = std::time::Duration::from_secs(30);
/// How often every namespace's log bytes are measured for the storage quota.
const STORAGE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

impl Broker {
    /// Loads persisted metadata from `config.data_dir` and binds all
    /// listeners, so the ports are taken when this returns.
    pub async fn bind(config: BrokerConfig, metrics: PrometheusHandle) -> Result<Broker, BrokerError> {
        let BrokerConfig {
            broker_id,
            data_dir,
            mqtt_listen,
            mqtt_ws_listen,
            mqtt_tls_listen,
            mqtt_wss_listen,
            tls_cert_path,
            tls_key_path,
            kafka_listen,
            grpc_listen,
            advertised_host,
            advertised_kafka_port,
            max_request_size,
            max_packet_size,
            usage_interval_secs,
            object_store,
            remote_cache_bytes,
            remote_interval_ms,
        } = config;
        let tls = mqtt::transport::tls::configured(tls_cert_path.as_deref(), tls_key_path.as_deref())?;
        let tenancy = Arc::new(Tenancy::open(&data_dir).await?);
        let store_url = match object_store {
            Some(url) => url,
            None => format!("file://{}", std::path::absolute(data_dir.join("object-store"))?.display()),
        };
        let store = omnibus_object_store::open(&store_url).await?;
        let adopted = tier::adopt(store.as_ref(), &data_dir).await?;
        info!(object_store = %store_url, adopted, "object store opened");
        let meter = tenancy.meter().clone();
        let catalog_dir = data_dir.clone();
        let durability_of = tenancy.clone();
        let catalog = Arc::new(
            tokio::task::spawn_blocking(move || {
                Catalog::open(&catalog_dir, |namespace| durability_of.durability(namespace).unwrap_or_default())
            })
            .await
            .map_err(|e| BrokerError::Io(io::Error::other(e)))??,
        );
        let groups_dir = data_dir.clone();
        let groups = Arc::new(
            tokio::task::spawn_blocking(move || kafka::Groups::open(&groups_dir))
                .await
                .map_err(|e| BrokerError::Io(io::Error::other(e)))??,
        );
        let tier = Arc::new(tier::Tier::new(store, usize::try_from(remote_cache_bytes).unwrap_or(usize::MAX)));
        // Before any client connects, so reads below the local segments find the store's copies; a store
        // that does not answer delays the start by at most this much, and the partitions register later.
        if tokio::time::timeout(FIRST_TIER_PASS, tier.pass(&catalog)).await.is_err() {
            tracing::warn!(after = ?FIRST_TIER_PASS, "the object store is slow: tiered partitions register once it answers");
        }
        for (namespace, limits) in tenancy.kafka_limits_all() {
            catalog.set_limits(&namespace, limits);
            groups.set_limit(&namespace, limits.max_consumer_groups);
        }
        kafka::Groups::spawn_timers(&groups);
        let mqtt_dir = data_dir.join("mqtt");
        let hub = Arc::new(
            tokio::task::spawn_blocking({
                let to_kafka = Arc::new(bridge::ToKafka::new(tenancy.clone(), catalog.clone()));
                move || mqtt::Hub::open(&mqtt_dir, MAX_QUEUED_MESSAGES, Some(to_kafka))
            })
            .await
            .map_err(|e| BrokerError::Io(io::Error::other(e)))??,
        );
        mqtt::Hub::spawn_timers(&hub);
        let to_mqtt = Arc::new(bridge::ToMqtt::new(tenancy.clone(), hub.clone()));
        let ids_dir = data_dir.clone();
        let producer_ids = Arc::new(
            tokio::task::spawn_blocking(move || kafka::ProducerIds::open(&ids_dir))
                .await
                .map_err(|e| BrokerError::Io(io::Error::other(e)))??,
        );
        info!(
            data_dir = %data_dir.display(),
            namespaces = tenancy.namespace_count(),
            "broker metadata loaded"
        );
        mqtt::metrics::describe();

        let bind_error = |listener, addr| move |source| BrokerError::Bind { listener, addr, source };
        let mut mqtt = MqttListener::bind(mqtt_listen, tenancy.clone(), hub.clone(), max_packet_size)
            .await
            .map_err(bind_error("mqtt", mqtt_listen))?;
        let mqtt_addr = mqtt.local_addr()?;
        let mqtt_ws_addr =
            mqtt.bind_transport(mqtt_ws_listen, Transport::Ws).await.map_err(bind_error("mqtt-ws", mqtt_ws_listen))?;
        let (mqtt_tls_addr, mqtt_wss_addr) = match tls {
            Some(acceptor) => {
                let tls = mqtt
                    .bind_transport(mqtt_tls_listen, Transport::Tls(acceptor.clone()))
                    .await
                    .map_err(bind_error("mqtt-tls", mqtt_tls_listen))?;
                let wss = mqtt
                    .bind_transport(mqtt_wss_listen, Transport::Wss(acceptor))
                    .await
                    .map_err(bind_error("mqtt-wss", mqtt_wss_listen))?;
                (Some(tls), Some(wss))
            }
            None => (None, None),
        };
        let kafka_shared = |bound: SocketAddr| kafka::Shared {
            tenancy: tenancy.clone(),
            catalog: catalog.clone(),
            tier: tier.clone(),
            groups: groups.clone(),
            producer_ids: producer_ids.clone(),
            to_mqtt: to_mqtt.clone(),
            advertised: kafka::Advertised {
                node_id: node_id(&broker_id),
                host: advertised_host.clone(),
                port: advertised_kafka_port.unwrap_or(bound.port()),
            },
            max_request_size,
        };
        let kafka = KafkaListener::bind(kafka_listen, kafka_shared).await.map_err(bind_error("kafka", kafka_listen))?;
        let kafka_addr = kafka.local_addr()?;
        let endpoint = |addr: Option<SocketAddr>| addr.map(|a| format!("{advertised_host}:{}", a.port()));
        let identity = Identity {
            broker_id,
            incarnation: uuid::Uuid::now_v7().to_string(),
            mqtt_endpoint: format!("{advertised_host}:{}", mqtt_addr.port()),
            mqtt_ws_endpoint: format!("{advertised_host}:{}", mqtt_ws_addr.port()),
            mqtt_tls_endpoint: endpoint(mqtt_tls_addr).unwrap_or_default(),
            mqtt_wss_endpoint: endpoint(mqtt_wss_addr).unwrap_or_default(),
            kafka_endpoint: format!("{advertised_host}:{}", advertised_kafka_port.unwrap_or(kafka_addr.port())),
        };
        let admin = AdminListener::bind(grpc_listen, tenancy, catalog.clone(), groups, hub, identity, metrics)
            .await
            .map_err(bind_error("grpc", grpc_listen))?;
        let addrs = BrokerAddrs {
            mqtt: mqtt_addr,
            mqtt_ws: mqtt_ws_addr,
            mqtt_tls: mqtt_tls_addr,
            mqtt_wss: mqtt_wss_addr,
            kafka: kafka_addr,
            grpc: admin.local_addr()?,
        };
        let usage_interval = std::time::Duration::from_secs(u64::from(usage_interval_secs.max(1)));
        let remote_interval = std::time::Duration::from_millis(u64::from(remote_interval_ms.max(10)));
        Ok(Broker { addrs, mqtt, kafka, admin, catalog, tier, remote_interval, meter, usage_interval })
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
        let kafka = async {
            self.kafka.serve(stop.clone()).await;
            stop.cancel();
        };
        let retention = retain(self.catalog.clone(), stop.clone());
        let tiering = tier::run(self.tier.clone(), self.catalog.clone(), self.remote_interval, stop.clone());
        // Sealed last, after the listeners closed their connections.
        let meter_stop = CancellationToken::new();
        let catalog = self.catalog.clone();
        let metering = tokio::spawn(meter::run(
            self.meter.clone(),
            self.usage_interval,
            move |namespace| catalog.storage(namespace),
            meter_stop.clone(),
        ));
        let admin = async {
            let result = self.admin.serve(stop.clone()).await;
            stop.cancel();
            result
        };
        let ((), (), (), (), admin_result) = tokio::join!(mqtt, kafka, retention, tiering, admin);
        meter_stop.cancel();
        if let Err(error) = metering.await {
            tracing::warn!(%error, "metering task failed");
        }
        signal.abort();
        info!("broker stopped");
        Ok(admin_result?)
    }
}

/// Measures every namespace's log bytes each second (for the storage
/// quota) and applies retention to every log now and then, until `stop`.
async fn retain(catalog: Arc<Catalog>, stop: CancellationToken) {
    let mut tick = tokio::time::interval(STORAGE_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut retained_at: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let measuring = catalog.clone();
        if let Err(error) = tokio::task::spawn_blocking(move || measuring.measure_storage()).await {
            tracing::warn!(%error, "storage measurement failed");
        }
        if retained_at.is_some_and(|at| at.elapsed() < RETENTION_INTERVAL) {
            continue;
        }
        retained_at = Some(tokio::time::Instant::now());
        let catalog = catalog.clone();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        match tokio::task::spawn_blocking(move || catalog.apply_retention(now)).await {
            Ok(0) => {}
            Ok(freed) => info!(freed, "retention removed old segments"),
            Err(error) => tracing::warn!(%error, "retention task failed"),
        }
    }
}

/// The Kafka node id of a broker: the number its id ends with (`broker-3` → 3), else 0.
fn node_id(broker_id: &str) -> i32 {
    let digits: String = broker_id.chars().rev().take_while(char::is_ascii_digit).collect();
    digits.chars().rev().collect::<String>().parse().unwrap_or(0)
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
            mqtt_ws_listen: "127.0.0.1:0".parse().unwrap(),
            mqtt_tls_listen: "127.0.0.1:0".parse().unwrap(),
            mqtt_wss_listen: "127.0.0.1:0".parse().unwrap(),
            kafka_listen: "127.0.0.1:0".parse().unwrap(),
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
        let endpoints = health.endpoints.unwrap();
        assert_eq!(endpoints.mqtt, format!("broker.test:{}", addrs.mqtt.port()));
        assert_eq!(endpoints.mqtt_ws, format!("broker.test:{}", addrs.mqtt_ws.port()));
        assert_eq!((endpoints.mqtt_tls.as_str(), endpoints.mqtt_wss.as_str()), ("", ""), "no certificate, no TLS");
        assert_eq!((addrs.mqtt_tls, addrs.mqtt_wss), (None, None));

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
    async fn serves_mqtt_over_tcp_websocket_tls_and_websocket_over_tls() {
        use futures_util::{SinkExt as _, StreamExt as _};
        use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest as _};

        // CONNECT (3.1.1) without credentials, and its answer: CONNACK 5, not authorized.
        const CONNECT: &[u8] = &[0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 4, 2, 0, 30, 0, 1, b'c'];
        const REFUSED: &[u8] = &[0x20, 2, 0, 5];
        let config = config();
        let data_dir = config.data_dir.clone();
        let pki = mqtt::transport::tls::tests::TestPki::new(&data_dir.join("pki"));
        let config = BrokerConfig {
            tls_cert_path: Some(pki.cert_path.clone()),
            tls_key_path: Some(pki.key_path.clone()),
            ..config
        };
        let broker = Broker::bind(config, metrics()).await.unwrap();
        let addrs = broker.local_addrs();
        let (tls, wss) = (addrs.mqtt_tls.unwrap(), addrs.mqtt_wss.unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = tokio::spawn(broker.serve(async move {
            let _ = stopped.await;
        }));
        let mut fleet = FleetClient::connect(format!("http://{}", addrs.grpc)).await.unwrap();
        let endpoints = fleet.health(HealthRequest {}).await.unwrap().into_inner().endpoints.unwrap();
        assert_eq!(endpoints.mqtt_tls, format!("broker.test:{}", tls.port()));
        assert_eq!(endpoints.mqtt_wss, format!("broker.test:{}", wss.port()));

        let tcp = |addr| async move { tokio::net::TcpStream::connect(addr).await.unwrap() };
        let connector = pki.connector();
        let tls_to = |addr| {
            let connector = connector.clone();
            async move {
                let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
                connector.connect(name, tcp(addr).await).await.unwrap()
            }
        };
        let mut answer = [0; 4];
        let mut plain = tcp(addrs.mqtt).await;
        plain.write_all(CONNECT).await.unwrap();
        plain.read_exact(&mut answer).await.unwrap();
        assert_eq!(answer, REFUSED);
        let mut over_tls = tls_to(tls).await;
        over_tls.write_all(CONNECT).await.unwrap();
        over_tls.read_exact(&mut answer).await.unwrap();
        assert_eq!(answer, REFUSED);

        let mut request = "ws://localhost/mqtt".into_client_request().unwrap();
        request.headers_mut().insert("sec-websocket-protocol", "mqtt".parse().unwrap());
        let (mut ws, _) = tokio_tungstenite::client_async(request.clone(), tcp(addrs.mqtt_ws).await).await.unwrap();
        ws.send(Message::binary(CONNECT)).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), Message::binary(REFUSED));
        let (mut wss, _) = tokio_tungstenite::client_async(request, tls_to(wss).await).await.unwrap();
        wss.send(Message::binary(CONNECT)).await.unwrap();
        assert_eq!(wss.next().await.unwrap().unwrap(), Message::binary(REFUSED));

        stop.send(()).unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(5), serving).await.unwrap().unwrap().unwrap();
        std::fs::remove_dir_all(data_dir).unwrap();
    }

    #[tokio::test]
    async fn a_tls_setup_error_names_the_file() {
        let config = BrokerConfig {
            tls_cert_path: Some("/nonexistent/omnibus.pem".into()),
            tls_key_path: Some("/nonexistent/omnibus.key".into()),
            ..config()
        };
        let data_dir = config.data_dir.clone();
        let error = Broker::bind(config, metrics()).await.err().unwrap().to_string();
        assert!(error.starts_with("cannot set up the TLS listeners: "), "{error}");
        assert!(error.contains("/nonexistent/omnibus.pem"), "{error}");
        let _ = std::fs::remove_dir_all(data_dir);
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
