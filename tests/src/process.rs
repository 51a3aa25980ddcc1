//! The `omnibus dev` process under test.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

/// The binary built by `cargo build` next to the test executable
/// (`target/debug/deps/it-*` → `target/debug/omnibus`), or `OMNIBUS_BIN`.
pub fn omnibus_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("OMNIBUS_BIN") {
        return bin.into();
    }
    let exe = std::env::current_exe().expect("current exe");
    let bin = exe.parent().and_then(Path::parent).expect("target dir").join("omnibus");
    assert!(bin.exists(), "{} is missing: run `cargo build --bins` first (scripts/test does)", bin.display());
    bin
}

pub struct Omnibus {
    child: Option<Child>,
    pub http: SocketAddr,
    pub mqtt: SocketAddr,
    pub mqtt_ws: SocketAddr,
    /// Bound only when the environment names a certificate (`OMNIBUS_TLS_CERT_PATH`).
    pub mqtt_tls: SocketAddr,
    /// Bound only when the environment names a certificate (`OMNIBUS_TLS_CERT_PATH`).
    pub mqtt_wss: SocketAddr,
    pub kafka: SocketAddr,
    pub grpc: SocketAddr,
    pub data_dir: PathBuf,
    pub log: PathBuf,
    env: Vec<(String, String)>,
}

impl Omnibus {
    /// Starts `omnibus dev` on free ports with state in `data_dir` and waits
    /// until it answers.
    pub fn start(data_dir: &Path, env: &[(&str, &str)]) -> Omnibus {
        let port = |_| SocketAddr::from(([127, 0, 0, 1], free_port()));
        let mut omnibus = Omnibus {
            child: None,
            http: port(0),
            mqtt: port(1),
            mqtt_ws: port(4),
            mqtt_tls: port(5),
            mqtt_wss: port(6),
            kafka: port(3),
            grpc: port(2),
            data_dir: data_dir.to_path_buf(),
            log: data_dir.join(format!("omnibus-{}.log", free_port())),
            env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        };
        omnibus.spawn();
        omnibus
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).expect("log file");
        let mut command = Command::new(omnibus_bin());
        command
            .arg("dev")
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--http-listen")
            .arg(self.http.to_string())
            .arg("--mqtt-listen")
            .arg(self.mqtt.to_string())
            .arg("--mqtt-ws-listen")
            .arg(self.mqtt_ws.to_string())
            .arg("--mqtt-tls-listen")
            .arg(self.mqtt_tls.to_string())
            .arg("--mqtt-wss-listen")
            .arg(self.mqtt_wss.to_string())
            .arg("--kafka-listen")
            .arg(self.kafka.to_string())
            .arg("--grpc-listen")
            .arg(self.grpc.to_string())
            .env("RUST_LOG", "info")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log);
        for (k, v) in &self.env {
            command.env(k, v);
        }
        self.child = Some(command.spawn().expect("start omnibus"));
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("omnibus exited with {status} while starting:\n{}", self.log_text());
            }
            let up = |addr| std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok();
            let tls_up = !self.serves_tls() || (up(self.mqtt_tls) && up(self.mqtt_wss));
            if up(self.http) && up(self.mqtt) && up(self.mqtt_ws) && up(self.kafka) && up(self.grpc) && tls_up {
                return;
            }
            assert!(Instant::now() < deadline, "omnibus did not start in 30 s:\n{}", self.log_text());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether the TLS listeners are configured (by `OMNIBUS_TLS_CERT_PATH`).
    fn serves_tls(&self) -> bool {
        self.env.iter().any(|(k, _)| k == "OMNIBUS_TLS_CERT_PATH")
    }

    /// Makes the user with `email` a platform operator with the binary's own
    /// `omnibus grant-operator`, on this process's database.
    pub fn grant_operator(&self, email: &str) {
        let output = Command::new(omnibus_bin())
            .arg("grant-operator")
            .arg("--email")
            .arg(email)
            .arg("--data-dir")
            .arg(self.data_dir.join("control-plane"))
            .output()
            .expect("run omnibus grant-operator");
        assert!(output.status.success(), "grant-operator failed: {}", String::from_utf8_lossy(&output.stderr));
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.http)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).expect("running")
    }

    /// Sends a signal with kill(1) and waits (at most `timeout`) for the exit.
    pub fn signal(&mut self, signal: &str, timeout: Duration) -> ExitStatus {
        let status = Command::new("kill").arg(format!("-{signal}")).arg(self.pid().to_string()).status();
        assert!(status.is_ok_and(|s| s.success()), "kill -{signal} failed");
        let mut child = self.child.take().expect("running");
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("omnibus did not exit within {timeout:?} of SIG{signal}:\n{}", self.log_text());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the process again, on the same ports and data directory.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop it first");
        self.spawn();
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Fails on any ERROR line in the log: an error means a person must look.
    pub fn assert_no_errors(&self) {
        let log = self.log_text();
        let errors: Vec<&str> = log.lines().filter(|l| l.contains(" ERROR ")).collect();
        assert!(errors.is_empty(), "omnibus logged errors:\n{}", errors.join("\n"));
    }
}

impl Drop for Omnibus {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
