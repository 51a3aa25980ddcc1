//! Publish → receive latency at a fixed rate: one publisher and one
//! subscriber of its topic in this process, the send time in each payload.
//!
//! The publisher runs on its own OS thread with a blocking socket and sends
//! each message when it is due (`thread::sleep` to an absolute schedule), one
//! PUBLISH per write: tokio's timer ticks in milliseconds, which at 5,000
//! msg/s would send bursts of five and measure the queueing of the burst.
//! The send time is taken just before the write, so a late wake-up delays the
//! message, not its measured latency. The subscriber is the tokio client of
//! the other scenarios; the latency is its read time minus the send time.
//! Messages of the first `--warmup` seconds are not counted.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

use super::client::{Conn, Login};
use super::codec::{self, PUBACK, PUBLISH};
use super::ledger::Ledger;
use super::payload::{self, Stamp};
use super::{Clock, Target, Window, merge, per_second, percentile, run_tag};

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    #[command(flatten)]
    pub target: Target,
    /// Messages per second.
    #[arg(long, default_value_t = 5000)]
    pub rate: u64,
    /// Seconds of publishing, warm-up included.
    #[arg(long, default_value_t = 11.0)]
    pub duration: f64,
    /// Seconds at the start whose messages are not counted.
    #[arg(long, default_value_t = 1.0)]
    pub warmup: f64,
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=1))]
    pub qos: u8,
    /// Payload bytes per message (at least 24).
    #[arg(long, default_value_t = 64)]
    pub payload: usize,
}

/// What the publisher thread did.
struct Sent {
    sent: u64,
    acked: u64,
}

/// Connects with a blocking socket and sends CONNECT; returns once CONNACK accepted.
fn blocking_connect(login: &Login, client_id: &str) -> anyhow::Result<TcpStream> {
    let mut stream = TcpStream::connect(login.addr).with_context(|| format!("connect to {}", login.addr))?;
    stream.set_nodelay(true)?;
    let mut buf = Vec::new();
    codec::connect(&mut buf, client_id, login.username.as_deref(), login.password.as_deref(), 0, true);
    stream.write_all(&buf)?;
    let mut connack = [0u8; 4];
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.read_exact(&mut connack).context("read CONNACK")?;
    stream.set_read_timeout(None)?;
    match connack {
        [0x20, 2, _, 0] => Ok(stream),
        [0x20, 2, _, code] => bail!("CONNACK refused the publisher with return code {code}"),
        other => bail!("expected CONNACK, got {other:?}"),
    }
}

/// The publisher thread: one PUBLISH per due time until `stop_at`.
fn publish_paced(
    mut stream: TcpStream,
    args: &Args,
    topic: &[u8],
    tag: u32,
    clock: Clock,
    start: Instant,
    stop_at: Instant,
) -> anyhow::Result<Sent> {
    let reader = if args.qos == 1 {
        let mut read = stream.try_clone()?;
        Some(std::thread::spawn(move || -> u64 {
            // Counts PUBACKs until the socket closes.
            let mut buf = vec![0u8; 64 * 1024];
            let (mut have, mut acked) = (0usize, 0u64);
            while let Ok(n) = read.read(&mut buf[have..]) {
                if n == 0 {
                    break;
                }
                have += n;
                let mut at = 0;
                while let Ok(Some((frame, used))) = codec::frame(&buf[at..have], buf.len()) {
                    acked += u64::from(frame.kind == PUBACK);
                    at += used;
                }
                buf.copy_within(at..have, 0);
                have -= at;
            }
            acked
        }))
    } else {
        None
    };
    let mut buf = Vec::with_capacity(256);
    let mut sent = 0u64;
    let mut packet_id: u16 = 0;
    loop {
        let due = start + Duration::from_nanos((sent as f64 * 1e9 / args.rate as f64) as u64);
        if due >= stop_at {
            break;
        }
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        buf.clear();
        packet_id = packet_id.checked_add(1).unwrap_or(1);
        codec::publish_header(&mut buf, topic, args.qos, packet_id, args.payload);
        let stamp = Stamp { tag, publisher: 0, seq: sent, sent_ns: clock.now_ns() };
        payload::write(&mut buf, stamp, args.payload);
        stream.write_all(&buf).context("publish")?;
        sent += 1;
    }
    let acked = match reader {
        Some(reader) => {
            // Give the last PUBACKs a moment, then close so the reader ends.
            std::thread::sleep(Duration::from_millis(500));
            let mut bye = Vec::new();
            codec::disconnect(&mut bye);
            let _ = stream.write_all(&bye);
            let _ = stream.shutdown(std::net::Shutdown::Both);
            reader.join().unwrap_or(0)
        }
        None => {
            let mut bye = Vec::new();
            codec::disconnect(&mut bye);
            let _ = stream.write_all(&bye);
            0
        }
    };
    Ok(Sent { sent, acked })
}

pub async fn run(args: &Args) -> anyhow::Result<Value> {
    anyhow::ensure!(args.payload >= payload::MIN_SIZE, "--payload must be at least {}", payload::MIN_SIZE);
    anyhow::ensure!(args.rate > 0, "--rate must be above 0");
    let login = args.target.login()?;
    let tag = run_tag();
    let clock = Clock::start();
    let topic = format!("mqtt-load/{tag:08x}/latency");
    let mut sub = Conn::open(&login, &format!("lg-{tag:08x}-lat-sub"), 0, None, 64 * 1024).await?;
    sub.subscribe(&topic, args.qos).await?;
    let stream = {
        let login = login.clone();
        let client_id = format!("lg-{tag:08x}-lat-pub");
        tokio::task::spawn_blocking(move || blocking_connect(&login, &client_id)).await??
    };
    eprintln!(
        "{} latency: QoS {}, {} msg/s, {} s ({} s warm-up), {}-byte payloads",
        args.target.label, args.qos, args.rate, args.duration, args.warmup, args.payload
    );

    let warmup_ns = (args.warmup * 1e9) as u64;
    let start = Instant::now();
    let stop_at = start + Duration::from_secs_f64(args.duration);
    let measured_from = start + Duration::from_secs_f64(args.warmup);
    let publisher = {
        let args = args.clone();
        let topic = topic.clone().into_bytes();
        std::thread::spawn(move || publish_paced(stream, &args, &topic, tag, clock, start, stop_at))
    };
    let start_ns = clock.now_ns();
    let mut window = None;
    let mut latencies: Vec<u64> = Vec::with_capacity((args.rate as f64 * args.duration) as usize + 16);
    let mut ledger = Ledger::default();
    let mut foreign = 0u64;
    let expected = (args.duration * args.rate as f64).ceil() as u64;
    let mut quiet_since = Instant::now();
    let mut error = None;
    'receiving: loop {
        if window.is_none() && Instant::now() >= measured_from {
            window = Some((Window::open(&args.target), Instant::now()));
        }
        let done = publisher.is_finished();
        if done && (ledger.distinct >= expected || quiet_since.elapsed() > Duration::from_secs(2)) {
            break;
        }
        match tokio::time::timeout(Duration::from_millis(100), sub.read_more()).await {
            Err(_) => continue,
            Ok(Ok(0)) => {
                error = Some("subscriber: the broker closed the connection".to_string());
                break;
            }
            Ok(Err(e)) => {
                error = Some(format!("subscriber: read failed: {e}"));
                break;
            }
            Ok(Ok(_)) => {}
        }
        let now_ns = clock.now_ns();
        quiet_since = Instant::now();
        loop {
            let frame = match sub.rx.next_frame() {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(e) => {
                    error = Some(format!("subscriber: {e}"));
                    break 'receiving;
                }
            };
            if frame.kind != PUBLISH {
                continue;
            }
            let Ok(publish) = codec::parse_publish(frame) else {
                error = Some("subscriber: malformed PUBLISH".to_string());
                break 'receiving;
            };
            if publish.qos == 1 {
                codec::puback(&mut sub.tx, publish.packet_id);
            }
            match payload::read(publish.payload) {
                Some(stamp) if stamp.tag == tag => {
                    ledger.record(stamp.seq);
                    if stamp.sent_ns >= start_ns + warmup_ns {
                        latencies.push(now_ns.saturating_sub(stamp.sent_ns));
                    }
                }
                _ => foreign += 1,
            }
        }
        if let Err(e) = sub.flush().await {
            error = Some(format!("subscriber: write failed: {e}"));
            break;
        }
    }
    let (window, opened) = window.unwrap_or_else(|| (Window::open(&args.target), Instant::now()));
    let spent = window.close(&args.target);
    let window_seconds = opened.elapsed().as_secs_f64();
    let sent = tokio::task::spawn_blocking(move || publisher.join())
        .await?
        .map_err(|_| anyhow::anyhow!("the publisher thread panicked"))??;
    sub.disconnect(Duration::from_secs(1)).await;

    latencies.sort_unstable();
    let us = |p: f64| percentile(&latencies, p) as f64 / 1000.0;
    let missing = ledger.seen.count_absent_below(sent.sent);
    let result = json!({
        "scenario": "latency",
        "broker": args.target.label,
        "qos": args.qos,
        "rate": args.rate,
        "payload_bytes": args.payload,
        "sent": sent.sent,
        "acked": (args.qos > 0).then_some(sent.acked),
        "delivered": ledger.distinct,
        "missing": missing,
        "duplicates": ledger.duplicates,
        "reordered": ledger.reordered,
        "foreign": foreign,
        "samples": latencies.len(),
        "achieved_rate": per_second(sent.sent, args.duration),
        "p50_us": us(50.0),
        "p90_us": us(90.0),
        "p99_us": us(99.0),
        "p999_us": us(99.9),
        "max_us": latencies.last().map_or(0.0, |&l| l as f64 / 1000.0),
        "mean_us": if latencies.is_empty() { 0.0 } else { latencies.iter().sum::<u64>() as f64 / latencies.len() as f64 / 1000.0 },
        "window_seconds": window_seconds,
        "errors": error.into_iter().collect::<Vec<_>>(),
    });
    let result = merge(result, spent.fields(window_seconds));
    eprintln!(
        "{} latency: {} samples, p50 {:.1} µs, p99 {:.1} µs, p99.9 {:.1} µs, max {:.1} µs; missing {missing}",
        args.target.label,
        latencies.len(),
        us(50.0),
        us(99.0),
        us(99.9),
        latencies.last().map_or(0.0, |&l| l as f64 / 1000.0)
    );
    Ok(result)
}
