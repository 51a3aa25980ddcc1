//! End-to-end tests: the real `omnibus dev` binary on free ports, driven over
//! HTTP and by real MQTT clients (mosquitto_pub/sub, paho-mqtt).

mod lifecycle;
mod tour;
mod tracing;
