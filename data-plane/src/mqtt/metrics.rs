//! Names, descriptions and per-connection handles of the MQTT metrics.
//!
//! Owns metric names only; the recorder (Prometheus) is installed by the binary.

use metrics::{Counter, Gauge, Unit, counter, describe_counter, describe_gauge, gauge};

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

/// One connection's counters, labelled with its namespace once, so the hot
/// path only increments.
pub struct Meters {
    pub messages_in: Counter,
    pub messages_out: Counter,
    pub bytes_in: Counter,
    pub bytes_out: Counter,
    connections: Gauge,
}

impl Meters {
    /// Counts the connection as open until the meters are dropped.
    pub fn open(namespace_id: &str) -> Meters {
        let namespace = namespace_id.to_owned();
        let connections = gauge!(CONNECTIONS);
        connections.increment(1.0);
        Meters {
            messages_in: counter!(MESSAGES_IN, "namespace" => namespace.clone()),
            messages_out: counter!(MESSAGES_OUT, "namespace" => namespace.clone()),
            bytes_in: counter!(BYTES_IN, "namespace" => namespace.clone()),
            bytes_out: counter!(BYTES_OUT, "namespace" => namespace),
            connections,
        }
    }
}

impl Drop for Meters {
    fn drop(&mut self) {
        self.connections.decrement(1.0);
    }
}
