//! The MQTT load generator behind `mqtt-load` (`src/bin/mqtt-load.rs`) and
//! `bench/mqtt_compare.sh`: one engine, pointed at any MQTT 3.1.1 broker, so
//! Omnibus and Mosquitto are measured by the same client doing the same work.
//!
//! Owns the client side only: `codec` (the few packets, sans-IO), `client`
//! (a connection on tokio), `payload` (run tag, publisher, sequence number and
//! send time in every message), `ledger` (what each subscriber received, bit
//! by bit, so losses and duplicates are counted, not guessed), `procfs` (the
//! broker's CPU time and memory), and one module per scenario: `fan` (fan-in
//! and fan-out throughput), `latency`, `connections` (idle connections held
//! and pinged) and `connect_rate`. Each scenario prints one JSON line with its
//! result on stdout; progress goes to stderr. It never starts or configures a
//! broker; the driver script does.

pub mod client;
pub mod codec;
pub mod connect_rate;
pub mod connections;
pub mod fan;
pub mod latency;
pub mod ledger;
pub mod payload;
pub mod procfs;

use std::hash::{BuildHasher as _, Hasher as _};
use std::net::{SocketAddr, ToSocketAddrs as _};
use std::time::Instant;

use anyhow::Context as _;

use client::Login;

/// The broker under load, and the process whose CPU and memory to sample.
#[derive(clap::Args, Debug, Clone)]
pub struct Target {
    /// Broker host.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Broker MQTT port.
    #[arg(long, default_value_t = 1883)]
    pub port: u16,
    /// MQTT user name (none: connect anonymously).
    #[arg(long, env = "MQTT_LOAD_USERNAME")]
    pub username: Option<String>,
    /// MQTT password (from the environment rather than the command line,
    /// where `ps` shows it).
    #[arg(long, env = "MQTT_LOAD_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// The broker's process id: its CPU seconds (utime + stime) and RSS are
    /// read from /proc at the start and end of the measured window.
    #[arg(long)]
    pub broker_pid: Option<u32>,
    /// Name of the broker in the result line.
    #[arg(long, default_value = "broker")]
    pub label: String,
}

impl Target {
    pub fn login(&self) -> anyhow::Result<Login> {
        let addr: SocketAddr = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .with_context(|| format!("resolve {}", self.host))?
            .next()
            .with_context(|| format!("{} has no address", self.host))?;
        Ok(Login { addr, username: self.username.clone(), password: self.password.clone() })
    }

    /// A sample of the broker process (zeros when no pid was given).
    pub fn sample(&self) -> Sample {
        Sample::of(self.broker_pid)
    }
}

/// CPU seconds and resident memory of a process at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    pub cpu_seconds: f64,
    pub rss_bytes: u64,
}

impl Sample {
    pub fn of(pid: Option<u32>) -> Sample {
        let Some(pid) = pid else {
            return Sample::default();
        };
        Sample {
            cpu_seconds: procfs::cpu_seconds(pid).unwrap_or(f64::NAN),
            rss_bytes: procfs::rss_bytes(pid).unwrap_or(0),
        }
    }

    /// This load-generator process.
    pub fn me() -> Sample {
        Sample::of(Some(std::process::id()))
    }
}

/// A measured window: the broker's, this process's and the whole machine's
/// CPU time at its start.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    broker: Sample,
    me: Sample,
    machine: f64,
    load_average: f64,
}

/// CPU seconds spent in a window, and the broker's memory at its end.
#[derive(Debug, Clone, Copy)]
pub struct Spent {
    pub broker_cpu_seconds: f64,
    pub loadgen_cpu_seconds: f64,
    /// Everything else on the machine: other developers' builds, the kernel's
    /// own threads. The honest measure of how busy the machine was.
    pub others_cpu_seconds: f64,
    pub broker_rss_bytes: u64,
    /// One-minute load average at the window's start.
    pub load_average: f64,
}

impl Window {
    pub fn open(target: &Target) -> Window {
        Window {
            broker: target.sample(),
            me: Sample::me(),
            machine: procfs::machine_busy_seconds().unwrap_or(f64::NAN),
            load_average: procfs::load_average().unwrap_or(f64::NAN),
        }
    }

    pub fn close(&self, target: &Target) -> Spent {
        let (broker, me) = (target.sample(), Sample::me());
        let machine = procfs::machine_busy_seconds().unwrap_or(f64::NAN) - self.machine;
        let broker_cpu_seconds = broker.cpu_seconds - self.broker.cpu_seconds;
        let loadgen_cpu_seconds = me.cpu_seconds - self.me.cpu_seconds;
        Spent {
            broker_cpu_seconds,
            loadgen_cpu_seconds,
            others_cpu_seconds: (machine - broker_cpu_seconds - loadgen_cpu_seconds).max(0.0),
            broker_rss_bytes: broker.rss_bytes,
            load_average: self.load_average,
        }
    }
}

impl Spent {
    /// The fields every result line carries, over a window of `seconds`.
    pub fn fields(&self, seconds: f64) -> serde_json::Value {
        let cores = |cpu: f64| if seconds > 0.0 { cpu / seconds } else { 0.0 };
        serde_json::json!({
            "broker_cpu_s": self.broker_cpu_seconds,
            "broker_cores": cores(self.broker_cpu_seconds),
            "broker_rss_bytes": self.broker_rss_bytes,
            "loadgen_cpu_s": self.loadgen_cpu_seconds,
            "loadgen_cores": cores(self.loadgen_cpu_seconds),
            "others_cpu_s": self.others_cpu_seconds,
            "others_cores": cores(self.others_cpu_seconds),
            "load_average": self.load_average,
        })
    }
}

/// Adds `extra`'s fields to the object `result`.
pub fn merge(mut result: serde_json::Value, extra: serde_json::Value) -> serde_json::Value {
    if let (Some(result), serde_json::Value::Object(extra)) = (result.as_object_mut(), extra) {
        result.extend(extra);
    }
    result
}

/// The clock payload send times are read against: one origin per process,
/// so a publisher and a subscriber in the same process agree.
#[derive(Debug, Clone, Copy)]
pub struct Clock(Instant);

impl Clock {
    pub fn start() -> Clock {
        Clock(Instant::now())
    }

    pub fn now_ns(&self) -> u64 {
        self.0.elapsed().as_nanos() as u64
    }
}

/// A random tag for this run: it goes into topics, client ids and payloads,
/// so runs never mix.
pub fn run_tag() -> u32 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher
        .write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    hasher.finish() as u32
}

/// `n` as a rate over `seconds` (0 when no time passed).
pub fn per_second(n: u64, seconds: f64) -> f64 {
    if seconds > 0.0 { n as f64 / seconds } else { 0.0 }
}

/// The value at percentile `p` (0–100) of sorted samples.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_by_rank() {
        let samples: Vec<u64> = (1..=1000).collect();
        assert_eq!(percentile(&samples, 50.0), 501);
        assert_eq!(percentile(&samples, 99.0), 990);
        assert_eq!(percentile(&samples, 99.9), 999);
        assert_eq!(percentile(&samples, 100.0), 1000);
        assert_eq!(percentile(&[], 50.0), 0);
    }
}
