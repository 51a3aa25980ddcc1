//! Starts a broker and a control plane in-process on free ports, with a fresh
//! database, and gives scenarios an HTTP client for them.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;

use metrics_exporter_prometheus::PrometheusBuilder;
use omnibus_control_plane::config::RegionConfig;
use omnibus_control_plane::{ControlPlane, ControlPlaneConfig};
use omnibus_data_plane::{Broker, BrokerConfig};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection as _;

pub const JWT_SECRET: &str = "integration-test-secret-0123456789abcdef";

#[derive(Debug, Clone, Copy)]
pub enum Db {
    Sqlite,
    Postgres,
}

pub struct Env {
    pub base: String,
    pub http: reqwest::Client,
    pub mqtt: SocketAddr,
    /// The broker's data directory, to see what the fleet was given.
    pub broker_dir: PathBuf,
    /// The control plane's database, to see what it stores.
    pub database_url: String,
    /// The control plane's data directory (its mail outbox is `outbox/` in it).
    pub control_plane_dir: PathBuf,
    /// The scenario's directory, under which further brokers keep their data.
    dir: PathBuf,
    /// Turns true when the scenario is over.
    stopping: tokio::sync::watch::Receiver<bool>,
}

/// A real SMTP server (Python's aiosmtpd, installed by `scripts/test`) that
/// keeps what it receives in a Maildir; stopped when dropped.
pub struct SmtpServer {
    pub port: u16,
    maildir: PathBuf,
    child: std::process::Child,
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        let python = std::env::var("OMNIBUS_PYTHON")
            .expect("OMNIBUS_PYTHON is not set: run the suite with scripts/test, which installs aiosmtpd");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let maildir = temp_dir().join("maildir");
        let child = std::process::Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .spawn()
            .expect("start aiosmtpd");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(std::time::Instant::now() < deadline, "aiosmtpd did not listen on {port}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        SmtpServer { port, maildir, child }
    }

    /// The messages it has received, as delivered.
    pub fn received(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        entries.map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap()).collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Another broker a scenario started, as a fleet of its own.
pub struct OtherBroker {
    /// Its gRPC address, as a fleet endpoint.
    pub endpoint: String,
    pub dir: PathBuf,
}

impl OtherBroker {
    /// A namespace as this broker holds it, or Null when it has none of that id.
    pub fn namespace(&self, namespace_id: &str) -> Value {
        let text = std::fs::read_to_string(self.dir.join("metadata.json")).unwrap_or_else(|_| "{}".into());
        let metadata: Value = serde_json::from_str(&text).expect("metadata.json is JSON");
        metadata["namespaces"][namespace_id].clone()
    }
}

/// What a request answered: status, content type and JSON body (Null when empty).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Value,
}

impl Answer {
    /// Asserts this is a problem document with `status`, and returns its detail.
    pub fn problem(&self, status: u16) -> String {
        assert_eq!(self.status.as_u16(), status, "unexpected answer: {self:?}");
        assert_eq!(self.content_type, "application/problem+json", "{self:?}");
        assert_eq!(self.body["status"], status, "{self:?}");
        assert!(self.body["type"].as_str().is_some_and(|t| t.starts_with("https://")), "{self:?}");
        assert!(self.body["title"].is_string(), "{self:?}");
        self.body["detail"].as_str().unwrap_or_default().to_string()
    }
}

impl Env {
    /// Starts another broker, served until the scenario ends.
    pub async fn start_broker(&self, name: &str) -> OtherBroker {
        let dir = self.dir.join(name);
        let broker = bind_broker(&dir).await;
        let endpoint = format!("http://{}", broker.local_addrs().grpc);
        let mut stopping = self.stopping.clone();
        tokio::spawn(broker.serve(async move {
            let _ = stopping.wait_for(|s| *s).await;
        }));
        OtherBroker { endpoint, dir }
    }

    /// Makes the user with `email` a platform operator (or no longer one),
    /// as `omnibus grant-operator` does.
    pub async fn grant_operator(&self, email: &str, granted: bool) {
        let config =
            ControlPlaneConfig { database_url: Some(self.database_url.clone()), ..ControlPlaneConfig::default() };
        assert!(
            omnibus_control_plane::set_platform_operator(&config, email, granted).await.unwrap(),
            "no user {email}"
        );
    }

    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Answer {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        answer(request.send().await.expect("request")).await
    }

    /// A call with one extra header; answers the reply and its ETag.
    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        token: &str,
        header: (&str, &str),
        body: Option<Value>,
    ) -> (Answer, Option<String>) {
        let mut request =
            self.http.request(method, format!("{}{path}", self.base)).bearer_auth(token).header(header.0, header.1);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let etag = response.headers().get("etag").map(|v| v.to_str().unwrap().to_string());
        (answer(response).await, etag)
    }

    pub async fn raw(&self, method: Method, path: &str, content_type: Option<&str>, body: &str) -> Answer {
        let mut request = self.http.request(method, format!("{}{path}", self.base)).body(body.to_string());
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        answer(request.send().await.expect("request")).await
    }

    /// Signs up a fresh user and returns (access token, refresh token, signup body).
    pub async fn signup(&self, email: &str) -> (String, String, Value) {
        let a = self
            .call(
                Method::POST,
                "/v1/auth/signup",
                None,
                Some(json!({"email": email, "password": "a long passphrase", "organization_name": "Test Org"})),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
        let access = a.body["access_token"].as_str().unwrap().to_string();
        let refresh = a.body["refresh_token"].as_str().unwrap().to_string();
        (access, refresh, a.body)
    }

    /// The mails in the control plane's outbox, as written.
    pub fn outbox(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.control_plane_dir.join("outbox")) else {
            return Vec::new();
        };
        let mut paths: Vec<PathBuf> =
            entries.map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "eml")).collect();
        paths.sort();
        paths.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect()
    }

    /// The mappings the broker holds for a namespace, from its `metadata.json`
    /// (`[]` when it has none): the fleet's side of what the API promised.
    pub fn broker_mappings(&self, namespace_id: &str) -> Value {
        self.broker_namespace(namespace_id)["mappings"].clone()
    }

    /// The CONNACK return code the broker's MQTT listener answers an MQTT
    /// 3.1.1 CONNECT with these credentials (0: accepted, 4: bad user name or
    /// password, 5: not authorized).
    pub async fn mqtt_connect_code(&self, username: &str, password: &str) -> u8 {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let field = |bytes: &[u8]| {
            let mut out = u16::try_from(bytes.len()).unwrap().to_be_bytes().to_vec();
            out.extend_from_slice(bytes);
            out
        };
        // Variable header: "MQTT", level 4, flags user name + password + clean session, keep-alive 30 s.
        let mut body = field(b"MQTT");
        body.extend_from_slice(&[4, 0b1100_0010, 0, 30]);
        body.extend(field(b"it-client"));
        body.extend(field(username.as_bytes()));
        body.extend(field(password.as_bytes()));
        let mut packet = vec![0x10, u8::try_from(body.len()).expect("a short CONNECT")];
        packet.extend(body);
        let mut socket = tokio::net::TcpStream::connect(self.mqtt).await.expect("connect to the broker");
        socket.write_all(&packet).await.unwrap();
        let mut connack = [0u8; 4];
        socket.read_exact(&mut connack).await.expect("a CONNACK");
        assert_eq!(connack[0], 0x20, "not a CONNACK: {connack:?}");
        connack[3]
    }

    /// A namespace as the broker holds it, from its `metadata.json`.
    pub fn broker_namespace(&self, namespace_id: &str) -> Value {
        let text = std::fs::read_to_string(self.broker_dir.join("metadata.json")).expect("the broker's metadata");
        let metadata: Value = serde_json::from_str(&text).expect("metadata.json is JSON");
        let namespace = &metadata["namespaces"][namespace_id];
        assert!(namespace.is_object(), "namespace {namespace_id} is not on the broker: {metadata}");
        namespace.clone()
    }

    pub async fn create_instance(&self, token: &str, name: &str) -> Value {
        let a = self
            .call(Method::POST, "/v1/instances", Some(token), Some(json!({"name": name, "plan": "developer"})))
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
        a.body
    }
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status();
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let text = response.text().await.expect("body");
    let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    Answer { status, content_type, body }
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("omnibus-cp-it-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A fresh, empty database of the kind asked for.
async fn database_url(db: Db, dir: &std::path::Path) -> String {
    match db {
        Db::Sqlite => format!("sqlite://{}/control-plane.db", dir.display()),
        Db::Postgres => {
            let admin = std::env::var("OMNIBUS_TEST_POSTGRES_URL").expect(
                "OMNIBUS_TEST_POSTGRES_URL is not set: run the suite with scripts/test, which starts PostgreSQL",
            );
            let name = format!("it_{}", uuid::Uuid::new_v4().simple());
            let mut conn = sqlx::PgConnection::connect(&admin).await.expect("connect to PostgreSQL");
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.unwrap();
            let (server, _) = admin.rsplit_once('/').expect("a database url with a path");
            format!("{server}/{name}")
        }
    }
}

async fn bind_broker(dir: &std::path::Path) -> Broker {
    let metrics = PrometheusBuilder::new().build_recorder().handle();
    Broker::bind(
        BrokerConfig {
            data_dir: dir.to_path_buf(),
            mqtt_listen: "127.0.0.1:0".parse().unwrap(),
            mqtt_ws_listen: "127.0.0.1:0".parse().unwrap(),
            kafka_listen: "127.0.0.1:0".parse().unwrap(),
            grpc_listen: "127.0.0.1:0".parse().unwrap(),
            ..BrokerConfig::default()
        },
        metrics,
    )
    .await
    .expect("broker binds")
}

/// Runs `scenario` against a fresh broker and control plane on `db`.
pub async fn run<F, Fut>(db: Db, scenario: F)
where
    F: FnOnce(Env) -> Fut,
    Fut: Future<Output = ()>,
{
    run_configured(db, |_| {}, scenario).await;
}

/// Like [`run`], with the control plane's configuration changed by `configure` first.
pub async fn run_configured<F, Fut>(db: Db, configure: impl FnOnce(&mut ControlPlaneConfig), scenario: F)
where
    F: FnOnce(Env) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = temp_dir();
    let metrics = PrometheusBuilder::new().build_recorder().handle();
    let broker = bind_broker(&dir.join("broker")).await;
    let addrs = broker.local_addrs();
    let database_url = database_url(db, &dir).await;
    let mut config = ControlPlaneConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: Some(database_url.clone()),
        data_dir: dir.join("control-plane"),
        regions: vec![RegionConfig::new("local", format!("http://{}", addrs.grpc))],
        ..ControlPlaneConfig::default()
    };
    config.secrets.jwt_secret = Some(JWT_SECRET.into());
    configure(&mut config);
    let control_plane = ControlPlane::bind(config, metrics).await.expect("control plane binds");
    let base = format!("http://{}", control_plane.local_addr());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let wait = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let broker_task = tokio::spawn(broker.serve(wait(stopped.clone())));
    let stopping = stopped.clone();
    let cp_task = tokio::spawn(control_plane.serve(wait(stopped)));

    let env = Env {
        base,
        http: reqwest::Client::new(),
        mqtt: addrs.mqtt,
        broker_dir: dir.join("broker"),
        database_url,
        control_plane_dir: dir.join("control-plane"),
        dir: dir.clone(),
        stopping,
    };
    scenario(env).await;

    stop.send(true).unwrap();
    cp_task.await.unwrap().expect("control plane stops cleanly");
    broker_task.await.unwrap().expect("broker stops cleanly");
    let _ = std::fs::remove_dir_all(&dir);
}
