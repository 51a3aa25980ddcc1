//! Throughput: publishers → subscribers, counting what is delivered.
//!
//! Fan-in is P publishers, each on its own topic, to one subscriber on a
//! wildcard filter; fan-out is one publisher to S subscribers of its topic.
//! QoS 0 publishers write batches as fast as the broker reads them (or at
//! `--rate`); QoS 1 publishers pipeline with at most `--inflight` PUBLISHes
//! unacknowledged, as libmosquitto's clients do. Subscribers acknowledge
//! QoS 1 deliveries at once and record every message's (publisher, sequence
//! number) in a [`Ledger`], so the result counts what arrived: distinct
//! deliveries, missing ones, and — the number that must stay 0 — messages
//! the broker acknowledged (PUBACK) and never delivered.
//!
//! The measured window runs from the first publish to the last delivery; the
//! broker's CPU seconds are read at its start and once every subscriber has
//! everything (or heard nothing for `--drain` seconds after publishing).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::{Value, json};
use tokio::sync::watch;

use super::client::{Conn, Login};
use super::codec::{self, PUBACK, PUBLISH};
use super::ledger::{Ledger, SeqSet};
use super::payload::{self, Stamp};
use super::{Clock, Target, Window, merge, per_second, run_tag};

/// What every throughput run is asked to do.
#[derive(clap::Args, Debug, Clone)]
pub struct Load {
    #[command(flatten)]
    pub target: Target,
    /// QoS of the publishes and of the subscriptions.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=1))]
    pub qos: u8,
    /// Seconds of publishing.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Messages per second, all publishers together; 0 publishes as fast as
    /// the broker takes them.
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// Payload bytes per message (at least 24: run tag, publisher, sequence
    /// number, send time).
    #[arg(long, default_value_t = 64)]
    pub payload: usize,
    /// QoS 1 PUBLISHes a publisher may have unacknowledged (libmosquitto's
    /// default max_inflight_messages is 20).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..))]
    pub inflight: u16,
    /// Once publishing stopped, how long a subscriber waits for another
    /// message before it counts the rest as missing.
    #[arg(long, default_value_t = 3.0)]
    pub drain: f64,
}

/// Who publishes to whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `n` publishers on topics `{prefix}/{i}`, one subscriber on `{prefix}/#`.
    FanIn { publishers: usize },
    /// One publisher on `{prefix}/0`, `n` subscribers of that topic.
    FanOut { subscribers: usize },
}

impl Shape {
    fn name(self) -> &'static str {
        match self {
            Shape::FanIn { .. } => "fan-in",
            Shape::FanOut { .. } => "fan-out",
        }
    }

    fn counts(self) -> (usize, usize) {
        match self {
            Shape::FanIn { publishers } => (publishers, 1),
            Shape::FanOut { subscribers } => (1, subscribers),
        }
    }
}

/// Messages one publisher write carries at most.
const BATCH: u64 = 256;
/// How long a QoS 1 publisher waits for its last PUBACKs once publishing stopped.
const ACK_WAIT: Duration = Duration::from_secs(10);

/// What one publisher did.
#[derive(Default)]
struct Published {
    sent: u64,
    acked: SeqSet,
    acked_count: u64,
    unacked: u64,
    unexpected_acks: u64,
    error: Option<String>,
}

/// What one subscriber received.
struct Received {
    ledgers: Vec<Ledger>,
    last: Option<Instant>,
    /// Messages not from this run's publishers.
    foreign: u64,
    error: Option<String>,
}

struct Publisher {
    conn: Conn,
    index: u32,
    topic: Vec<u8>,
    qos: u8,
    /// Messages per second; 0 = unthrottled.
    rate: f64,
    window: usize,
    size: usize,
    tag: u32,
    clock: Clock,
}

impl Publisher {
    /// When message number `seq` is due.
    fn due(&self, start: Instant, seq: u64) -> Instant {
        start + Duration::from_secs_f64(seq as f64 / self.rate)
    }

    async fn run(mut self, start: Instant, stop_at: Instant) -> (Published, Conn) {
        let mut out = Published::default();
        // The sequence number each packet id in flight carries (u64::MAX: free).
        let mut in_flight = vec![u64::MAX; 1 << 16];
        let mut next_id: u16 = 0;
        let mut outstanding = 0usize;
        let ack_deadline = stop_at + ACK_WAIT;
        loop {
            let now = Instant::now();
            let publishing = now < stop_at;
            let mut n = match (publishing, self.rate > 0.0) {
                (false, _) => 0,
                (true, false) => BATCH,
                (true, true) => {
                    let due = ((now - start).as_secs_f64() * self.rate) as u64 + 1;
                    due.saturating_sub(out.sent).min(BATCH)
                }
            };
            if self.qos == 1 {
                n = n.min((self.window - outstanding) as u64);
            }
            if n > 0 {
                let sent_ns = self.clock.now_ns();
                for _ in 0..n {
                    let mut id = 0;
                    if self.qos == 1 {
                        loop {
                            next_id = next_id.checked_add(1).unwrap_or(1);
                            if in_flight[usize::from(next_id)] == u64::MAX {
                                break;
                            }
                        }
                        id = next_id;
                        in_flight[usize::from(id)] = out.sent;
                        outstanding += 1;
                    }
                    codec::publish_header(&mut self.conn.tx, &self.topic, self.qos, id, self.size);
                    let stamp = Stamp { tag: self.tag, publisher: self.index, seq: out.sent, sent_ns };
                    payload::write(&mut self.conn.tx, stamp, self.size);
                    out.sent += 1;
                }
                if let Err(error) = self.conn.flush().await {
                    out.error = Some(format!("publisher {}: write failed: {error}", self.index));
                    break;
                }
            }
            let window_open = outstanding < self.window;
            if self.qos == 0 || (publishing && window_open && self.rate == 0.0) {
                if !publishing {
                    break;
                }
                if n == 0 {
                    tokio::time::sleep_until(self.due(start, out.sent).min(stop_at).into()).await;
                } else {
                    tokio::task::yield_now().await;
                }
                continue;
            }
            if !publishing && outstanding == 0 {
                break;
            }
            if now > ack_deadline {
                break;
            }
            // Wait for PUBACKs, or until the next message is due.
            let wake = match (publishing, window_open) {
                (true, true) => self.due(start, out.sent).min(stop_at),
                (true, false) => stop_at,
                (false, _) => ack_deadline,
            };
            tokio::select! {
                read = self.conn.read_more() => match read {
                    Ok(0) => {
                        out.error = Some(format!("publisher {}: the broker closed the connection", self.index));
                        break;
                    }
                    Err(error) => {
                        out.error = Some(format!("publisher {}: read failed: {error}", self.index));
                        break;
                    }
                    Ok(_) => {}
                },
                () = tokio::time::sleep_until(wake.into()) => {}
            }
            loop {
                match self.conn.rx.next_frame() {
                    Ok(Some(frame)) if frame.kind == PUBACK => {
                        let Ok(id) = codec::packet_id(frame) else {
                            out.unexpected_acks += 1;
                            continue;
                        };
                        let seq = std::mem::replace(&mut in_flight[usize::from(id)], u64::MAX);
                        if seq == u64::MAX {
                            out.unexpected_acks += 1;
                        } else {
                            out.acked.insert(seq);
                            out.acked_count += 1;
                            outstanding -= 1;
                        }
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(error) => {
                        out.error = Some(format!("publisher {}: {error}", self.index));
                        break;
                    }
                }
            }
            if out.error.is_some() {
                break;
            }
        }
        out.unacked = outstanding as u64;
        (out, self.conn)
    }
}

struct Subscriber {
    conn: Conn,
    index: usize,
    publishers: usize,
    tag: u32,
    drain: Duration,
}

impl Subscriber {
    /// Receives until it has every message the publishers sent (their counts
    /// arrive on `done` once they stopped) or hears nothing for `drain`.
    async fn run(mut self, done: watch::Receiver<Option<Arc<Vec<u64>>>>) -> (Received, Conn) {
        let mut out =
            Received { ledgers: vec![Ledger::default(); self.publishers], last: None, foreign: 0, error: None };
        let mut quiet_since = Instant::now();
        'receiving: loop {
            if let Some(sent) = done.borrow().as_ref() {
                let all_in = out.ledgers.iter().zip(sent.iter()).all(|(ledger, &sent)| ledger.distinct >= sent);
                if all_in || quiet_since.elapsed() >= self.drain {
                    break;
                }
            }
            match tokio::time::timeout(Duration::from_millis(100), self.conn.read_more()).await {
                Err(_) => continue,
                Ok(Ok(0)) => {
                    out.error = Some(format!("subscriber {}: the broker closed the connection", self.index));
                    break;
                }
                Ok(Err(error)) => {
                    out.error = Some(format!("subscriber {}: read failed: {error}", self.index));
                    break;
                }
                Ok(Ok(_)) => {}
            }
            let mut delivered = false;
            loop {
                let frame = match self.conn.rx.next_frame() {
                    Ok(Some(frame)) => frame,
                    Ok(None) => break,
                    Err(error) => {
                        out.error = Some(format!("subscriber {}: {error}", self.index));
                        break 'receiving;
                    }
                };
                if frame.kind != PUBLISH {
                    continue;
                }
                let publish = match codec::parse_publish(frame) {
                    Ok(publish) => publish,
                    Err(error) => {
                        out.error = Some(format!("subscriber {}: {error}", self.index));
                        break 'receiving;
                    }
                };
                if publish.qos == 1 {
                    codec::puback(&mut self.conn.tx, publish.packet_id);
                }
                delivered = true;
                match payload::read(publish.payload) {
                    Some(stamp) if stamp.tag == self.tag && (stamp.publisher as usize) < self.publishers => {
                        out.ledgers[stamp.publisher as usize].record(stamp.seq);
                    }
                    _ => out.foreign += 1,
                }
            }
            if delivered {
                let now = Instant::now();
                out.last = Some(now);
                quiet_since = now;
            }
            if let Err(error) = self.conn.flush().await {
                out.error = Some(format!("subscriber {}: write failed: {error}", self.index));
                break;
            }
        }
        (out, self.conn)
    }
}

/// Runs one throughput scenario and returns its result line.
pub async fn run(load: &Load, shape: Shape) -> anyhow::Result<Value> {
    anyhow::ensure!(load.payload >= payload::MIN_SIZE, "--payload must be at least {}", payload::MIN_SIZE);
    let login: Login = load.target.login()?;
    let (publishers, subscribers) = shape.counts();
    let tag = run_tag();
    let clock = Clock::start();
    let prefix = format!("mqtt-load/{tag:08x}");
    let filter = match shape {
        Shape::FanIn { .. } => format!("{prefix}/#"),
        Shape::FanOut { .. } => format!("{prefix}/0"),
    };
    let drain = Duration::from_secs_f64(load.drain);

    let mut subs = Vec::with_capacity(subscribers);
    for index in 0..subscribers {
        let mut conn = Conn::open(&login, &format!("lg-{tag:08x}-sub-{index}"), 0, None, 256 * 1024)
            .await
            .with_context(|| format!("subscriber {index}"))?;
        conn.subscribe(&filter, load.qos).await.with_context(|| format!("subscriber {index}"))?;
        subs.push(Subscriber { conn, index, publishers, tag, drain });
    }
    let mut pubs = Vec::with_capacity(publishers);
    for index in 0..publishers {
        let conn = Conn::open(&login, &format!("lg-{tag:08x}-pub-{index}"), 0, None, 64 * 1024)
            .await
            .with_context(|| format!("publisher {index}"))?;
        pubs.push(Publisher {
            conn,
            index: index as u32,
            topic: format!("{prefix}/{index}").into_bytes(),
            qos: load.qos,
            rate: load.rate as f64 / publishers as f64,
            window: usize::from(load.inflight),
            size: load.payload,
            tag,
            clock,
        });
    }
    eprintln!(
        "{} {}: {publishers} publisher(s) -> {subscribers} subscriber(s) on {filter}, QoS {}, {} s, {}",
        load.target.label,
        shape.name(),
        load.qos,
        load.duration,
        if load.rate == 0 { "unthrottled".to_string() } else { format!("{} msg/s", load.rate) }
    );

    let (done_tx, done_rx) = watch::channel(None);
    let window = Window::open(&load.target);
    let start = Instant::now();
    let stop_at = start + Duration::from_secs_f64(load.duration);
    let sub_tasks: Vec<_> = subs.into_iter().map(|s| tokio::spawn(s.run(done_rx.clone()))).collect();
    let pub_tasks: Vec<_> = pubs.into_iter().map(|p| tokio::spawn(p.run(start, stop_at))).collect();
    let mut published = Vec::with_capacity(publishers);
    let mut conns = Vec::new();
    for task in pub_tasks {
        let (result, conn) = task.await.context("a publisher task failed")?;
        published.push(result);
        conns.push(conn);
    }
    let publish_seconds = start.elapsed().as_secs_f64().min(load.duration);
    let sent: Vec<u64> = published.iter().map(|p| p.sent).collect();
    done_tx.send_replace(Some(Arc::new(sent.clone())));
    let mut received = Vec::with_capacity(subscribers);
    for task in sub_tasks {
        let (result, conn) = task.await.context("a subscriber task failed")?;
        received.push(result);
        conns.push(conn);
    }
    let spent = window.close(&load.target);
    let window_seconds = start.elapsed().as_secs_f64();
    let closing: Vec<_> = conns.into_iter().map(|c| tokio::spawn(c.disconnect(Duration::from_secs(1)))).collect();
    for task in closing {
        let _ = task.await;
    }

    let last = received.iter().filter_map(|r| r.last).max();
    let seconds = last.map_or(0.0, |last| (last - start).as_secs_f64());
    let sent_total: u64 = sent.iter().sum();
    let acked_total: u64 = published.iter().map(|p| p.acked_count).sum();
    let mut delivered = 0;
    let mut duplicates = 0;
    let mut reordered = 0;
    let mut missing = 0;
    let mut missing_acked = 0;
    for r in &received {
        for (ledger, p) in r.ledgers.iter().zip(&published) {
            delivered += ledger.distinct;
            duplicates += ledger.duplicates;
            reordered += ledger.reordered;
            missing += ledger.seen.count_absent_below(p.sent);
            missing_acked += p.acked.count_missing_from(&ledger.seen);
        }
    }
    let broker_cpu = spent.broker_cpu_seconds;
    let errors: Vec<&String> = published
        .iter()
        .filter_map(|p| p.error.as_ref())
        .chain(received.iter().filter_map(|r| r.error.as_ref()))
        .collect();
    let result = json!({
        "scenario": shape.name(),
        "broker": load.target.label,
        "qos": load.qos,
        "publishers": publishers,
        "subscribers": subscribers,
        "payload_bytes": load.payload,
        "rate": (load.rate > 0).then_some(load.rate),
        "inflight": (load.qos > 0).then_some(load.inflight),
        "publish_seconds": publish_seconds,
        "seconds": seconds,
        "sent": sent_total,
        "acked": (load.qos > 0).then_some(acked_total),
        "unacked": (load.qos > 0).then(|| published.iter().map(|p| p.unacked).sum::<u64>()),
        "unexpected_acks": published.iter().map(|p| p.unexpected_acks).sum::<u64>(),
        "expected": sent_total * subscribers as u64,
        "delivered": delivered,
        "missing": missing,
        "missing_acked": missing_acked,
        "duplicates": duplicates,
        "reordered": reordered,
        "foreign": received.iter().map(|r| r.foreign).sum::<u64>(),
        "sent_per_s": per_second(sent_total, publish_seconds),
        "delivered_per_s": per_second(delivered, seconds),
        "delivered_per_broker_cpu_s": if broker_cpu > 0.0 { delivered as f64 / broker_cpu } else { 0.0 },
        "window_seconds": window_seconds,
        "errors": errors,
    });
    let result = merge(result, spent.fields(window_seconds));
    eprintln!(
        "{} {}: sent {sent_total}, delivered {delivered} of {} ({:.0}/s), missing {missing} \
         (acknowledged yet missing: {missing_acked}), duplicates {duplicates}, broker CPU {broker_cpu:.2} s",
        load.target.label,
        shape.name(),
        sent_total * subscribers as u64,
        per_second(delivered, seconds),
    );
    Ok(result)
}
