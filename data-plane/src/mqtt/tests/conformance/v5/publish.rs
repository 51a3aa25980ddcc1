//! MQTT 5.0 §3.3–3.7 and §4.3–4.4: PUBLISH and its acknowledgements,
//! the QoS flows, topic aliases, message expiry and request/response.

use super::*;

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
