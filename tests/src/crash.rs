//! Producing through a broker crash: runs a numbering producer (the scripts
//! `clients/kafka_crash_producer.py` and `clients/kafka_idempotent.py`, or
//! KafkaCheck's `idempotent-producer`) that creates its topic, prints
//! `acked N` for every record the broker acknowledged and `done ...` at the
//! end, SIGKILLs and restarts Omnibus meanwhile, then reads the partition back
//! with kcat and checks the acknowledged records.

use std::collections::HashMap;
use std::time::Duration;

use tokio::io::AsyncBufReadExt as _;
use tokio::process::Command;

use crate::clients::{KafkaLogin, kcat};
use crate::process::Omnibus;

/// Acknowledgements to wait for before the kill.
const KILL_AFTER: usize = 2000;

/// What the producer reported, and what the partition holds afterwards.
pub struct CrashRun {
    pub acked: Vec<u64>,
    pub done: String,
    pub stored: Vec<u64>,
}

/// The seconds a crash producer produces for.
pub const PRODUCE_SECONDS: &str = "8";

/// `clients/{script} BOOTSTRAP USER PASSWORD TOPIC SECONDS` with the test venv's python.
pub fn python_producer(script: &str, login: &KafkaLogin, topic: &str) -> Command {
    let python = std::env::var("OMNIBUS_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut command = Command::new(python);
    command.arg(format!("{}/clients/{script}", env!("CARGO_MANIFEST_DIR"))).args([
        &login.bootstrap,
        &login.username,
        &login.password,
        topic,
        PRODUCE_SECONDS,
    ]);
    command
}

/// Runs `producer` (writing to partition 0 of `topic` as `login`), kills the
/// broker once 2,000 records are acknowledged, restarts it, and reads `topic`
/// partition 0 back. Panics unless records were acknowledged both before the
/// kill and after the restart.
pub async fn produce_through_kill_9(
    omnibus: &mut Omnibus,
    login: &KafkaLogin,
    mut producer: Command,
    topic: &str,
) -> CrashRun {
    let mut producer =
        producer.stdout(std::process::Stdio::piped()).kill_on_drop(true).spawn().expect("the producer runs");
    let mut lines = tokio::io::BufReader::new(producer.stdout.take().expect("stdout")).lines();
    let mut acked: Vec<u64> = Vec::new();
    let mut done = None;
    let mut killed = false;
    while let Some(line) = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("the producer keeps talking")
        .expect("read the producer")
    {
        if let Some(n) = line.strip_prefix("acked ") {
            acked.push(n.parse().expect("a record number"));
        }
        if line.starts_with("done ") {
            done = Some(line.clone());
        }
        if !killed && acked.len() >= KILL_AFTER {
            omnibus.signal("KILL", Duration::from_secs(5));
            omnibus.restart();
            killed = true;
        }
    }
    let done = done.expect("the producer did not finish");
    assert!(killed, "only {} records acknowledged before the deadline", acked.len());
    let last_before = acked[KILL_AFTER - 1];
    assert!(acked.iter().any(|&n| n > last_before), "nothing was acknowledged after the restart");

    let read = kcat(login, "PLAIN", &["-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-f", "%s\n"], "").await;
    assert!(read.success, "{}", read.stderr);
    let stored = read.stdout.lines().map(|l| l.parse().expect("a record number")).collect();
    CrashRun { acked, done, stored }
}

impl CrashRun {
    /// Every acknowledged record is stored, once, in the order acknowledged,
    /// and no record at all is stored twice.
    pub fn assert_acknowledged_stored_once_in_order(&self) {
        let mut position = HashMap::new();
        for (i, n) in self.stored.iter().enumerate() {
            assert!(position.insert(*n, i).is_none(), "record {n} stored twice");
        }
        let mut last = None;
        for n in &self.acked {
            let at = *position.get(n).unwrap_or_else(|| panic!("acknowledged record {n} was lost"));
            assert!(last.is_none_or(|l| at > l), "acknowledged record {n} out of order");
            last = Some(at);
        }
    }
}
