//! MQTT 5.0 §3.8–3.11, §4.6–4.12 and §6: SUBSCRIBE and UNSUBSCRIBE with
//! their options, ordering, shared subscriptions, the operational
//! behaviour of §4 and WebSocket.

use super::*;

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
