//! MQTT 5.0 (OASIS Standard, 7 March 2019): the server-side normative
//! statements a client can observe, one test per group of them.

use super::super::v5::{delivery, login5, puback, qos, subscribe5, v5, with_expiry};
use super::*;

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

/// [MQTT-1.5.4-1] [MQTT-1.5.4-2] [MQTT-1.5.7-1] [MQTT-3.3.2-1]
/// [MQTT-4.7.3-2] [MQTT-4.13.1-1]: ill-formed UTF-8 (an encoded surrogate too) or U+0000 in
/// a string, a topic or a user property, is a Malformed Packet: DISCONNECT
/// 0x81 and the close.
#[tokio::test]
async fn ill_formed_utf8_or_a_nul_character_is_a_malformed_packet() {
    let fixture = Fixture::start().await;
    let user_property = |key: &[u8], value: &[u8]| [vec![0x26], field(key), field(value)].concat();
    let publish_with = |topic: &[u8], properties: Vec<u8>| {
        packet(0x30, &[field(topic), vec![u8::try_from(properties.len()).unwrap()], properties, b"x".to_vec()].concat())
    };
    let cases = [
        ("MQTT-1.5.4-1: a topic", publish_with(&[0xC3, 0x28], Vec::new())),
        ("MQTT-1.5.4-1: a surrogate", publish_with(&[0xED, 0xA0, 0x80], Vec::new())),
        ("MQTT-1.5.4-2: a topic", publish_with(b"a\0b", Vec::new())),
        ("MQTT-1.5.7-1: a user property value", publish_with(b"t", user_property(b"k", &[0xC3, 0x28]))),
        ("MQTT-1.5.7-1: a user property name", publish_with(b"t", user_property(b"k\0", b"v"))),
        ("MQTT-1.5.4-1: a filter", packet(0x82, &[vec![0, 1, 0], field(&[0xFF]), vec![0]].concat())),
    ];
    for (n, (what, bytes)) in cases.into_iter().enumerate() {
        let mut client = login5(&fixture, &format!("c{n}")).await;
        send_raw(&mut client, &bytes).await;
        assert_eq!(expect_disconnect(&mut client).await.reason_code, ReasonCode::MalformedPacket, "{what}");
    }
    fixture.stop().await;
}

/// [MQTT-1.5.4-3] [MQTT-4.7.3-4]: a BOM is kept, and topics match byte for
/// byte without normalisation.
#[tokio::test]
async fn topics_match_byte_for_byte_and_a_bom_is_kept() {
    let fixture = Fixture::start().await;
    let mut sub = login5(&fixture, "sub").await;
    subscribe5(&mut sub, "n/\u{e9}", qos(QoS::AtMostOnce), None).await;
    subscribe5(&mut sub, "\u{feff}bom", qos(QoS::AtMostOnce), None).await;
    let mut publisher = login5(&fixture, "pub").await;
    for topic in ["n/e\u{301}", "N/\u{e9}", "n/\u{e9}/", "bom", "n/\u{e9}", "\u{feff}bom"] {
        publisher.send(publish(topic, b"m", QosPid::AtMostOnce)).await;
    }
    assert_eq!(delivery(&mut sub).await.topic.as_ref(), "n/\u{e9}", "MQTT-4.7.3-4: no normalisation");
    assert_eq!(delivery(&mut sub).await.topic.as_ref(), "\u{feff}bom", "MQTT-1.5.4-3: the BOM is kept");
    sub.expect_nothing().await;
    fixture.stop().await;
}

/// [MQTT-1.5.5-1] [MQTT-2.2.2-1]: the broker writes variable byte integers
/// (remaining lengths, property lengths, a subscription identifier) in the
/// fewest bytes, and an empty property section as length 0.
#[tokio::test]
async fn variable_byte_integers_are_minimal_and_no_properties_is_length_0() {
    let fixture = Fixture::start().await;
    let client = login5(&fixture, "raw").await;
    let parts = client.0.into_parts();
    assert!(parts.read_buf.is_empty());
    let mut stream = parts.io;
    let subscription_id = [0x0B, 0xAC, 0x02]; // 300
    let body = [vec![0, 1, 3], subscription_id.to_vec(), field(b"vbi"), vec![0]].concat();
    stream.write_all(&packet(0x82, &body)).await.unwrap();
    assert_eq!(read_raw_packet(&mut stream).await, (0x90, vec![0, 1, 0, 0]), "MQTT-2.2.2-1: SUBACK, properties 0");
    let mut publisher = login5(&fixture, "pub").await;
    publisher.send(publish("vbi", &[7; 200], QosPid::AtMostOnce)).await;
    let (first, body) = read_raw_packet(&mut stream).await;
    assert_eq!(first, 0x30);
    assert_eq!(&body[..5], &field(b"vbi")[..]);
    let (properties_len, n) = var_int(&body[5..], "the property length");
    let properties = &body[5 + n..5 + n + properties_len as usize];
    assert_eq!(properties[0], 0x0B, "a subscription identifier");
    assert_eq!(var_int(&properties[1..], "the subscription identifier"), (300, 2));
    assert_eq!(body.len(), 5 + n + properties_len as usize + 200);
    fixture.stop().await;
}

/// [MQTT-2.1.3-1] [MQTT-3.6.1-1] [MQTT-3.8.1-1] [MQTT-3.10.1-1]
/// [MQTT-3.14.1-1] [MQTT-3.15.1-1] [MQTT-3.3.1-4] [MQTT-4.13.1-1]
/// [MQTT-4.13.2-1]: reserved header flags other than the spec's, or QoS 3,
/// are a Malformed Packet: DISCONNECT 0x81, the close, and the will.
#[tokio::test]
async fn reserved_header_flags_and_qos_3_are_malformed_packets() {
    let fixture = Fixture::start().await;
    let mut watcher = login5(&fixture, "watcher").await;
    subscribe5(&mut watcher, "w/#", qos(QoS::AtMostOnce), None).await;
    let cases: [(&str, Vec<u8>); 7] = [
        ("MQTT-3.6.1-1", vec![0x60, 2, 0, 1]),
        ("MQTT-3.8.1-1", packet(0x80, &[vec![0, 1, 0], field(b"t"), vec![0]].concat())),
        ("MQTT-3.10.1-1", packet(0xA0, &[vec![0, 1, 0], field(b"t")].concat())),
        ("MQTT-2.1.3-1", vec![0xC1, 0]),
        ("MQTT-3.3.1-4", packet(0x36, &[field(b"t"), vec![0, 1, 0], b"x".to_vec()].concat())),
        ("MQTT-3.14.1-1", vec![0xE1, 0]),
        ("MQTT-3.15.1-1", vec![0xF1, 0]),
    ];
    for (n, (id, bytes)) in cases.into_iter().enumerate() {
        let topic = format!("w/{n}");
        let connect = with_will(v5(&format!("c{n}"), "alice"), will(&topic, b"gone", QoS::AtMostOnce, false));
        let (mut client, _) = fixture.connect(connect).await;
        send_raw(&mut client, &bytes).await;
        assert_eq!(expect_disconnect(&mut client).await.reason_code, ReasonCode::MalformedPacket, "{id}");
        assert_eq!(delivery(&mut watcher).await.topic.as_ref(), topic, "{id}: closed on an error, the will goes out");
    }
    fixture.stop().await;
}

/// [MQTT-2.2.1-2] [MQTT-2.2.1-4] [MQTT-2.2.1-5] [MQTT-2.2.1-6]: the
/// broker's acknowledgements carry the client's packet ids; its own QoS 1
/// and 2 publishes non-zero ids, distinct while in flight; QoS 0 none.
#[tokio::test]
async fn packet_identifiers_are_echoed_and_assigned() {
    let fixture = Fixture::start().await;
    let mut sub = login5(&fixture, "sub").await;
    let mut subscribe = Subscribe::new(pid(0x0102), vec![("ids".into(), qos(QoS::ExactlyOnce))]);
    subscribe.properties.subscription_identifier = None;
    sub.send(Packet::Subscribe(subscribe)).await;
    assert!(matches!(sub.recv().await, Packet::SubAck(a) if a.packet_id == pid(0x0102)), "MQTT-2.2.1-6: SUBACK");
    let mut publisher = login5(&fixture, "pub").await;
    publisher.send(publish("ids", b"zero", QosPid::AtMostOnce)).await;
    publisher.send(publish("ids", b"one", QosPid::AtLeastOnce(pid(0x1234)))).await;
    assert_eq!(puback(&mut publisher).await.packet_id, pid(0x1234), "MQTT-2.2.1-5: PUBACK");
    publisher.send(publish("ids", b"two", QosPid::ExactlyOnce(pid(0x4321)))).await;
    let (kind, rec) = ack_of(&mut publisher).await;
    assert_eq!((kind, rec.packet_id), ("PUBREC", pid(0x4321)), "MQTT-2.2.1-5: PUBREC");
    publisher.send(Packet::PubRel(PubAck::new(pid(0x4321)))).await;
    let (kind, comp) = ack_of(&mut publisher).await;
    assert_eq!((kind, comp.packet_id), ("PUBCOMP", pid(0x4321)), "MQTT-2.2.1-5: PUBCOMP");
    let zero = delivery(&mut sub).await;
    assert_eq!((zero.qos, &zero.payload[..]), (QosPid::AtMostOnce, &b"zero"[..]), "MQTT-2.2.1-2");
    let (one, two) = (delivery(&mut sub).await, delivery(&mut sub).await);
    let (one_id, two_id) = (one.qos.packet_id().unwrap(), two.qos.packet_id().unwrap());
    assert_ne!(one_id, two_id, "MQTT-2.2.1-4: an id in flight is not reused");
    sub.send(Packet::PubRec(PubAck::new(two_id))).await;
    let (kind, rel) = ack_of(&mut sub).await;
    assert_eq!((kind, rel.packet_id), ("PUBREL", two_id), "MQTT-2.2.1-5: PUBREL");
    let unsuback = unsubscribe5(&mut sub, 0x0A0B, &["ids"]).await;
    assert_eq!(unsuback.packet_id, pid(0x0A0B), "MQTT-2.2.1-6: UNSUBACK");
    fixture.stop().await;
}

/// [MQTT-3.1.0-1] [MQTT-3.1.0-2] [MQTT-3.2.0-2]: nothing before CONNECT is
/// answered; a second CONNECT is a Protocol Error (DISCONNECT 0x82, no
/// second CONNACK).
#[tokio::test]
async fn a_packet_before_connect_or_a_second_connect_closes_the_connection() {
    let fixture = Fixture::start().await;
    let early = encoded(&publish("t", b"x", QosPid::AtLeastOnce(pid(1))), ProtocolVersion::V5);
    assert!(answer_to(&fixture, &early).await.is_empty(), "MQTT-3.1.0-1");
    let mut client = login5(&fixture, "twice").await;
    client.send(Packet::Connect(v5("twice", "alice"))).await;
    let disconnect = expect_disconnect(&mut client).await;
    assert_eq!(disconnect.reason_code, ReasonCode::ProtocolError, "MQTT-3.1.0-2/3.2.0-2");
    fixture.stop().await;
}

/// [MQTT-3.1.2-1] [MQTT-3.1.2-2] [MQTT-3.1.2-3] [MQTT-3.1.4-1]
/// [MQTT-3.14.0-1]: a CONNECT not named "MQTT", of a version the broker
/// does not speak, with the reserved flag set or otherwise malformed
/// (duplicate or unknown property, Receive Maximum 0, will flags without a
/// will) is closed, at most after a refusing CONNACK, never with a
/// DISCONNECT.
#[tokio::test]
async fn a_connect_the_broker_cannot_accept_is_closed_without_disconnect() {
    let fixture = Fixture::start().await;
    let payload = alice_payload(b"c");
    let mut wrong_name = raw_connect5(0xC2, &[], &payload);
    wrong_name[7] = b'X';
    let mut level_6 = raw_connect5(0xC2, &[], &payload);
    level_6[8] = 6;
    let cases = [
        ("MQTT-3.1.2-1", wrong_name),
        ("MQTT-3.1.2-2", level_6),
        ("MQTT-3.1.2-3", raw_connect5(0xC3, &[], &payload)),
        ("MQTT-3.1.4-1: a property twice", raw_connect5(0xC2, &[0x11, 0, 0, 0, 1, 0x11, 0, 0, 0, 1], &payload)),
        ("MQTT-3.1.4-1: an unknown property", raw_connect5(0xC2, &[0x7F, 0], &payload)),
        ("MQTT-3.1.4-1: receive maximum 0", raw_connect5(0xC2, &[0x21, 0, 0], &payload)),
        ("MQTT-3.1.4-1: will QoS without a will", raw_connect5(0xCA, &[], &payload)),
    ];
    for (what, bytes) in cases {
        let answer = answer_to(&fixture, &bytes).await;
        match answer.first() {
            None => {}
            // A level it does not speak is refused in the 3.1.1 form (return code 1).
            Some(0x20) => assert!(answer == [0x20, 2, 0, 1] || answer[3] >= 0x80, "{what}: a refusal, got {answer:?}"),
            Some(_) => panic!("{what}: MQTT-3.14.0-1: nothing but a refusing CONNACK, got {answer:?}"),
        }
    }
    fixture.stop().await;
}

/// [MQTT-3.1.2-4] [MQTT-3.1.2-5] [MQTT-3.1.2-6] [MQTT-3.1.2-23]
/// [MQTT-3.2.2-2] [MQTT-3.2.2-3] [MQTT-3.1.3-2] [MQTT-3.1.4-4]
/// [MQTT-3.1.4-5] [MQTT-4.5.0-1]: Clean Start 0 resumes the client id's
/// session (session present 1) with its subscriptions and the messages
/// stored for them, or starts one (session present 0); Clean Start 1
/// discards it.
#[tokio::test]
async fn clean_start_decides_whether_the_session_is_resumed() {
    let fixture = Fixture::start().await;
    let (mut keeper, connack) = fixture.connect(Connect { clean_session: false, ..lasting("keeper") }).await;
    assert_eq!(connack.code, ConnectReturnCode::Accepted, "MQTT-3.1.4-5: 0x00 Success");
    assert!(!connack.session_present, "MQTT-3.1.2-6/3.2.2-3: a new session, session present 0");
    subscribe5(&mut keeper, "cs/#", qos(QoS::AtLeastOnce), None).await;
    drop(keeper);
    let (_other, connack) = fixture.connect(lasting("other")).await;
    assert!(!connack.session_present, "MQTT-3.1.3-2: another client id has no session");
    let mut publisher = login5(&fixture, "pub").await;
    publisher.send(publish("cs/x", b"stored", QosPid::AtLeastOnce(pid(1)))).await;
    assert_eq!(puback(&mut publisher).await.reason_code, ReasonCode::Success, "MQTT-4.5.0-1: it has a subscriber");
    let (mut keeper, connack) = fixture.connect(lasting("keeper")).await;
    assert!(connack.session_present, "MQTT-3.1.2-5/3.2.2-3/3.1.2-23: resumed, session present 1");
    assert_eq!(&receive(&mut keeper, 1).await[0].payload[..], b"stored", "MQTT-3.1.2-5");
    drop(keeper);
    let (mut clean, connack) = fixture.connect(Connect { clean_session: true, ..lasting("keeper") }).await;
    assert!(!connack.session_present, "MQTT-3.1.2-4/3.2.2-2: Clean Start 1 discards it, session present 0");
    publisher.send(publish("cs/x", b"gone", QosPid::AtLeastOnce(pid(2)))).await;
    assert_eq!(puback(&mut publisher).await.reason_code, ReasonCode::NoMatchingSubscribers, "MQTT-3.1.2-4");
    clean.expect_nothing().await;
    fixture.stop().await;
}

/// [MQTT-4.1.0-1] [MQTT-4.1.0-2]: a session is kept while its connection
/// is open, however short its expiry interval, and discarded once the
/// connection is closed and the interval has passed.
#[tokio::test]
async fn session_state_lives_while_connected_and_ends_with_its_expiry() {
    let fixture = Fixture::start().await;
    let (mut brief, _) = fixture.connect(with_expiry(v5("brief", "alice"), 1)).await;
    subscribe5(&mut brief, "se", qos(QoS::AtLeastOnce), None).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut publisher = login5(&fixture, "pub").await;
    publisher.send(publish("se", b"still", QosPid::AtLeastOnce(pid(1)))).await;
    assert_eq!(puback(&mut publisher).await.reason_code, ReasonCode::Success);
    assert_eq!(&receive(&mut brief, 1).await[0].payload[..], b"still", "MQTT-4.1.0-1: kept while connected");
    brief.send(Packet::Disconnect(Disconnect::default())).await;
    brief.expect_closed().await;
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let (_brief, connack) = fixture.connect(with_expiry(v5("brief", "alice"), 1)).await;
    assert!(!connack.session_present, "MQTT-4.1.0-2: discarded once its expiry interval passed");
    fixture.stop().await;
}

/// [MQTT-3.1.2-7] [MQTT-3.1.2-12] [MQTT-3.1.2-14] [MQTT-3.1.2-15]
/// [MQTT-3.1.3-10]: a will of any QoS is stored with the session and
/// published with its properties, user properties in order, retained when
/// Will Retain is 1 and not otherwise.
#[tokio::test]
async fn the_will_is_published_with_its_qos_retain_flag_and_properties() {
    let fixture = Fixture::start().await;
    let mut watcher = login5(&fixture, "watcher").await;
    subscribe5(&mut watcher, "will/#", qos(QoS::ExactlyOnce), None).await;
    let mut kept = will("will/kept", b"k", QoS::ExactlyOnce, true);
    kept.properties.user_properties =
        vec![("b".into(), "1".into()), ("a".into(), "2".into()), ("b".into(), "3".into())];
    kept.properties.content_type = Some("text/plain".into());
    let (client, connack) = fixture.connect(with_will(lasting("kept"), kept)).await;
    assert_eq!(connack.code, ConnectReturnCode::Accepted, "MQTT-3.1.2-12: will QoS 2 with retain is accepted");
    assert_eq!((connack.properties.maximum_qos, connack.properties.retain_available), (None, None));
    drop(client);
    let got = receive(&mut watcher, 1).await;
    let p = &got[0];
    assert_eq!((p.topic.as_ref(), p.qos.qos()), ("will/kept", QoS::ExactlyOnce), "MQTT-3.1.2-7");
    let names: Vec<(&str, &str)> = p.properties.user_properties.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(names, [("b", "1"), ("a", "2"), ("b", "3")], "MQTT-3.1.3-10: user properties in order");
    assert_eq!(p.properties.content_type.as_deref(), Some("text/plain"));
    let (client, _) =
        fixture.connect(with_will(lasting("plain"), will("will/plain", b"p", QoS::AtLeastOnce, false))).await;
    drop(client);
    assert_eq!(receive(&mut watcher, 1).await[0].topic.as_ref(), "will/plain");
    let mut late = login5(&fixture, "late").await;
    subscribe5(&mut late, "will/#", qos(QoS::AtMostOnce), None).await;
    let retained = delivery(&mut late).await;
    assert!(retained.retain && retained.topic.as_ref() == "will/kept", "MQTT-3.1.2-15: retained: {retained:?}");
    late.expect_nothing().await;
    // MQTT-3.1.2-14: will/plain was not retained.
    fixture.stop().await;
}

/// [MQTT-3.1.2-8] [MQTT-3.1.3-9]: a will waits out its delay, or goes as
/// soon as the session ends if that is sooner; a new connection of the
/// session within the delay cancels it.
#[tokio::test]
async fn a_will_waits_for_its_delay_or_the_end_of_the_session() {
    let fixture = Fixture::start().await;
    let mut watcher = login5(&fixture, "watcher").await;
    subscribe5(&mut watcher, "wills/#", qos(QoS::AtMostOnce), None).await;
    let delayed = |client_id: &str, expiry: u32, delay: u32| {
        let mut will = will(&format!("wills/{client_id}"), b"gone", QoS::AtMostOnce, false);
        will.properties.will_delay_interval = Some(delay);
        with_will(with_expiry(v5(client_id, "alice"), expiry), will)
    };
    let (ending, _) = fixture.connect(delayed("ending", 1, 60)).await;
    drop(ending);
    assert_eq!(delivery(&mut watcher).await.topic.as_ref(), "wills/ending", "MQTT-3.1.2-8: the session ended first");
    let (back, _) = fixture.connect(delayed("back", 60, 1)).await;
    drop(back);
    let (away, _) = fixture.connect(delayed("away", 60, 2)).await;
    drop(away);
    let (_back, connack) = fixture.connect(lasting("back")).await;
    assert!(connack.session_present);
    let will = delivery(&mut watcher).await;
    assert_eq!(will.topic.as_ref(), "wills/away", "MQTT-3.1.3-9: the returning client's will is not sent");
    watcher.expect_nothing().await;
    fixture.stop().await;
}

/// [MQTT-3.14.4-3] [MQTT-3.1.2-10]: DISCONNECT 0x00 discards the will, even
/// one waiting for a delay of a session that lives on; with 0x04 it is sent.
#[tokio::test]
async fn disconnect_with_0x00_discards_the_will() {
    let fixture = Fixture::start().await;
    let mut watcher = login5(&fixture, "watcher").await;
    subscribe5(&mut watcher, "wills/#", qos(QoS::AtMostOnce), None).await;
    let delayed = |client_id: &str, delay: u32| {
        let mut will = will(&format!("wills/{client_id}"), b"gone", QoS::AtMostOnce, false);
        will.properties.will_delay_interval = Some(delay);
        with_will(lasting(client_id), will)
    };
    let (mut quiet, _) = fixture.connect(delayed("quiet", 1)).await;
    quiet.send(Packet::Disconnect(Disconnect::default())).await;
    quiet.expect_closed().await;
    let (mut now, _) = fixture.connect(delayed("now", 0)).await;
    now.send(Packet::Disconnect(Disconnect::default())).await;
    now.expect_closed().await;
    let (ender, _) = fixture.connect(Connect { clean_session: true, ..lasting("now") }).await;
    drop(ender);
    let (mut asking, _) = fixture.connect(delayed("asking", 0)).await;
    asking
        .send(Packet::Disconnect(Disconnect {
            reason_code: ReasonCode::DisconnectWithWillMessage,
            ..Disconnect::default()
        }))
        .await;
    assert_eq!(delivery(&mut watcher).await.topic.as_ref(), "wills/asking", "0x04 asks for the will");
    let (control, _) = fixture.connect(delayed("control", 2)).await;
    drop(control);
    assert_eq!(delivery(&mut watcher).await.topic.as_ref(), "wills/control", "MQTT-3.14.4-3: quiet's will is gone");
    watcher.expect_nothing().await;
    fixture.stop().await;
}

/// [MQTT-3.1.2-22] [MQTT-3.2.2-22]: without a Server Keep Alive the broker
/// holds the client to its own Keep Alive: idle for 1.5 × 1 s, it is closed
/// as if the network failed (0x8D, the will).
#[tokio::test]
async fn keep_alive_is_the_clients_when_the_server_sets_none() {
    let fixture = Fixture::start().await;
    let mut watcher = login5(&fixture, "watcher").await;
    subscribe5(&mut watcher, "idle", qos(QoS::AtMostOnce), None).await;
    let connect =
        Connect { keep_alive: 1, ..with_will(v5("idle", "alice"), will("idle", b"timed out", QoS::AtMostOnce, false)) };
    let (mut client, connack) = fixture.connect(connect).await;
    assert_eq!(connack.properties.server_keep_alive, None, "MQTT-3.2.2-22: no Server Keep Alive");
    assert_eq!(expect_disconnect(&mut client).await.reason_code, ReasonCode::KeepAliveTimeout, "MQTT-3.1.2-22");
    assert_eq!(&delivery(&mut watcher).await.payload[..], b"timed out", "MQTT-3.1.2-22: as a network failure");
    fixture.stop().await;
}

/// [MQTT-3.1.2-24] [MQTT-3.1.2-25]: nothing larger than the client's
/// Maximum Packet Size is sent; a message too large is dropped as if sent,
/// so it holds no place of the Receive Maximum and is not resent later.
#[tokio::test]
async fn nothing_larger_than_the_clients_maximum_packet_size_is_sent() {
    let fixture = Fixture::start().await;
    let mut small = lasting("small");
    small.properties.maximum_packet_size = Some(64);
    small.properties.receive_maximum = Some(1);
    let (mut client, _) = fixture.connect(small.clone()).await;
    client.0.codec_mut().max_packet_size = 64;
    subscribe5(&mut client, "big/#", qos(QoS::AtLeastOnce), None).await;
    let mut publisher = login5(&fixture, "pub").await;
    publisher.send(publish("big/1", &[0; 200], QosPid::AtLeastOnce(pid(1)))).await;
    puback(&mut publisher).await;
    publisher.send(publish("big/2", b"fits", QosPid::AtLeastOnce(pid(2)))).await;
    puback(&mut publisher).await;
    let got = delivery(&mut client).await;
    assert_eq!(&got.payload[..], b"fits", "MQTT-3.1.2-24: the large one is not sent; MQTT-3.1.2-25: nor waited for");
    drop(client);
    let (mut client, connack) = fixture.connect(small).await;
    assert!(connack.session_present);
    client.0.codec_mut().max_packet_size = 64;
    let again = delivery(&mut client).await;
    assert!(again.dup && &again.payload[..] == b"fits", "only the unacknowledged message comes back: {again:?}");
    client.send(Packet::PubAck(PubAck::new(again.qos.packet_id().unwrap()))).await;
    client.expect_nothing().await;
    fixture.stop().await;
}

/// [MQTT-3.1.2-24] [MQTT-3.2.2-19] [MQTT-3.4.2-2] [MQTT-3.5.2-2]
/// [MQTT-3.9.2-1] [MQTT-3.14.2-3]: a Reason String that would take a packet
/// past the client's Maximum Packet Size is left out (the reason code stays);
/// a packet too large even without it (a SUBACK of many filters) is not sent,
/// and the connection is closed instead.
#[tokio::test]
async fn reason_strings_are_left_out_rather_than_exceed_the_clients_maximum() {
    let fixture = Fixture::start().await;
    let with_limit = |client_id: &str, limit: u32| {
        let mut connect = v5(client_id, "carol");
        connect.properties.maximum_packet_size = Some(limit);
        connect
    };
    // Room enough: the refusals say why.
    let (mut roomy, _) = fixture.connect(with_limit("roomy", 256)).await;
    roomy.send(publish("b/x", b"x", QosPid::AtLeastOnce(pid(1)))).await;
    let (_, ack) = ack_of(&mut roomy).await;
    assert!(ack.properties.reason_string.is_some(), "a refusal says why when it fits: {ack:?}");
    // 20 bytes: a CONNACK (16) fits, none of these reason strings does.
    let (mut tight, connack) = fixture.connect(with_limit("tight", 20)).await;
    assert_eq!(connack.code, ConnectReturnCode::Accepted);
    tight.send(publish("b/x", b"x", QosPid::AtLeastOnce(pid(1)))).await;
    tight.send(publish("b/x", b"x", QosPid::ExactlyOnce(pid(2)))).await;
    for (kind, id) in [("PUBACK", 1), ("PUBREC", 2)] {
        let (got, ack) = ack_of(&mut tight).await;
        assert_eq!((got, ack.packet_id, ack.reason_code), (kind, pid(id), ReasonCode::NotAuthorized));
        assert_eq!(ack.properties, AckProperties::default(), "MQTT-3.4.2-2 / MQTT-3.5.2-2");
    }
    let suback = subscribe5(&mut tight, "b/a-rather-long-filter/#", qos(QoS::AtMostOnce), None).await;
    assert!(matches!(suback.return_codes[..], [SubscribeReturnCode::Failure(ReasonCode::NotAuthorized)]));
    assert_eq!(suback.properties, AckProperties::default(), "MQTT-3.9.2-1");
    tight.send(Packet::Connect(v5("tight", "carol"))).await;
    let disconnect = expect_disconnect(&mut tight).await;
    assert_eq!(disconnect.reason_code, ReasonCode::ProtocolError);
    assert_eq!(disconnect.properties, DisconnectProperties::default(), "MQTT-3.14.2-3");
    // A SUBACK of 30 filters is 35 bytes even bare: not sent (MQTT-3.1.2-24);
    // a DISCONNECT 0x95 says why, within the limit.
    let (mut crowded, _) = fixture.connect(with_limit("crowded", 20)).await;
    let filters = (0..30).map(|i| (format!("a/{i}"), qos(QoS::AtMostOnce))).collect();
    crowded.send(Packet::Subscribe(Subscribe::new(pid(3), filters))).await;
    let disconnect = expect_disconnect(&mut crowded).await;
    assert_eq!(disconnect.reason_code, ReasonCode::PacketTooLarge);
    assert_eq!(disconnect.properties, DisconnectProperties::default(), "its reason string does not fit either");
    crowded.expect_closed().await;
    fixture.stop().await;
}

/// [MQTT-3.1.2-26] [MQTT-3.1.2-27] [MQTT-3.3.2-8] [MQTT-3.3.2-11]: the
/// broker sends no Topic Alias to a client that allows none, and none above
/// (or of 0) to one that allows two.
#[tokio::test]
async fn topic_aliases_sent_stay_within_the_clients_maximum() {
    let fixture = Fixture::start().await;
    let mut none = login5(&fixture, "none").await;
    subscribe5(&mut none, "alias/t", qos(QoS::AtMostOnce), None).await;
    let mut two = v5("two", "alice");
    two.properties.topic_alias_maximum = Some(2);
    let (mut two, _) = fixture.connect(two).await;
    subscribe5(&mut two, "alias/t", qos(QoS::AtMostOnce), None).await;
    let mut publisher = login5(&fixture, "pub").await;
    for _ in 0..3 {
        publisher.send(publish("alias/t", b"m", QosPid::AtMostOnce)).await;
    }
    for _ in 0..3 {
        let got = delivery(&mut none).await;
        assert_eq!(got.properties.topic_alias, None, "MQTT-3.1.2-27: no alias to a client that allows none");
        let got = delivery(&mut two).await;
        assert!(got.properties.topic_alias.is_none_or(|a| (1..=2).contains(&a)), "MQTT-3.1.2-26/3.3.2-8: {got:?}");
    }
    fixture.stop().await;
}

/// [MQTT-3.1.2-28] [MQTT-3.1.2-29] [MQTT-3.2.2-19] [MQTT-3.2.2-20]
/// [MQTT-3.4.2-1..3] [MQTT-3.5.2-1..3] [MQTT-3.6.2-1..3] [MQTT-3.7.2-1..3]
/// [MQTT-3.9.2-1] [MQTT-3.9.2-2] [MQTT-3.11.2-1] [MQTT-3.11.2-2]
/// [MQTT-3.14.2-1..4]: asked for neither, the broker returns no Response
/// Information and puts no Reason String or User Property on anything, so
/// never past a small Maximum Packet Size; every reason code it uses is one
/// the packet may carry (the client's codec refuses the others).
#[tokio::test]
async fn no_response_or_problem_information_is_sent_unasked() {
    let fixture = Fixture::start().await;
    let mut carol = v5("carol", "carol");
    carol.properties.request_response_information = Some(false);
    carol.properties.request_problem_information = Some(false);
    carol.properties.maximum_packet_size = Some(128);
    let (mut carol, connack) = fixture.connect(carol).await;
    let p = &connack.properties;
    assert_eq!(p.response_information, None, "MQTT-3.1.2-28");
    assert!(p.reason_string.is_none() && p.user_properties.is_empty(), "MQTT-3.2.2-19/20: {p:?}");
    let none = AckProperties::default();
    carol.send(publish("b/x", b"x", QosPid::AtLeastOnce(pid(1)))).await;
    let mut acks = vec![ack_of(&mut carol).await];
    carol.send(publish("b/x", b"x", QosPid::ExactlyOnce(pid(2)))).await;
    acks.push(ack_of(&mut carol).await);
    carol.send(Packet::PubRel(PubAck::new(pid(9)))).await;
    acks.push(ack_of(&mut carol).await);
    carol.send(Packet::PubRec(PubAck::new(pid(10)))).await;
    acks.push(ack_of(&mut carol).await);
    let codes: Vec<(&str, ReasonCode)> = acks.iter().map(|(kind, ack)| (*kind, ack.reason_code)).collect();
    assert_eq!(
        codes,
        [
            ("PUBACK", ReasonCode::NotAuthorized),
            ("PUBREC", ReasonCode::NotAuthorized),
            ("PUBCOMP", ReasonCode::PacketIdentifierNotFound),
            ("PUBREL", ReasonCode::PacketIdentifierNotFound)
        ]
    );
    for (kind, ack) in &acks {
        assert_eq!(ack.properties, none, "MQTT-3.1.2-29: no reason string or user property on {kind}");
    }
    let suback = subscribe5(&mut carol, "b/#", qos(QoS::AtMostOnce), None).await;
    assert_eq!(suback.properties, none, "MQTT-3.9.2-1/2");
    let unsuback = unsubscribe5(&mut carol, 3, &["never"]).await;
    assert_eq!(unsuback.properties, none, "MQTT-3.11.2-1/2");
    carol.send(Packet::Connect(v5("carol", "carol"))).await;
    let disconnect = expect_disconnect(&mut carol).await;
    assert!(disconnect.properties.user_properties.is_empty(), "MQTT-3.14.2-4: {disconnect:?}");
    // MQTT-3.1.2-29 lets a DISCONNECT carry a Reason String even so, within
    // the client's Maximum Packet Size (MQTT-3.14.2-3).
    assert_eq!(disconnect.properties.reason_string.as_deref(), Some("second CONNECT"));
    fixture.stop().await;
}

/// [MQTT-3.1.3-5] [MQTT-3.1.3-6] [MQTT-3.1.3-7] [MQTT-3.2.2-16]: client ids
/// of 1 to 23 alphanumerics are allowed; an empty one gets a new unique id,
/// told in CONNACK, under which the session then lives.
#[tokio::test]
async fn client_ids_are_allowed_or_assigned() {
    let fixture = Fixture::start().await;
    for id in ["0", "0123456789abcdefghijklm", "nopqrstuvwxyzABCDEFGHIJ", "KLMNOPQRSTUVWXYZ"] {
        let (_, connack) = fixture.connect(v5(id, "alice")).await;
        assert_eq!(connack.code, ConnectReturnCode::Accepted, "MQTT-3.1.3-5: {id:?}");
    }
    let (first, connack) = fixture.connect(lasting("")).await;
    let assigned = connack.properties.assigned_client_identifier.expect("MQTT-3.2.2-16: an assigned id");
    let (mut second, connack) = fixture.connect(v5("", "alice")).await;
    let other = connack.properties.assigned_client_identifier.expect("MQTT-3.2.2-16: an assigned id");
    assert!(!assigned.is_empty() && assigned != other, "MQTT-3.1.3-6: unique ids: {assigned} {other}");
    second.send(Packet::PingReq).await;
    assert_eq!(second.recv().await, Packet::PingResp);
    drop(first);
    let (_, connack) = fixture.connect(lasting(&assigned)).await;
    assert!(connack.session_present, "MQTT-3.1.3-7: processed as if the client had given the assigned id");
    fixture.stop().await;
}

/// [MQTT-3.1.4-2] [MQTT-3.1.4-6] [MQTT-3.2.2-6] [MQTT-3.2.2-7]
/// [MQTT-3.2.2-8] [MQTT-4.13.2-1] [MQTT-3.14.0-1]: a CONNECT with bad
/// credentials gets CONNACK 0x86 with session present 0 (though a session is
/// stored for the id), then the close, and what followed it is not processed.
#[tokio::test]
async fn a_refused_connect_gets_its_reason_code_and_nothing_after_it_is_processed() {
    let fixture = Fixture::start().await;
    let (held, _) = fixture.connect(lasting("held")).await;
    drop(held);
    let mut watcher = login5(&fixture, "watcher").await;
    subscribe5(&mut watcher, "r/#", qos(QoS::AtMostOnce), None).await;
    let refused = Connect { password: Some(Bytes::from_static(b"wrong")), ..lasting("held") };
    let retained = Packet::Publish(Publish { retain: true, ..qos_pid(QosPid::AtMostOnce, "r/refused", b"x") });
    let bytes =
        [encoded(&Packet::Connect(refused), ProtocolVersion::V5), encoded(&retained, ProtocolVersion::V5)].concat();
    let answer = answer_to(&fixture, &bytes).await;
    assert_eq!(&answer[..1], [0x20], "MQTT-3.14.0-1: a CONNACK, not a DISCONNECT: {answer:?}");
    assert_eq!(answer.len(), 2 + usize::from(answer[1]), "only the CONNACK, then the close (MQTT-3.2.2-7/4.13.2-1)");
    assert_eq!(answer[2], 0, "MQTT-3.2.2-6: session present 0");
    assert_eq!(answer[3], ReasonCode::BadUserNameOrPassword as u8, "MQTT-3.1.4-2/3.2.2-8");
    watcher.expect_nothing().await;
    let mut late = login5(&fixture, "late").await;
    subscribe5(&mut late, "r/#", qos(QoS::AtMostOnce), None).await;
    late.expect_nothing().await;
    // MQTT-3.1.4-6: the PUBLISH behind the refused CONNECT was neither delivered nor retained.
    fixture.stop().await;
}

/// [MQTT-3.1.4-3] [MQTT-3.14.4-1] [MQTT-3.14.4-2] [MQTT-3.14.2-2]: a new
/// connection with a connected client id sends the old one DISCONNECT 0x8E
/// (no Session Expiry Interval), then nothing more, and closes it.
#[tokio::test]
async fn a_takeover_disconnects_the_old_connection_with_0x8e() {
    let fixture = Fixture::start().await;
    let mut first = login5(&fixture, "same").await;
    subscribe5(&mut first, "to", qos(QoS::AtMostOnce), None).await;
    let mut second = login5(&fixture, "same").await;
    let disconnect = expect_disconnect(&mut first).await;
    assert_eq!(disconnect.reason_code, ReasonCode::SessionTakenOver, "MQTT-3.1.4-3");
    assert_eq!(disconnect.properties.session_expiry_interval, None, "MQTT-3.14.2-2");
    second.send(Packet::PingReq).await;
    assert_eq!(second.recv().await, Packet::PingResp);
    fixture.stop().await;
}

/// [MQTT-3.2.0-1] [MQTT-3.2.2-1]: CONNACK (its reserved flag bits 0, which
/// the client's codec checks) comes before anything else, even the answers to
/// packets sent right behind the CONNECT and a resumed session's resends.
#[tokio::test]
async fn connack_comes_first() {
    let fixture = Fixture::start().await;
    let (mut sub, _) = fixture.connect(lasting("first")).await;
    subscribe5(&mut sub, "f", qos(QoS::AtLeastOnce), None).await;
    let mut publisher = login5(&fixture, "pub").await;
    publisher.send(publish("f", b"in flight", QosPid::AtLeastOnce(pid(1)))).await;
    puback(&mut publisher).await;
    delivery(&mut sub).await;
    drop(sub);
    let stream = TcpStream::connect(fixture.addr).await.unwrap();
    let mut codec = MqttCodec::new(1 << 20);
    codec.version = ProtocolVersion::V5;
    let mut client = Client(Framed::new(stream, codec));
    let subscribe = Packet::Subscribe(Subscribe::new(pid(9), vec![("g".into(), qos(QoS::AtMostOnce))]));
    let bytes = [
        encoded(&Packet::Connect(lasting("first")), ProtocolVersion::V5),
        encoded(&subscribe, ProtocolVersion::V5),
        vec![0xC0, 0],
    ]
    .concat();
    send_raw(&mut client, &bytes).await;
    assert!(matches!(client.recv().await, Packet::ConnAck(c) if c.session_present), "MQTT-3.2.0-1: CONNACK first");
    let rest = [client.recv().await, client.recv().await, client.recv().await];
    assert!(rest.iter().any(|p| matches!(p, Packet::Publish(p) if p.dup)), "{rest:?}");
    fixture.stop().await;
}

/// [MQTT-3.3.1-1] [MQTT-3.3.1-2] [MQTT-3.3.1-3] [MQTT-4.3.1-1]
/// [MQTT-4.3.2-1] [MQTT-4.3.2-2] [MQTT-4.3.2-3] [MQTT-4.3.3-1]
/// [MQTT-4.3.3-2] [MQTT-4.3.3-3] [MQTT-4.3.3-4] [MQTT-4.3.3-5]
/// [MQTT-4.3.3-6] [MQTT-4.4.0-1]: the broker's first deliveries have DUP 0
/// whatever the publisher sent; nothing is resent while connected; a
/// resumed session gets its unacknowledged PUBLISHes again with DUP 1 and
/// their ids, then, once PUBREC came, only PUBREL until PUBCOMP.
#[tokio::test]
async fn dup_marks_only_redeliveries_which_happen_only_on_resumption() {
    let fixture = Fixture::start().await;
    let (mut sub, _) = fixture.connect(lasting("resumer")).await;
    subscribe5(&mut sub, "d", qos(QoS::ExactlyOnce), None).await;
    let mut zero = login5(&fixture, "zero").await;
    subscribe5(&mut zero, "d", qos(QoS::AtMostOnce), None).await;
    let mut publisher = login5(&fixture, "pub").await;
    publisher.send(Packet::Publish(Publish { dup: true, ..qos_pid(QosPid::AtLeastOnce(pid(1)), "d", b"one") })).await;
    puback(&mut publisher).await;
    publish_qos2(&mut publisher, Publish { dup: true, ..qos_pid(QosPid::ExactlyOnce(pid(2)), "d", b"two") }).await;
    for _ in 0..2 {
        let copy = delivery(&mut zero).await;
        assert!(!copy.dup, "MQTT-3.3.1-2/4.3.1-1: DUP 0 at QoS 0");
    }
    let (one, two) = (delivery(&mut sub).await, delivery(&mut sub).await);
    assert!(!one.dup && !two.dup, "MQTT-3.3.1-3/4.3.2-2/4.3.3-2: DUP 0 on a first delivery");
    assert_eq!((one.qos.qos(), two.qos.qos()), (QoS::AtLeastOnce, QoS::ExactlyOnce));
    sub.expect_nothing().await;
    drop(sub);
    let (mut sub, connack) = fixture.connect(lasting("resumer")).await;
    assert!(connack.session_present);
    let (again, again_two) = (delivery(&mut sub).await, delivery(&mut sub).await);
    assert!(again.dup && again.qos == one.qos, "MQTT-3.3.1-1/4.3.2-3/4.4.0-1: {again:?}");
    assert!(again_two.dup && again_two.qos == two.qos, "MQTT-4.3.3-3/4.4.0-1: {again_two:?}");
    sub.send(Packet::PubAck(PubAck::new(one.qos.packet_id().unwrap()))).await;
    let two_id = two.qos.packet_id().unwrap();
    sub.send(Packet::PubRec(PubAck::new(two_id))).await;
    assert_eq!(ack_of(&mut sub).await, ("PUBREL", PubAck::new(two_id)), "MQTT-4.3.3-4");
    sub.expect_nothing().await;
    drop(sub);
    let (mut sub, _) = fixture.connect(lasting("resumer")).await;
    assert_eq!(ack_of(&mut sub).await, ("PUBREL", PubAck::new(two_id)), "MQTT-4.3.3-5/6: PUBREL, not PUBLISH");
    sub.expect_nothing().await;
    sub.send(Packet::PubComp(PubAck::new(two_id))).await;
    sub.send(Packet::PingReq).await;
    assert_eq!(sub.recv().await, Packet::PingResp);
    drop(sub);
    let (mut sub, _) = fixture.connect(lasting("resumer")).await;
    sub.expect_nothing().await;
    fixture.stop().await;
}

/// [MQTT-4.4.0-2]: a PUBACK or PUBREC with a reason code of 0x80 or more
/// acknowledges the message: it is not sent again.
#[tokio::test]
async fn a_refusing_acknowledgement_ends_the_delivery() {
    let fixture = Fixture::start().await;
    let (mut sub, _) = fixture.connect(lasting("refuser")).await;
    subscribe5(&mut sub, "rf", qos(QoS::ExactlyOnce), None).await;
    let mut publisher = login5(&fixture, "pub").await;
    publisher.send(publish("rf", b"one", QosPid::AtLeastOnce(pid(1)))).await;
    puback(&mut publisher).await;
    publish_qos2(&mut publisher, qos_pid(QosPid::ExactlyOnce(pid(2)), "rf", b"two")).await;
    let (one, two) = (delivery(&mut sub).await, delivery(&mut sub).await);
    let refuse = |id| PubAck { reason_code: ReasonCode::UnspecifiedError, ..PubAck::new(id) };
    sub.send(Packet::PubAck(refuse(one.qos.packet_id().unwrap()))).await;
    sub.send(Packet::PubRec(refuse(two.qos.packet_id().unwrap()))).await;
    sub.expect_nothing().await;
    drop(sub);
    let (mut sub, _) = fixture.connect(lasting("refuser")).await;
    sub.expect_nothing().await;
    fixture.stop().await;
}

/// [MQTT-4.3.3-7]: a QoS 2 message whose PUBLISH was sent is delivered to
/// the end though its Message Expiry Interval passes meanwhile.
#[tokio::test]
async fn qos_2_in_flight_is_completed_past_its_expiry() {
    let fixture = Fixture::start().await;
    let (mut sub, _) = fixture.connect(lasting("slow")).await;
    subscribe5(&mut sub, "x2", qos(QoS::ExactlyOnce), None).await;
    let mut publisher = login5(&fixture, "pub").await;
    let mut message = qos_pid(QosPid::ExactlyOnce(pid(1)), "x2", b"brief");
    message.properties.message_expiry_interval = Some(1);
    publish_qos2(&mut publisher, message).await;
    let first = delivery(&mut sub).await;
    drop(sub);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (mut sub, _) = fixture.connect(lasting("slow")).await;
    let again = delivery(&mut sub).await;
    assert!(again.dup && again.qos == first.qos, "MQTT-4.3.3-7: still resent after its expiry: {again:?}");
    let id = first.qos.packet_id().unwrap();
    sub.send(Packet::PubRec(PubAck::new(id))).await;
    assert_eq!(ack_of(&mut sub).await, ("PUBREL", PubAck::new(id)), "MQTT-4.3.3-7");
    fixture.stop().await;
}

/// [MQTT-3.3.4-1] [MQTT-4.3.2-4] [MQTT-4.3.2-5] [MQTT-4.3.3-8]
/// [MQTT-4.3.3-9] [MQTT-4.3.3-10] [MQTT-4.3.3-11] [MQTT-4.3.3-12]
/// [MQTT-4.3.3-13]: as receiver the broker answers each QoS as it must,
/// delivers a QoS 2 message once per handshake (finishing it though the
/// message expired meanwhile), and after PUBACK, PUBCOMP or a refusing PUBREC
/// takes the packet id for a new message.
#[tokio::test]
async fn inbound_publishes_are_acknowledged_and_delivered_once() {
    let fixture = Fixture::start().await;
    let mut sub = login5(&fixture, "sub").await;
    subscribe5(&mut sub, "a/#", qos(QoS::AtMostOnce), None).await;
    let mut publisher = login5(&fixture, "pub").await;
    publisher.send(publish("a/1", b"first", QosPid::AtLeastOnce(pid(5)))).await;
    assert_eq!(puback(&mut publisher).await.packet_id, pid(5), "MQTT-4.3.2-4");
    publisher
        .send(Packet::Publish(Publish { dup: true, ..qos_pid(QosPid::AtLeastOnce(pid(5)), "a/1", b"second") }))
        .await;
    puback(&mut publisher).await;
    let mut brief = qos_pid(QosPid::ExactlyOnce(pid(7)), "a/2", b"once");
    brief.properties.message_expiry_interval = Some(1);
    for dup in [false, true] {
        publisher.send(Packet::Publish(Publish { dup, ..brief.clone() })).await;
        assert_eq!(ack_of(&mut publisher).await, ("PUBREC", PubAck::new(pid(7))), "MQTT-4.3.3-8/10");
    }
    tokio::time::sleep(Duration::from_millis(1200)).await;
    publisher.send(Packet::PubRel(PubAck::new(pid(7)))).await;
    assert_eq!(ack_of(&mut publisher).await, ("PUBCOMP", PubAck::new(pid(7))), "MQTT-4.3.3-11/13");
    publish_qos2(&mut publisher, qos_pid(QosPid::ExactlyOnce(pid(7)), "a/2", b"again")).await;
    let (mut carol, _) = fixture.connect(v5("carol", "carol")).await;
    carol.send(publish("b/x", b"refused", QosPid::ExactlyOnce(pid(9)))).await;
    let (kind, rec) = ack_of(&mut carol).await;
    assert_eq!((kind, rec.reason_code), ("PUBREC", ReasonCode::NotAuthorized));
    publish_qos2(&mut carol, qos_pid(QosPid::ExactlyOnce(pid(9)), "a/3", b"new")).await;
    let got: Vec<Publish> =
        [delivery(&mut sub).await, delivery(&mut sub).await, delivery(&mut sub).await, delivery(&mut sub).await].into();
    assert_eq!(
        payloads(&got),
        [&b"first"[..], b"second", b"once", b"again"],
        "MQTT-4.3.2-5: the id reused after PUBACK is new; MQTT-4.3.3-10: once; MQTT-4.3.3-12: again after PUBCOMP"
    );
    assert_eq!(&delivery(&mut sub).await.payload[..], b"new", "MQTT-4.3.3-9: after a refusing PUBREC the id is new");
    fixture.stop().await;
}

/// [MQTT-3.3.1-5] [MQTT-3.3.1-6] [MQTT-3.3.1-7] [MQTT-3.3.1-8]: a retained
/// publish replaces the topic's retained message; an empty one removes it
/// (and is not stored); a non-retained one neither stores nor replaces.
#[tokio::test]
async fn retained_messages_are_replaced_removed_and_left_alone() {
    let fixture = Fixture::start().await;
    let mut publisher = login5(&fixture, "pub").await;
    let retained = |topic: &str, payload: &'static [u8]| {
        Packet::Publish(Publish { retain: true, ..qos_pid(QosPid::AtMostOnce, topic, payload) })
    };
    for (topic, payload) in [("r/a", &b"old"[..]), ("r/a", b"new"), ("r/b", b"gone"), ("r/b", b""), ("r/c", b"kept")] {
        publisher.send(retained(topic, payload)).await;
    }
    publisher.send(publish("r/c", b"not retained", QosPid::AtMostOnce)).await;
    publisher.send(Packet::PingReq).await;
    assert_eq!(publisher.recv().await, Packet::PingResp);
    let mut late = login5(&fixture, "late").await;
    subscribe5(&mut late, "r/#", qos(QoS::AtMostOnce), None).await;
    let mut got = [delivery(&mut late).await, delivery(&mut late).await];
    got.sort_by(|a, b| a.topic.cmp(&b.topic));
    let seen: Vec<(&str, &[u8])> = got.iter().map(|p| (p.topic.as_ref(), &p.payload[..])).collect();
    assert_eq!(
        seen,
        [("r/a", &b"new"[..]), ("r/c", b"kept")],
        "MQTT-3.3.1-5: replaced; MQTT-3.3.1-6/7: removed; MQTT-3.3.1-8: left alone"
    );
    late.expect_nothing().await;
    fixture.stop().await;
}

/// [MQTT-3.3.1-9] [MQTT-3.3.1-10] [MQTT-3.3.1-11] [MQTT-3.8.4-4]: Retain
/// Handling 0 sends the retained messages on every SUBSCRIBE, 1 only when
/// the subscription is new, 2 never; replacing a subscription loses no
/// message.
#[tokio::test]
async fn retain_handling_decides_when_retained_messages_are_sent() {
    let fixture = Fixture::start().await;
    let mut publisher = login5(&fixture, "pub").await;
    publisher.send(Packet::Publish(Publish { retain: true, ..qos_pid(QosPid::AtMostOnce, "rh", b"state") })).await;
    publisher.send(Packet::PingReq).await;
    assert_eq!(publisher.recv().await, Packet::PingResp);
    let mut sub = login5(&fixture, "sub").await;
    let with = |handling| SubscriptionOptions { retain_handling: handling, ..qos(QoS::AtMostOnce) };
    for round in 0..2 {
        subscribe5(&mut sub, "rh", with(RetainHandling::SendAtSubscribe), None).await;
        assert!(delivery(&mut sub).await.retain, "MQTT-3.3.1-9/3.8.4-4: sent on SUBSCRIBE {round}");
    }
    subscribe5(&mut sub, "rh", with(RetainHandling::SendAtSubscribeIfNew), None).await;
    subscribe5(&mut sub, "rh", with(RetainHandling::DoNotSend), None).await;
    publisher.send(publish("rh", b"live", QosPid::AtMostOnce)).await;
    assert_eq!(&delivery(&mut sub).await.payload[..], b"live", "MQTT-3.3.1-10: not resent to an existing one");
    let mut fresh = login5(&fixture, "fresh").await;
    subscribe5(&mut fresh, "rh", with(RetainHandling::SendAtSubscribeIfNew), None).await;
    assert!(delivery(&mut fresh).await.retain, "MQTT-3.3.1-10: sent to a new subscription");
    let mut never = login5(&fixture, "never").await;
    subscribe5(&mut never, "rh", with(RetainHandling::DoNotSend), None).await;
    never.expect_nothing().await;
    // MQTT-3.3.1-11: retain handling 2 sent nothing.
    fixture.stop().await;
}

/// [MQTT-3.3.1-12] [MQTT-3.3.1-13]: forwarding on an established
/// subscription, RETAIN is 0 unless Retain As Published is set, then as
/// published.
#[tokio::test]
async fn retain_as_published_keeps_the_publishers_flag() {
    let fixture = Fixture::start().await;
    let mut plain = login5(&fixture, "plain").await;
    subscribe5(&mut plain, "rap", qos(QoS::AtMostOnce), None).await;
    let mut rap = login5(&fixture, "rap").await;
    let options = SubscriptionOptions { retain_as_published: true, ..qos(QoS::AtMostOnce) };
    subscribe5(&mut rap, "rap", options, None).await;
    let mut publisher = login5(&fixture, "pub").await;
    publisher.send(Packet::Publish(Publish { retain: true, ..qos_pid(QosPid::AtMostOnce, "rap", b"r") })).await;
    publisher.send(publish("rap", b"n", QosPid::AtMostOnce)).await;
    let flags = |got: [Publish; 2]| got.map(|p| p.retain);
    assert_eq!(flags([delivery(&mut plain).await, delivery(&mut plain).await]), [false, false], "MQTT-3.3.1-12");
    assert_eq!(flags([delivery(&mut rap).await, delivery(&mut rap).await]), [true, false], "MQTT-3.3.1-13");
    fixture.stop().await;
}

/// [MQTT-3.3.2-2] [MQTT-4.7.0-1] [MQTT-4.7.3-1]: a PUBLISH with a wildcard
/// in its topic name, or an empty one without a Topic Alias, is refused
/// with a DISCONNECT (0x81, 0x82) and goes nowhere.
#[tokio::test]
async fn a_topic_name_with_wildcards_or_empty_is_refused() {
    let fixture = Fixture::start().await;
    let mut watcher = login5(&fixture, "watcher").await;
    subscribe5(&mut watcher, "#", qos(QoS::AtMostOnce), None).await;
    let cases =
        [("a/+", ReasonCode::MalformedPacket), ("#", ReasonCode::MalformedPacket), ("", ReasonCode::ProtocolError)];
    for (n, (topic, reason)) in cases.into_iter().enumerate() {
        let mut client = login5(&fixture, &format!("c{n}")).await;
        send_raw(&mut client, &encoded(&publish(topic, b"x", QosPid::AtMostOnce), ProtocolVersion::V5)).await;
        assert_eq!(expect_disconnect(&mut client).await.reason_code, reason, "MQTT-3.3.2-2/4.7.0-1/4.7.3-1: {topic:?}");
    }
    watcher.expect_nothing().await;
    fixture.stop().await;
}

/// [MQTT-3.3.2-3] [MQTT-3.3.2-12]: a delivery's topic name matches the
/// subscription's filter, also when the publisher named it by a Topic
/// Alias (any of 1 to the maximum told, 64).
#[tokio::test]
async fn deliveries_carry_full_topic_names_their_filters_match() {
    let fixture = Fixture::start().await;
    let mut sub = login5(&fixture, "sub").await;
    subscribe5(&mut sub, "m/+/x", qos(QoS::AtMostOnce), None).await;
    let mut publisher = login5(&fixture, "pub").await;
    for (alias, topic) in [(1, "m/a/x"), (64, "m/b/y")] {
        let mut set = qos_pid(QosPid::AtMostOnce, topic, b"set");
        set.properties.topic_alias = Some(alias);
        publisher.send(Packet::Publish(set)).await;
        let mut used = qos_pid(QosPid::AtMostOnce, "", b"used");
        used.properties.topic_alias = Some(alias);
        publisher.send(Packet::Publish(used)).await;
    }
    for payload in [&b"set"[..], b"used"] {
        let got = delivery(&mut sub).await;
        assert_eq!((got.topic.as_ref(), &got.payload[..]), ("m/a/x", payload), "MQTT-3.3.2-3/12");
    }
    sub.expect_nothing().await;
    fixture.stop().await;
}

/// [MQTT-3.3.2-4] [MQTT-3.3.2-13] [MQTT-3.3.2-14] [MQTT-3.3.2-15]
/// [MQTT-3.3.2-16] [MQTT-3.3.2-17] [MQTT-3.3.2-18] [MQTT-3.3.2-19]
/// [MQTT-3.3.2-20]: Payload Format Indicator, Response Topic, Correlation
/// Data, User Properties (in order) and Content Type reach every subscriber
/// unaltered; a Response Topic with a wildcard is refused.
#[tokio::test]
async fn publish_properties_reach_every_subscriber_unaltered() {
    let fixture = Fixture::start().await;
    let mut zero = login5(&fixture, "zero").await;
    subscribe5(&mut zero, "req/#", qos(QoS::AtMostOnce), None).await;
    let mut two = login5(&fixture, "two").await;
    subscribe5(&mut two, "req/#", qos(QoS::ExactlyOnce), None).await;
    let mut publisher = login5(&fixture, "pub").await;
    let mut request = qos_pid(QosPid::ExactlyOnce(pid(1)), "req/1", b"{}");
    let p = &mut request.properties;
    p.payload_format_indicator = Some(PayloadFormat::Utf8);
    p.response_topic = Some("replies/\u{e9}".into());
    p.correlation_data = Some(Bytes::from_static(&[0, 1, 0xFF]));
    p.content_type = Some("application/json; charset=utf-8".into());
    p.user_properties = vec![("z".into(), "1".into()), ("a".into(), "".into()), ("z".into(), "0".into())];
    let sent = request.properties.clone();
    publish_qos2(&mut publisher, request).await;
    for got in [delivery(&mut zero).await, receive(&mut two, 1).await.remove(0)] {
        let p = &got.properties;
        assert_eq!(p.payload_format_indicator, sent.payload_format_indicator, "MQTT-3.3.2-4");
        assert_eq!(p.response_topic, sent.response_topic, "MQTT-3.3.2-15");
        assert_eq!(p.correlation_data, sent.correlation_data, "MQTT-3.3.2-16");
        assert_eq!(p.user_properties, sent.user_properties, "MQTT-3.3.2-17/18");
        assert_eq!(p.content_type, sent.content_type, "MQTT-3.3.2-20");
    }
    let mut bad = qos_pid(QosPid::AtMostOnce, "req/2", b"x");
    bad.properties.response_topic = Some("replies/+".into());
    publisher.send(Packet::Publish(bad)).await;
    let disconnect = expect_disconnect(&mut publisher).await;
    assert!(disconnect.reason_code as u8 >= 0x80, "MQTT-3.3.2-14: a wildcard response topic: {disconnect:?}");
    zero.expect_nothing().await;
    fixture.stop().await;
}

/// [MQTT-3.3.2-5] [MQTT-3.3.2-6]: a message whose expiry passes before
/// delivery starts is dropped; one delivered later carries what is left of
/// its interval.
#[tokio::test]
async fn message_expiry_is_counted_down_and_enforced() {
    let fixture = Fixture::start().await;
    let (sub, _) = fixture.connect(lasting("offline")).await;
    drop(sub);
    let (mut sub, _) = fixture.connect(lasting("offline")).await;
    subscribe5(&mut sub, "news", qos(QoS::AtLeastOnce), None).await;
    drop(sub);
    let mut publisher = login5(&fixture, "pub").await;
    for (payload, expiry, id) in [(&b"short"[..], 1, 1), (b"long", 60, 2)] {
        let mut news =
            Publish { topic: Arc::from("news"), payload: Bytes::copy_from_slice(payload), ..Publish::default() };
        news.qos = QosPid::AtLeastOnce(pid(id));
        news.properties.message_expiry_interval = Some(expiry);
        publisher.send(Packet::Publish(news)).await;
        puback(&mut publisher).await;
    }
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (mut sub, _) = fixture.connect(lasting("offline")).await;
    let got = receive(&mut sub, 1).await;
    assert_eq!(&got[0].payload[..], b"long", "MQTT-3.3.2-5: the expired one is dropped");
    let left = got[0].properties.message_expiry_interval.unwrap();
    assert!((1..=58).contains(&left), "MQTT-3.3.2-6: 60 s less the 2 s it waited: {left}");
    sub.expect_nothing().await;
    fixture.stop().await;
}

/// [MQTT-3.3.2-7]: Topic Alias mappings do not outlive their connection.
#[tokio::test]
async fn topic_aliases_do_not_carry_over_to_a_new_connection() {
    let fixture = Fixture::start().await;
    let mut publisher = login5(&fixture, "pub").await;
    let mut set = qos_pid(QosPid::AtLeastOnce(pid(1)), "aliased", b"set");
    set.properties.topic_alias = Some(1);
    publisher.send(Packet::Publish(set)).await;
    puback(&mut publisher).await;
    drop(publisher);
    let mut publisher = login5(&fixture, "pub").await;
    let mut used = qos_pid(QosPid::AtLeastOnce(pid(2)), "", b"used");
    used.properties.topic_alias = Some(1);
    publisher.send(Packet::Publish(used)).await;
    let disconnect = expect_disconnect(&mut publisher).await;
    assert_eq!(disconnect.reason_code, ReasonCode::ProtocolError, "MQTT-3.3.2-7: alias 1 is unknown here");
    fixture.stop().await;
}

/// [MQTT-3.3.4-2] [MQTT-3.3.4-3] [MQTT-3.3.4-4] [MQTT-3.3.4-5]: overlapping
/// subscriptions give one copy at their highest QoS with all their
/// Subscription Identifiers; a copy through a shared subscription of the same
/// session carries its own identifier only.
#[tokio::test]
async fn overlapping_subscriptions_give_one_copy_with_every_identifier() {
    let fixture = Fixture::start().await;
    let mut sub = login5(&fixture, "sub").await;
    subscribe5(&mut sub, "s/+", qos(QoS::AtMostOnce), Some(1)).await;
    subscribe5(&mut sub, "s/#", qos(QoS::ExactlyOnce), Some(2)).await;
    subscribe5(&mut sub, "s/x", qos(QoS::AtLeastOnce), None).await;
    let mut publisher = login5(&fixture, "pub").await;
    publish_qos2(&mut publisher, qos_pid(QosPid::ExactlyOnce(pid(1)), "s/x", b"x")).await;
    let got = receive(&mut sub, 1).await;
    assert_eq!(got[0].qos.qos(), QoS::ExactlyOnce, "MQTT-3.3.4-2: the highest QoS");
    let mut ids = got[0].properties.subscription_identifiers.clone();
    ids.sort_unstable();
    assert_eq!(ids, [1, 2], "MQTT-3.3.4-3/4: every identifier in the one copy");
    sub.expect_nothing().await;
    subscribe5(&mut sub, "$share/g/s/y", qos(QoS::AtMostOnce), Some(3)).await;
    publisher.send(publish("s/y", b"y", QosPid::AtMostOnce)).await;
    let mut copies: Vec<Vec<u32>> = receive(&mut sub, 2)
        .await
        .into_iter()
        .map(|p| {
            let mut ids = p.properties.subscription_identifiers;
            ids.sort_unstable();
            ids
        })
        .collect();
    copies.sort();
    assert_eq!(copies, [vec![1, 2], vec![3]], "MQTT-3.3.4-5: each copy with its own subscription's identifier");
    fixture.stop().await;
}

/// [MQTT-3.3.4-9] [MQTT-3.3.4-10] [MQTT-4.9.0-1] [MQTT-4.9.0-2]
/// [MQTT-4.9.0-3] [MQTT-3.12.4-1]: no more QoS 1 and 2 PUBLISHes than the
/// client's Receive Maximum are unacknowledged at once; meanwhile other
/// packets are still answered at once.
#[tokio::test]
async fn the_clients_receive_maximum_bounds_what_is_in_flight() {
    let fixture = Fixture::start().await;
    let mut narrow = v5("narrow", "alice");
    narrow.properties.receive_maximum = Some(2);
    let (mut sub, _) = fixture.connect(narrow).await;
    subscribe5(&mut sub, "rm", qos(QoS::ExactlyOnce), None).await;
    let mut publisher = login5(&fixture, "pub").await;
    for n in 1..=5u16 {
        publisher
            .send(publish(
                "rm",
                b"m",
                if n % 2 == 0 { QosPid::ExactlyOnce(pid(n)) } else { QosPid::AtLeastOnce(pid(n)) },
            ))
            .await;
        let (kind, _) = ack_of(&mut publisher).await;
        if kind == "PUBREC" {
            publisher.send(Packet::PubRel(PubAck::new(pid(n)))).await;
            ack_of(&mut publisher).await;
        }
    }
    let (one, two) = (delivery(&mut sub).await, delivery(&mut sub).await);
    sub.expect_nothing().await;
    // MQTT-3.3.4-9/4.9.0-1/4.9.0-2: two in flight, no third.
    sub.send(Packet::PingReq).await;
    assert_eq!(sub.recv().await, Packet::PingResp, "MQTT-3.3.4-10/4.9.0-3/3.12.4-1: PINGRESP with the quota at 0");
    let suback = subscribe5(&mut sub, "other", qos(QoS::AtMostOnce), None).await;
    assert!(matches!(suback.return_codes[0], SubscribeReturnCode::Granted(_)), "MQTT-4.9.0-3: SUBACK too");
    sub.send(Packet::PubAck(PubAck::new(one.qos.packet_id().unwrap()))).await;
    delivery(&mut sub).await; // the freed place goes to the third
    sub.expect_nothing().await;
    let two_id = two.qos.packet_id().unwrap();
    sub.send(Packet::PubRec(PubAck::new(two_id))).await;
    assert_eq!(ack_of(&mut sub).await.0, "PUBREL");
    sub.expect_nothing().await;
    // A PUBREC does not free the slot: the QoS 2 message still awaits PUBCOMP.
    sub.send(Packet::PubComp(PubAck::new(two_id))).await;
    let rest = receive(&mut sub, 2).await;
    assert_eq!(rest.len(), 2);
    fixture.stop().await;
}

/// [MQTT-3.8.3-3] [MQTT-3.8.3-4]: with No Local a client's own publishes
/// are not sent back to it; No Local on a shared subscription is a
/// Protocol Error.
#[tokio::test]
async fn no_local_keeps_a_clients_own_messages_from_it() {
    let fixture = Fixture::start().await;
    let mut me = login5(&fixture, "me").await;
    subscribe5(&mut me, "chat", SubscriptionOptions { no_local: true, ..qos(QoS::AtMostOnce) }, None).await;
    me.send(publish("chat", b"mine", QosPid::AtMostOnce)).await;
    let mut other = login5(&fixture, "other").await;
    other.send(publish("chat", b"theirs", QosPid::AtMostOnce)).await;
    assert_eq!(&delivery(&mut me).await.payload[..], b"theirs", "MQTT-3.8.3-3: not my own");
    me.expect_nothing().await;
    let options = SubscriptionOptions { no_local: true, ..qos(QoS::AtMostOnce) };
    me.send(Packet::Subscribe(Subscribe::new(pid(2), vec![("$share/g/chat".into(), options)]))).await;
    assert_eq!(expect_disconnect(&mut me).await.reason_code, ReasonCode::ProtocolError, "MQTT-3.8.3-4");
    fixture.stop().await;
}

/// [MQTT-3.8.3-5] [MQTT-4.7.1-1] [MQTT-4.7.1-2] [MQTT-4.7.3-1]: reserved
/// option bits, a misplaced wildcard, an empty filter or none at all are
/// refused: DISCONNECT (or, for a filter, SUBACK 0x8F).
#[tokio::test]
async fn malformed_subscribes_are_refused() {
    let fixture = Fixture::start().await;
    let subscribe = |filter: &[u8], options: u8| packet(0x82, &[vec![0, 1, 0], field(filter), vec![options]].concat());
    let cases = [
        ("MQTT-3.8.3-5: reserved bits", subscribe(b"t", 0x40)),
        ("MQTT-3.8.3-5: reserved bits", subscribe(b"t", 0x80)),
        ("QoS 3", subscribe(b"t", 0x03)),
        ("retain handling 3", subscribe(b"t", 0x30)),
        ("MQTT-4.7.1-1", subscribe(b"a/#/b", 0)),
        ("MQTT-4.7.1-1", subscribe(b"a#", 0)),
        ("MQTT-4.7.1-2", subscribe(b"a/+b", 0)),
        ("MQTT-4.7.3-1", subscribe(b"", 0)),
        ("no filter", packet(0x82, &[0, 1, 0])),
        ("no filter to unsubscribe", packet(0xA2, &[0, 1, 0])),
    ];
    for (n, (what, bytes)) in cases.into_iter().enumerate() {
        let mut client = login5(&fixture, &format!("c{n}")).await;
        send_raw(&mut client, &bytes).await;
        match client.recv().await {
            Packet::Disconnect(d) => assert!(d.reason_code as u8 >= 0x80, "{what}: {d:?}"),
            Packet::SubAck(s) if what.starts_with("MQTT-4.7") => {
                assert_eq!(s.return_codes, [SubscribeReturnCode::Failure(ReasonCode::TopicFilterInvalid)], "{what}");
                continue;
            }
            other => panic!("{what}: expected DISCONNECT, got {other:?}"),
        }
        client.expect_closed().await;
    }
    fixture.stop().await;
}

/// [MQTT-3.8.4-1] [MQTT-3.8.4-2] [MQTT-3.8.4-3] [MQTT-3.8.4-5]
/// [MQTT-3.8.4-6] [MQTT-3.8.4-7] [MQTT-3.8.4-8] [MQTT-3.9.3-1]
/// [MQTT-3.9.3-2]: one SUBACK with the SUBSCRIBE's id gives each filter, in
/// order, its granted QoS or a failure code; subscribing again to a filter
/// replaces its subscription; a delivery's QoS is the lower of the
/// published and the granted one.
#[tokio::test]
async fn suback_answers_every_filter_and_the_granted_qos_caps_deliveries() {
    let fixture = Fixture::start().await;
    let (mut carol, _) = fixture.connect(v5("carol", "carol")).await;
    let filters =
        [("a/0", QoS::AtMostOnce), ("b/x", QoS::AtLeastOnce), ("a/2", QoS::ExactlyOnce), ("a/1", QoS::AtLeastOnce)];
    let filters = filters.iter().map(|(f, q)| ((*f).to_owned(), qos(*q))).collect();
    carol.send(Packet::Subscribe(Subscribe::new(pid(0x0A0B), filters))).await;
    let Packet::SubAck(suback) = carol.recv().await else { panic!("MQTT-3.8.4-1: expected SUBACK") };
    assert_eq!(suback.packet_id, pid(0x0A0B), "MQTT-3.8.4-2");
    assert_eq!(
        suback.return_codes,
        [
            SubscribeReturnCode::Granted(QoS::AtMostOnce),
            SubscribeReturnCode::Failure(ReasonCode::NotAuthorized),
            SubscribeReturnCode::Granted(QoS::ExactlyOnce),
            SubscribeReturnCode::Granted(QoS::AtLeastOnce)
        ],
        "MQTT-3.8.4-5/6/7, MQTT-3.9.3-1/2"
    );
    subscribe5(&mut carol, "a/2", qos(QoS::AtLeastOnce), None).await;
    let mut publisher = login5(&fixture, "pub").await;
    for topic in ["a/0", "a/1", "a/2"] {
        publish_qos2(&mut publisher, qos_pid(QosPid::ExactlyOnce(pid(1)), topic, b"x")).await;
    }
    let got = receive(&mut carol, 3).await;
    let seen: Vec<(&str, QoS)> = got.iter().map(|p| (p.topic.as_ref(), p.qos.qos())).collect();
    assert_eq!(
        seen,
        [("a/0", QoS::AtMostOnce), ("a/1", QoS::AtLeastOnce), ("a/2", QoS::AtLeastOnce)],
        "MQTT-3.8.4-8: min(published, granted); MQTT-3.8.4-3: a/2 replaced at QoS 1, one copy"
    );
    carol.expect_nothing().await;
    fixture.stop().await;
}

/// [MQTT-3.10.4-1] [MQTT-3.10.4-2] [MQTT-3.10.4-3] [MQTT-3.10.4-4]
/// [MQTT-3.10.4-5] [MQTT-3.10.4-6] [MQTT-3.11.3-1] [MQTT-3.11.3-2]:
/// UNSUBSCRIBE removes exactly the filters it names and stops their
/// messages, completes deliveries already started, and gets one UNSUBACK with
/// its id and a reason code per filter, in order.
#[tokio::test]
async fn unsubscribe_removes_exactly_the_named_filters_and_says_which() {
    let fixture = Fixture::start().await;
    let mut sub = login5(&fixture, "sub").await;
    for filter in ["u/+", "v/#", "w"] {
        subscribe5(&mut sub, filter, qos(QoS::ExactlyOnce), None).await;
    }
    let mut publisher = login5(&fixture, "pub").await;
    publish_qos2(&mut publisher, qos_pid(QosPid::ExactlyOnce(pid(1)), "w", b"started")).await;
    let started = delivery(&mut sub).await;
    let unsuback = unsubscribe5(&mut sub, 0x0C0D, &["u/x", "v/#", "U/+", "w"]).await;
    assert_eq!(unsuback.packet_id, pid(0x0C0D), "MQTT-3.10.4-4/5");
    assert_eq!(
        unsuback.reason_codes,
        [
            ReasonCode::NoSubscriptionExisted,
            ReasonCode::Success,
            ReasonCode::NoSubscriptionExisted,
            ReasonCode::Success
        ],
        "MQTT-3.10.4-1/6, MQTT-3.11.3-1/2"
    );
    let id = started.qos.packet_id().unwrap();
    sub.send(Packet::PubRec(PubAck::new(id))).await;
    assert_eq!(ack_of(&mut sub).await, ("PUBREL", PubAck::new(id)), "MQTT-3.10.4-3: the delivery completes");
    sub.send(Packet::PubComp(PubAck::new(id))).await;
    for topic in ["v/a", "w", "u/x"] {
        publisher.send(publish(topic, b"m", QosPid::AtMostOnce)).await;
    }
    assert_eq!(delivery(&mut sub).await.topic.as_ref(), "u/x", "MQTT-3.10.4-2: v/# and w no longer deliver");
    sub.expect_nothing().await;
    fixture.stop().await;
}

/// [MQTT-4.7.2-1]: filters starting with a wildcard do not match topic
/// names starting with `$`.
#[tokio::test]
async fn wildcard_first_filters_do_not_match_dollar_topics() {
    let fixture = Fixture::start().await;
    add_dollar_user(&fixture).await;
    let (mut wild, _) = fixture.connect(v5("wild", "erin")).await;
    subscribe5(&mut wild, "#", qos(QoS::AtMostOnce), None).await;
    subscribe5(&mut wild, "+/y", qos(QoS::AtMostOnce), None).await;
    let (mut dollar, _) = fixture.connect(v5("dollar", "erin")).await;
    subscribe5(&mut dollar, "$x/+", qos(QoS::AtMostOnce), None).await;
    let (mut publisher, _) = fixture.connect(v5("pub", "erin")).await;
    publisher.send(publish("$x/y", b"dollar", QosPid::AtMostOnce)).await;
    publisher.send(publish("x/y", b"plain", QosPid::AtMostOnce)).await;
    assert_eq!(&delivery(&mut dollar).await.payload[..], b"dollar");
    assert_eq!(&delivery(&mut wild).await.payload[..], b"plain", "MQTT-4.7.2-1: # and +/y skip $x/y");
    wild.expect_nothing().await;
    fixture.stop().await;
}

/// [MQTT-4.6.0-5] [MQTT-4.6.0-6]: one client's messages to a topic reach a
/// subscriber (here a stored session) in the order published, per QoS.
#[tokio::test]
async fn messages_of_one_topic_arrive_in_the_order_published() {
    let fixture = Fixture::start().await;
    let (mut sub, _) = fixture.connect(lasting("stored")).await;
    subscribe5(&mut sub, "ord/#", qos(QoS::ExactlyOnce), None).await;
    let mut publisher = login5(&fixture, "pub").await;
    const N: u16 = 20;
    for n in 1..=N {
        for (topic, qos) in [("ord/1", QosPid::AtLeastOnce(pid(n))), ("ord/2", QosPid::ExactlyOnce(pid(100 + n)))] {
            let p = Publish { qos, topic: Arc::from(topic), payload: Bytes::from(n.to_string()), ..Publish::default() };
            publisher.send(Packet::Publish(p)).await;
        }
    }
    let mut done = 0;
    while done < 2 * N {
        match ack_of(&mut publisher).await {
            ("PUBREC", rec) => publisher.send(Packet::PubRel(PubAck::new(rec.packet_id))).await,
            _ => done += 1,
        }
    }
    let got = receive(&mut sub, 2 * usize::from(N)).await;
    for topic in ["ord/1", "ord/2"] {
        let order: Vec<u16> = got
            .iter()
            .filter(|p| p.topic.as_ref() == topic)
            .map(|p| std::str::from_utf8(&p.payload).unwrap().parse().unwrap())
            .collect();
        assert_eq!(order, (1..=N).collect::<Vec<_>>(), "MQTT-4.6.0-6: {topic} in the order published");
    }
    fixture.stop().await;
}

/// [MQTT-4.8.2-1] [MQTT-4.8.2-2] [MQTT-4.8.2-3]: a shared subscription's
/// filter is `$share/{ShareName}/{filter}` with a non-empty ShareName
/// without `/`, `+` or `#` (anything else gets SUBACK 0x8F); a member gets
/// messages at its granted QoS.
#[tokio::test]
async fn shared_subscriptions_are_named_and_respect_the_granted_qos() {
    let fixture = Fixture::start().await;
    let mut member = login5(&fixture, "member").await;
    for bad in ["$share//a", "$share/g", "$share/g/"] {
        let suback = subscribe5(&mut member, bad, qos(QoS::AtMostOnce), None).await;
        assert_eq!(
            suback.return_codes,
            [SubscribeReturnCode::Failure(ReasonCode::TopicFilterInvalid)],
            "MQTT-4.8.2-1/2: {bad}"
        );
    }
    let suback = subscribe5(&mut member, "$share/g/jobs", qos(QoS::AtMostOnce), None).await;
    assert_eq!(suback.return_codes, [SubscribeReturnCode::Granted(QoS::AtMostOnce)]);
    let mut publisher = login5(&fixture, "pub").await;
    publish_qos2(&mut publisher, qos_pid(QosPid::ExactlyOnce(pid(1)), "jobs", b"j")).await;
    assert_eq!(delivery(&mut member).await.qos, QosPid::AtMostOnce, "MQTT-4.8.2-3: at the granted QoS 0");
    fixture.stop().await;
}

/// [MQTT-4.8.2-4]: a shared QoS 2 message sent to a member whose connection
/// breaks is completed with that member when it is back, not handed to
/// another member.
#[tokio::test]
async fn a_shared_qos_2_message_in_flight_stays_with_its_member() {
    let fixture = Fixture::start().await;
    let (mut first, _) = fixture.connect(lasting("first")).await;
    subscribe5(&mut first, "$share/g/s2", qos(QoS::ExactlyOnce), None).await;
    let mut second = login5(&fixture, "second").await;
    subscribe5(&mut second, "$share/g/s2", qos(QoS::ExactlyOnce), None).await;
    let mut publisher = login5(&fixture, "pub").await;
    for n in 1..=2u16 {
        publish_qos2(&mut publisher, qos_pid(QosPid::ExactlyOnce(pid(n)), "s2", b"job")).await;
    }
    let held = delivery(&mut first).await;
    assert_eq!(receive(&mut second, 1).await.len(), 1, "one each");
    drop(first);
    second.expect_nothing().await;
    let (mut first, _) = fixture.connect(lasting("first")).await;
    let again = delivery(&mut first).await;
    assert!(again.dup && again.qos == held.qos, "MQTT-4.8.2-4: completed with the same member: {again:?}");
    fixture.stop().await;
}

/// [MQTT-4.8.2-5]: when a member's session ends with a shared QoS 2 message
/// in flight, the message is sent to no other member.
#[tokio::test]
async fn a_shared_qos_2_message_in_flight_dies_with_its_members_session() {
    let fixture = Fixture::start().await;
    let mut first = login5(&fixture, "first").await;
    subscribe5(&mut first, "$share/g/s2", qos(QoS::ExactlyOnce), None).await;
    let mut second = login5(&fixture, "second").await;
    subscribe5(&mut second, "$share/g/s2", qos(QoS::ExactlyOnce), None).await;
    let mut publisher = login5(&fixture, "pub").await;
    for n in 1..=2u16 {
        publish_qos2(&mut publisher, qos_pid(QosPid::ExactlyOnce(pid(n)), "s2", b"job")).await;
    }
    let held = delivery(&mut first).await;
    first.send(Packet::PubRec(PubAck::new(held.qos.packet_id().unwrap()))).await;
    assert_eq!(ack_of(&mut first).await.0, "PUBREL");
    assert_eq!(receive(&mut second, 1).await.len(), 1, "one each");
    drop(first);
    second.expect_nothing().await;
    // MQTT-4.8.2-5: the session (expiry 0) ended; its message went to nobody else.
    fixture.stop().await;
}

/// [MQTT-4.8.2-6]: a shared message a member refuses (PUBACK 0x80) is
/// discarded, not sent to another member.
#[tokio::test]
async fn a_shared_message_a_member_refuses_is_discarded() {
    let fixture = Fixture::start().await;
    let mut first = login5(&fixture, "first").await;
    subscribe5(&mut first, "$share/g/s1", qos(QoS::AtLeastOnce), None).await;
    let mut second = login5(&fixture, "second").await;
    subscribe5(&mut second, "$share/g/s1", qos(QoS::AtLeastOnce), None).await;
    let mut publisher = login5(&fixture, "pub").await;
    for n in 1..=2u16 {
        publisher.send(publish("s1", b"job", QosPid::AtLeastOnce(pid(n)))).await;
        puback(&mut publisher).await;
    }
    let refused = delivery(&mut first).await;
    let refuse = PubAck { reason_code: ReasonCode::UnspecifiedError, ..PubAck::new(refused.qos.packet_id().unwrap()) };
    first.send(Packet::PubAck(refuse)).await;
    first.send(Packet::PingReq).await;
    assert_eq!(first.recv().await, Packet::PingResp);
    assert_eq!(receive(&mut second, 1).await.len(), 1, "one each");
    drop(first);
    second.expect_nothing().await;
    // MQTT-4.8.2-6: refused, so nobody else gets it, even once the member is gone.
    fixture.stop().await;
}

/// [MQTT-4.12.0-1] [MQTT-4.12.0-6]: an Authentication Method the broker
/// does not support gets CONNACK 0x8C and the close; without one, no AUTH
/// and no Authentication Method come from the broker, and an AUTH from the
/// client is a Protocol Error.
#[tokio::test]
async fn enhanced_authentication_is_refused_and_never_started() {
    let fixture = Fixture::start().await;
    let mut scram = v5("c", "alice");
    scram.properties.authentication_method = Some("SCRAM-SHA-256".into());
    let (mut client, connack) = fixture.connect(scram).await;
    assert_eq!(connack.code, ConnectReturnCode::BadAuthenticationMethod, "MQTT-4.12.0-1");
    client.expect_closed().await;
    let (mut client, connack) = fixture.connect(v5("c", "alice")).await;
    assert_eq!(connack.properties.authentication_method, None, "MQTT-4.12.0-6");
    client.send(Packet::Auth(Auth::default())).await;
    assert_eq!(expect_disconnect(&mut client).await.reason_code, ReasonCode::ProtocolError, "MQTT-4.12.0-6");
    fixture.stop().await;
}

/// [MQTT-6.0.0-1] [MQTT-6.0.0-2] [MQTT-6.0.0-4]: a 5.0 session over
/// WebSocket: subprotocol `mqtt`, packets across frames, a text frame closes.
#[tokio::test]
async fn websocket_carries_mqtt_5_in_binary_frames() {
    let fixture = Fixture::start().await;
    let (mut ws, chosen) = websocket(&fixture, "mqtt").await;
    assert_eq!(chosen.as_deref(), Some("mqtt"), "MQTT-6.0.0-4");
    let bytes = [encoded(&Packet::Connect(v5("ws", "alice")), ProtocolVersion::V5), vec![0xC0, 0]].concat();
    for chunk in bytes.chunks(7) {
        ws.send(tungstenite::Message::Binary(Bytes::copy_from_slice(chunk))).await.unwrap();
    }
    let mut answer = Vec::new();
    while !answer.ends_with(&[0xD0, 0]) {
        answer.extend(ws_binary(&mut ws).await);
    }
    assert_eq!((answer[0], answer[3]), (0x20, 0), "MQTT-6.0.0-2: CONNACK 0x00 from a CONNECT in pieces");
    ws.send(tungstenite::Message::Text("hello".into())).await.unwrap();
    assert!(ws_closes(&mut ws).await, "MQTT-6.0.0-1");
    fixture.stop().await;
}
