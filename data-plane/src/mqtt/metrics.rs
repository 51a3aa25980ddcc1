//! Names, descriptions and per-connection handles of the MQTT metrics.
//!
//! Owns metric names and the per-namespace handles (shared by the
//! namespace's connections) that also feed its `$SYS` statistics and its
//! usage meter; the recorder (Prometheus) is installed by the binary.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use metrics::{Counter, Gauge, Unit, counter, describe_counter, describe_gauge, gauge};

use crate::meter::Connected;
use crate::mqtt::sys::Stats;

const CONNECTIONS: &str = "omnibus_mqtt_connections";
const CONNECTS: &str = "omnibus_mqtt_connects_total";
const MESSAGES_IN: &str = "omnibus_mqtt_messages_in_total";
const MESSAGES_OUT: &str = "omnibus_mqtt_messages_out_total";
const BYTES_IN: &str = "omnibus_mqtt_bytes_in_total";
const BYTES_OUT: &str = "omnibus_mqtt_bytes_out_total";
const DROPPED: &str = "omnibus_mqtt_messages_dropped_total";

/// Registers the descriptions with the installed recorder.
pub fn describe() {
    describe_gauge!(CONNECTIONS, "MQTT connections past CONNACK, open now");
    describe_counter!(CONNECTS, "CONNECT packets answered, by result");
    describe_counter!(MESSAGES_IN, "PUBLISH packets received from clients, by namespace");
    describe_counter!(MESSAGES_OUT, "PUBLISH packets sent to clients, by namespace");
    describe_counter!(BYTES_IN, Unit::Bytes, "MQTT packet bytes received after CONNECT, by namespace");
    describe_counter!(BYTES_OUT, Unit::Bytes, "MQTT packet bytes sent after CONNECT, by namespace");
    describe_counter!(DROPPED, "messages not queued for an offline session whose queue was full, by namespace");
}

/// Counts one answered CONNECT.
pub fn connect_result(result: &'static str) {
    counter!(CONNECTS, "result" => result).increment(1);
}

/// Counts a message an offline session's full queue could not take.
pub fn dropped(namespace_id: &str) {
    counter!(DROPPED, "namespace" => namespace_id.to_owned()).increment(1);
}

/// A namespace's counters, labelled with it once and shared by all of its
/// connections (a connection holds no handles of its own): the Prometheus
/// ones and the namespace's `$SYS` statistics.
pub struct NamespaceMeters {
    messages_in: Counter,
    messages_out: Counter,
    bytes_in: Counter,
    bytes_out: Counter,
    connections: Gauge,
    pub stats: Stats,
}

impl NamespaceMeters {
    pub fn new(namespace_id: &str) -> NamespaceMeters {
        let namespace = namespace_id.to_owned();
        NamespaceMeters {
            messages_in: counter!(MESSAGES_IN, "namespace" => namespace.clone()),
            messages_out: counter!(MESSAGES_OUT, "namespace" => namespace.clone()),
            bytes_in: counter!(BYTES_IN, "namespace" => namespace.clone()),
            bytes_out: counter!(BYTES_OUT, "namespace" => namespace),
            connections: gauge!(CONNECTIONS),
            stats: Stats::default(),
        }
    }
}

/// One connection's meters: its namespace's and its usage, counting the
/// connection as open until dropped.
pub struct Meters {
    namespace: Arc<NamespaceMeters>,
    usage: Connected,
}

impl Meters {
    pub fn open(namespace: Arc<NamespaceMeters>, usage: Connected) -> Meters {
        namespace.connections.increment(1.0);
        namespace.stats.connected.fetch_add(1, Ordering::Relaxed);
        Meters { namespace, usage }
    }

    /// A PUBLISH received (accepted or not).
    pub fn message_in(&self) {
        self.namespace.messages_in.increment(1);
        self.namespace.stats.messages_received.fetch_add(1, Ordering::Relaxed);
    }

    /// A message accepted from the client (or its will, published): metered.
    pub fn accepted(&self, payload_bytes: usize) {
        self.usage.usage().mqtt_in(payload_bytes as u64);
    }

    /// A PUBLISH handed to the connection's writer: counted and metered.
    pub fn message_out(&self, payload_bytes: usize) {
        self.namespace.messages_out.increment(1);
        self.namespace.stats.messages_sent.fetch_add(1, Ordering::Relaxed);
        self.usage.usage().mqtt_out(payload_bytes as u64);
    }

    pub fn bytes_in(&self, bytes: u64) {
        self.namespace.bytes_in.increment(bytes);
        self.namespace.stats.bytes_received.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn bytes_out(&self, bytes: u64) {
        self.namespace.bytes_out.increment(bytes);
        self.namespace.stats.bytes_sent.fetch_add(bytes, Ordering::Relaxed);
    }
}

impl Drop for Meters {
    fn drop(&mut self) {
        self.namespace.connections.decrement(1.0);
        self.namespace.stats.connected.fetch_sub(1, Ordering::Relaxed);
    }
}
