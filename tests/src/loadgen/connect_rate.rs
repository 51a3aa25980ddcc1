//! Connection rate: `--concurrency` clients each connect, send CONNECT, wait
//! for CONNACK, send DISCONNECT, wait for the broker to close, and start
//! again, for `--duration` seconds. Counts completed cycles per second and
//! the CONNECT → CONNACK time; the broker closes first, so TIME_WAIT stays on
//! its side. Source addresses (`--sources 127.0.0.2,127.0.0.3`) are taken in
//! turn, so no one address runs out of ephemeral ports.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::client::Conn;
use super::{Target, Window, merge, per_second, percentile, run_tag};

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    #[command(flatten)]
    pub target: Target,
    /// Seconds of connecting.
    #[arg(long, default_value_t = 5.0)]
    pub duration: f64,
    /// Clients connecting at once.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Local addresses to connect from, in turn (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub sources: Vec<IpAddr>,
}

#[derive(Default)]
struct Worker {
    connack_ns: Vec<u64>,
    failed: u64,
    errors: Vec<String>,
}

pub async fn run(args: &Args) -> anyhow::Result<Value> {
    let login = Arc::new(args.target.login()?);
    let tag = run_tag();
    let sources: Arc<Vec<IpAddr>> = Arc::new(args.sources.clone());
    eprintln!(
        "{} connect-rate: {} at once for {} s from {}",
        args.target.label,
        args.concurrency,
        args.duration,
        if sources.is_empty() { "the default address".to_string() } else { format!("{sources:?}") }
    );
    let window = Window::open(&args.target);
    let start = Instant::now();
    let stop_at = start + Duration::from_secs_f64(args.duration);
    let workers: Vec<_> = (0..args.concurrency)
        .map(|w| {
            let (login, sources) = (login.clone(), sources.clone());
            tokio::spawn(async move {
                let mut out = Worker::default();
                let mut i = 0usize;
                while Instant::now() < stop_at {
                    let source = (!sources.is_empty()).then(|| sources[(w + i) % sources.len()]);
                    let began = Instant::now();
                    match Conn::open(&login, &format!("lg-{tag:08x}-cr-{w}-{i}"), 0, source, 64).await {
                        Ok(conn) => {
                            out.connack_ns.push(began.elapsed().as_nanos() as u64);
                            conn.disconnect(Duration::from_secs(2)).await;
                        }
                        Err(error) => {
                            out.failed += 1;
                            if out.errors.len() < 3 {
                                out.errors.push(format!("{error:#}"));
                            }
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                    }
                    i += 1;
                }
                out
            })
        })
        .collect();
    let mut connack_ns = Vec::new();
    let mut failed = 0;
    let mut errors = Vec::new();
    for worker in workers {
        let out = worker.await?;
        connack_ns.extend(out.connack_ns);
        failed += out.failed;
        errors.extend(out.errors.into_iter().take(3usize.saturating_sub(errors.len())));
    }
    let seconds = start.elapsed().as_secs_f64();
    let spent = window.close(&args.target);
    connack_ns.sort_unstable();
    let ms = |p: f64| percentile(&connack_ns, p) as f64 / 1e6;
    let connections = connack_ns.len() as u64;
    let broker_cpu = spent.broker_cpu_seconds;
    eprintln!(
        "{} connect-rate: {connections} in {seconds:.1} s ({:.0}/s), {failed} failed; CONNACK p50 {:.2} ms, p99 {:.2} ms",
        args.target.label,
        per_second(connections, seconds),
        ms(50.0),
        ms(99.0)
    );
    let result = json!({
        "scenario": "connect-rate",
        "broker": args.target.label,
        "concurrency": args.concurrency,
        "seconds": seconds,
        "connections": connections,
        "failed": failed,
        "per_s": per_second(connections, seconds),
        "connack_p50_ms": ms(50.0),
        "connack_p99_ms": ms(99.0),
        "per_broker_cpu_s": if broker_cpu > 0.0 { connections as f64 / broker_cpu } else { 0.0 },
        "errors": errors,
    });
    Ok(merge(result, spent.fields(seconds)))
}
