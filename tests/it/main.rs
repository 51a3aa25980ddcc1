//! End-to-end tests: the real `omnibus dev` binary on free ports, driven over
//! HTTP, in Chromium (the web console, with Playwright), by real MQTT clients
//! (mosquitto_pub/sub, paho-mqtt; over TCP, TLS,
//! WebSocket and WebSocket over TLS) and by real Kafka
//! clients (kcat, confluent-kafka, Apache Kafka's Java client and tools,
//! franz-go).

mod bridge;
mod console;
mod kafka;
mod kafka_franz;
mod kafka_groups;
mod kafka_idempotence;
mod kafka_java;
mod kafka_java_client;
mod lifecycle;
mod metering;
mod mqtt_load;
mod mqtt_sessions;
mod mqtt_transports;
mod terraform;
mod tiered;
mod tour;
mod tracing;
