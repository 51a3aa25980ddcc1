//! The MQTT front end: MQTT 3.1, 3.1.1 and 5.0 over TCP, TLS, WebSocket and
//! WebSocket over TLS.
//!
//! Layered, each part with one job:
//! - [`codec`]: bytes ↔ packets of 3.1, 3.1.1 and 5.0, sans-IO (the
//!   `omnibus-mqtt-codec` crate);
//! - [`topic`]: topic names and filters;
//! - [`router`]: per-namespace subscription tries;
//! - `message`: the application message as routed and stored, with the
//!   MQTT 5 properties it carries;
//! - [`session`]: one session's protocol state (subscriptions with their
//!   options, queue, in flight, QoS 2 handshakes both ways, expiry), sans-IO;
//! - `live_session`: that state as connections and publishers share it;
//! - `retained`: retained messages per namespace;
//! - `sys`: each namespace's `$SYS` statistics;
//! - `will`: a connection's will and what it becomes when published;
//! - `store`: persistent sessions and retained messages on disk (redb);
//! - [`hub`]: the router, the sessions, retained messages and the store
//!   together: CONNECT's clean/resume, session expiry and will delay,
//!   fan-out, shared subscriptions, delayed publish, back pressure;
//! - [`transport`]: TLS and WebSocket, up to the first MQTT byte;
//! - `connection` and `server`: the listeners, sockets and tasks.
//!
//! Every name a client uses (topic, client id) is scoped by the namespace its
//! credential belongs to; this module asks [`crate::tenancy`] who a client is
//! and what it may do, and must not reach into tenancy's storage.

pub use omnibus_mqtt_codec as codec;
mod connection;
pub mod hub;
mod live_session;
pub(crate) mod message;
pub mod metrics;
mod retained;
pub mod router;
mod server;
pub mod session;
mod store;
mod sys;
#[cfg(test)]
mod tests;
pub mod topic;
pub mod transport;
mod will;

pub use hub::Hub;
pub use server::MqttListener;
pub use store::StoreError;
pub use transport::{TlsError, Transport};
