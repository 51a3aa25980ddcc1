//! The two planes as separate processes, `omnibus broker` and `omnibus
//! control-plane`, on free ports with one data directory each, so a test can
//! kill and restart either on its own.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;
use crate::process::omnibus_bin;

/// One plane's process.
struct Plane {
    name: &'static str,
    args: Vec<String>,
    ports: Vec<SocketAddr>,
    log: PathBuf,
    child: Option<Child>,
}

impl Plane {
    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).expect("log file");
        let child = Command::new(omnibus_bin())
            .args(&self.args)
            .env("RUST_LOG", "info")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("start omnibus");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self
            .ports
            .iter()
            .all(|addr| std::net::TcpStream::connect_timeout(addr, Duration::from_millis(200)).is_ok())
        {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("the {} exited with {status} while starting:\n{}", self.name, self.log_text());
            }
            assert!(Instant::now() < deadline, "the {} did not start in 30 s:\n{}", self.name, self.log_text());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL, waited for.
    fn kill(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Plane {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A broker and a control plane that drives it.
pub struct Planes {
    broker: Plane,
    control_plane: Plane,
    pub http: SocketAddr,
    pub mqtt: SocketAddr,
    pub kafka: SocketAddr,
    pub broker_dir: PathBuf,
}

impl Planes {
    /// Starts both under `dir`; `broker_toml` and `control_plane_toml` are
    /// their configuration files' contents.
    pub fn start(dir: &Path, broker_toml: &str, control_plane_toml: &str) -> Planes {
        let port = || SocketAddr::from(([127, 0, 0, 1], free_port()));
        let (http, mqtt, mqtt_ws, kafka, grpc) = (port(), port(), port(), port(), port());
        let broker_dir = dir.join("broker");
        let cp_dir = dir.join("control-plane");
        std::fs::create_dir_all(&cp_dir).expect("control plane dir");
        std::fs::write(dir.join("broker.toml"), broker_toml).expect("broker config");
        std::fs::write(dir.join("control-plane.toml"), control_plane_toml).expect("control plane config");
        let text = |p: &Path| p.display().to_string();
        let mut broker = Plane {
            name: "broker",
            args: [
                "broker",
                "--config",
                &text(&dir.join("broker.toml")),
                "--data-dir",
                &text(&broker_dir),
                "--mqtt-listen",
                &mqtt.to_string(),
                "--mqtt-ws-listen",
                &mqtt_ws.to_string(),
                "--kafka-listen",
                &kafka.to_string(),
                "--grpc-listen",
                &grpc.to_string(),
                "--advertised-host",
                "127.0.0.1",
            ]
            .map(str::to_owned)
            .to_vec(),
            ports: vec![mqtt, kafka, grpc],
            log: dir.join("broker.log"),
            child: None,
        };
        let mut control_plane = Plane {
            name: "control plane",
            args: [
                "control-plane",
                "--config",
                &text(&dir.join("control-plane.toml")),
                "--data-dir",
                &text(&cp_dir),
                "--http-listen",
                &http.to_string(),
                "--fleet-endpoint",
                &format!("http://{grpc}"),
            ]
            .map(str::to_owned)
            .to_vec(),
            ports: vec![http],
            log: dir.join("control-plane.log"),
            child: None,
        };
        broker.spawn();
        control_plane.spawn();
        Planes { broker, control_plane, http, mqtt, kafka, broker_dir }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.http)
    }

    /// SIGKILLs the broker and starts it again on the same ports and disk.
    pub fn kill_broker(&mut self) {
        self.broker.kill();
        self.broker.spawn();
    }

    /// SIGKILLs the control plane and starts it again.
    pub fn kill_control_plane(&mut self) {
        self.control_plane.kill();
        self.control_plane.spawn();
    }

    /// Both logs, for a failure's message.
    pub fn logs(&self) -> String {
        format!("--- broker\n{}\n--- control plane\n{}", self.broker.log_text(), self.control_plane.log_text())
    }
}
