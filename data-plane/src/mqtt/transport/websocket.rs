//! MQTT over WebSocket: the HTTP upgrade and the framing (MQTT 3.1.1 §6,
//! MQTT 5.0 §6).
//!
//! [`accept`] reads the upgrade request, accepts it only on path [`PATH`]
//! (404 elsewhere) and only with the `mqtt` subprotocol (or `mqttv3.1`, which
//! MQTT 3.1 clients offer), answering with `mqtt` whenever the client
//! offered it (MQTT 3.1.1 and 5.0 [MQTT-6.0.0-4]), else `mqttv3.1`, as the
//! client spelled it. [`WsBytes`] then turns the WebSocket back into the
//! byte stream the connection reads: binary frames carry MQTT bytes with no
//! alignment to packets (one packet may span frames, one frame may hold
//! several packets), a text frame closes the connection with 1003, pings are
//! answered. Each write is sent as one binary frame. Knows nothing of MQTT
//! packets.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::server::{create_response, write_response};
use tokio_tungstenite::tungstenite::http::{self, HeaderValue, StatusCode, header};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message, error::ProtocolError};

/// The one path MQTT is served on.
pub const PATH: &str = "/mqtt";
/// The subprotocols accepted: MQTT 3.1.1 and 5.0 name `mqtt`, MQTT 3.1 `mqttv3.1`.
const SUBPROTOCOLS: [&str; 2] = ["mqtt", "mqttv3.1"];
/// Largest upgrade request head (request line and headers) read.
const MAX_REQUEST_HEAD: usize = 8 * 1024;
/// Most headers an upgrade request may carry.
const MAX_HEADERS: usize = 64;
/// The WebSocket read buffer, allocated per connection.
const READ_BUFFER: usize = 8 * 1024;

/// Why a WebSocket upgrade did not happen.
#[derive(Debug, thiserror::Error)]
pub enum UpgradeError {
    #[error("closed before the WebSocket upgrade")]
    Closed,
    #[error("WebSocket upgrade refused with {status}: {reason}")]
    Refused { status: StatusCode, reason: String },
    #[error("WebSocket upgrade failed: {0}")]
    Io(#[from] io::Error),
}

impl UpgradeError {
    /// The client went away before finishing the upgrade.
    pub fn is_hang_up(&self) -> bool {
        match self {
            UpgradeError::Closed => true,
            UpgradeError::Refused { .. } => false,
            UpgradeError::Io(error) => {
                matches!(error.kind(), io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset)
            }
        }
    }
}

/// An upgrade request the broker does not accept: the status and the reason,
/// which is also the body of the answer.
#[derive(Debug, PartialEq, Eq)]
struct Refusal {
    status: StatusCode,
    reason: String,
}

impl Refusal {
    fn new(status: StatusCode, reason: impl Into<String>) -> Refusal {
        Refusal { status, reason: reason.into() }
    }
}

/// Performs the server side of the upgrade on `stream` and returns the byte
/// stream of the WebSocket. A refused request is answered (404, 400, 426 or
/// 431, with the reason as a text body) before the error returns. Frames and
/// messages larger than `max_message` bytes close the connection.
pub async fn accept<S>(mut stream: S, max_message: usize) -> Result<WsBytes<S>, UpgradeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (answer, rest) = match read_request(&mut stream).await? {
        Ok((request, rest)) => (answer(&request), rest),
        Err(refusal) => (Err(refusal), Vec::new()),
    };
    match answer {
        Ok(response) => {
            let mut head = Vec::new();
            write_response(&mut head, &response).map_err(io::Error::other)?;
            stream.write_all(&head).await?;
            stream.flush().await?;
            let config = WebSocketConfig::default()
                .read_buffer_size(READ_BUFFER)
                .write_buffer_size(0)
                .max_message_size(Some(max_message))
                .max_frame_size(Some(max_message));
            // Bytes the client sent right after its request (it need not wait
            // for the 101) are the start of the WebSocket stream.
            let ws = WebSocketStream::from_partially_read(stream, rest, Role::Server, Some(config)).await;
            Ok(WsBytes { ws, pending: Bytes::new() })
        }
        Err(Refusal { status, reason }) => {
            let mut response = http::Response::new(());
            *response.status_mut() = status;
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(reason.len() + 1));
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            if status == StatusCode::UPGRADE_REQUIRED {
                headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
            }
            let mut bytes = Vec::new();
            write_response(&mut bytes, &response).map_err(io::Error::other)?;
            bytes.extend_from_slice(reason.as_bytes());
            bytes.push(b'\n');
            stream.write_all(&bytes).await?;
            stream.shutdown().await?;
            Err(UpgradeError::Refused { status, reason })
        }
    }
}

/// Reads the request head; returns it with the bytes read past it, or the
/// refusal of a request that is not HTTP or too large.
async fn read_request<S>(stream: &mut S) -> Result<Result<(http::Request<()>, Vec<u8>), Refusal>, UpgradeError>
where
    S: AsyncRead + Unpin,
{
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0; 1024];
    loop {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Err(UpgradeError::Closed);
        }
        buf.extend_from_slice(&chunk[..read]);
        match parse_request(&buf) {
            Ok(Some((request, len))) => return Ok(Ok((request, buf.split_off(len)))),
            Ok(None) if buf.len() < MAX_REQUEST_HEAD => {}
            Ok(None) => return Ok(Err(Refusal::new(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "request too large"))),
            Err(refusal) => return Ok(Err(refusal)),
        }
    }
}

/// The request in `buf` and its length, `None` if it is not complete yet.
fn parse_request(buf: &[u8]) -> Result<Option<(http::Request<()>, usize)>, Refusal> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    let len = match parsed.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(Refusal::new(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "too many headers"));
        }
        Err(error) => return Err(Refusal::new(StatusCode::BAD_REQUEST, format!("not an HTTP request: {error}"))),
    };
    let version = if parsed.version == Some(0) { http::Version::HTTP_10 } else { http::Version::HTTP_11 };
    let mut request = http::Request::builder()
        .method(parsed.method.unwrap_or_default())
        .uri(parsed.path.unwrap_or_default())
        .version(version);
    for h in parsed.headers.iter() {
        request = request.header(h.name, h.value);
    }
    let request = request.body(()).map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    Ok(Some((request, len)))
}

/// The 101 answer to an upgrade request the broker accepts, or why not.
fn answer(request: &http::Request<()>) -> Result<http::Response<()>, Refusal> {
    let path = request.uri().path();
    if path != PATH {
        return Err(Refusal::new(StatusCode::NOT_FOUND, format!("no WebSocket endpoint at {path}: MQTT is at {PATH}")));
    }
    let mut response = create_response(request).map_err(|error| match error {
        tungstenite::Error::Protocol(
            ProtocolError::MissingConnectionUpgradeHeader | ProtocolError::MissingUpgradeWebSocketHeader,
        ) => Refusal::new(StatusCode::UPGRADE_REQUIRED, format!("MQTT at {PATH} needs a WebSocket upgrade")),
        error => Refusal::new(StatusCode::BAD_REQUEST, format!("not a WebSocket upgrade: {error}")),
    })?;
    // Tokens compare without case; the answer names the one offered, as
    // offered: `mqtt` whenever it is ([MQTT-6.0.0-4]), else `mqttv3.1`.
    let offered: Vec<&str> = request
        .headers()
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    let chosen = SUBPROTOCOLS.iter().find_map(|p| offered.iter().find(|o| p.eq_ignore_ascii_case(o)).copied());
    let Some(chosen) = chosen.and_then(|p| HeaderValue::from_str(p).ok()) else {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "the WebSocket subprotocol mqtt is required (Sec-WebSocket-Protocol: mqtt)",
        ));
    };
    response.headers_mut().insert(header::SEC_WEBSOCKET_PROTOCOL, chosen);
    Ok(response)
}

/// The byte stream inside a WebSocket: reads the payloads of binary
/// messages back to back, writes each buffer as one binary message.
pub struct WsBytes<S> {
    ws: WebSocketStream<S>,
    /// What the reader has not taken yet of the last binary message.
    pending: Bytes,
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for WsBytes<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if !this.pending.is_empty() {
                let n = this.pending.len().min(buf.remaining());
                buf.put_slice(&this.pending.split_to(n));
                return Poll::Ready(Ok(()));
            }
            // Reading also sends the answers tungstenite queued: pongs, and
            // the close reply.
            match ready!(this.ws.poll_next_unpin(cx)) {
                None => return Poll::Ready(Ok(())),
                Some(Ok(Message::Binary(data))) => this.pending = data,
                Some(Ok(Message::Text(_))) => {
                    let close = CloseFrame { code: CloseCode::Unsupported, reason: "MQTT needs binary frames".into() };
                    // Best effort: the connection closes whether or not the close frame leaves.
                    if this.ws.start_send_unpin(Message::Close(Some(close))).is_ok() {
                        let _ = this.ws.poll_flush_unpin(cx);
                    }
                    return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, "a WebSocket text frame")));
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Close(_) | Message::Frame(_))) => {}
                Some(Err(error)) => return Poll::Ready(Err(io_error(error))),
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for WsBytes<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        ready!(this.ws.poll_ready_unpin(cx)).map_err(io_error)?;
        this.ws.start_send_unpin(Message::Binary(Bytes::copy_from_slice(buf))).map_err(io_error)?;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().ws.poll_flush_unpin(cx).map_err(io_error)
    }

    /// Sends a close frame.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().ws.poll_close_unpin(cx).map_err(io_error)
    }
}

fn io_error(error: tungstenite::Error) -> io::Error {
    match error {
        tungstenite::Error::Io(error) => error,
        tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => {
            io::Error::new(io::ErrorKind::BrokenPipe, "the WebSocket is closed")
        }
        error => io::Error::new(io::ErrorKind::InvalidData, error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use tokio::io::DuplexStream;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

    const MAX: usize = 64 * 1024;

    /// A WebSocket client offering `subprotocol`, and the server's byte stream.
    async fn pair(subprotocol: &str) -> (WebSocketStream<DuplexStream>, WsBytes<DuplexStream>) {
        let (client, server) = tokio::io::duplex(256 * 1024);
        let server = tokio::spawn(accept(server, MAX));
        let mut request = "ws://localhost/mqtt".into_client_request().unwrap();
        request.headers_mut().insert(header::SEC_WEBSOCKET_PROTOCOL, subprotocol.parse().unwrap());
        let (client, response) = tokio_tungstenite::client_async(request, client).await.unwrap();
        let chosen = response.headers().get(header::SEC_WEBSOCKET_PROTOCOL).unwrap().to_str().unwrap();
        let offered: Vec<&str> = subprotocol.split(',').map(str::trim).collect();
        let expected = offered.iter().find(|o| o.eq_ignore_ascii_case("mqtt")).unwrap_or(&offered[0]);
        assert_eq!(chosen, *expected);
        (client, server.await.unwrap().unwrap())
    }

    fn binary(bytes: &[u8]) -> Message {
        Message::Binary(Bytes::copy_from_slice(bytes))
    }

    // CONNECT (3.1.1, client id "c", clean session, keep-alive 30), then
    // PUBLISH a/b "hi" at QoS 0, then PINGREQ.
    const CONNECT: &[u8] = &[0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 4, 2, 0, 30, 0, 1, b'c'];
    const PUBLISH: &[u8] = &[0x30, 7, 0, 3, b'a', b'/', b'b', b'h', b'i'];
    const PINGREQ: &[u8] = &[0xc0, 0];

    #[tokio::test]
    async fn packets_may_span_frames_and_frames_may_hold_several() {
        let (mut client, mut server) = pair("mqtt").await;
        // CONNECT across three frames, the last also holding PUBLISH and half of PINGREQ.
        client.send(binary(&CONNECT[..1])).await.unwrap();
        client.send(binary(&CONNECT[1..9])).await.unwrap();
        client.send(binary(&[&CONNECT[9..], PUBLISH, &PINGREQ[..1]].concat())).await.unwrap();
        client.send(binary(&PINGREQ[1..])).await.unwrap();
        let expected = [CONNECT, PUBLISH, PINGREQ].concat();
        let mut read = vec![0; expected.len()];
        server.read_exact(&mut read).await.unwrap();
        assert_eq!(read, expected);

        // Each write leaves as one binary frame; the client sees the bytes in order.
        server.write_all(&[0x20, 2, 0, 0]).await.unwrap();
        server.write_all(&[0xd0, 0]).await.unwrap();
        server.flush().await.unwrap();
        assert_eq!(client.next().await.unwrap().unwrap(), binary(&[0x20, 2, 0, 0]));
        assert_eq!(client.next().await.unwrap().unwrap(), binary(&[0xd0, 0]));

        // A close from the client ends the stream.
        client.close(None).await.unwrap();
        let mut rest = Vec::new();
        assert_eq!(server.read_to_end(&mut rest).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_ping_is_answered_while_reading() {
        let (mut client, mut server) = pair("mqtt").await;
        let reader = tokio::spawn(async move {
            let mut read = vec![0; PINGREQ.len()];
            server.read_exact(&mut read).await.unwrap();
            read
        });
        client.send(Message::Ping(Bytes::from_static(b"p"))).await.unwrap();
        assert_eq!(client.next().await.unwrap().unwrap(), Message::Pong(Bytes::from_static(b"p")));
        client.send(binary(PINGREQ)).await.unwrap();
        assert_eq!(reader.await.unwrap(), PINGREQ);
    }

    #[tokio::test]
    async fn a_text_frame_closes_the_connection_with_1003() {
        let (mut client, mut server) = pair("mqtt").await;
        client.send(binary(&CONNECT[..4])).await.unwrap();
        client.send(Message::text("{\"not\": \"mqtt\"}")).await.unwrap();
        let mut buf = [0; 64];
        assert_eq!(server.read(&mut buf).await.unwrap(), 4);
        let error = server.read(&mut buf).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        match client.next().await.unwrap().unwrap() {
            Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::Unsupported),
            other => panic!("expected a close frame, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn clients_get_mqtt_whenever_they_offer_it() {
        let (_client, _server) = pair("mqttv3.1").await;
        let (_client, _server) = pair("mqtt, mqttv3.1").await;
        let (_client, _server) = pair("mqttv3.1, mqtt").await;
        let (_client, _server) = pair("MQTT").await;
    }

    #[tokio::test]
    async fn bytes_sent_before_the_101_are_kept() {
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let server = tokio::spawn(accept(server, MAX));
        let request = "GET /mqtt HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
            Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
            Sec-WebSocket-Protocol: mqtt\r\n\r\n";
        // A masked binary frame holding PINGREQ, written with the request.
        let mask = [1, 2, 3, 4];
        let masked: Vec<u8> = PINGREQ.iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m).collect();
        let frame = [&[0x82, 0x80 | PINGREQ.len() as u8][..], &mask, &masked].concat();
        client.write_all(&[request.as_bytes(), &frame].concat()).await.unwrap();
        let mut server = server.await.unwrap().unwrap();
        let mut read = vec![0; PINGREQ.len()];
        server.read_exact(&mut read).await.unwrap();
        assert_eq!(read, PINGREQ);
        let mut head = vec![0; 12];
        client.read_exact(&mut head).await.unwrap();
        assert_eq!(head, b"HTTP/1.1 101");
    }

    /// Sends `request` raw and returns the answer, and what `accept` said.
    async fn refused(request: &str) -> (String, UpgradeError) {
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let server = tokio::spawn(accept(server, MAX));
        client.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        client.read_to_string(&mut answer).await.unwrap();
        (answer, server.await.unwrap().err().unwrap())
    }

    const UPGRADE: &str = "Host: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";

    #[tokio::test]
    async fn other_paths_are_not_found() {
        for request in [
            format!("GET / HTTP/1.1\r\n{UPGRADE}Sec-WebSocket-Protocol: mqtt\r\n\r\n"),
            format!("GET /mqtt/x HTTP/1.1\r\n{UPGRADE}Sec-WebSocket-Protocol: mqtt\r\n\r\n"),
            "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n".to_string(),
        ] {
            let (answer, error) = refused(&request).await;
            assert!(answer.starts_with("HTTP/1.1 404 Not Found\r\n"), "{answer}");
            assert!(answer.ends_with("MQTT is at /mqtt\n"), "{answer}");
            assert!(matches!(error, UpgradeError::Refused { status: StatusCode::NOT_FOUND, .. }), "{error}");
        }
    }

    #[tokio::test]
    async fn the_mqtt_subprotocol_is_required() {
        for protocols in ["", "Sec-WebSocket-Protocol: chat, superchat\r\n", "Sec-WebSocket-Protocol: mqtt5\r\n"] {
            let (answer, _) = refused(&format!("GET /mqtt HTTP/1.1\r\n{UPGRADE}{protocols}\r\n")).await;
            assert!(answer.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{answer}");
            assert!(answer.contains("subprotocol mqtt is required"), "{answer}");
        }
    }

    #[tokio::test]
    async fn plain_http_and_garbage_are_refused() {
        let (answer, _) = refused("GET /mqtt HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(answer.starts_with("HTTP/1.1 426 Upgrade Required\r\n"), "{answer}");
        assert!(answer.contains("upgrade: websocket\r\n"), "{answer}");
        let (answer, _) = refused("\x10\x0d\x00\x04MQTT\x04\x02\x00\x1e\x00\x01c").await;
        assert!(answer.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{answer}");
        let (answer, _) = refused(&format!("GET /mqtt HTTP/1.1\r\nX: {}\r\n", "y".repeat(MAX_REQUEST_HEAD))).await;
        assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    }
}
