//! The MQTT listeners: one per transport (TCP, TLS, WebSocket, WebSocket over
//! TLS), all sharing one hub, so clients on any of them reach each other.
//!
//! Owns the state every connection shares and hands each accepted socket to
//! `transport`, which runs the handshakes and then `connection` (the accept
//! loop itself is `crate::accept`). Knows nothing of packets.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::hub::Hub;
use super::transport::Transport;
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

/// Bound MQTT listeners, not yet accepting.
pub struct MqttListener {
    listeners: Vec<(TcpListener, Transport)>,
    shared: Arc<Shared>,
}

impl MqttListener {
    /// Binds the MQTT/TCP listener; [`MqttListener::bind_transport`] adds the others.
    pub async fn bind(
        addr: SocketAddr,
        tenancy: Arc<Tenancy>,
        hub: Arc<Hub>,
        max_packet_size: u32,
    ) -> io::Result<MqttListener> {
        let shared = Shared { tenancy, hub, max_packet_size, next_connection: AtomicU64::new(1) };
        let mut listener = MqttListener { listeners: Vec::new(), shared: Arc::new(shared) };
        listener.bind_transport(addr, Transport::Tcp).await?;
        Ok(listener)
    }

    /// Binds one more listener, for `transport`; returns its address.
    pub async fn bind_transport(&mut self, addr: SocketAddr, transport: Transport) -> io::Result<SocketAddr> {
        let listener = TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        self.listeners.push((listener, transport));
        Ok(bound)
    }

    /// The address of the MQTT/TCP listener.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listeners[0].0.local_addr()
    }

    /// Accepts clients on every listener until `shutdown` fires, then closes
    /// every connection and returns once all of them have ended.
    pub async fn serve(self, shutdown: CancellationToken) {
        let shared = self.shared;
        let listeners = self.listeners.into_iter().map(|(listener, transport)| {
            let (shared, stop) = (shared.clone(), shutdown.clone());
            crate::accept::serve(listener, transport.name(), shutdown.clone(), move |stream, peer| {
                transport.clone().serve(stream, peer, shared.clone(), stop.clone())
            })
        });
        futures_util::future::join_all(listeners).await;
    }
}
