//! Conformance of the MQTT front end to the normative statements of MQTT
//! 3.1.1 (OASIS Standard, 29 October 2014) and MQTT 5.0 (OASIS Standard,
//! 7 March 2019), over loopback with this crate's codec as the client.
//!
//! Each test names in its doc comment the statements it proves, by the
//! spec's own ids (`[MQTT-x.y.z-n]`), and each assertion message names the
//! one it checks; `v311` holds the 3.1.1 statements, `v5` the 5.0 ones.
//! `docs/mqtt-conformance.md` lists every statement of both versions with
//! the test that proves it or why none does. A statement counts as tested
//! only where the test fails if the broker breaks it.
//!
//! What the codec cannot say (reserved bits, bad UTF-8, missing fields) is
//! written as raw bytes; the helpers here build and read those.

mod v311;
mod v5;

use bytes::BytesMut;
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_tungstenite::tungstenite;

use super::*;

/// The bytes `packet` goes on the wire as, in the form of `version`. The
/// encoder writes what it is given, so a test can encode a packet that
/// breaks a rule the decoder enforces (a wildcard in a topic name, DUP on
/// QoS 0) and send it.
fn encoded(packet: &Packet, version: ProtocolVersion) -> Vec<u8> {
    let mut buf = BytesMut::new();
    encode::encode(packet, version, &mut buf).unwrap();
    buf.to_vec()
}

/// A length-prefixed field (string or binary data).
fn field(bytes: &[u8]) -> Vec<u8> {
    let mut out = u16::try_from(bytes.len()).unwrap().to_be_bytes().to_vec();
    out.extend_from_slice(bytes);
    out
}

/// A packet of `first` (type and flags) around `body`, with a remaining
/// length of one byte (so below 128).
fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    assert!(body.len() < 128, "a one-byte remaining length");
    let mut out = vec![first, u8::try_from(body.len()).unwrap()];
    out.extend_from_slice(body);
    out
}

/// A CONNECT of `level` (4: 3.1.1, 5: 5.0, with empty properties) named
/// "MQTT" with `flags`, keep-alive 30 and `payload` as written.
fn raw_connect(level: u8, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut body = field(b"MQTT");
    body.extend([level, flags, 0, 30]);
    if level == 5 {
        body.push(0);
    }
    body.extend_from_slice(payload);
    packet(0x10, &body)
}

/// Alice's credentials as a CONNECT payload after `client_id`, for
/// [`raw_connect`] with flags 0xC0 set.
fn alice_payload(client_id: &[u8]) -> Vec<u8> {
    [field(client_id), field(b"alice"), field(b"pw")].concat()
}

/// Everything the broker sends on a fresh connection that opens with
/// `bytes`, up to the close it must end with (a reset after the close
/// counts as the close).
async fn answer_to(fixture: &Fixture, bytes: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(fixture.addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    read_to_close(&mut stream).await
}

async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut answer = Vec::new();
    let read = async {
        let mut chunk = [0u8; 1024];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => answer.extend_from_slice(&chunk[..n]),
            }
        }
    };
    tokio::time::timeout(WAIT, read).await.expect("the broker must close the connection");
    answer
}

/// Writes `bytes` on a client's connection as they are.
async fn send_raw(client: &mut Client, bytes: &[u8]) {
    client.0.get_mut().write_all(bytes).await.unwrap();
}

/// The broker closes the client's connection, sending nothing first
/// (3.1.1 has no DISCONNECT from the server); `what` names the statement.
async fn expect_closed_for(client: &mut Client, what: &str) {
    match tokio::time::timeout(WAIT, client.0.next()).await {
        Ok(None | Some(Err(_))) => {}
        other => panic!("{what}: expected the connection to close, got {other:?}"),
    }
}

/// The next packet, which must be the broker's DISCONNECT (5.0), then the close.
async fn expect_disconnect(client: &mut Client) -> Disconnect {
    match client.recv().await {
        Packet::Disconnect(disconnect) => {
            client.expect_closed().await;
            disconnect
        }
        other => panic!("expected DISCONNECT, got {other:?}"),
    }
}

fn will(topic: &str, payload: &'static [u8], qos: QoS, retain: bool) -> LastWill {
    LastWill { topic: Arc::from(topic), payload: Bytes::from_static(payload), qos, retain, ..LastWill::default() }
}

fn publish_retained(topic: &str, payload: &'static [u8], qos: QosPid) -> Packet {
    match publish(topic, payload, qos) {
        Packet::Publish(publish) => Packet::Publish(Publish { retain: true, ..publish }),
        _ => unreachable!(),
    }
}

/// Receives `n` PUBLISH packets, acknowledging each as the client must
/// (also when several QoS 2 handshakes overlap), and finishes the QoS 2
/// handshakes they started.
async fn receive(client: &mut Client, n: usize) -> Vec<Publish> {
    let mut got = Vec::new();
    let mut releasing = std::collections::HashSet::new();
    while got.len() < n || !releasing.is_empty() {
        match client.recv().await {
            Packet::Publish(publish) => {
                match publish.qos {
                    QosPid::AtMostOnce => {}
                    QosPid::AtLeastOnce(id) => client.send(Packet::PubAck(PubAck::new(id))).await,
                    QosPid::ExactlyOnce(id) => {
                        releasing.insert(id);
                        client.send(Packet::PubRec(PubAck::new(id))).await;
                    }
                }
                got.push(publish);
            }
            Packet::PubRel(rel) => {
                assert!(releasing.remove(&rel.packet_id), "PUBREL for a packet id not received: {rel:?}");
                client.send(Packet::PubComp(PubAck::new(rel.packet_id))).await;
            }
            other => panic!("expected PUBLISH or PUBREL, got {other:?}"),
        }
    }
    got
}

fn payloads(publishes: &[Publish]) -> Vec<&[u8]> {
    publishes.iter().map(|p| &p.payload[..]).collect()
}

/// A credential of namespace `a` that may publish and subscribe to `#`
/// and to `$x/#`, a topic tree starting with `$` (MQTT 3.1.1 §4.7.2).
async fn add_dollar_user(fixture: &Fixture) {
    let mut erin = credential("a", "c-erin", "erin", "#");
    erin.acl.rules.push(AclRule { topic_filter: "$x/#".into(), actions: vec![Action::Publish, Action::Subscribe] });
    fixture.tenancy.apply_credential(erin).await.unwrap();
}

/// A WebSocket connection to the fixture offering `subprotocols`, and the
/// subprotocol the broker chose.
async fn websocket(
    fixture: &Fixture,
    subprotocols: &str,
) -> (tokio_tungstenite::WebSocketStream<TcpStream>, Option<String>) {
    use tungstenite::client::IntoClientRequest as _;
    let stream = TcpStream::connect(fixture.ws_addr).await.unwrap();
    let mut request = format!("ws://{}/mqtt", fixture.ws_addr).into_client_request().unwrap();
    request.headers_mut().insert("Sec-WebSocket-Protocol", subprotocols.parse().unwrap());
    let (ws, response) = tokio_tungstenite::client_async(request, stream).await.unwrap();
    let chosen = response.headers().get("Sec-WebSocket-Protocol").map(|v| v.to_str().unwrap().to_owned());
    (ws, chosen)
}

/// The next binary message of a WebSocket, as bytes.
async fn ws_binary(ws: &mut tokio_tungstenite::WebSocketStream<TcpStream>) -> Vec<u8> {
    loop {
        match tokio::time::timeout(WAIT, ws.next()).await {
            Ok(Some(Ok(tungstenite::Message::Binary(data)))) => return data.to_vec(),
            Ok(Some(Ok(tungstenite::Message::Ping(_) | tungstenite::Message::Pong(_)))) => {}
            other => panic!("expected a binary message, got {other:?}"),
        }
    }
}

/// Whether a WebSocket ends (a close frame, the end of the stream or an
/// error) before any further binary message.
async fn ws_closes(ws: &mut tokio_tungstenite::WebSocketStream<TcpStream>) -> bool {
    loop {
        match tokio::time::timeout(WAIT, ws.next()).await {
            Ok(None | Some(Err(_)) | Some(Ok(tungstenite::Message::Close(_)))) => return true,
            Ok(Some(Ok(tungstenite::Message::Ping(_) | tungstenite::Message::Pong(_)))) => {}
            Ok(Some(Ok(_))) | Err(_) => return false,
        }
    }
}
