//! Per-instance statistics under `$SYS/`: each namespace's counters and the
//! retained messages its clients read them from, with Mosquitto's topic
//! names so dashboards built for it keep working. A namespace's `$SYS` topics
//! are its own (clients of other instances never see them); any of its
//! clients may subscribe, none may publish.
//!
//! Owns the counters and the topic names; the hub publishes them.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// How often the statistics are published.
pub const INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);
/// Topics under this prefix belong to the broker.
pub const PREFIX: &str = "$SYS/";

/// One namespace's MQTT counters since the broker started.
#[derive(Debug, Default)]
pub struct Stats {
    pub connected: AtomicI64,
    pub messages_received: AtomicU64,
    pub messages_sent: AtomicU64,
    pub bytes_received: AtomicU64,
    pub bytes_sent: AtomicU64,
}

impl Stats {
    /// (topic, value) of each statistic, with `retained` topics holding a
    /// retained message.
    pub fn report(&self, retained: usize) -> [(&'static str, String); 6] {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed).to_string();
        [
            ("$SYS/broker/clients/connected", self.connected.load(Ordering::Relaxed).max(0).to_string()),
            ("$SYS/broker/messages/received", get(&self.messages_received)),
            ("$SYS/broker/messages/sent", get(&self.messages_sent)),
            ("$SYS/broker/bytes/received", get(&self.bytes_received)),
            ("$SYS/broker/bytes/sent", get(&self.bytes_sent)),
            ("$SYS/broker/retained messages/count", retained.to_string()),
        ]
    }
}

/// Whether `topic` (or filter) is under `$SYS/`.
pub fn is_sys(topic: &str) -> bool {
    topic.starts_with(PREFIX)
}
