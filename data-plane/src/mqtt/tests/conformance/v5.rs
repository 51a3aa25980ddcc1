//! MQTT 5.0 (OASIS Standard, 7 March 2019): the server-side normative
//! statements a client can observe, one test per group of them.

use super::super::v5::{delivery, login5, puback, qos, subscribe5, v5, with_expiry};
use super::*;

mod connect;
mod publish;
mod subscribe;

/// Alice at 5.0 with a session that outlives its connection by a minute.
fn lasting(client_id: &str) -> Connect {
    with_expiry(v5(client_id, "alice"), 60)
}

fn with_will(connect: Connect, will: LastWill) -> Connect {
    Connect { will: Some(will), ..connect }
}

fn qos_pid(qos: QosPid, topic: &str, payload: &'static [u8]) -> Publish {
    Publish { qos, topic: Arc::from(topic), payload: Bytes::from_static(payload), ..Publish::default() }
}

/// A 5.0 CONNECT of `flags` with the properties and payload as written.
fn raw_connect5(flags: u8, properties: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut body = field(b"MQTT");
    body.extend([5, flags, 0, 30, u8::try_from(properties.len()).unwrap()]);
    body.extend_from_slice(properties);
    body.extend_from_slice(payload);
    packet(0x10, &body)
}

async fn ack_of(client: &mut Client) -> (&'static str, PubAck) {
    match client.recv().await {
        Packet::PubAck(ack) => ("PUBACK", ack),
        Packet::PubRec(ack) => ("PUBREC", ack),
        Packet::PubRel(ack) => ("PUBREL", ack),
        Packet::PubComp(ack) => ("PUBCOMP", ack),
        other => panic!("expected an acknowledgement, got {other:?}"),
    }
}

/// Publishes QoS 2 and completes the handshake.
async fn publish_qos2(publisher: &mut Client, publish: Publish) {
    let id = publish.qos.packet_id().unwrap();
    publisher.send(Packet::Publish(publish)).await;
    assert!(matches!(publisher.recv().await, Packet::PubRec(rec) if rec.packet_id == id));
    publisher.send(Packet::PubRel(PubAck::new(id))).await;
    assert!(matches!(publisher.recv().await, Packet::PubComp(comp) if comp.packet_id == id));
}

async fn unsubscribe5(client: &mut Client, id: u16, filters: &[&str]) -> UnsubAck {
    let filters = filters.iter().map(|f| (*f).to_owned()).collect();
    client.send(Packet::Unsubscribe(Unsubscribe::new(pid(id), filters))).await;
    match client.recv().await {
        Packet::UnsubAck(unsuback) => unsuback,
        other => panic!("expected UNSUBACK, got {other:?}"),
    }
}

/// A variable byte integer at the front of `bytes`: its value and length,
/// checking it uses the fewest bytes.
fn var_int(bytes: &[u8], what: &str) -> (u32, usize) {
    let mut value = 0u32;
    for (i, byte) in bytes.iter().take(4).enumerate() {
        value |= u32::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            assert!(i == 0 || *byte != 0, "MQTT-1.5.5-1: {what} is not in the fewest bytes: {:?}", &bytes[..=i]);
            return (value, i + 1);
        }
    }
    panic!("{what}: not a variable byte integer: {bytes:?}")
}

/// One packet read off a raw stream: its first byte and body.
async fn read_raw_packet(stream: &mut TcpStream) -> (u8, Vec<u8>) {
    let read = async {
        let first = stream.read_u8().await.unwrap();
        let mut length = Vec::new();
        loop {
            let byte = stream.read_u8().await.unwrap();
            length.push(byte);
            if byte & 0x80 == 0 {
                break;
            }
        }
        let (len, _) = var_int(&length, "the remaining length");
        let mut body = vec![0; len as usize];
        stream.read_exact(&mut body).await.unwrap();
        (first, body)
    };
    tokio::time::timeout(WAIT, read).await.expect("a packet")
}
