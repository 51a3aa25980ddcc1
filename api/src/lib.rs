//! The contract between Omnibus parts, and nothing else.
//!
//! - [`rest`]: the resources of the management REST API (serde + utoipa schemas).
//! - [`fleet`]: the gRPC service the control plane uses to drive brokers.
//! - [`scram`]: the salted form in which a credential's secret crosses from the
//!   control plane to the fleet.
//! - [`topic`]: the syntax of MQTT topic names and filters, which ACL rules and
//!   MQTT↔Kafka mappings use (re-exported from the MQTT codec, which owns it).
//! - [`kafka_topic`]: the syntax of Kafka topic names, which mappings use.
//!
//! Only these types cross a process boundary. This crate holds no behaviour of
//! either plane: no storage, no networking, no policy.

pub mod kafka_topic;
pub mod rest;
pub mod scram;
pub use omnibus_mqtt_codec::topic;

/// Generated from `proto/omnibus/fleet/v1/fleet.proto`.
pub mod fleet {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("omnibus.fleet.v1");
}
