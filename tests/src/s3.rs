//! A real S3-compatible server for the tiered-storage tests: moto's, from
//! PyPI (`scripts/test` installs `moto[server]` into the test venv,
//! `OMNIBUS_PYTHON`), on a free loopback port, stopped on drop. It takes any
//! credentials. The environment a broker needs to use it comes from
//! [`Moto::broker_env`].

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    pub fn start() -> Moto {
        let python = std::env::var("OMNIBUS_PYTHON").unwrap_or_else(|_| "python3".into());
        let port = free_port();
        let child = Command::new(&python)
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {python} -m moto.server (scripts/test installs moto[server]): {e}"));
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto's server did not start (is moto[server] installed for {python}?)");
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto { child, endpoint: format!("http://127.0.0.1:{port}") }
    }

    /// Creates a bucket (moto needs no signature for it).
    pub async fn create_bucket(&self, bucket: &str) {
        let answer =
            reqwest::Client::new().put(format!("{}/{bucket}", self.endpoint)).send().await.expect("moto answers");
        assert!(answer.status().is_success(), "create bucket {bucket}: {}", answer.status());
    }

    /// The keys in a bucket under a prefix (at most 1,000, ListObjectsV2's page).
    pub async fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let url = format!("{}/{bucket}?list-type=2&prefix={prefix}", self.endpoint);
        let body = reqwest::get(url).await.expect("moto answers").text().await.expect("a listing");
        body.split("<Key>")
            .skip(1)
            .filter_map(|part| part.split_once("</Key>"))
            .map(|(key, _)| key.to_string())
            .collect()
    }

    /// What a broker needs in its environment to keep tiered data in `s3://{bucket}/{prefix}` here.
    pub fn broker_env(&self, bucket: &str, prefix: &str) -> Vec<(String, String)> {
        [
            ("OMNIBUS_OBJECT_STORE", format!("s3://{bucket}/{prefix}")),
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_REGION", "us-east-1".to_string()),
            ("AWS_ACCESS_KEY_ID", "omnibus-test".to_string()),
            ("AWS_SECRET_ACCESS_KEY", "omnibus-test-secret".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
