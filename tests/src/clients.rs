//! Real third-party clients, run as processes: mosquitto_sub and mosquitto_pub
//! (Eclipse Mosquitto; TCP or TLS), paho-mqtt scripts (TCP, TLS, WebSocket or
//! WebSocket over TLS), kcat and confluent-kafka scripts.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

/// Who connects: the broker address and a credential, and for TLS the CA
/// file that verifies the broker.
#[derive(Clone)]
pub struct Login {
    pub addr: SocketAddr,
    pub username: String,
    pub password: String,
    pub cafile: Option<PathBuf>,
}

impl Login {
    /// From a `POST /v1/instances/{id}/credentials` answer; connects to `addr`.
    pub fn from_credential(addr: SocketAddr, credential: &serde_json::Value) -> Login {
        Login {
            addr,
            username: credential["username"].as_str().expect("username").into(),
            password: credential["password"].as_str().expect("password").into(),
            cafile: None,
        }
    }

    /// The same credential over TLS to `addr`, trusting the CA in `cafile`.
    pub fn over_tls(&self, addr: SocketAddr, cafile: PathBuf) -> Login {
        Login { addr, cafile: Some(cafile), ..self.clone() }
    }

    /// The mosquitto_pub/sub arguments that connect as this login.
    pub fn args(&self) -> Vec<String> {
        let mut args = vec![
            "-h".into(),
            self.addr.ip().to_string(),
            "-p".into(),
            self.addr.port().to_string(),
            "-u".into(),
            self.username.clone(),
            "-P".into(),
            self.password.clone(),
        ];
        if let Some(cafile) = &self.cafile {
            args.extend(["--cafile".into(), cafile.display().to_string()]);
        }
        args
    }
}

/// A running `mosquitto_sub -v -d`, subscribed (SUBACK seen) when returned.
pub struct Subscriber {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Subscriber {
    pub async fn start(login: &Login, filter: &str, qos: u8) -> Subscriber {
        Subscriber::start_with(login, filter, qos, &[]).await
    }

    /// The same, with more of mosquitto_sub's options (`-i`, `--will-topic`, ...).
    pub async fn start_with(login: &Login, filter: &str, qos: u8, options: &[&str]) -> Subscriber {
        // mosquitto_sub block-buffers a piped stdout; line-buffer it so the
        // SUBACK and each message arrive as they happen.
        let mut child = Command::new("stdbuf")
            .arg("-oL")
            .arg("mosquitto_sub")
            .args(login.args())
            .args(options)
            .args(["-t", filter, "-q", &qos.to_string(), "-v", "-d"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("mosquitto_sub is installed (scripts/test installs it)");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let suback = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(line) = lines.next_line().await.expect("read") {
                if line.contains("received SUBACK") {
                    return true;
                }
            }
            false
        })
        .await;
        assert!(matches!(suback, Ok(true)), "mosquitto_sub got no SUBACK for {filter}");
        Subscriber { child, lines }
    }

    /// The next `topic payload` line, or None if none comes within `wait`.
    pub async fn next_message(&mut self, wait: Duration) -> Option<String> {
        tokio::time::timeout(wait, async {
            while let Some(line) = self.lines.next_line().await.ok().flatten() {
                if !line.starts_with("Client ") && !line.starts_with("Subscribed") {
                    return Some(line);
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// The outcome of one `mosquitto_pub` run.
pub struct Published {
    pub success: bool,
    pub stderr: String,
}

pub async fn mosquitto_pub(login: &Login, topic: &str, message: &str, qos: u8) -> Published {
    let output = tokio::time::timeout(
        Duration::from_secs(15),
        Command::new("mosquitto_pub")
            .args(login.args())
            .args(["-t", topic, "-m", message, "-q", &qos.to_string()])
            .stdin(Stdio::null())
            .output(),
    )
    .await
    .expect("mosquitto_pub finished within 15 s")
    .expect("mosquitto_pub is installed (scripts/test installs it)");
    Published { success: output.status.success(), stderr: String::from_utf8_lossy(&output.stderr).into_owned() }
}

/// Runs `clients/paho_v5.py`: MQTT 5.0 with paho-mqtt 2 (properties and a
/// subscription identifier on a request, no local, reason code 0x10, a
/// persistent session resumed) under topics starting with `prefix`.
pub async fn paho_v5(login: &Login, prefix: &str) -> Result<(), String> {
    let (host, port) = (login.addr.ip().to_string(), login.addr.port().to_string());
    python_client("paho_v5.py", &[&host, &port, &login.username, &login.password, prefix], "paho v5 ok").await
}

/// Runs `clients/paho_roundtrip.py`: subscribe and publish at QoS 1 with
/// paho-mqtt 2 and check the message comes back. Returns its output on failure.
pub async fn paho_roundtrip(login: &Login, topic: &str) -> Result<(), String> {
    let (host, port) = (login.addr.ip().to_string(), login.addr.port().to_string());
    python_client("paho_roundtrip.py", &[&host, &port, &login.username, &login.password, topic], "roundtrip ok").await
}

/// Runs `clients/paho_rate.py`: `count` QoS 1 messages from one paho-mqtt
/// publisher (MQTT `version` 3 or 5) to one subscriber; answers its JSON report.
pub async fn paho_rate(login: &Login, topic: &str, count: u32, version: u8) -> serde_json::Value {
    let python = std::env::var("OMNIBUS_PYTHON").unwrap_or_else(|_| "python3".into());
    let path = format!("{}/clients/paho_rate.py", env!("CARGO_MANIFEST_DIR"));
    let (host, port) = (login.addr.ip().to_string(), login.addr.port().to_string());
    let args = [
        host,
        port,
        login.username.clone(),
        login.password.clone(),
        topic.into(),
        count.to_string(),
        version.to_string(),
    ];
    let output = tokio::time::timeout(Duration::from_secs(120), Command::new(python).arg(&path).args(&args).output())
        .await
        .expect("paho_rate.py timed out")
        .expect("run python");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "paho_rate.py: {text}{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_str(text.lines().last().unwrap_or_default()).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// How `paho_transport` reaches the broker.
pub enum PahoTransport {
    Tcp,
    /// WebSocket, path `/mqtt`.
    WebSocket,
}

/// Runs `clients/paho_transport.py`: Alice and Bob (of another instance),
/// both over `transport` to `alice.addr` (TLS when `alice.cafile` is set), at
/// MQTT `protocol` ("3.1" or "3.1.1"); each receives only its own instance's
/// messages, one of them 200 kB. Returns the script's output on failure.
pub async fn paho_transport(
    alice: &Login,
    bob: &Login,
    transport: PahoTransport,
    protocol: &str,
    topic: &str,
) -> Result<(), String> {
    let (host, port) = (alice.addr.ip().to_string(), alice.addr.port().to_string());
    let transport = match transport {
        PahoTransport::Tcp => "tcp",
        PahoTransport::WebSocket => "websockets",
    };
    let cafile = alice.cafile.as_ref().map_or_else(|| "-".to_owned(), |p| p.display().to_string());
    let args = [
        host.as_str(),
        &port,
        transport,
        &cafile,
        protocol,
        topic,
        &alice.username,
        &alice.password,
        &bob.username,
        &bob.password,
    ];
    python_client("paho_transport.py", &args, "transport ok").await
}

/// SASL login for Kafka clients.
#[derive(Clone)]
pub struct KafkaLogin {
    pub bootstrap: String,
    pub username: String,
    pub password: String,
}

impl KafkaLogin {
    /// From a credential answer; connects to `addr`.
    pub fn from_credential(addr: SocketAddr, credential: &serde_json::Value) -> KafkaLogin {
        KafkaLogin {
            bootstrap: addr.to_string(),
            username: credential["username"].as_str().expect("username").into(),
            password: credential["password"].as_str().expect("password").into(),
        }
    }

    fn kcat_args(&self, mechanism: &str) -> Vec<String> {
        [
            "-b",
            &self.bootstrap,
            "-X",
            "security.protocol=SASL_PLAINTEXT",
            "-X",
            &format!("sasl.mechanisms={mechanism}"),
            "-X",
            &format!("sasl.username={}", self.username),
            "-X",
            &format!("sasl.password={}", self.password),
        ]
        .map(String::from)
        .to_vec()
    }
}

/// The outcome of one kcat run.
pub struct KcatRun {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `kcat` (Debian's, linking librdkafka 2.0) with the login and `args`,
/// feeding `input` to its standard input.
pub async fn kcat(login: &KafkaLogin, mechanism: &str, args: &[&str], input: &str) -> KcatRun {
    let mut command = Command::new("kcat");
    command.args(login.kcat_args(mechanism)).args(args);
    let output = run_with_input(command, input, Duration::from_secs(30), "kcat").await;
    KcatRun {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs `command` with `input` on its standard input and waits (at most
/// `timeout`) for it to exit; panics, naming `what`, if it cannot start or
/// does not finish.
pub async fn run_with_input(mut command: Command, input: &str, timeout: Duration, what: &str) -> std::process::Output {
    use tokio::io::AsyncWriteExt as _;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what} (scripts/test installs it): {e}"));
    let mut stdin = child.stdin.take().expect("stdin");
    match stdin.write_all(input.as_bytes()).await {
        // It exited without reading everything; its output says why.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        written => written.unwrap_or_else(|e| panic!("write to {what}: {e}")),
    }
    drop(stdin);
    tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {timeout:?}"))
        .unwrap_or_else(|e| panic!("{what} failed to run: {e}"))
}

/// Runs `clients/kafka_roundtrip.py` (confluent-kafka): creates `topic`,
/// produces with every codec, reads everything back.
pub async fn kafka_roundtrip(login: &KafkaLogin, mechanism: &str, topic: &str) -> Result<(), String> {
    python_client(
        "kafka_roundtrip.py",
        &[&login.bootstrap, &login.username, &login.password, mechanism, topic],
        "kafka roundtrip ok",
    )
    .await
}

/// Runs `clients/kafka_admin.py` (confluent-kafka AdminClient): topic
/// configs, partition growth, DeleteRecords and ListOffsets on `topic`.
pub async fn kafka_admin(login: &KafkaLogin, topic: &str) -> Result<(), String> {
    python_client("kafka_admin.py", &[&login.bootstrap, &login.username, &login.password, topic], "kafka admin ok")
        .await
}

/// Runs `clients/kafka_quota.py`: a developer instance's topic, partition and consumer group
/// quotas as confluent-kafka meets them.
pub async fn kafka_quota(login: &KafkaLogin) -> Result<(), String> {
    python_client("kafka_quota.py", &[&login.bootstrap, &login.username, &login.password], "kafka quota ok").await
}

/// Runs `clients/kafka_throttle.py`: produces `records` 1 KiB records to
/// `topic` and consumes them again; answers its JSON report.
pub async fn kafka_throttle(login: &KafkaLogin, topic: &str, records: u32) -> serde_json::Value {
    let python = std::env::var("OMNIBUS_PYTHON").unwrap_or_else(|_| "python3".into());
    let path = format!("{}/clients/kafka_throttle.py", env!("CARGO_MANIFEST_DIR"));
    let args = [&login.bootstrap, &login.username, &login.password, topic, &records.to_string()];
    let output = tokio::time::timeout(Duration::from_secs(300), Command::new(python).arg(&path).args(args).output())
        .await
        .expect("kafka_throttle.py timed out")
        .expect("run python");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "kafka_throttle.py: {text}{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_str(text.lines().last().unwrap_or_default()).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// Runs `clients/kafka_acl.py`: what a credential limited to `orders` and the
/// group `readers` may and may not do, next to one that may do everything.
pub async fn kafka_acl(admin: &KafkaLogin, limited: &KafkaLogin) -> Result<(), String> {
    let args = [&admin.bootstrap, &admin.username, &admin.password, &limited.username, &limited.password];
    python_client("kafka_acl.py", &args.map(String::as_str), "kafka acl ok").await
}

/// Runs a script of `clients/` with the test venv's python; Ok when it exits 0
/// having printed `success`, else its output.
async fn python_client(script: &str, args: &[&str], success: &str) -> Result<(), String> {
    let python = std::env::var("OMNIBUS_PYTHON").unwrap_or_else(|_| "python3".into());
    let path = format!("{}/clients/{script}", env!("CARGO_MANIFEST_DIR"));
    let output = tokio::time::timeout(Duration::from_secs(120), Command::new(python).arg(&path).args(args).output())
        .await
        .map_err(|_| format!("{script} timed out"))?
        .map_err(|e| format!("cannot run python: {e}"))?;
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    if output.status.success() && text.contains(success) { Ok(()) } else { Err(text) }
}
