//! MQTT 5.0 over loopback with this crate's codec as the client: what the
//! broker tells in CONNACK, properties carried from publisher to subscriber,
//! subscription options and identifiers, reason codes, topic aliases,
//! session expiry, will delay, message expiry and takeover.

use super::*;

/// Alice (`#`) or Carol (`a/#`) at MQTT 5.0.
pub(super) fn v5(client_id: &str, username: &str) -> Connect {
    Connect { protocol: ProtocolVersion::V5, ..connect(client_id, Some(username), Some("pw")) }
}

pub(super) fn with_expiry(connect: Connect, seconds: u32) -> Connect {
    let mut connect = connect;
    connect.clean_session = false;
    connect.properties.session_expiry_interval = Some(seconds);
    connect
}

pub(super) async fn login5(fixture: &Fixture, client_id: &str) -> Client {
    let (client, connack) = fixture.connect(v5(client_id, "alice")).await;
    assert_eq!(connack.code, ConnectReturnCode::Accepted);
    client
}

pub(super) async fn subscribe5(
    client: &mut Client,
    filter: &str,
    options: SubscriptionOptions,
    id: Option<u32>,
) -> SubAck {
    let mut subscribe = Subscribe::new(pid(1), vec![(filter.to_string(), options)]);
    subscribe.properties.subscription_identifier = id;
    client.send(Packet::Subscribe(subscribe)).await;
    match client.recv().await {
        Packet::SubAck(suback) => suback,
        other => panic!("expected SUBACK, got {other:?}"),
    }
}

pub(super) fn qos(qos: QoS) -> SubscriptionOptions {
    qos.into()
}

pub(super) async fn puback(client: &mut Client) -> PubAck {
    match client.recv().await {
        Packet::PubAck(ack) => ack,
        other => panic!("expected PUBACK, got {other:?}"),
    }
}

pub(super) async fn delivery(client: &mut Client) -> Publish {
    match client.recv().await {
        Packet::Publish(publish) => publish,
        other => panic!("expected PUBLISH, got {other:?}"),
    }
}

#[tokio::test]
async fn connack_tells_the_limits_and_assigns_an_empty_client_id() {
    let fixture = Fixture::start().await;
    let mut unbounded = v5("", "alice");
    unbounded.keep_alive = 0;
    let (_, connack) = fixture.connect(unbounded).await;
    assert_eq!(connack.code, ConnectReturnCode::Accepted);
    let p = &connack.properties;
    let assigned = p.assigned_client_identifier.clone().expect("MQTT-3.2.2-16: an assigned client id is told");
    assert!(!assigned.is_empty());
    assert_eq!(p.receive_maximum, Some(1024));
    assert_eq!(p.topic_alias_maximum, Some(64));
    assert_eq!(p.maximum_packet_size, Some(4096));
    assert_eq!(p.server_keep_alive, Some(3600), "no keep alive asked: the broker sets one");
    let mut short = v5("short", "alice");
    short.keep_alive = 30;
    let (_, connack) = fixture.connect(short).await;
    assert_eq!(connack.properties.server_keep_alive, None, "a keep alive within bounds stands");
    // Enhanced authentication is not offered: 0x8C (MQTT-4.12.0-1).
    let mut auth = v5("c", "alice");
    auth.properties.authentication_method = Some("SCRAM-SHA-256".into());
    let (mut client, connack) = fixture.connect(auth).await;
    assert_eq!(connack.code, ConnectReturnCode::BadAuthenticationMethod);
    client.expect_closed().await;
    let (_, connack) = fixture.connect(v5("c", "nobody")).await;
    assert_eq!(connack.code, ConnectReturnCode::BadUserNameOrPassword);
    assert_eq!(connack.properties.reason_string.as_deref(), Some("bad user name or password"), "MQTT-3.2.2-19");
    fixture.stop().await;
}

#[tokio::test]
async fn properties_travel_from_publisher_to_subscriber_with_subscription_identifiers() {
    let fixture = Fixture::start().await;
    let mut sub = login5(&fixture, "sub").await;
    subscribe5(&mut sub, "req/#", qos(QoS::AtLeastOnce), Some(42)).await;
    let mut publisher = login5(&fixture, "pub").await;
    let mut request = Publish {
        topic: Arc::from("req/1"),
        payload: Bytes::from_static(b"{\"n\":1}"),
        qos: QosPid::AtLeastOnce(pid(5)),
        ..Publish::default()
    };
    request.properties.response_topic = Some("replies/pub".into());
    request.properties.correlation_data = Some(Bytes::from_static(b"c-17"));
    request.properties.content_type = Some("application/json".into());
    request.properties.payload_format_indicator = Some(PayloadFormat::Utf8);
    request.properties.message_expiry_interval = Some(300);
    request.properties.user_properties = vec![("trace".into(), "t-1".into()), ("trace".into(), "t-2".into())];
    publisher.send(Packet::Publish(request)).await;
    assert_eq!(puback(&mut publisher).await.reason_code, ReasonCode::Success);
    let got = delivery(&mut sub).await;
    let p = &got.properties;
    assert_eq!(p.response_topic.as_deref(), Some("replies/pub"), "MQTT-3.3.2-15");
    assert_eq!(p.correlation_data.as_deref(), Some(&b"c-17"[..]), "MQTT-3.3.2-16");
    assert_eq!(p.content_type.as_deref(), Some("application/json"), "MQTT-3.3.2-20");
    assert_eq!(p.payload_format_indicator, Some(PayloadFormat::Utf8), "MQTT-3.3.2-4");
    assert!(p.message_expiry_interval.is_some_and(|left| (299..=300).contains(&left)), "MQTT-3.3.2-6");
    assert_eq!(p.user_properties.len(), 2, "MQTT-3.3.2-17/18: user properties in order");
    assert_eq!(p.subscription_identifiers, [42], "MQTT-3.3.4-3");
    fixture.stop().await;
}

#[tokio::test]
async fn reason_codes_tell_publishers_what_happened() {
    let fixture = Fixture::start().await;
    let (mut carol, _) = fixture.connect(v5("carol", "carol")).await;
    carol.send(publish("b/forbidden", b"x", QosPid::AtLeastOnce(pid(1)))).await;
    let refused = puback(&mut carol).await;
    assert_eq!(refused.reason_code, ReasonCode::NotAuthorized);
    assert_eq!(refused.properties.reason_string.as_deref(), Some("the credential may not publish to b/forbidden"));
    carol.send(publish("b/forbidden", b"x", QosPid::ExactlyOnce(pid(2)))).await;
    let Packet::PubRec(rec) = carol.recv().await else { panic!("expected PUBREC") };
    assert_eq!(rec.reason_code, ReasonCode::NotAuthorized, "a refused QoS 2 publish ends at PUBREC");
    carol.send(publish("a/nobody-listens", b"x", QosPid::AtLeastOnce(pid(3)))).await;
    assert_eq!(puback(&mut carol).await.reason_code, ReasonCode::NoMatchingSubscribers);
    let mut bad =
        Publish { topic: Arc::from("a/text"), payload: Bytes::from_static(&[0xff, 0xfe]), ..Publish::default() };
    bad.qos = QosPid::AtLeastOnce(pid(4));
    bad.properties.payload_format_indicator = Some(PayloadFormat::Utf8);
    carol.send(Packet::Publish(bad)).await;
    assert_eq!(puback(&mut carol).await.reason_code, ReasonCode::PayloadFormatInvalid);
    let refused = subscribe5(&mut carol, "b/#", qos(QoS::AtMostOnce), None).await;
    assert_eq!(refused.return_codes, [SubscribeReturnCode::Failure(ReasonCode::NotAuthorized)]);
    assert_eq!(refused.properties.reason_string.as_deref(), Some("refused: b/#"));
    // A client that asks for no problem information gets codes without strings (MQTT-3.1.2-29).
    let mut quiet = v5("quiet", "carol");
    quiet.properties.request_problem_information = Some(false);
    let (mut quiet, _) = fixture.connect(quiet).await;
    quiet.send(publish("b/forbidden", b"x", QosPid::AtLeastOnce(pid(1)))).await;
    let refused = puback(&mut quiet).await;
    assert_eq!((refused.reason_code, refused.properties.reason_string), (ReasonCode::NotAuthorized, None));
    carol.send(Packet::PubRel(PubAck::new(pid(9)))).await;
    let Packet::PubComp(comp) = carol.recv().await else { panic!("expected PUBCOMP") };
    assert_eq!(comp.reason_code, ReasonCode::PacketIdentifierNotFound);
    carol.send(Packet::Unsubscribe(Unsubscribe::new(pid(7), vec!["a/never".into()]))).await;
    let Packet::UnsubAck(unsuback) = carol.recv().await else { panic!("expected UNSUBACK") };
    assert_eq!(unsuback.reason_codes, [ReasonCode::NoSubscriptionExisted]);
    fixture.stop().await;
}

#[tokio::test]
async fn no_local_retain_as_published_and_retain_handling() {
    let fixture = Fixture::start().await;
    let mut me = login5(&fixture, "me").await;
    let no_local = SubscriptionOptions { no_local: true, ..qos(QoS::AtMostOnce) };
    subscribe5(&mut me, "chat", no_local, None).await;
    me.send(publish("chat", b"mine", QosPid::AtMostOnce)).await;
    let mut other = login5(&fixture, "other").await;
    other.send(publish("chat", b"theirs", QosPid::AtMostOnce)).await;
    assert_eq!(&delivery(&mut me).await.payload[..], b"theirs", "MQTT-3.8.3-3: not my own");
    me.expect_nothing().await;

    let retained = Packet::Publish(Publish {
        retain: true,
        topic: Arc::from("state"),
        payload: Bytes::from_static(b"on"),
        ..Publish::default()
    });
    other.send(retained.clone()).await;
    let rap = SubscriptionOptions { retain_as_published: true, ..qos(QoS::AtMostOnce) };
    subscribe5(&mut me, "state", rap, None).await;
    assert!(delivery(&mut me).await.retain, "a retained message on subscribe has retain set");
    other.send(retained).await;
    assert!(delivery(&mut me).await.retain, "MQTT-3.3.1-12: retain as published keeps it");
    // Retain handling 1: only for a new subscription; 2: never.
    let if_new = SubscriptionOptions { retain_handling: RetainHandling::SendAtSubscribeIfNew, ..rap };
    subscribe5(&mut me, "state", if_new, None).await;
    me.expect_nothing().await;
    let never = SubscriptionOptions { retain_handling: RetainHandling::DoNotSend, ..qos(QoS::AtMostOnce) };
    let mut late = login5(&fixture, "late").await;
    subscribe5(&mut late, "state", never, None).await;
    late.expect_nothing().await;
    fixture.stop().await;
}

#[tokio::test]
async fn topic_aliases_are_set_used_and_bounded() {
    let fixture = Fixture::start().await;
    let mut sub = login5(&fixture, "sub").await;
    subscribe5(&mut sub, "long/topic/name", qos(QoS::AtMostOnce), None).await;
    let mut publisher = login5(&fixture, "pub").await;
    let mut first =
        Publish { topic: Arc::from("long/topic/name"), payload: Bytes::from_static(b"1"), ..Publish::default() };
    first.properties.topic_alias = Some(3);
    publisher.send(Packet::Publish(first)).await;
    let mut second = Publish { topic: Arc::from(""), payload: Bytes::from_static(b"2"), ..Publish::default() };
    second.properties.topic_alias = Some(3);
    publisher.send(Packet::Publish(second.clone())).await;
    assert_eq!(delivery(&mut sub).await.topic.as_ref(), "long/topic/name");
    let aliased = delivery(&mut sub).await;
    assert_eq!((aliased.topic.as_ref(), &aliased.payload[..]), ("long/topic/name", &b"2"[..]), "MQTT-3.3.2-12");
    // Above the maximum the broker told: DISCONNECT 0x94 (MQTT-3.3.2-9).
    second.properties.topic_alias = Some(65);
    publisher.send(Packet::Publish(second)).await;
    match publisher.recv().await {
        Packet::Disconnect(disconnect) => {
            assert_eq!(disconnect.reason_code, ReasonCode::TopicAliasInvalid);
            assert!(disconnect.properties.reason_string.is_some(), "the broker says why it closes");
        }
        other => panic!("expected DISCONNECT, got {other:?}"),
    }
    publisher.expect_closed().await;
    fixture.stop().await;
}

#[tokio::test]
async fn a_session_expires_after_its_interval_and_a_takeover_is_told() {
    let fixture = Fixture::start().await;
    let (client, connack) = fixture.connect(with_expiry(v5("brief", "alice"), 1)).await;
    assert!(!connack.session_present);
    drop(client);
    let (client, connack) = fixture.connect(with_expiry(v5("brief", "alice"), 1)).await;
    assert!(connack.session_present, "resumed within its expiry");
    drop(client);
    tokio::time::sleep(Duration::from_millis(2600)).await;
    let (mut first, connack) = fixture.connect(with_expiry(v5("brief", "alice"), 60)).await;
    assert!(!connack.session_present, "MQTT-3.1.2-23: gone once its interval passed");
    // The same client id again: the first connection is told 0x8E.
    let (_second, _) = fixture.connect(with_expiry(v5("brief", "alice"), 60)).await;
    match first.recv().await {
        Packet::Disconnect(disconnect) => assert_eq!(disconnect.reason_code, ReasonCode::SessionTakenOver),
        other => panic!("expected DISCONNECT, got {other:?}"),
    }
    // Expiry 0 ends the session with its connection.
    let (client, _) = fixture.connect(with_expiry(v5("fleeting", "alice"), 0)).await;
    drop(client);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (_, connack) = fixture.connect(with_expiry(v5("fleeting", "alice"), 0)).await;
    assert!(!connack.session_present);
    fixture.stop().await;
}

#[tokio::test]
async fn a_delayed_will_waits_and_a_reconnect_cancels_it() {
    let fixture = Fixture::start().await;
    let mut watcher = login5(&fixture, "watcher").await;
    subscribe5(&mut watcher, "wills/#", qos(QoS::AtMostOnce), None).await;
    let with_will = |client_id: &str, topic: &str| {
        let mut connect = with_expiry(v5(client_id, "alice"), 60);
        let mut will =
            LastWill { topic: Arc::from(topic), payload: Bytes::from_static(b"gone"), ..LastWill::default() };
        will.properties.will_delay_interval = Some(1);
        connect.will = Some(will);
        connect
    };
    let (dropped, _) = fixture.connect(with_will("dropped", "wills/dropped")).await;
    drop(dropped);
    let (back, _) = fixture.connect(with_will("back", "wills/back")).await;
    drop(back);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_back_again, connack) = fixture.connect(with_expiry(v5("back", "alice"), 60)).await;
    assert!(connack.session_present);
    watcher.expect_nothing().await;
    // Nothing within the first 400 ms of a 1 s delay; then only the will of the client that stayed away.
    let will = delivery(&mut watcher).await;
    assert_eq!(will.topic.as_ref(), "wills/dropped", "MQTT-3.1.3-9: the returning client's will is not sent");
    watcher.expect_nothing().await;
    fixture.stop().await;
}

#[tokio::test]
async fn wills_outlive_a_broker_restart() {
    let fixture = Fixture::start().await;
    let (mut watcher, _) = fixture.connect(with_expiry(v5("watcher", "alice"), 600)).await;
    subscribe5(&mut watcher, "status/#", qos(QoS::AtLeastOnce), None).await;
    let will_of = |connect: Connect, topic: &str, delay: Option<u32>, expiry: Option<u32>| {
        let mut will = LastWill {
            topic: Arc::from(topic),
            payload: Bytes::from_static(b"offline"),
            qos: QoS::AtLeastOnce,
            ..LastWill::default()
        };
        will.properties.will_delay_interval = delay;
        will.properties.message_expiry_interval = expiry;
        Connect { will: Some(will), ..connect }
    };
    // A 3.1.1 client with a clean session, a 5.0 one whose will waits 2 s and
    // lives 1 s once published, and one that comes back within its delay.
    let (_device, _) = fixture
        .connect(Connect {
            will: will_of(v5("x", "alice"), "status/device", None, None).will,
            ..connect("device", Some("alice"), Some("pw"))
        })
        .await;
    let (_sensor, _) =
        fixture.connect(will_of(with_expiry(v5("sensor", "alice"), 60), "status/sensor", Some(2), Some(1))).await;
    let (_back, _) = fixture.connect(will_of(with_expiry(v5("back", "alice"), 60), "status/back", Some(2), None)).await;
    let (_quiet, _) = fixture.connect(v5("quiet", "alice")).await;
    drop(watcher);
    let fixture = fixture.restart().await;
    let restarted = tokio::time::Instant::now();
    let (_back, connack) = fixture.connect(with_expiry(v5("back", "alice"), 60)).await;
    assert!(connack.session_present);
    let (mut watcher, connack) = fixture.connect(with_expiry(v5("watcher", "alice"), 600)).await;
    assert!(connack.session_present);
    // The clean session did not outlast the broker: its will goes out at once.
    let first = delivery(&mut watcher).await;
    assert_eq!((first.topic.as_ref(), &first.payload[..]), ("status/device", &b"offline"[..]));
    watcher.send(Packet::PubAck(PubAck::new(first.qos.packet_id().unwrap()))).await;
    // The persistent one's waits out its delay from the restart, and its expiry counts from then.
    let second = delivery(&mut watcher).await;
    assert!(restarted.elapsed() >= Duration::from_millis(1900), "after the delay: {:?}", restarted.elapsed());
    assert_eq!(second.topic.as_ref(), "status/sensor");
    assert_eq!(second.properties.message_expiry_interval, Some(1), "a will's lifetime starts when it is published");
    watcher.send(Packet::PubAck(PubAck::new(second.qos.packet_id().unwrap()))).await;
    // The client that came back keeps its will unsent; a client without one left nothing.
    tokio::time::sleep(Duration::from_millis(300)).await;
    watcher.expect_nothing().await;
    // Nothing is left to go out after another restart either.
    drop(watcher);
    let fixture = fixture.restart().await;
    let (mut watcher, _) = fixture.connect(with_expiry(v5("watcher", "alice"), 600)).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    watcher.expect_nothing().await;
    fixture.stop().await;
}

/// A connection quiet for a second parks (it keeps only its socket, its
/// session and a small future); whatever wakes it is handled as if it had
/// never slept.
#[tokio::test]
async fn a_parked_connection_wakes_for_everything_it_waits_on() {
    let fixture = Fixture::start().await;
    let park = || tokio::time::sleep(Duration::from_millis(1500));
    let mut sleeper = login5(&fixture, "sleeper").await;
    subscribe5(&mut sleeper, "p/#", qos(QoS::AtLeastOnce), None).await;
    let mut aliased =
        Publish { topic: Arc::from("p/aliased"), payload: Bytes::from_static(b"first"), ..Publish::default() };
    aliased.properties.topic_alias = Some(1);
    sleeper.send(Packet::Publish(aliased.clone())).await;
    assert_eq!(&delivery(&mut sleeper).await.payload[..], b"first");
    // A message for it.
    park().await;
    let mut publisher = login5(&fixture, "publisher").await;
    publisher.send(publish("p/x", b"while parked", QosPid::AtLeastOnce(pid(1)))).await;
    puback(&mut publisher).await;
    let woken = delivery(&mut sleeper).await;
    assert_eq!(&woken.payload[..], b"while parked");
    sleeper.send(Packet::PubAck(PubAck::new(woken.qos.packet_id().unwrap()))).await;
    // A packet from it.
    park().await;
    sleeper.send(Packet::PingReq).await;
    assert_eq!(sleeper.recv().await, Packet::PingResp);
    // Its topic alias outlives the parked spells.
    park().await;
    let by_alias = Publish { topic: Arc::from(""), payload: Bytes::from_static(b"by alias"), ..aliased };
    sleeper.send(Packet::Publish(by_alias)).await;
    let delivered = delivery(&mut sleeper).await;
    assert_eq!((delivered.topic.as_ref(), &delivered.payload[..]), ("p/aliased", &b"by alias"[..]));
    // Its keep-alive runs on while it is parked: 1.5 × 2 s.
    let mut silent = v5("silent", "alice");
    silent.keep_alive = 2;
    let (mut silent, _) = fixture.connect(silent).await;
    let started = tokio::time::Instant::now();
    let Packet::Disconnect(timed_out) = silent.recv().await else { panic!("expected DISCONNECT") };
    assert_eq!(timed_out.reason_code, ReasonCode::KeepAliveTimeout);
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(2900) && waited < Duration::from_secs(4), "{waited:?}");
    // A takeover reaches it.
    park().await;
    let (_again, connack) = fixture.connect(v5("sleeper", "alice")).await;
    assert_eq!(connack.code, ConnectReturnCode::Accepted);
    let Packet::Disconnect(taken) = sleeper.recv().await else { panic!("expected DISCONNECT") };
    assert_eq!(taken.reason_code, ReasonCode::SessionTakenOver);
    // And so does the broker's shutdown.
    let (mut last, _) = fixture.connect(v5("last", "alice")).await;
    park().await;
    fixture.stop.cancel();
    let Packet::Disconnect(stopping) = last.recv().await else { panic!("expected DISCONNECT") };
    assert_eq!(stopping.reason_code, ReasonCode::ServerShuttingDown);
    fixture.stop().await;
}

#[tokio::test]
async fn a_message_that_expires_while_queued_is_not_delivered() {
    let fixture = Fixture::start().await;
    let (mut sub, _) = fixture.connect(with_expiry(v5("offline", "alice"), 60)).await;
    subscribe5(&mut sub, "news", qos(QoS::AtLeastOnce), None).await;
    drop(sub);
    let mut publisher = login5(&fixture, "pub").await;
    for (payload, expiry, id) in [(&b"short"[..], Some(1), 1), (b"long", Some(60), 2), (b"forever", None, 3)] {
        let mut news = Publish { topic: Arc::from("news"), payload: Bytes::from_static(payload), ..Publish::default() };
        news.qos = QosPid::AtLeastOnce(pid(id));
        news.properties.message_expiry_interval = expiry;
        publisher.send(Packet::Publish(news)).await;
        puback(&mut publisher).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (mut sub, connack) = fixture.connect(with_expiry(v5("offline", "alice"), 60)).await;
    assert!(connack.session_present);
    let first = delivery(&mut sub).await;
    assert_eq!(&first.payload[..], b"long", "MQTT-3.3.2-5: the expired one is gone");
    assert!(first.properties.message_expiry_interval.is_some_and(|left| left < 60));
    assert_eq!(&delivery(&mut sub).await.payload[..], b"forever");
    fixture.stop().await;
}

#[tokio::test]
async fn the_plans_limits_are_refused_the_way_mqtt_says() {
    let fixture = Fixture::start().await;
    let (mut one, connack) = fixture.connect(v5("one", "dave")).await;
    assert_eq!(connack.properties.maximum_packet_size, Some(1024), "the plan's packet size is told");
    assert_eq!(connack.properties.receive_maximum, Some(4), "so is its in-flight limit");
    let (_two, _) = fixture.connect(v5("two", "dave")).await;
    // A third connection: CONNACK 0x97 Quota exceeded; 3.1.1 gets 3 (server unavailable).
    let (mut three, connack) = fixture.connect(v5("three", "dave")).await;
    assert_eq!(connack.code, ConnectReturnCode::QuotaExceeded);
    three.expect_closed().await;
    let (_, connack) = fixture.connect(connect("three", Some("dave"), Some("pw"))).await;
    assert_eq!(connack.code.return_code(), 3);
    // Taking over one of the two is not a third.
    let (mut again, connack) = fixture.connect(v5("one", "dave")).await;
    assert_eq!(connack.code, ConnectReturnCode::Accepted);
    assert!(matches!(one.recv().await, Packet::Disconnect(_)));

    // Two subscriptions per session: the third filter gets 0x97.
    let mut subscribe =
        Subscribe::new(pid(1), ["x/1", "x/2", "x/3"].iter().map(|f| (f.to_string(), qos(QoS::AtMostOnce))).collect());
    subscribe.properties.subscription_identifier = None;
    again.send(Packet::Subscribe(subscribe)).await;
    let Packet::SubAck(suback) = again.recv().await else { panic!("expected SUBACK") };
    assert_eq!(
        suback.return_codes,
        [
            SubscribeReturnCode::Granted(QoS::AtMostOnce),
            SubscribeReturnCode::Granted(QoS::AtMostOnce),
            SubscribeReturnCode::Failure(ReasonCode::QuotaExceeded)
        ]
    );
    // Re-subscribing to a held filter is not a new one.
    assert!(matches!(
        subscribe5(&mut again, "x/1", qos(QoS::AtLeastOnce), None).await.return_codes[0],
        SubscribeReturnCode::Granted(_)
    ));

    // One retained message: a second topic is refused with 0x97; replacing the first is fine.
    let retained = |topic: &str, id: u16| {
        Packet::Publish(Publish {
            retain: true,
            topic: Arc::from(topic),
            payload: Bytes::from_static(b"r"),
            qos: QosPid::AtLeastOnce(pid(id)),
            ..Publish::default()
        })
    };
    again.send(retained("r/1", 11)).await;
    assert!(puback(&mut again).await.reason_code as u8 <= 0x10);
    again.send(retained("r/2", 12)).await;
    assert_eq!(puback(&mut again).await.reason_code, ReasonCode::QuotaExceeded);
    again.send(retained("r/1", 13)).await;
    assert!(puback(&mut again).await.reason_code as u8 <= 0x10);

    // A packet over the plan's 1 KiB: DISCONNECT 0x95 Packet too large.
    again.send(publish("big", &[0; 2000], QosPid::AtMostOnce)).await;
    match again.recv().await {
        Packet::Disconnect(disconnect) => assert_eq!(disconnect.reason_code, ReasonCode::PacketTooLarge),
        other => panic!("expected DISCONNECT, got {other:?}"),
    }
    fixture.stop().await;
}

#[tokio::test]
async fn sys_topics_are_readable_by_any_client_and_writable_by_none() {
    let fixture = Fixture::start().await;
    let (mut carol, _) = fixture.connect(v5("carol", "carol")).await;
    let suback = subscribe5(&mut carol, "$SYS/broker/#", qos(QoS::AtMostOnce), None).await;
    assert_eq!(suback.return_codes, [SubscribeReturnCode::Granted(QoS::AtMostOnce)], "outside her ACL, yet hers");
    let (mut alice, _) = fixture.connect(v5("alice", "alice")).await;
    alice.send(publish("$SYS/broker/clients/connected", b"999", QosPid::AtLeastOnce(pid(1)))).await;
    assert_eq!(puback(&mut alice).await.reason_code, ReasonCode::NotAuthorized, "nobody forges statistics");
    fixture.stop().await;
}

#[tokio::test]
async fn connections_past_the_plans_rate_are_refused_with_0x9f() {
    let fixture = Fixture::start().await;
    // Two new connections a second: two now, then the third is refused.
    let (_one, connack) = fixture.connect(v5("one", "flo")).await;
    assert_eq!(connack.code, ConnectReturnCode::Accepted);
    let (_two, connack) = fixture.connect(v5("two", "flo")).await;
    assert_eq!(connack.code, ConnectReturnCode::Accepted);
    let (mut three, connack) = fixture.connect(v5("three", "flo")).await;
    assert_eq!(connack.code, ConnectReturnCode::ConnectionRateExceeded);
    assert!(connack.properties.reason_string.as_deref().is_some_and(|r| r.contains("rate")), "{connack:?}");
    three.expect_closed().await;
    // MQTT 3.1.1 is told 3 (server unavailable).
    let (_, connack) = fixture.connect(connect("four", Some("flo"), Some("pw"))).await;
    assert_eq!(connack.code.return_code(), 3);
    // Other namespaces are not held back.
    let (_, connack) = fixture.connect(v5("five", "alice")).await;
    assert_eq!(connack.code, ConnectReturnCode::Accepted);
    // A second later the rate has room again.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let (_, connack) = fixture.connect(v5("six", "flo")).await;
    assert_eq!(connack.code, ConnectReturnCode::Accepted);
    fixture.stop().await;
}

#[tokio::test]
async fn stored_sessions_past_the_plans_limit_are_refused_with_0x97() {
    let fixture = Fixture::start().await;
    // One stored session allowed.
    let (keep, connack) = fixture.connect(with_expiry(v5("keep", "dave"), 60)).await;
    assert_eq!(connack.code, ConnectReturnCode::Accepted);
    drop(keep);
    let (mut other, connack) = fixture.connect(with_expiry(v5("other", "dave"), 60)).await;
    assert_eq!(connack.code, ConnectReturnCode::QuotaExceeded);
    assert!(connack.properties.reason_string.as_deref().is_some_and(|r| r.contains("stored sessions")), "{connack:?}");
    other.expect_closed().await;
    // A session that is not stored, and resuming the stored one, are fine.
    let (_temp, connack) = fixture.connect(v5("temp", "dave")).await;
    assert_eq!(connack.code, ConnectReturnCode::Accepted);
    drop(_temp);
    let (keep, connack) = fixture.connect(with_expiry(v5("keep", "dave"), 60)).await;
    assert_eq!(connack.code, ConnectReturnCode::Accepted);
    assert!(connack.session_present, "the stored session is resumed");
    drop(keep);
    // Ending it (clean start, no expiry) makes room.
    let (ended, connack) = fixture.connect(v5("keep", "dave")).await;
    assert_eq!(connack.code, ConnectReturnCode::Accepted);
    drop(ended);
    let (_other, connack) = fixture.connect(with_expiry(v5("other", "dave"), 60)).await;
    assert_eq!(connack.code, ConnectReturnCode::Accepted);
    fixture.stop().await;
}
