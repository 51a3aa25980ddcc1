//! The Kafka wire-protocol front end.
//!
//! - `connection`: framing, version negotiation, the SASL gate, dispatch;
//! - `sasl`: PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 over SaslHandshake/SaslAuthenticate;
//! - `versions`: which API versions we serve (and ApiVersions);
//! - one module per request kind: `metadata`, `produce`, `fetch`,
//!   `list_offsets`, `topics` (CreateTopics / DeleteTopics / CreatePartitions),
//!   `configs` (DescribeConfigs / IncrementalAlterConfigs), `delete_records`;
//! - `groups`: consumer groups (FindCoordinator, Join/Sync/Heartbeat/LeaveGroup,
//!   OffsetCommit/OffsetFetch, List/Describe/DeleteGroups) and committed offsets;
//! - `init_producer_id` (idempotent producers; their sequence checks are in
//!   the commit log) and `producer_ids`, the durable producer id counter.
//!
//! Messages are encoded and decoded by the `kafka-protocol` crate. Every name
//! a client uses is looked up in its credential's namespace in the
//! [`Catalog`]; record batches go to and come from the partition logs as the
//! client's own bytes. Knows nothing of MQTT: records produced to a mapped
//! topic are handed to the bridge once stored.

mod configs;
mod connection;
mod delete_records;
mod fetch;
mod groups;
mod init_producer_id;
mod list_offsets;
mod metadata;
mod produce;
mod producer_ids;
mod sasl;
mod topics;
mod versions;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::bridge::ToMqtt;
use crate::catalog::Catalog;
use crate::tenancy::Tenancy;

pub use groups::{Groups, GroupsError};
pub use producer_ids::{ProducerIdError, ProducerIds};

/// How this broker appears in Metadata answers.
#[derive(Debug, Clone)]
pub struct Advertised {
    pub node_id: i32,
    pub host: String,
    pub port: u16,
}

/// What every Kafka connection shares.
pub struct Shared {
    pub tenancy: Arc<Tenancy>,
    pub catalog: Arc<Catalog>,
    /// Reads below the local segments of tiered partitions.
    pub tier: Arc<crate::tier::Tier>,
    pub groups: Arc<Groups>,
    pub producer_ids: Arc<ProducerIds>,
    /// Where records produced to mapped topics go on to MQTT.
    pub to_mqtt: Arc<ToMqtt>,
    pub advertised: Advertised,
    pub max_request_size: u32,
}

pub struct KafkaListener {
    listener: TcpListener,
    shared: Arc<Shared>,
}

impl KafkaListener {
    /// Binds `addr`; `shared` builds the connections' shared state from the
    /// bound address (whose port Metadata advertises).
    pub async fn bind(addr: SocketAddr, shared: impl FnOnce(SocketAddr) -> Shared) -> io::Result<KafkaListener> {
        let listener = TcpListener::bind(addr).await?;
        let shared = Arc::new(shared(listener.local_addr()?));
        Ok(KafkaListener { listener, shared })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accepts clients until `shutdown` fires, then closes every connection.
    pub async fn serve(self, shutdown: CancellationToken) {
        let shared = self.shared;
        crate::accept::serve(self.listener, "kafka", shutdown.clone(), move |stream, peer| {
            connection::run(stream, peer, shared.clone(), shutdown.clone())
        })
        .await;
    }
}
