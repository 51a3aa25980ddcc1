//! The MQTT listener: accepts TCP connections and runs one task per client.
//!
//! Owns the state every connection shares and hands each accepted client to
//! `connection` (the loop itself is `crate::accept`). Knows nothing of packets.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::connection;
use super::hub::Hub;
use crate::tenancy::Tenancy;

/// What every connection of the listener shares.
pub struct Shared {
    pub tenancy: Arc<Tenancy>,
    pub hub: Arc<Hub>,
    pub max_packet_size: u32,
    next_connection: AtomicU64,
}

impl Shared {
    /// A connection id never used before in this process.
    pub fn next_connection_id(&self) -> u64 {
        self.next_connection.fetch_add(1, Ordering::Relaxed)
    }
}

/// A bound MQTT listener, not yet accepting.
pub struct MqttListener {
    listener: TcpListener,
    shared: Arc<Shared>,
}

impl MqttListener {
    pub async fn bind(
        addr: SocketAddr,
        tenancy: Arc<Tenancy>,
        hub: Arc<Hub>,
        max_packet_size: u32,
    ) -> io::Result<MqttListener> {
        let listener = TcpListener::bind(addr).await?;
        let shared = Shared { tenancy, hub, max_packet_size, next_connection: AtomicU64::new(1) };
        Ok(MqttListener { listener, shared: Arc::new(shared) })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accepts clients until `shutdown` fires, then closes every connection
    /// and returns once all of them have ended.
    pub async fn serve(self, shutdown: CancellationToken) {
        let shared = self.shared;
        crate::accept::serve(self.listener, "mqtt", shutdown.clone(), move |stream, peer| {
            connection::run(stream, peer, shared.clone(), shutdown.clone())
        })
        .await;
    }
}
