//! MQTT 3.1.1 (OASIS Standard, 29 October 2014): the server-side normative
//! statements a client can observe, one test per group of them.

use super::*;

/// Alice (`#`) at 3.1.1 with `client_id` and a clean session.
fn alice(client_id: &str) -> Connect {
    connect(client_id, Some("alice"), Some("pw"))
}

fn with_will(connect: Connect, will: LastWill) -> Connect {
    Connect { will: Some(will), ..connect }
}

async fn suback(client: &mut Client, id: u16, filters: &[(&str, QoS)]) -> SubAck {
    let filters = filters.iter().map(|(f, q)| ((*f).to_owned(), (*q).into())).collect();
    client.send(Packet::Subscribe(Subscribe::new(pid(id), filters))).await;
    match client.recv().await {
        Packet::SubAck(suback) => suback,
        other => panic!("expected SUBACK, got {other:?}"),
    }
}

async fn unsuback(client: &mut Client, id: u16, filters: &[&str]) -> UnsubAck {
    let filters = filters.iter().map(|f| (*f).to_owned()).collect();
    client.send(Packet::Unsubscribe(Unsubscribe::new(pid(id), filters))).await;
    match client.recv().await {
        Packet::UnsubAck(unsuback) => unsuback,
        other => panic!("expected UNSUBACK, got {other:?}"),
    }
}

async fn next_publish(client: &mut Client) -> Publish {
    match client.recv().await {
        Packet::Publish(publish) => publish,
        other => panic!("expected PUBLISH, got {other:?}"),
    }
}

/// A round trip: every packet the client sent before has been handled.
async fn ping(client: &mut Client) {
    client.send(Packet::PingReq).await;
    assert_eq!(client.recv().await, Packet::PingResp, "MQTT-3.12.4-1: PINGREQ is answered with PINGRESP");
}

/// [MQTT-1.5.3-1] [MQTT-1.5.3-2] [MQTT-3.3.2-1] [MQTT-4.7.3-2]
/// [MQTT-4.8.0-1]: ill-formed
/// UTF-8 (also an encoded surrogate) or U+0000 in any string closes the
/// connection, and what it carried goes nowhere.
#[tokio::test]
async fn ill_formed_utf8_or_a_nul_character_closes_the_connection() {
    let fixture = Fixture::start().await;
    let mut watcher = fixture.login("alice", "watcher").await;
    watcher.subscribe(&[("#", QoS::AtMostOnce)]).await;
    let bad_topics: [&[u8]; 4] = [&[0xC3, 0x28], &[0xED, 0xA0, 0x80], &[0xFF], b"a\0b"];
    for (n, topic) in bad_topics.into_iter().enumerate() {
        let cases = [
            ("PUBLISH", packet(0x30, &[field(topic), b"x".to_vec()].concat())),
            ("SUBSCRIBE", packet(0x82, &[vec![0, 1], field(topic), vec![0]].concat())),
            ("UNSUBSCRIBE", packet(0xA2, &[vec![0, 1], field(topic)].concat())),
        ];
        for (kind, bytes) in cases {
            let mut client = fixture.login("alice", &format!("bad-{n}")).await;
            send_raw(&mut client, &bytes).await;
            expect_closed_for(&mut client, &format!("MQTT-1.5.3-1/2: {kind} with topic {topic:?}")).await;
        }
        let answer = answer_to(&fixture, &raw_connect(4, 0xC2, &alice_payload(topic))).await;
        assert!(answer.is_empty(), "MQTT-1.5.3-1: a CONNECT whose client id is not UTF-8 gets no CONNACK: {answer:?}");
    }
    watcher.expect_nothing().await;
    fixture.stop().await;
}

/// [MQTT-1.5.3-3] [MQTT-4.7.3-4]: a BOM is part of the string, and topics
/// match byte for byte, without normalisation (case, Unicode forms, empty
/// levels, a trailing separator).
#[tokio::test]
async fn topics_match_byte_for_byte_and_a_bom_is_kept() {
    let fixture = Fixture::start().await;
    let mut sub = fixture.login("alice", "sub").await;
    sub.subscribe(&[("n/\u{e9}", QoS::AtMostOnce), ("\u{feff}bom", QoS::AtMostOnce)]).await;
    let mut publisher = fixture.login("alice", "pub").await;
    for topic in ["n/e\u{301}", "N/\u{e9}", "n/\u{e9}/", "n//\u{e9}", "bom", "n/\u{e9}", "\u{feff}bom"] {
        publisher.send(publish(topic, b"m", QosPid::AtMostOnce)).await;
    }
    assert_eq!(next_publish(&mut sub).await.topic.as_ref(), "n/\u{e9}", "MQTT-4.7.3-4: no normalisation");
    assert_eq!(next_publish(&mut sub).await.topic.as_ref(), "\u{feff}bom", "MQTT-1.5.3-3: the BOM is kept");
    sub.expect_nothing().await;
    fixture.stop().await;
}

/// [MQTT-2.2.2-2] [MQTT-3.6.1-1] [MQTT-3.8.1-1] [MQTT-3.10.1-1]
/// [MQTT-3.14.1-1] [MQTT-3.3.1-4]: a fixed header with reserved flags other
/// than the spec's, or a PUBLISH with both QoS bits set, closes the
/// connection; a DISCONNECT with bad flags is no DISCONNECT, so the will goes
/// out as after any protocol violation.
#[tokio::test]
async fn reserved_header_flags_and_qos_3_close_the_connection() {
    let fixture = Fixture::start().await;
    let mut watcher = fixture.login("alice", "watcher").await;
    watcher.subscribe(&[("w/#", QoS::AtMostOnce)]).await;
    let cases: [(&str, Vec<u8>); 6] = [
        ("MQTT-3.6.1-1", vec![0x60, 2, 0, 1]),
        ("MQTT-3.8.1-1", packet(0x80, &[vec![0, 1], field(b"t"), vec![0]].concat())),
        ("MQTT-3.10.1-1", packet(0xA0, &[vec![0, 1], field(b"t")].concat())),
        ("MQTT-2.2.2-2", vec![0xC1, 0]),
        ("MQTT-3.3.1-4", packet(0x36, &[field(b"t"), vec![0, 1], b"x".to_vec()].concat())),
        ("MQTT-3.14.1-1", vec![0xE1, 0]),
    ];
    for (n, (id, bytes)) in cases.into_iter().enumerate() {
        let topic = format!("w/{n}");
        let (mut client, connack) =
            fixture.connect(with_will(alice(&format!("c{n}")), will(&topic, b"gone", QoS::AtMostOnce, false))).await;
        assert_eq!(connack.code, ConnectReturnCode::Accepted);
        send_raw(&mut client, &bytes).await;
        expect_closed_for(&mut client, id).await;
        let will = next_publish(&mut watcher).await;
        assert_eq!(will.topic.as_ref(), topic, "{id}: closed as a protocol violation, so the will is published");
    }
    fixture.stop().await;
}

/// [MQTT-2.3.1-1] [MQTT-2.3.1-4] [MQTT-2.3.1-5] [MQTT-2.3.1-6]
/// [MQTT-2.3.1-7] [MQTT-2.2.2-1]: the broker's acknowledgements carry the
/// client's packet ids; its own QoS 1 and 2 publishes carry non-zero ids,
/// distinct while in flight, its QoS 0 ones none; its PUBREL has the flags
/// 0010 (the client's codec refuses anything else).
#[tokio::test]
async fn packet_identifiers_are_echoed_and_assigned() {
    let fixture = Fixture::start().await;
    let mut sub = fixture.login("alice", "sub").await;
    let ack = suback(&mut sub, 0x0102, &[("ids", QoS::ExactlyOnce)]).await;
    assert_eq!(ack.packet_id, pid(0x0102), "MQTT-2.3.1-7: SUBACK has the SUBSCRIBE's id");
    let mut publisher = fixture.login("alice", "pub").await;
    publisher.send(publish("ids", b"zero", QosPid::AtMostOnce)).await;
    publisher.send(publish("ids", b"one", QosPid::AtLeastOnce(pid(0x1234)))).await;
    assert_eq!(publisher.recv().await, Packet::PubAck(PubAck::new(pid(0x1234))), "MQTT-2.3.1-6: PUBACK's id");
    publisher.send(publish("ids", b"two", QosPid::ExactlyOnce(pid(0x4321)))).await;
    assert_eq!(publisher.recv().await, Packet::PubRec(PubAck::new(pid(0x4321))), "MQTT-2.3.1-6: PUBREC's id");
    publisher.send(Packet::PubRel(PubAck::new(pid(0x4321)))).await;
    assert_eq!(publisher.recv().await, Packet::PubComp(PubAck::new(pid(0x4321))), "MQTT-2.3.1-6: PUBCOMP's id");

    let zero = next_publish(&mut sub).await;
    assert_eq!((zero.qos, &zero.payload[..]), (QosPid::AtMostOnce, &b"zero"[..]), "MQTT-2.3.1-5: no id at QoS 0");
    let one = next_publish(&mut sub).await;
    let two = next_publish(&mut sub).await;
    let (Some(one_id), Some(two_id)) = (one.qos.packet_id(), two.qos.packet_id()) else {
        panic!("MQTT-2.3.1-1: QoS 1 and 2 publishes carry a packet id: {one:?} {two:?}")
    };
    assert_ne!(one_id, two_id, "MQTT-2.3.1-4: an id in flight is not reused");
    sub.send(Packet::PubRec(PubAck::new(two_id))).await;
    assert_eq!(sub.recv().await, Packet::PubRel(PubAck::new(two_id)), "MQTT-2.3.1-6: PUBREL has the PUBLISH's id");
    sub.send(Packet::PubComp(PubAck::new(two_id))).await;
    sub.send(Packet::PubAck(PubAck::new(one_id))).await;
    let ack = unsuback(&mut sub, 0x0A0B, &["ids"]).await;
    assert_eq!(ack.packet_id, pid(0x0A0B), "MQTT-2.3.1-7: UNSUBACK has the UNSUBSCRIBE's id");
    fixture.stop().await;
}

/// [MQTT-3.1.0-1] [MQTT-4.8.0-1]: a connection whose first packet is not
/// CONNECT is closed without an answer.
#[tokio::test]
async fn a_first_packet_other_than_connect_is_not_answered() {
    let fixture = Fixture::start().await;
    let cases = [
        encoded(&publish("t", b"x", QosPid::AtLeastOnce(pid(1))), ProtocolVersion::V3_1_1),
        encoded(
            &Packet::Subscribe(Subscribe::new(pid(1), vec![("t".into(), QoS::AtMostOnce.into())])),
            ProtocolVersion::V3_1_1,
        ),
        encoded(&Packet::PingReq, ProtocolVersion::V3_1_1),
    ];
    for bytes in cases {
        assert!(answer_to(&fixture, &bytes).await.is_empty(), "MQTT-3.1.0-1: nothing before CONNECT is answered");
    }
    fixture.stop().await;
}

/// [MQTT-3.1.0-2]: a second CONNECT is a protocol violation; the client is
/// disconnected.
#[tokio::test]
async fn a_second_connect_closes_the_connection() {
    let fixture = Fixture::start().await;
    let mut client = fixture.login("alice", "twice").await;
    client.send(Packet::Connect(alice("twice"))).await;
    client.expect_closed().await;
    fixture.stop().await;
}

/// [MQTT-3.1.2-1] [MQTT-3.1.2-2] [MQTT-3.1.2-3]: a CONNECT not named "MQTT"
/// is not processed as MQTT (no CONNACK); an unsupported level gets return
/// code 1 and the close; a reserved flag set closes without a CONNACK.
#[tokio::test]
async fn protocol_name_level_and_reserved_flag_are_checked() {
    let fixture = Fixture::start().await;
    let mut wrong_name = raw_connect(4, 0xC2, &alice_payload(b"c"));
    wrong_name[7] = b'X';
    assert!(answer_to(&fixture, &wrong_name).await.is_empty(), "MQTT-3.1.2-1: not processed as MQTT");
    for level in [3, 6, 255] {
        let answer = answer_to(&fixture, &raw_connect(level, 0xC2, &alice_payload(b"c"))).await;
        assert_eq!(answer, [0x20, 2, 0, 1], "MQTT-3.1.2-2: level {level} gets return code 1, then the close");
    }
    let answer = answer_to(&fixture, &raw_connect(4, 0xC3, &alice_payload(b"c"))).await;
    assert!(answer.is_empty(), "MQTT-3.1.2-3: the reserved flag set closes without CONNACK: {answer:?}");
    fixture.stop().await;
}

/// [MQTT-3.1.4-1]: a CONNECT that does not conform to §3.1 (the client's
/// obligations [MQTT-3.1.2-9], [MQTT-3.1.2-11], [MQTT-3.1.2-13],
/// [MQTT-3.1.2-14], [MQTT-3.1.2-15], [MQTT-3.1.2-18] to [MQTT-3.1.2-22],
/// [MQTT-3.1.3-3], [MQTT-3.1.3-10], [MQTT-3.1.3-11] broken) is closed
/// without a CONNACK.
#[tokio::test]
async fn a_malformed_connect_is_closed_without_connack() {
    let fixture = Fixture::start().await;
    let c = field(b"c");
    let will_fields = [field(b"w"), field(b"bye")].concat();
    let cases: [(&str, u8, Vec<u8>); 10] = [
        ("will QoS without the will flag", 0x0A, c.clone()),
        ("will retain without the will flag", 0x22, c.clone()),
        ("will QoS 3", 0x1E, [c.clone(), will_fields.clone()].concat()),
        ("will flag without will fields", 0x06, c.clone()),
        ("password flag without user name flag", 0x42, [c.clone(), field(b"pw")].concat()),
        ("user name flag without a user name", 0x82, c.clone()),
        ("a user name without its flag", 0x02, [c.clone(), field(b"alice")].concat()),
        ("no client id", 0x02, Vec::new()),
        ("will topic not UTF-8", 0x06, [c.clone(), field(&[0xC3, 0x28]), field(b"bye")].concat()),
        ("user name not UTF-8", 0x82, [c.clone(), field(&[0xC3, 0x28])].concat()),
    ];
    for (what, flags, payload) in cases {
        let answer = answer_to(&fixture, &raw_connect(4, flags, &payload)).await;
        assert!(answer.is_empty(), "MQTT-3.1.4-1: {what}: closed without CONNACK, got {answer:?}");
    }
    fixture.stop().await;
}

/// [MQTT-3.1.2-4] [MQTT-3.1.2-5] [MQTT-3.2.2-2] [MQTT-3.2.2-3]
/// [MQTT-3.1.3-2] [MQTT-3.1.4-3] [MQTT-4.1.0-1] [MQTT-4.5.0-1]: a
/// CleanSession 0 connection creates a session (session present 0), which
/// outlives it, even a broker restart, keeps its subscriptions and stores
/// the QoS 1 and 2 messages matching them, and is resumed (session present
/// 1) by its client id only.
#[tokio::test]
async fn a_persistent_session_is_kept_and_resumed_by_its_client_id() {
    let fixture = Fixture::start().await;
    let (mut keeper, connack) = fixture.connect(persistent("keeper")).await;
    assert!(!connack.session_present, "MQTT-3.2.2-3: no stored session, session present 0");
    keeper.subscribe(&[("p/#", QoS::ExactlyOnce)]).await;
    keeper.send(Packet::Disconnect(Disconnect::default())).await;
    keeper.expect_closed().await;
    let (other, connack) = fixture.connect(persistent("other")).await;
    assert!(!connack.session_present, "MQTT-3.1.3-2: another client id has no session");
    drop(other);
    let mut publisher = fixture.login("alice", "pub").await;
    publish_each_qos(&mut publisher, "p/x").await;
    drop(publisher);
    let fixture = fixture.restart().await;

    let (mut keeper, connack) = fixture.connect(persistent("keeper")).await;
    assert!(connack.session_present, "MQTT-3.2.2-2: the stored session is resumed, session present 1");
    let got = receive(&mut keeper, 2).await;
    let kept: Vec<_> = got.iter().map(|p| (&p.payload[..], p.qos.qos())).collect();
    assert_eq!(kept, [(&b"one"[..], QoS::AtLeastOnce), (b"two", QoS::ExactlyOnce)], "MQTT-3.1.2-5: QoS 1 and 2 kept");
    let mut publisher = fixture.login("alice", "pub").await;
    publisher.send(publish("p/y", b"live", QosPid::AtMostOnce)).await;
    assert_eq!(&next_publish(&mut keeper).await.payload[..], b"live", "MQTT-3.1.2-4: the subscription is resumed");
    fixture.stop().await;
}

/// [MQTT-3.1.2-6] [MQTT-3.2.2-1] [MQTT-3.1.4-3]: CleanSession 1 discards
/// the stored session (session present 0, nothing it queued arrives), and
/// what the clean session held is not reused by a later CleanSession 0 one.
#[tokio::test]
async fn a_clean_session_discards_the_stored_one_and_is_not_kept() {
    let fixture = Fixture::start().await;
    let (mut client, _) = fixture.connect(persistent("fresh")).await;
    client.subscribe(&[("c/#", QoS::AtLeastOnce)]).await;
    drop(client);
    let mut publisher = fixture.login("alice", "pub").await;
    publisher.send(publish("c/x", b"queued", QosPid::AtLeastOnce(pid(1)))).await;
    assert_eq!(publisher.recv().await, Packet::PubAck(PubAck::new(pid(1))));
    let (mut clean, connack) = fixture.connect(alice("fresh")).await;
    assert!(!connack.session_present, "MQTT-3.2.2-1: CleanSession 1 gets session present 0");
    clean.expect_nothing().await;
    clean.subscribe(&[("d/#", QoS::AtLeastOnce)]).await;
    clean.send(Packet::Disconnect(Disconnect::default())).await;
    clean.expect_closed().await;
    publisher.send(publish("d/x", b"for the clean one", QosPid::AtLeastOnce(pid(2)))).await;
    assert_eq!(publisher.recv().await, Packet::PubAck(PubAck::new(pid(2))));
    publisher.send(publish("c/x", b"for the old one", QosPid::AtLeastOnce(pid(3)))).await;
    assert_eq!(publisher.recv().await, Packet::PubAck(PubAck::new(pid(3))));
    let (mut later, connack) = fixture.connect(persistent("fresh")).await;
    assert!(!connack.session_present, "MQTT-3.1.2-6: the clean session's state is not reused");
    later.expect_nothing().await;
    fixture.stop().await;
}

/// [MQTT-3.1.2-7]: retained messages are not part of the session; they
/// stay when the session that published them ends.
#[tokio::test]
async fn retained_messages_outlive_the_session_that_published_them() {
    let fixture = Fixture::start().await;
    let mut publisher = fixture.login("alice", "gone").await;
    publisher.send(publish_retained("kept", b"still here", QosPid::AtLeastOnce(pid(1)))).await;
    assert_eq!(publisher.recv().await, Packet::PubAck(PubAck::new(pid(1))));
    publisher.send(Packet::Disconnect(Disconnect::default())).await;
    publisher.expect_closed().await;
    let mut late = fixture.login("alice", "late").await;
    late.subscribe(&[("kept", QoS::AtMostOnce)]).await;
    assert_eq!(&next_publish(&mut late).await.payload[..], b"still here", "MQTT-3.1.2-7: not deleted with the session");
    fixture.stop().await;
}

/// [MQTT-3.1.2-8] [MQTT-3.1.2-12] [MQTT-3.1.2-16] [MQTT-3.1.2-17]: a
/// connection that ends without DISCONNECT publishes its will, retained if
/// Will Retain is 1 and not otherwise; one without a will publishes nothing.
#[tokio::test]
async fn the_will_is_published_when_the_connection_ends_without_disconnect() {
    let fixture = Fixture::start().await;
    let mut watcher = fixture.login("alice", "watcher").await;
    watcher.subscribe(&[("will/#", QoS::AtLeastOnce)]).await;
    let (plain, _) =
        fixture.connect(with_will(alice("plain"), will("will/plain", b"p", QoS::AtLeastOnce, false))).await;
    drop(plain);
    let got = receive(&mut watcher, 1).await;
    assert_eq!((got[0].topic.as_ref(), got[0].qos.qos()), ("will/plain", QoS::AtLeastOnce), "MQTT-3.1.2-8");
    let (kept, _) = fixture.connect(with_will(alice("kept"), will("will/kept", b"k", QoS::AtMostOnce, true))).await;
    drop(kept);
    assert_eq!(next_publish(&mut watcher).await.topic.as_ref(), "will/kept", "MQTT-3.1.2-8");
    let (silent, _) = fixture.connect(alice("silent")).await;
    drop(silent);
    watcher.expect_nothing().await;

    let mut late = fixture.login("alice", "late").await;
    late.subscribe(&[("will/#", QoS::AtMostOnce)]).await;
    let retained = next_publish(&mut late).await;
    assert!(retained.retain && retained.topic.as_ref() == "will/kept", "MQTT-3.1.2-17: retained: {retained:?}");
    late.expect_nothing().await;
    // MQTT-3.1.2-16: will/plain was published as a non-retained message, so the late subscriber got only will/kept.
    fixture.stop().await;
}

/// [MQTT-3.14.4-3] [MQTT-3.1.2-10]: DISCONNECT discards the will, also when
/// the session lives on and ends later; a will is published once.
#[tokio::test]
async fn disconnect_discards_the_will_and_a_will_is_published_once() {
    let fixture = Fixture::start().await;
    let mut watcher = fixture.login("alice", "watcher").await;
    watcher.subscribe(&[("will/#", QoS::AtMostOnce)]).await;
    let (mut polite, _) =
        fixture.connect(with_will(persistent("polite"), will("will/polite", b"x", QoS::AtMostOnce, false))).await;
    polite.send(Packet::Disconnect(Disconnect::default())).await;
    polite.expect_closed().await;
    // The stored session ends now: no will is left to publish.
    let (ender, _) = fixture.connect(alice("polite")).await;
    drop(ender);
    watcher.expect_nothing().await;

    let (rude, _) =
        fixture.connect(with_will(persistent("rude"), will("will/rude", b"x", QoS::AtMostOnce, false))).await;
    drop(rude);
    assert_eq!(next_publish(&mut watcher).await.topic.as_ref(), "will/rude");
    let (mut back, connack) = fixture.connect(persistent("rude")).await;
    assert!(connack.session_present);
    back.send(Packet::Disconnect(Disconnect::default())).await;
    back.expect_closed().await;
    let (ender, _) = fixture.connect(alice("rude")).await;
    drop(ender);
    watcher.expect_nothing().await;
    fixture.stop().await;
}

/// [MQTT-3.1.2-24]: with Keep Alive 1 s, a client that sends nothing is
/// disconnected as if the network had failed (its will is published).
#[tokio::test]
async fn keep_alive_disconnects_an_idle_client_as_a_network_failure() {
    let fixture = Fixture::start().await;
    let mut watcher = fixture.login("alice", "watcher").await;
    watcher.subscribe(&[("idle", QoS::AtMostOnce)]).await;
    let idle =
        Connect { keep_alive: 1, ..with_will(alice("idle"), will("idle", b"timed out", QoS::AtMostOnce, false)) };
    let (mut client, _) = fixture.connect(idle).await;
    client.expect_closed().await;
    assert_eq!(&next_publish(&mut watcher).await.payload[..], b"timed out", "MQTT-3.1.2-24: as if the network failed");
    fixture.stop().await;
}

/// [MQTT-3.1.3-5]: client ids of 1 to 23 bytes of [0-9a-zA-Z] are allowed.
#[tokio::test]
async fn client_ids_of_1_to_23_alphanumerics_are_allowed() {
    let fixture = Fixture::start().await;
    for id in ["0", "0123456789abcdefghijklm", "nopqrstuvwxyzABCDEFGHIJ", "KLMNOPQRSTUVWXYZ"] {
        let (_, connack) = fixture.connect(alice(id)).await;
        assert_eq!(connack.code, ConnectReturnCode::Accepted, "MQTT-3.1.3-5: {id:?} is allowed");
    }
    fixture.stop().await;
}

/// [MQTT-3.1.3-6] [MQTT-3.1.3-8] [MQTT-3.1.3-9] [MQTT-3.2.2-4]
/// [MQTT-3.2.2-5]: an empty client id with a clean session gets an id of
/// its own (two such clients do not take each other over); with
/// CleanSession 0 it is rejected with return code 2, session present 0, and
/// the close.
#[tokio::test]
async fn an_empty_client_id_is_assigned_one_only_with_a_clean_session() {
    let fixture = Fixture::start().await;
    let mut first = fixture.login("alice", "").await;
    let mut second = fixture.login("alice", "").await;
    first.subscribe(&[("anon", QoS::AtMostOnce)]).await;
    second.send(publish("anon", b"hi", QosPid::AtMostOnce)).await;
    assert_eq!(&next_publish(&mut first).await.payload[..], b"hi", "MQTT-3.1.3-6: each has a unique id");
    ping(&mut second).await;
    let answer = answer_to(&fixture, &raw_connect(4, 0xC0, &alice_payload(b""))).await;
    assert_eq!(answer, [0x20, 2, 0, 2], "MQTT-3.1.3-8: return code 2, session present 0, then the close");
    fixture.stop().await;
}

/// [MQTT-3.1.4-2] [MQTT-3.12.4-1]: a second connection with a connected
/// client id disconnects the first; the second answers PINGREQ.
#[tokio::test]
async fn a_second_connection_with_the_same_client_id_disconnects_the_first() {
    let fixture = Fixture::start().await;
    let mut first = fixture.login("alice", "same").await;
    let mut second = fixture.login("alice", "same").await;
    first.expect_closed().await;
    ping(&mut second).await;
    fixture.stop().await;
}

/// [MQTT-3.1.4-4] [MQTT-3.2.0-1]: an accepted CONNECT is answered with
/// return code 0, before anything else, even packets the client sent right
/// behind its CONNECT and messages a resumed session has in flight.
#[tokio::test]
async fn connack_with_return_code_0_comes_first() {
    let fixture = Fixture::start().await;
    let (mut sub, _) = fixture.connect(persistent("first")).await;
    sub.subscribe(&[("f", QoS::AtLeastOnce)]).await;
    let mut publisher = fixture.login("alice", "pub").await;
    publisher.send(publish("f", b"in flight", QosPid::AtLeastOnce(pid(1)))).await;
    assert_eq!(publisher.recv().await, Packet::PubAck(PubAck::new(pid(1))));
    next_publish(&mut sub).await;
    drop(sub);

    let stream = TcpStream::connect(fixture.addr).await.unwrap();
    let mut client = Client(Framed::new(stream, MqttCodec::new(1 << 20)));
    let pipelined = [
        encoded(&Packet::Connect(persistent("first")), ProtocolVersion::V3_1_1),
        encoded(
            &Packet::Subscribe(Subscribe::new(pid(9), vec![("g".into(), QoS::AtMostOnce.into())])),
            ProtocolVersion::V3_1_1,
        ),
        encoded(&Packet::PingReq, ProtocolVersion::V3_1_1),
    ]
    .concat();
    send_raw(&mut client, &pipelined).await;
    match client.recv().await {
        Packet::ConnAck(connack) => {
            assert_eq!(connack.code, ConnectReturnCode::Accepted, "MQTT-3.1.4-4: return code 0");
            assert!(connack.session_present);
        }
        other => panic!("MQTT-3.2.0-1: the first packet must be CONNACK, got {other:?}"),
    }
    let mut rest = Vec::new();
    for _ in 0..3 {
        rest.push(client.recv().await);
    }
    assert!(rest.iter().any(|p| matches!(p, Packet::Publish(p) if p.dup)), "the resend follows CONNACK: {rest:?}");
    assert!(rest.contains(&Packet::PingResp) && rest.iter().any(|p| matches!(p, Packet::SubAck(_))), "{rest:?}");
    fixture.stop().await;
}

/// [MQTT-3.1.4-5] [MQTT-3.2.2-4] [MQTT-3.2.2-5]: a refused CONNECT gets its
/// return code with session present 0 (though a session is stored for the
/// id) and the close, and nothing the client sent after it is processed.
#[tokio::test]
async fn a_refused_connect_processes_nothing_after_it() {
    let fixture = Fixture::start().await;
    let (held, _) = fixture.connect(persistent("held")).await;
    drop(held);
    let mut watcher = fixture.login("alice", "watcher").await;
    watcher.subscribe(&[("r/#", QoS::AtMostOnce)]).await;
    let refused = Connect { clean_session: false, ..connect("held", Some("alice"), Some("wrong")) };
    let bytes = [
        encoded(&Packet::Connect(refused), ProtocolVersion::V3_1_1),
        encoded(&publish_retained("r/refused", b"x", QosPid::AtMostOnce), ProtocolVersion::V3_1_1),
    ]
    .concat();
    let answer = answer_to(&fixture, &bytes).await;
    assert_eq!(answer, [0x20, 2, 0, 4], "MQTT-3.2.2-4/5: return code 4, session present 0, then the close");
    watcher.expect_nothing().await;
    let mut late = fixture.login("alice", "late").await;
    late.subscribe(&[("r/#", QoS::AtMostOnce)]).await;
    late.expect_nothing().await;
    // MQTT-3.1.4-5: neither delivered nor retained.
    fixture.stop().await;
}

/// [MQTT-3.3.1-1] [MQTT-3.3.1-2] [MQTT-3.3.1-3] [MQTT-4.3.1-1]
/// [MQTT-4.3.2-1] [MQTT-4.3.3-1] [MQTT-4.4.0-1] [MQTT-2.3.1-4]: the broker
/// sets DUP only when it redelivers, whatever the publisher's DUP was; on a
/// resumed session it resends unacknowledged PUBLISHes with their ids and
/// DUP 1, then, once PUBREC came, only PUBREL, until PUBCOMP.
#[tokio::test]
async fn dup_marks_only_redeliveries_which_resume_where_the_handshake_stopped() {
    let fixture = Fixture::start().await;
    let (mut sub, _) = fixture.connect(persistent("resumer")).await;
    sub.subscribe(&[("d", QoS::ExactlyOnce)]).await;
    let mut zero = fixture.login("alice", "zero").await;
    zero.subscribe(&[("d", QoS::AtMostOnce)]).await;
    let mut publisher = fixture.login("alice", "pub").await;
    let dup = |payload: &'static [u8], qos| match publish("d", payload, qos) {
        Packet::Publish(p) => Packet::Publish(Publish { dup: true, ..p }),
        _ => unreachable!(),
    };
    publisher.send(dup(b"one", QosPid::AtLeastOnce(pid(1)))).await;
    assert_eq!(publisher.recv().await, Packet::PubAck(PubAck::new(pid(1))));
    publisher.send(dup(b"two", QosPid::ExactlyOnce(pid(2)))).await;
    assert_eq!(publisher.recv().await, Packet::PubRec(PubAck::new(pid(2))));
    publisher.send(Packet::PubRel(PubAck::new(pid(2)))).await;
    assert_eq!(publisher.recv().await, Packet::PubComp(PubAck::new(pid(2))));
    for _ in 0..2 {
        let copy = next_publish(&mut zero).await;
        assert!(!copy.dup && copy.qos == QosPid::AtMostOnce, "MQTT-3.3.1-2/4.3.1-1: DUP 0 at QoS 0: {copy:?}");
    }
    let one = next_publish(&mut sub).await;
    let two = next_publish(&mut sub).await;
    assert!(!one.dup && !two.dup, "MQTT-3.3.1-3/4.3.2-1: a first delivery has DUP 0 whatever came in");
    drop(sub);

    let (mut sub, connack) = fixture.connect(persistent("resumer")).await;
    assert!(connack.session_present);
    let again = next_publish(&mut sub).await;
    let again_two = next_publish(&mut sub).await;
    assert!(again.dup && again.qos == one.qos && &again.payload[..] == b"one", "MQTT-3.3.1-1/4.4.0-1: {again:?}");
    assert!(again_two.dup && again_two.qos == two.qos, "MQTT-2.3.1-4: the same id again: {again_two:?}");
    sub.send(Packet::PubAck(PubAck::new(one.qos.packet_id().unwrap()))).await;
    let two_id = two.qos.packet_id().unwrap();
    sub.send(Packet::PubRec(PubAck::new(two_id))).await;
    assert_eq!(sub.recv().await, Packet::PubRel(PubAck::new(two_id)), "MQTT-4.3.3-1: PUBREL on PUBREC");
    drop(sub);
    let (mut sub, _) = fixture.connect(persistent("resumer")).await;
    assert_eq!(sub.recv().await, Packet::PubRel(PubAck::new(two_id)), "MQTT-4.3.3-1: PUBREL, not PUBLISH, again");
    sub.expect_nothing().await;
    sub.send(Packet::PubComp(PubAck::new(two_id))).await;
    ping(&mut sub).await;
    drop(sub);
    let (mut sub, _) = fixture.connect(persistent("resumer")).await;
    sub.expect_nothing().await;
    fixture.stop().await;
}

/// [MQTT-3.3.4-1] [MQTT-4.3.2-2]: QoS 0 gets no answer, QoS 1 a PUBACK;
/// after the PUBACK the same packet id, DUP set or not, is a new message.
#[tokio::test]
async fn qos_1_is_acknowledged_and_its_packet_id_then_starts_a_new_message() {
    let fixture = Fixture::start().await;
    let mut sub = fixture.login("alice", "sub").await;
    sub.subscribe(&[("q1", QoS::AtLeastOnce)]).await;
    let mut publisher = fixture.login("alice", "pub").await;
    publisher.send(publish("q1", b"zero", QosPid::AtMostOnce)).await;
    ping(&mut publisher).await;
    publisher.send(publish("q1", b"first", QosPid::AtLeastOnce(pid(5)))).await;
    assert_eq!(publisher.recv().await, Packet::PubAck(PubAck::new(pid(5))), "MQTT-4.3.2-2: PUBACK with its id");
    let again = match publish("q1", b"second", QosPid::AtLeastOnce(pid(5))) {
        Packet::Publish(p) => Packet::Publish(Publish { dup: true, ..p }),
        _ => unreachable!(),
    };
    publisher.send(again).await;
    assert_eq!(publisher.recv().await, Packet::PubAck(PubAck::new(pid(5))));
    let got = receive(&mut sub, 3).await;
    assert_eq!(payloads(&got), [&b"zero"[..], b"first", b"second"], "MQTT-4.3.2-2: a new publication each");
    fixture.stop().await;
}

/// [MQTT-4.3.3-2] [MQTT-3.3.4-1]: a QoS 2 publish gets PUBREC, a resend
/// before PUBREL gets PUBREC again and is not delivered again, PUBREL gets
/// PUBCOMP with its id, and after it the id starts a new message.
#[tokio::test]
async fn inbound_qos_2_is_delivered_once_per_handshake() {
    let fixture = Fixture::start().await;
    let mut sub = fixture.login("alice", "sub").await;
    sub.subscribe(&[("q2", QoS::AtMostOnce)]).await;
    let mut publisher = fixture.login("alice", "pub").await;
    for dup in [false, true] {
        let p = Packet::Publish(Publish {
            dup,
            qos: QosPid::ExactlyOnce(pid(7)),
            topic: Arc::from("q2"),
            payload: Bytes::from_static(b"first"),
            ..Publish::default()
        });
        publisher.send(p).await;
        assert_eq!(publisher.recv().await, Packet::PubRec(PubAck::new(pid(7))), "MQTT-4.3.3-2: PUBREC each time");
    }
    publisher.send(Packet::PubRel(PubAck::new(pid(7)))).await;
    assert_eq!(publisher.recv().await, Packet::PubComp(PubAck::new(pid(7))), "MQTT-4.3.3-2: PUBCOMP with its id");
    publisher.send(publish("q2", b"second", QosPid::ExactlyOnce(pid(7)))).await;
    assert_eq!(publisher.recv().await, Packet::PubRec(PubAck::new(pid(7))));
    publisher.send(Packet::PubRel(PubAck::new(pid(7)))).await;
    assert_eq!(publisher.recv().await, Packet::PubComp(PubAck::new(pid(7))));
    let got = receive(&mut sub, 2).await;
    assert_eq!(payloads(&got), [&b"first"[..], b"second"], "MQTT-4.3.3-2: once per handshake");
    sub.expect_nothing().await;
    fixture.stop().await;
}

/// [MQTT-3.3.1-5] [MQTT-3.3.1-6] [MQTT-3.3.1-8] [MQTT-3.3.1-7]: a retained
/// message is stored with its QoS and sent, RETAIN 1, to each new matching
/// subscription at the lower of its QoS and the granted one; a retained
/// QoS 0 publish replaces what the topic held.
#[tokio::test]
async fn retained_messages_are_stored_with_their_qos_and_sent_to_new_subscriptions() {
    let fixture = Fixture::start().await;
    let mut publisher = fixture.login("alice", "pub").await;
    publisher.send(publish_retained("k/1", b"one", QosPid::AtLeastOnce(pid(1)))).await;
    assert_eq!(publisher.recv().await, Packet::PubAck(PubAck::new(pid(1))));
    publisher.send(publish_retained("k/0", b"old", QosPid::AtLeastOnce(pid(2)))).await;
    assert_eq!(publisher.recv().await, Packet::PubAck(PubAck::new(pid(2))));
    publisher.send(publish_retained("k/0", b"zero", QosPid::AtMostOnce)).await;
    ping(&mut publisher).await;
    let mut late = fixture.login("alice", "late").await;
    late.subscribe(&[("k/+", QoS::ExactlyOnce)]).await;
    let mut got = receive(&mut late, 2).await;
    got.sort_by(|a, b| a.topic.cmp(&b.topic));
    let seen: Vec<_> = got.iter().map(|p| (p.topic.as_ref(), &p.payload[..], p.qos.qos(), p.retain)).collect();
    assert_eq!(
        seen,
        [("k/0", &b"zero"[..], QoS::AtMostOnce, true), ("k/1", b"one", QoS::AtLeastOnce, true)],
        "MQTT-3.3.1-5/6/8: stored with its QoS, sent with RETAIN 1; MQTT-3.3.1-7: QoS 0 replaced the old one"
    );
    late.expect_nothing().await;
    fixture.stop().await;
}

/// [MQTT-3.3.1-9] [MQTT-3.3.1-10] [MQTT-3.3.1-11] [MQTT-3.3.1-12]: an
/// established subscription gets RETAIN 0; an empty retained publish is
/// delivered and clears the topic (no later subscriber, even after a
/// restart, gets it); a non-retained publish neither stores nor replaces.
#[tokio::test]
async fn retain_flag_on_established_subscriptions_clearing_and_non_retained_publishes() {
    let fixture = Fixture::start().await;
    let mut sub = fixture.login("alice", "sub").await;
    sub.subscribe(&[("e/#", QoS::AtMostOnce)]).await;
    let mut publisher = fixture.login("alice", "pub").await;
    for (topic, payload) in [("e/clear", &b"x"[..]), ("e/clear", b""), ("e/keep", b"keep")] {
        let p = Packet::Publish(Publish {
            retain: true,
            topic: Arc::from(topic),
            payload: Bytes::copy_from_slice(payload),
            ..Publish::default()
        });
        publisher.send(p).await;
    }
    publisher.send(publish("e/keep", b"live", QosPid::AtMostOnce)).await;
    let got = receive(&mut sub, 4).await;
    assert!(got.iter().all(|p| !p.retain), "MQTT-3.3.1-9: RETAIN 0 on an established subscription: {got:?}");
    assert_eq!(payloads(&got), [&b"x"[..], b"", b"keep", b"live"], "MQTT-3.3.1-10: the empty one is delivered");
    drop((sub, publisher));
    let fixture = fixture.restart().await;
    let mut late = fixture.login("alice", "late").await;
    late.subscribe(&[("e/#", QoS::AtMostOnce)]).await;
    let kept = next_publish(&mut late).await;
    assert_eq!(
        (kept.topic.as_ref(), &kept.payload[..]),
        ("e/keep", &b"keep"[..]),
        "MQTT-3.3.1-10/11: e/clear holds nothing; MQTT-3.3.1-12: live did not replace keep"
    );
    late.expect_nothing().await;
    fixture.stop().await;
}

/// [MQTT-3.3.2-2] [MQTT-4.7.1-1] [MQTT-4.7.3-1]: a PUBLISH whose topic name
/// has a wildcard, or is empty, closes the connection and goes nowhere.
#[tokio::test]
async fn a_topic_name_with_wildcards_or_empty_closes_the_connection() {
    let fixture = Fixture::start().await;
    let mut watcher = fixture.login("alice", "watcher").await;
    watcher.subscribe(&[("#", QoS::AtMostOnce)]).await;
    for (n, topic) in ["a/+", "a/#", "#", "+", ""].into_iter().enumerate() {
        let mut client = fixture.login("alice", &format!("c{n}")).await;
        send_raw(&mut client, &encoded(&publish(topic, b"x", QosPid::AtMostOnce), ProtocolVersion::V3_1_1)).await;
        expect_closed_for(&mut client, &format!("MQTT-3.3.2-2/4.7.3-1: topic name {topic:?}")).await;
    }
    watcher.expect_nothing().await;
    fixture.stop().await;
}

/// [MQTT-3.3.2-3] [MQTT-4.7.1-2] [MQTT-4.7.1-3]: the broker sends a topic
/// name only to subscriptions whose filter matches it (`+` one whole level,
/// `#` any number of levels, its parent included).
#[tokio::test]
async fn deliveries_carry_topic_names_their_filters_match() {
    let fixture = Fixture::start().await;
    let mut sub = fixture.login("alice", "sub").await;
    let codes = sub.subscribe(&[("m/+/x", QoS::AtMostOnce), ("n/#", QoS::AtMostOnce), ("+", QoS::AtMostOnce)]).await;
    assert!(codes.iter().all(|c| matches!(c, SubscribeReturnCode::Granted(_))), "{codes:?}");
    let mut publisher = fixture.login("alice", "pub").await;
    for topic in ["m/a/x", "m/a/y", "m/x", "m/a/b/x", "n", "n/a/b", "no", "top", "top/level"] {
        publisher.send(publish(topic, b"t", QosPid::AtMostOnce)).await;
    }
    let got = receive(&mut sub, 5).await;
    let topics: Vec<&str> = got.iter().map(|p| p.topic.as_ref()).collect();
    assert_eq!(topics, ["m/a/x", "n", "n/a/b", "no", "top"], "MQTT-3.3.2-3: only topic names the filters match");
    sub.expect_nothing().await;
    fixture.stop().await;
}

/// [MQTT-3.3.5-1]: overlapping subscriptions of one client get the message
/// at the highest QoS among them.
#[tokio::test]
async fn overlapping_subscriptions_deliver_at_their_highest_qos() {
    let fixture = Fixture::start().await;
    let mut sub = fixture.login("alice", "sub").await;
    sub.subscribe(&[("o/+", QoS::AtMostOnce), ("o/#", QoS::ExactlyOnce), ("o/x", QoS::AtLeastOnce)]).await;
    let mut publisher = fixture.login("alice", "pub").await;
    publisher.send(publish("o/x", b"x", QosPid::ExactlyOnce(pid(1)))).await;
    assert_eq!(publisher.recv().await, Packet::PubRec(PubAck::new(pid(1))));
    publisher.send(Packet::PubRel(PubAck::new(pid(1)))).await;
    let got = receive(&mut sub, 1).await;
    assert!(got.iter().any(|p| p.qos.qos() == QoS::ExactlyOnce), "MQTT-3.3.5-1: at QoS 2: {got:?}");
    fixture.stop().await;
}

/// [MQTT-3.3.5-2]: a publish the credential may not make is acknowledged by
/// the normal QoS rules (the broker does not close the connection).
#[tokio::test]
async fn an_unauthorised_publish_is_acknowledged_as_usual() {
    let fixture = Fixture::start().await;
    let mut carol = fixture.login("carol", "carol").await;
    carol.send(publish("b/x", b"x", QosPid::AtLeastOnce(pid(1)))).await;
    assert_eq!(carol.recv().await, Packet::PubAck(PubAck::new(pid(1))), "MQTT-3.3.5-2: positive PUBACK");
    carol.send(publish("b/x", b"x", QosPid::ExactlyOnce(pid(2)))).await;
    assert_eq!(carol.recv().await, Packet::PubRec(PubAck::new(pid(2))), "MQTT-3.3.5-2: positive PUBREC");
    carol.send(Packet::PubRel(PubAck::new(pid(2)))).await;
    assert_eq!(carol.recv().await, Packet::PubComp(PubAck::new(pid(2))), "MQTT-3.3.5-2: then PUBCOMP");
    fixture.stop().await;
}

/// [MQTT-3.8.3-3] [MQTT-3.8.3-4] [MQTT-3.10.3-2] [MQTT-4.7.1-2]
/// [MQTT-4.7.1-3] [MQTT-4.7.3-1]: SUBSCRIBE without a filter, with reserved
/// bits in its options or QoS 3, with a misplaced wildcard or an empty
/// filter, and UNSUBSCRIBE without a filter, close the connection.
#[tokio::test]
async fn malformed_subscribes_and_unsubscribes_close_the_connection() {
    let fixture = Fixture::start().await;
    let subscribe = |filter: &[u8], options: u8| packet(0x82, &[vec![0, 1], field(filter), vec![options]].concat());
    let cases = [
        ("MQTT-3.8.3-3", packet(0x82, &[0, 1])),
        ("MQTT-3.8.3-4", subscribe(b"t", 0x04)),
        ("MQTT-3.8.3-4", subscribe(b"t", 0x03)),
        ("MQTT-3.10.3-2", packet(0xA2, &[0, 1])),
        ("MQTT-4.7.1-2", subscribe(b"a/#/b", 0)),
        ("MQTT-4.7.1-2", subscribe(b"a/b#", 0)),
        ("MQTT-4.7.1-3", subscribe(b"a+/b", 0)),
        ("MQTT-4.7.1-3", subscribe(b"a/+b", 0)),
        ("MQTT-4.7.3-1", subscribe(b"", 0)),
    ];
    for (n, (id, bytes)) in cases.into_iter().enumerate() {
        let mut client = fixture.login("alice", &format!("c{n}")).await;
        send_raw(&mut client, &bytes).await;
        expect_closed_for(&mut client, id).await;
    }
    fixture.stop().await;
}

/// [MQTT-3.8.4-1] [MQTT-3.8.4-2] [MQTT-3.8.4-4] [MQTT-3.8.4-5]
/// [MQTT-3.9.3-1] [MQTT-3.9.3-2]: one SUBACK with the SUBSCRIBE's id answers
/// every filter, in order, with the granted QoS or 0x80 (the client's codec
/// takes no other code), and each granted filter works as if subscribed
/// alone.
#[tokio::test]
async fn suback_answers_every_filter_in_order() {
    let fixture = Fixture::start().await;
    let mut carol = fixture.login("carol", "carol").await;
    let filters =
        [("a/0", QoS::AtMostOnce), ("b/x", QoS::AtLeastOnce), ("a/2", QoS::ExactlyOnce), ("a/1", QoS::AtLeastOnce)];
    let ack = suback(&mut carol, 0x0A0B, &filters).await;
    assert_eq!(ack.packet_id, pid(0x0A0B), "MQTT-3.8.4-2");
    assert_eq!(
        ack.return_codes,
        [
            SubscribeReturnCode::Granted(QoS::AtMostOnce),
            SubscribeReturnCode::Failure(ReasonCode::UnspecifiedError),
            SubscribeReturnCode::Granted(QoS::ExactlyOnce),
            SubscribeReturnCode::Granted(QoS::AtLeastOnce),
        ],
        "MQTT-3.8.4-5/3.9.3-1: one code per filter, in order"
    );
    let mut publisher = fixture.login("alice", "pub").await;
    for topic in ["a/0", "a/1", "a/2"] {
        publisher.send(publish(topic, b"x", QosPid::AtMostOnce)).await;
    }
    let got = receive(&mut carol, 3).await;
    let topics: Vec<&str> = got.iter().map(|p| p.topic.as_ref()).collect();
    assert_eq!(topics, ["a/0", "a/1", "a/2"], "MQTT-3.8.4-4: each filter subscribed");
    fixture.stop().await;
}

/// [MQTT-3.8.4-6]: a delivery's QoS is the lower of the published QoS and
/// the granted one.
#[tokio::test]
async fn the_granted_qos_caps_the_delivery_qos() {
    let fixture = Fixture::start().await;
    let mut sub = fixture.login("alice", "sub").await;
    sub.subscribe(&[("g", QoS::AtLeastOnce)]).await;
    let mut publisher = fixture.login("alice", "pub").await;
    publish_each_qos(&mut publisher, "g").await;
    let got = receive(&mut sub, 3).await;
    let qos: Vec<QoS> = got.iter().map(|p| p.qos.qos()).collect();
    assert_eq!(qos, [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::AtLeastOnce], "MQTT-3.8.4-6: min(published, granted)");
    fixture.stop().await;
}

/// [MQTT-3.8.4-3]: subscribing again to the same filter replaces the
/// subscription (one copy per message, at the new QoS) and sends the
/// retained messages again.
#[tokio::test]
async fn subscribing_again_replaces_the_subscription_and_resends_retained() {
    let fixture = Fixture::start().await;
    let mut publisher = fixture.login("alice", "pub").await;
    publisher.send(publish_retained("rs", b"retained", QosPid::AtLeastOnce(pid(1)))).await;
    assert_eq!(publisher.recv().await, Packet::PubAck(PubAck::new(pid(1))));
    let mut sub = fixture.login("alice", "sub").await;
    sub.subscribe(&[("rs", QoS::AtMostOnce)]).await;
    let first = next_publish(&mut sub).await;
    assert!(first.retain && first.qos == QosPid::AtMostOnce);
    sub.subscribe(&[("rs", QoS::AtLeastOnce)]).await;
    let again = receive(&mut sub, 1).await;
    assert!(again[0].retain && &again[0].payload[..] == b"retained", "MQTT-3.8.4-3: retained re-sent: {again:?}");
    publisher.send(publish("rs", b"after", QosPid::AtLeastOnce(pid(2)))).await;
    assert_eq!(publisher.recv().await, Packet::PubAck(PubAck::new(pid(2))));
    let after = receive(&mut sub, 1).await;
    assert_eq!(after[0].qos.qos(), QoS::AtLeastOnce, "MQTT-3.8.4-3: replaced, at the new QoS");
    sub.expect_nothing().await;
    fixture.stop().await;
}

/// [MQTT-3.10.4-1] [MQTT-3.10.4-2] [MQTT-3.10.4-4] [MQTT-3.10.4-5]
/// [MQTT-3.10.4-6]: UNSUBSCRIBE removes exactly the filters it names,
/// character by character, stops their messages, and is answered by one
/// UNSUBACK with its id, also when nothing matched.
#[tokio::test]
async fn unsubscribe_removes_exactly_the_named_filters() {
    let fixture = Fixture::start().await;
    let mut sub = fixture.login("alice", "sub").await;
    sub.subscribe(&[("u/+", QoS::AtMostOnce), ("v/#", QoS::AtMostOnce), ("w", QoS::AtMostOnce)]).await;
    let ack = unsuback(&mut sub, 0x0C0D, &["u/x", "U/+", "v/#", "nothing/here"]).await;
    assert_eq!(ack.packet_id, pid(0x0C0D), "MQTT-3.10.4-4: UNSUBACK with its id");
    let ack = unsuback(&mut sub, 0x0E0F, &["never"]).await;
    assert_eq!(ack.packet_id, pid(0x0E0F), "MQTT-3.10.4-5: answered though nothing was removed");
    let mut publisher = fixture.login("alice", "pub").await;
    for topic in ["v/a", "u/x", "v", "w"] {
        publisher.send(publish(topic, b"m", QosPid::AtMostOnce)).await;
    }
    let got = receive(&mut sub, 2).await;
    let topics: Vec<&str> = got.iter().map(|p| p.topic.as_ref()).collect();
    assert_eq!(topics, ["u/x", "w"], "MQTT-3.10.4-1/2/6: only v/# was removed");
    sub.expect_nothing().await;
    fixture.stop().await;
}

/// [MQTT-3.10.4-3]: QoS 1 and 2 deliveries the broker started before the
/// UNSUBSCRIBE are completed, across a reconnect too.
#[tokio::test]
async fn unsubscribing_completes_the_deliveries_in_flight() {
    let fixture = Fixture::start().await;
    let (mut sub, _) = fixture.connect(persistent("sub")).await;
    sub.subscribe(&[("f", QoS::ExactlyOnce)]).await;
    let mut publisher = fixture.login("alice", "pub").await;
    publisher.send(publish("f", b"one", QosPid::AtLeastOnce(pid(1)))).await;
    assert_eq!(publisher.recv().await, Packet::PubAck(PubAck::new(pid(1))));
    publisher.send(publish("f", b"two", QosPid::ExactlyOnce(pid(2)))).await;
    assert_eq!(publisher.recv().await, Packet::PubRec(PubAck::new(pid(2))));
    publisher.send(Packet::PubRel(PubAck::new(pid(2)))).await;
    let one = next_publish(&mut sub).await;
    let two = next_publish(&mut sub).await;
    unsuback(&mut sub, 3, &["f"]).await;
    drop(sub);
    let (mut sub, _) = fixture.connect(persistent("sub")).await;
    let again = [next_publish(&mut sub).await, next_publish(&mut sub).await];
    assert!(again[0].dup && again[0].qos == one.qos && again[1].qos == two.qos, "MQTT-3.10.4-3: {again:?}");
    let two_id = two.qos.packet_id().unwrap();
    sub.send(Packet::PubRec(PubAck::new(two_id))).await;
    assert_eq!(sub.recv().await, Packet::PubRel(PubAck::new(two_id)), "MQTT-3.10.4-3: completed");
    fixture.stop().await;
}

/// [MQTT-4.7.2-1]: filters starting with a wildcard do not match topic
/// names starting with `$`; a filter starting with the `$` level does.
#[tokio::test]
async fn wildcard_first_filters_do_not_match_dollar_topics() {
    let fixture = Fixture::start().await;
    add_dollar_user(&fixture).await;
    let mut wild = fixture.login("erin", "wild").await;
    wild.subscribe(&[("#", QoS::AtMostOnce), ("+/y", QoS::AtMostOnce), ("+/+", QoS::AtMostOnce)]).await;
    let mut dollar = fixture.login("erin", "dollar").await;
    dollar.subscribe(&[("$x/#", QoS::AtMostOnce)]).await;
    let mut publisher = fixture.login("erin", "pub").await;
    publisher.send(publish_retained("$x/y", b"dollar", QosPid::AtMostOnce)).await;
    publisher.send(publish("x/y", b"plain", QosPid::AtMostOnce)).await;
    assert_eq!(&next_publish(&mut dollar).await.payload[..], b"dollar");
    let got = receive(&mut wild, 1).await;
    assert_eq!(payloads(&got), [&b"plain"[..]], "MQTT-4.7.2-1: # and +/.. do not match $x/y");
    wild.expect_nothing().await;
    let mut late = fixture.login("erin", "late").await;
    late.subscribe(&[("#", QoS::AtMostOnce)]).await;
    late.expect_nothing().await;
    fixture.stop().await;
}

/// [MQTT-4.6.0-5] [MQTT-4.6.0-6] [MQTT-4.1.0-2]: messages one client
/// publishes to a topic reach each subscriber in the order published, per
/// QoS, whether the subscriber's session is clean or stored; a clean
/// session holds its subscriptions as long as its connection.
#[tokio::test]
async fn messages_of_one_topic_arrive_in_the_order_published() {
    let fixture = Fixture::start().await;
    let mut clean = fixture.login("alice", "clean").await;
    clean.subscribe(&[("ord/#", QoS::ExactlyOnce)]).await;
    let (mut stored, _) = fixture.connect(persistent("stored")).await;
    stored.subscribe(&[("ord/#", QoS::ExactlyOnce)]).await;
    let mut publisher = fixture.login("alice", "pub").await;
    const N: u16 = 20;
    for n in 1..=N {
        let body = Bytes::from(n.to_string());
        for (topic, qos) in [
            ("ord/0", QosPid::AtMostOnce),
            ("ord/1", QosPid::AtLeastOnce(pid(n))),
            ("ord/2", QosPid::ExactlyOnce(pid(1000 + n))),
        ] {
            let p = Publish { qos, topic: Arc::from(topic), payload: body.clone(), ..Publish::default() };
            publisher.send(Packet::Publish(p)).await;
        }
    }
    let mut acks = 0;
    while acks < 2 * N {
        match publisher.recv().await {
            Packet::PubAck(_) => acks += 1,
            Packet::PubRec(rec) => publisher.send(Packet::PubRel(PubAck::new(rec.packet_id))).await,
            Packet::PubComp(_) => acks += 1,
            other => panic!("{other:?}"),
        }
    }
    for sub in [&mut clean, &mut stored] {
        let got = receive(sub, 3 * usize::from(N)).await;
        for topic in ["ord/0", "ord/1", "ord/2"] {
            let order: Vec<u16> = got
                .iter()
                .filter(|p| p.topic.as_ref() == topic)
                .map(|p| std::str::from_utf8(&p.payload).unwrap().parse().unwrap())
                .collect();
            assert_eq!(order, (1..=N).collect::<Vec<_>>(), "MQTT-4.6.0-6: {topic} in the order published");
        }
    }
    fixture.stop().await;
}

/// [MQTT-6.0.0-1] [MQTT-6.0.0-2] [MQTT-6.0.0-4]: over WebSocket the broker
/// answers subprotocol `mqtt`, reads packets split across binary frames and
/// several in one, and closes on a text frame.
#[tokio::test]
async fn websocket_carries_mqtt_in_binary_frames() {
    let fixture = Fixture::start().await;
    let (mut ws, chosen) = websocket(&fixture, "mqtt").await;
    assert_eq!(chosen.as_deref(), Some("mqtt"), "MQTT-6.0.0-4: the subprotocol selected is mqtt");
    let connect = encoded(&Packet::Connect(alice("ws")), ProtocolVersion::V3_1_1);
    let (head, tail) = connect.split_at(5);
    ws.send(tungstenite::Message::Binary(Bytes::copy_from_slice(head))).await.unwrap();
    let tail = [tail, &[0xC0, 0], &[0xC0, 0]].concat();
    ws.send(tungstenite::Message::Binary(Bytes::from(tail))).await.unwrap();
    let mut answer = Vec::new();
    while answer.len() < 8 {
        answer.extend(ws_binary(&mut ws).await);
    }
    assert_eq!(answer, [0x20, 2, 0, 0, 0xD0, 0, 0xD0, 0], "MQTT-6.0.0-2: packets are not aligned to frames");
    ws.send(tungstenite::Message::Text("\u{c0}\u{0}".into())).await.unwrap();
    assert!(ws_closes(&mut ws).await, "MQTT-6.0.0-1: a text frame closes the connection");
    let (_ws, chosen) = websocket(&fixture, "mqttv3.1, mqtt").await;
    assert_eq!(chosen.as_deref(), Some("mqtt"), "MQTT-6.0.0-4: mqtt is selected whenever it is offered");
    fixture.stop().await;
}
