//! The MQTT front end: MQTT 3.1 and 3.1.1 over TCP.
//!
//! Layered so each part can grow towards MQTT 5.0 on its own:
//! - [`codec`]: bytes ↔ packets, sans-IO;
//! - [`topic`]: topic names and filters;
//! - [`router`]: per-namespace subscription tries;
//! - [`session`]: per-connection protocol state, sans-IO;
//! - `hub`: router plus each session's bounded outbound queue;
//! - `connection` and `server`: the sockets and tasks.
//!
//! Every name a client uses (topic, client id) is scoped by the namespace its
//! credential belongs to; this module asks [`crate::tenancy`] who a client is
//! and what it may do, and must not reach into tenancy's storage.

pub mod codec;
mod connection;
mod hub;
pub mod metrics;
pub mod router;
mod server;
pub mod session;
#[cfg(test)]
mod tests;
pub mod topic;

pub use server::MqttListener;
