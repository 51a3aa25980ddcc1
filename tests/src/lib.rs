//! Harness for the end-to-end tests: starts the real `omnibus` binary on free
//! ports with its own data directory, talks to its REST API, and runs the
//! real third-party clients (mosquitto_pub/sub, paho-mqtt, kcat, confluent-kafka,
//! Apache Kafka's Java client and tools, franz-go, the Terraform CLI with
//! our provider, Playwright driving Chromium on the web console) against it.
//! `loadgen` is
//! the MQTT load generator behind the `mqtt-load` binary and
//! `bench/mqtt_compare.sh`.

pub mod clients;
pub mod console;
pub mod crash;
pub mod go;
pub mod java;
pub mod loadgen;
pub mod process;
pub mod rest;
pub mod s3;
pub mod split;
pub mod terraform;

/// A port free on 127.0.0.1 that stays ours until the process under test binds
/// it. Ports come from 15000–32767, below Linux's ephemeral range (32768+):
/// a port the kernel hands out for `bind(0)` can be taken as the local port of
/// any outgoing connection before the broker binds it, which CI hit as
/// "Address already in use". Below that range only a listener can take a
/// port, and this process hands each one out once; the start depends on the
/// process id so that two test processes rarely probe the same ports.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const FIRST: u32 = 15_000;
    const COUNT: u32 = 32_768 - FIRST;
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    let _ = NEXT.compare_exchange(
        u32::MAX,
        std::process::id().wrapping_mul(7919) % COUNT,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    for _ in 0..COUNT {
        let port = (FIRST + NEXT.fetch_add(1, Ordering::SeqCst) % COUNT) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in {FIRST}–32767");
}

/// A new empty directory under the system temp dir.
pub fn temp_dir(prefix: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("{prefix}-{}-{}", std::process::id(), free_port()));
    std::fs::create_dir_all(&dir).expect("create a temp dir");
    dir
}
