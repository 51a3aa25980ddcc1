//! Harness for the end-to-end tests: starts the real `omnibus` binary on free
//! ports with its own data directory, talks to its REST API, and runs the
//! real third-party clients (mosquitto_pub/sub, paho-mqtt, kcat, confluent-kafka,
//! Apache Kafka's Java client and tools, franz-go, the Terraform CLI with
//! our provider) against it. `loadgen` is
//! the MQTT load generator behind the `mqtt-load` binary and
//! `bench/mqtt_compare.sh`.

pub mod clients;
pub mod crash;
pub mod go;
pub mod java;
pub mod loadgen;
pub mod process;
pub mod rest;
pub mod split;
pub mod terraform;

/// A port free on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// A new empty directory under the system temp dir.
pub fn temp_dir(prefix: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("{prefix}-{}-{}", std::process::id(), free_port()));
    std::fs::create_dir_all(&dir).expect("create a temp dir");
    dir
}
