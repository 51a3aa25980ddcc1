//! Idle connections: open `--count` of them (from `--source`, a 127.0.0.x
//! address, so several processes spread over several source addresses),
//! hold them with keep-alive, and at the end send a PINGREQ on every one and
//! count the PINGRESPs.
//!
//! One process holds at most about 19,990 sockets here (the fd hard limit is
//! 20,000), so the driver runs several and sums their lines. The protocol
//! with the driver is two JSON lines on stdout: `{"event":"connected",…}`
//! once every handshake has finished (the driver then samples the broker's
//! memory), and `{"event":"pinged",…}` after the final PINGREQ round, which
//! starts on SIGUSR1 (or after `--hold` seconds). While holding, each
//! connection sends a PINGREQ every three quarters of its keep-alive, as an
//! idle client does. Then every connection sends DISCONNECT and the process
//! exits.

use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{Semaphore, watch};

use super::client::{Conn, Login};
use super::codec::{self, PINGRESP};
use super::{Target, per_second, run_tag};

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    #[command(flatten)]
    pub target: Target,
    /// Connections to open and hold.
    #[arg(long)]
    pub count: usize,
    /// Local address to connect from (any 127.0.0.x works on loopback).
    #[arg(long)]
    pub source: Option<IpAddr>,
    /// Keep-alive seconds announced in CONNECT.
    #[arg(long, default_value_t = 60)]
    pub keep_alive: u16,
    /// Handshakes under way at once.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Seconds to hold before the final PINGREQ round when no SIGUSR1 comes.
    #[arg(long, default_value_t = 600.0)]
    pub hold: f64,
    /// Seconds the connections have to answer the final PINGREQ.
    #[arg(long, default_value_t = 30.0)]
    pub answer_timeout: f64,
}

/// What the main task asks every connection to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    Hold,
    /// Send a keep-alive PINGREQ (round number).
    Ping(u64),
    /// Send the PINGREQ whose answer is counted.
    FinalPing,
    Stop,
}

#[derive(Default)]
struct Counts {
    connected: AtomicUsize,
    failed: AtomicUsize,
    answered: AtomicUsize,
    closed_by_broker: AtomicUsize,
    errors: Mutex<Vec<String>>,
}

impl Counts {
    fn error(&self, error: String) {
        let mut errors = self.errors.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if errors.len() < 5 {
            errors.push(error);
        }
    }
}

async fn hold(
    login: Arc<Login>,
    client_id: String,
    args: Arc<Args>,
    counts: Arc<Counts>,
    handshakes: Arc<Semaphore>,
    mut orders: watch::Receiver<Order>,
) {
    let conn = {
        let Ok(_permit) = handshakes.acquire().await else {
            return;
        };
        Conn::open(&login, &client_id, args.keep_alive, args.source, 64).await
    };
    let mut conn = match conn {
        Ok(conn) => conn,
        Err(error) => {
            counts.failed.fetch_add(1, Ordering::Relaxed);
            counts.error(format!("{error:#}"));
            return;
        }
    };
    counts.connected.fetch_add(1, Ordering::Relaxed);
    let (mut pings, mut pongs, mut final_pending) = (0u64, 0u64, false);
    loop {
        tokio::select! {
            read = conn.read_more() => {
                if !matches!(read, Ok(n) if n > 0) {
                    counts.closed_by_broker.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                while let Ok(Some(frame)) = conn.rx.next_frame() {
                    if frame.kind == PINGRESP {
                        pongs += 1;
                    }
                }
                if final_pending && pongs >= pings {
                    final_pending = false;
                    counts.answered.fetch_add(1, Ordering::Relaxed);
                }
            }
            changed = orders.changed() => {
                if changed.is_err() {
                    return;
                }
                let order = *orders.borrow_and_update();
                match order {
                    Order::Hold => {}
                    Order::Ping(_) | Order::FinalPing => {
                        codec::pingreq(&mut conn.tx);
                        pings += 1;
                        final_pending |= order == Order::FinalPing;
                        if conn.flush().await.is_err() {
                            counts.closed_by_broker.fetch_add(1, Ordering::Relaxed);
                            return;
                        }
                    }
                    Order::Stop => {
                        conn.disconnect(Duration::from_secs(2)).await;
                        return;
                    }
                }
            }
        }
    }
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let login = Arc::new(args.target.login()?);
    let tag = run_tag();
    let args = Arc::new(args);
    let counts = Arc::new(Counts::default());
    let handshakes = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let (orders, orders_rx) = watch::channel(Order::Hold);
    let mut usr1 = signal(SignalKind::user_defined1())?;
    let source = args.source.map_or("default".to_string(), |s| s.to_string());
    eprintln!(
        "{} connections: opening {} from {source}, keep-alive {} s",
        args.target.label, args.count, args.keep_alive
    );

    let started = Instant::now();
    let tasks: Vec<_> = (0..args.count)
        .map(|i| {
            tokio::spawn(hold(
                login.clone(),
                format!("lg-{tag:08x}-idle-{i}"),
                args.clone(),
                counts.clone(),
                handshakes.clone(),
                orders_rx.clone(),
            ))
        })
        .collect();
    drop(orders_rx);
    let mut last_report = Instant::now();
    loop {
        let (connected, failed) = (counts.connected.load(Ordering::Relaxed), counts.failed.load(Ordering::Relaxed));
        if connected + failed >= args.count {
            break;
        }
        if last_report.elapsed() > Duration::from_secs(5) {
            eprintln!("{} connections: {connected} open, {failed} failed", args.target.label);
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let connected = counts.connected.load(Ordering::Relaxed);
    let errors = counts.errors.lock().map(|e| e.clone()).unwrap_or_default();
    println!(
        "{}",
        json!({
            "event": "connected",
            "scenario": "connections",
            "broker": args.target.label,
            "source": source,
            "connected": connected,
            "failed": counts.failed.load(Ordering::Relaxed),
            "seconds": seconds,
            "per_s": per_second(connected as u64, seconds),
            "errors": errors,
        })
    );
    eprintln!("{} connections: {connected} open in {seconds:.1} s; holding", args.target.label);

    let hold_until = tokio::time::Instant::now() + Duration::from_secs_f64(args.hold);
    let ping_every = Duration::from_millis(u64::from(args.keep_alive) * 750);
    let mut round = 0;
    loop {
        let next_ping = if args.keep_alive > 0 {
            tokio::time::sleep(ping_every)
        } else {
            tokio::time::sleep(Duration::from_secs(365 * 86_400))
        };
        tokio::select! {
            _ = usr1.recv() => break,
            () = tokio::time::sleep_until(hold_until) => break,
            () = next_ping => {
                round += 1;
                orders.send_replace(Order::Ping(round));
            }
        }
    }

    let closed_before = counts.closed_by_broker.load(Ordering::Relaxed);
    let asked = Instant::now();
    orders.send_replace(Order::FinalPing);
    let deadline = asked + Duration::from_secs_f64(args.answer_timeout);
    loop {
        let answered = counts.answered.load(Ordering::Relaxed);
        let closed = counts.closed_by_broker.load(Ordering::Relaxed);
        if answered + closed >= connected || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let answer_seconds = asked.elapsed().as_secs_f64();
    let answered = counts.answered.load(Ordering::Relaxed);
    println!(
        "{}",
        json!({
            "event": "pinged",
            "scenario": "connections",
            "broker": args.target.label,
            "source": source,
            "connected": connected,
            "answered": answered,
            "closed_before_ping": closed_before,
            "closed_by_broker": counts.closed_by_broker.load(Ordering::Relaxed),
            "answer_seconds": answer_seconds,
        })
    );
    eprintln!("{} connections: {answered} of {connected} answered PINGREQ in {answer_seconds:.2} s", args.target.label);
    orders.send_replace(Order::Stop);
    let _ = tokio::time::timeout(Duration::from_secs(15), async {
        for task in tasks {
            let _ = task.await;
        }
    })
    .await;
    Ok(())
}
