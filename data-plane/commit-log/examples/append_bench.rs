//! Append throughput of one partition log with group-commit fsync, beside the disk's own write+fdatasync rate.
//!
//! `cargo run --release -p omnibus-commit-log --example append_bench -- [DIR] [SECONDS] [APPENDERS] [RECORDS_PER_BATCH]`
//! Defaults: /var/tmp/omnibus-append-bench, 5 s, 64 appenders, 16 records of 1 KiB per batch.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use omnibus_commit_log::{Durability, LogConfig, PartitionLog, Record, TimestampType, encode_batch};

fn arg<T: std::str::FromStr>(n: usize, default: T) -> T {
    std::env::args().nth(n).and_then(|a| a.parse().ok()).unwrap_or(default)
}

/// Sequential write + fdatasync of `size`-byte chunks: the disk's rate without group commit.
fn raw_fdatasync(dir: &std::path::Path, size: usize, seconds: f64) -> std::io::Result<(f64, f64)> {
    let path = dir.join("raw-fdatasync");
    let mut file = File::create(&path)?;
    let chunk = vec![7u8; size];
    let (start, mut n) = (Instant::now(), 0u64);
    while start.elapsed().as_secs_f64() < seconds {
        file.write_all(&chunk)?;
        file.sync_data()?;
        n += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    std::fs::remove_file(path)?;
    Ok((n as f64 / secs, n as f64 * size as f64 / secs / 1e6))
}

async fn run(dir: PathBuf, durability: Durability, seconds: u64, appenders: usize, per_batch: usize) {
    let _ = std::fs::remove_dir_all(&dir);
    let config = LogConfig { durability, segment_bytes: 256 << 20, ..LogConfig::default() };
    let log = match PartitionLog::open(&dir, config) {
        Ok(log) => log,
        Err(e) => return eprintln!("open {}: {e}", dir.display()),
    };
    let value = vec![b'x'; 1024];
    let records = vec![Record { key: None, value: Some(&value), timestamp_delta: 0, headers: &[] }; per_batch];
    let Some(batch) = encode_batch(&records, 1_700_000_000_000) else { return };
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let tasks: Vec<_> = (0..appenders)
        .map(|_| {
            let (log, batch) = (Arc::clone(&log), batch.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    if let Err(e) = log.append(batch.clone(), TimestampType::CreateTime).await {
                        eprintln!("append: {e}");
                        break;
                    }
                    latencies.push(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap_or_default());
    }
    let secs = start.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let pct = |p: f64| latencies.get(((latencies.len() as f64 - 1.0) * p) as usize).copied().unwrap_or_default();
    let stats = log.stats();
    let bytes = latencies.len() as f64 * batch.len() as f64;
    println!(
        "{durability:?}: {appenders} appenders, batches of {per_batch} x 1 KiB records ({} B): {:.0} MB/s, {:.0} appends/s, \
         {:.0} records/s, {} fsyncs ({:.1} appends per flush round), latency p50 {:?} p99 {:?}",
        batch.len(),
        bytes / secs / 1e6,
        latencies.len() as f64 / secs,
        (latencies.len() * per_batch) as f64 / secs,
        stats.fsyncs,
        stats.appends as f64 / stats.flush_rounds.max(1) as f64,
        pct(0.5),
        pct(0.99),
    );
    if let Err(e) = log.delete() {
        eprintln!("delete: {e}");
    }
}

#[tokio::main]
async fn main() {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "/var/tmp/omnibus-append-bench".into()));
    let (seconds, appenders, per_batch) = (arg(2, 5u64), arg(3, 64usize), arg(4, 16usize));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return eprintln!("create {}: {e}", dir.display());
    }
    let size = per_batch * 1024 + 61 + 10 * per_batch;
    match raw_fdatasync(&dir, size, 2.0) {
        Ok((ops, mb)) => println!("disk: sequential write+fdatasync of {size} B: {ops:.0} ops/s, {mb:.0} MB/s"),
        Err(e) => eprintln!("raw fdatasync: {e}"),
    }
    run(dir.join("fsync"), Durability::Fsync, seconds, appenders, per_batch).await;
    run(dir.join("interval"), Durability::Interval(Duration::from_secs(1)), seconds, appenders, per_batch).await;
    let _ = std::fs::remove_dir(&dir);
}
