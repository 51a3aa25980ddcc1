//! The transports MQTT runs over: plain TCP, TLS, WebSocket and WebSocket
//! over TLS, each on its own listener.
//!
//! Owns everything between the accepted TCP socket and the first MQTT byte:
//! TCP_NODELAY, the TLS handshake ([`tls`]: the acceptor, with the certificate
//! chain and key from PEM files), the WebSocket upgrade and framing
//! ([`websocket`]: path `/mqtt`, subprotocol `mqtt`, binary frames carrying the
//! byte stream), and a time limit on both handshakes. It hands `connection`
//! a plain byte stream and knows nothing of MQTT packets; `connection` knows
//! nothing of transports.

pub mod tls;
pub mod websocket;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, debug, info, info_span};

use super::connection::{self, Stream};
use super::server::Shared;

pub use tls::TlsError;

/// How long a client has for the TLS handshake and the WebSocket upgrade
/// together, before CONNECT's own 10 s start.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What one MQTT listener speaks.
#[derive(Clone)]
pub enum Transport {
    /// MQTT straight on TCP.
    Tcp,
    /// MQTT on TLS.
    Tls(TlsAcceptor),
    /// MQTT in binary WebSocket frames.
    Ws,
    /// MQTT in binary WebSocket frames on TLS.
    Wss(TlsAcceptor),
}

impl Transport {
    /// The listener's name in logs and bind errors.
    pub fn name(&self) -> &'static str {
        match self {
            Transport::Tcp => "mqtt",
            Transport::Tls(_) => "mqtt-tls",
            Transport::Ws => "mqtt-ws",
            Transport::Wss(_) => "mqtt-wss",
        }
    }

    /// Sets the accepted socket up, runs the handshakes this transport needs
    /// (at most 10 s for all of them), then serves the MQTT connection over
    /// the result until it ends or `shutdown` fires. The handshakes run in a
    /// future of their own on the heap, in a span of their own, and the stream
    /// is boxed, so what the connection keeps for its whole life is the same
    /// small future whatever the transport.
    pub async fn serve(self, stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>, shutdown: CancellationToken) {
        if let Err(error) = stream.set_nodelay(true) {
            debug!(%error, "cannot set TCP_NODELAY");
        }
        let name = self.name();
        let span = info_span!("mqtt_transport", transport = name);
        let Some(stream) = Box::pin(self.handshake(stream, peer, &shared, &shutdown)).instrument(span).await else {
            return;
        };
        connection::run(stream, peer, name, shared, shutdown).await;
    }

    /// Runs the handshakes this transport needs, at most 10 s for all of
    /// them; `None` when they did not succeed.
    async fn handshake(
        self,
        stream: TcpStream,
        peer: SocketAddr,
        shared: &Shared,
        shutdown: &CancellationToken,
    ) -> Option<Stream> {
        let max_message = shared.max_packet_size as usize;
        match self {
            Transport::Tcp => Some(Box::new(stream)),
            Transport::Tls(acceptor) => {
                let handshake = async { acceptor.accept(stream).await.map_err(HandshakeError::Tls) };
                handshake_within(handshake, peer, shutdown).await.map(|s| Box::new(s) as Stream)
            }
            Transport::Ws => {
                let handshake = async { Ok(websocket::accept(stream, max_message).await?) };
                handshake_within(handshake, peer, shutdown).await.map(|s| Box::new(s) as Stream)
            }
            Transport::Wss(acceptor) => {
                let handshake = async {
                    let stream = acceptor.accept(stream).await.map_err(HandshakeError::Tls)?;
                    Ok(websocket::accept(stream, max_message).await?)
                };
                handshake_within(handshake, peer, shutdown).await.map(|s| Box::new(s) as Stream)
            }
        }
    }
}

/// Why a transport handshake failed.
#[derive(Debug, thiserror::Error)]
enum HandshakeError {
    #[error("TLS handshake failed: {0}")]
    Tls(io::Error),
    #[error(transparent)]
    WebSocket(#[from] websocket::UpgradeError),
}

impl HandshakeError {
    /// The client went away before finishing: a port probe or a client that
    /// gave up, not worth more than a debug line.
    fn is_hang_up(&self) -> bool {
        match self {
            HandshakeError::Tls(error) => {
                matches!(error.kind(), io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset)
            }
            HandshakeError::WebSocket(error) => error.is_hang_up(),
        }
    }
}

/// Runs `handshake` for at most [`HANDSHAKE_TIMEOUT`] or until `shutdown`;
/// logs why it failed. `None` when it did not succeed.
async fn handshake_within<T>(
    handshake: impl Future<Output = Result<T, HandshakeError>>,
    peer: SocketAddr,
    shutdown: &CancellationToken,
) -> Option<T> {
    let result = tokio::select! {
        () = shutdown.cancelled() => return None,
        result = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake) => result,
    };
    match result {
        Ok(Ok(stream)) => Some(stream),
        Ok(Err(error)) if error.is_hang_up() => {
            debug!(%peer, %error, "closed during the handshake");
            None
        }
        Ok(Err(error)) => {
            info!(%peer, %error, "closing: handshake failed");
            None
        }
        Err(_) => {
            debug!(%peer, "closing: no handshake within 10 s");
            None
        }
    }
}
