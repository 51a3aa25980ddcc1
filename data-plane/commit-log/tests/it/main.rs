//! Integration tests of `omnibus-commit-log` as a separate process sees it: a writer killed with SIGKILL
//! must lose nothing it acknowledged.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use omnibus_commit_log::{Durability, HEADER_LEN, LogConfig, PartitionLog, Record, TimestampType, encode_batch};

const WRITER_ENV: &str = "OMNIBUS_COMMIT_LOG_CRASH_WRITER";

fn temp_dir(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("omnibus-commit-log-it-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&path);
    path
}

fn config() -> LogConfig {
    LogConfig { segment_bytes: 256 * 1024, durability: Durability::Fsync, ..LogConfig::default() }
}

/// In the child process: appends from several tasks forever, printing `ack BASE LAST` after each acknowledgement.
#[test]
fn crash_writer_child() {
    let Ok(dir) = std::env::var(WRITER_ENV) else { return };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build();
    let Ok(runtime) = runtime else { panic!("runtime") };
    runtime.block_on(async move {
        let log = match PartitionLog::open(Path::new(&dir), config()) {
            Ok(log) => log,
            Err(e) => panic!("open: {e}"),
        };
        let tasks: Vec<_> = (0..8)
            .map(|task| {
                let log = Arc::clone(&log);
                tokio::spawn(async move {
                    for i in 0u64.. {
                        let value = format!("task {task} append {i}").repeat(10);
                        let records =
                            [Record { key: None, value: Some(value.as_bytes()), timestamp_delta: 0, headers: &[] }; 3];
                        let Some(batch) = encode_batch(&records, 1_700_000_000_000) else { return };
                        let Ok(info) = log.append(batch, TimestampType::CreateTime).await else { return };
                        let mut out = std::io::stdout().lock();
                        let _ = writeln!(out, "ack {} {}", info.base_offset, info.last_offset);
                        let _ = out.flush();
                    }
                })
            })
            .collect();
        for t in tasks {
            let _ = t.await;
        }
    });
}

#[test]
fn sigkilled_writer_loses_no_acknowledged_append() {
    let dir = temp_dir("crash");
    let exe = std::env::current_exe().unwrap_or_default();
    let child = Command::new(exe)
        .args(["--exact", "crash_writer_child", "--nocapture", "--test-threads=1"])
        .env(WRITER_ENV, &dir)
        .stdout(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else { panic!("spawn: {child:?}") };
    let Some(stdout) = child.stdout.take() else { panic!("no stdout") };
    let reader = std::thread::spawn(move || {
        let mut acks = Vec::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let mut words = line.split(' ');
            if words.next() == Some("ack")
                && let (Some(Ok(base)), Some(Ok(last))) =
                    (words.next().map(str::parse::<i64>), words.next().map(str::parse::<i64>))
            {
                acks.push((base, last));
            }
        }
        acks
    });
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(1) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let killed = Command::new("kill").args(["-9", &child.id().to_string()]).status();
    assert!(killed.is_ok_and(|s| s.success()), "kill -9 failed");
    let _ = child.wait();
    let acks = reader.join().unwrap_or_default();
    assert!(acks.len() > 100, "only {} acknowledgements in a second", acks.len());

    let log = match PartitionLog::open(&dir, config()) {
        Ok(log) => log,
        Err(e) => panic!("reopen: {e}"),
    };
    let mut batches = Vec::new();
    let mut next = log.log_start_offset();
    while next < log.high_watermark() {
        let bytes = match log.read(next, 1 << 20) {
            Ok(r) => r.bytes,
            Err(e) => panic!("read {next}: {e}"),
        };
        let mut at = 0;
        while at < bytes.len() {
            let field = |from: usize, n: usize| {
                bytes[at + from..at + from + n].iter().fold(0i64, |v, &b| (v << 8) | i64::from(b))
            };
            let base = field(0, 8);
            let len = 12 + usize::try_from(field(8, 4)).unwrap_or(0);
            let last = base + field(23, 4);
            let crc = u32::try_from(field(17, 4)).unwrap_or(0);
            assert!(len >= HEADER_LEN && at + len <= bytes.len(), "bad batch length at offset {base}");
            assert_eq!(crc32c::crc32c(&bytes[at + 21..at + len]), crc, "crc of batch {base}");
            assert_eq!(base, next, "offsets not contiguous");
            batches.push((base, last));
            next = last + 1;
            at += len;
        }
    }
    for ack in &acks {
        assert!(batches.binary_search(ack).is_ok(), "acknowledged batch {ack:?} is missing after the crash");
    }
    println!(
        "{} acknowledged appends, {} batches recovered, high watermark {}",
        acks.len(),
        batches.len(),
        log.high_watermark()
    );
    drop(log);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn reads_see_only_fsynced_data_with_fsync_durability() {
    let dir = temp_dir("visibility");
    let log = match PartitionLog::open(&dir, config()) {
        Ok(log) => log,
        Err(e) => panic!("open: {e}"),
    };
    let mut hw = log.subscribe();
    let records = [Record { key: Some(b"k"), value: Some(b"v"), timestamp_delta: 0, headers: &[] }];
    let batch = encode_batch(&records, 0).unwrap_or_default();
    let info = log.append(batch, TimestampType::CreateTime).await.map(|i| i.last_offset);
    assert_eq!(info.ok(), Some(0));
    assert!(hw.has_changed().unwrap_or(false));
    assert_eq!(*hw.borrow_and_update(), 1);
    assert!(log.stats().fsyncs >= 1);
    drop(log);
    let _ = std::fs::remove_dir_all(&dir);
}
