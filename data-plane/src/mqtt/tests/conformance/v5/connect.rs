//! MQTT 5.0 §1–3.2: data representation, the control packet format,
//! CONNECT (sessions, wills, keep alive, limits) and CONNACK.

use super::*;

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
