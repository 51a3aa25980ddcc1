//! The address a request comes from, for rate limits and the audit log: the
//! TCP peer, or, when the peer is a trusted proxy (`trusted_proxies`), the
//! last address in `X-Forwarded-For` that is not a trusted proxy. Entries a
//! client wrote itself sit left of those its proxies appended, so they are
//! never believed.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

use super::AppState;

/// The client's address; `None` when the connection's peer is unknown (a
/// request not served over a socket).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr::of(parts.extensions.get::<ConnectInfo<SocketAddr>>(), &parts.headers, state))
    }
}

impl ClientAddr {
    pub fn of(peer: Option<&ConnectInfo<SocketAddr>>, headers: &HeaderMap, state: &AppState) -> ClientAddr {
        ClientAddr(peer.map(|ConnectInfo(peer)| client(peer.ip(), headers, &state.config.trusted_proxies)))
    }

    /// For rate-limit buckets and the audit log.
    pub fn text(self) -> String {
        self.0.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
    }
}

fn client(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    // Right to left: each hop appended the address it received from.
    let hops = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>();
    for entry in hops.iter().rev().flat_map(|v| v.rsplit(',')) {
        match entry.trim().parse::<IpAddr>() {
            Ok(ip) if is_trusted(&ip) => client = ip,
            Ok(ip) => return ip,
            // Garbage in the chain: trust nothing further left of it.
            Err(_) => return client,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn only_trusted_proxies_are_believed() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let peer: IpAddr = "10.1.2.3".parse().unwrap();
        let outsider: IpAddr = "203.0.113.9".parse().unwrap();
        // From an untrusted peer the header is ignored.
        assert_eq!(client(outsider, &headers(&["198.51.100.1"]), &trusted), outsider);
        // Through the proxy: the address it saw.
        assert_eq!(client(peer, &headers(&["198.51.100.1"]), &trusted), "198.51.100.1".parse::<IpAddr>().unwrap());
        // A client's own forged entry is left of the proxy's and not believed.
        let forged = headers(&["1.1.1.1, 198.51.100.1"]);
        assert_eq!(client(peer, &forged, &trusted), "198.51.100.1".parse::<IpAddr>().unwrap());
        // Through two proxies, over two header lines.
        let chained = headers(&["198.51.100.7", "10.9.9.9"]);
        assert_eq!(client(peer, &chained, &trusted), "198.51.100.7".parse::<IpAddr>().unwrap());
        // Garbage stops the walk at the last trusted hop; no header, the peer.
        assert_eq!(client(peer, &headers(&["nonsense, 10.4.4.4"]), &trusted), "10.4.4.4".parse::<IpAddr>().unwrap());
        assert_eq!(client(peer, &HeaderMap::new(), &trusted), peer);
        // Nothing trusted by default.
        assert_eq!(client(peer, &headers(&["198.51.100.1"]), &[]), peer);
    }
}
