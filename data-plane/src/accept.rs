//! The accept loop every client listener shares: accept until shutdown, run
//! one task per connection, back off when accepting fails (e.g. out of file
//! descriptors), then wait for the connections to finish. Knows nothing of
//! any protocol; each front end passes its connection handler.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

/// Pause after a failed accept before retrying.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Accepts on `listener` until `shutdown` fires, running `connection` for each
/// client; returns once every connection task has ended.
pub async fn serve<F, Fut>(listener: TcpListener, protocol: &'static str, shutdown: CancellationToken, connection: F)
where
    F: Fn(TcpStream, SocketAddr) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let connections = TaskTracker::new();
    info!(protocol, addr = ?listener.local_addr().ok(), "listener accepting");
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                connections.spawn(connection(stream, peer));
            }
            Err(error) => {
                warn!(protocol, %error, "accept failed");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
    drop(listener);
    connections.close();
    info!(protocol, open = connections.len(), "listener stopped; closing connections");
    connections.wait().await;
}
