//! Loopback tests of the MQTT front end: a real listener on 127.0.0.1:0 and a
//! client made of this crate's own codec.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt as _, StreamExt as _};
use omnibus_api::scram::ScramHash;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;

use super::codec::*;
use super::{Hub, MqttListener};
use crate::tenancy::{Acl, AclRule, Action, Credential, Namespace, Tenancy};

const WAIT: Duration = Duration::from_secs(5);

mod conformance;
mod v5;

struct Fixture {
    addr: SocketAddr,
    /// MQTT over WebSocket (path `/mqtt`) on the same hub.
    ws_addr: SocketAddr,
    tenancy: Arc<Tenancy>,
    stop: CancellationToken,
    server: tokio::task::JoinHandle<()>,
    dir: PathBuf,
}

fn credential(namespace_id: &str, id: &str, username: &str, filter: &str) -> Credential {
    // One PBKDF2 iteration keeps the tests fast; the count is the secret's own.
    let secret = omnibus_api::scram::derive_with(ScramHash::Sha256, "pw", vec![7; 16], 1);
    Credential {
        id: id.into(),
        namespace_id: namespace_id.into(),
        username: username.into(),
        scram_sha256: secret.into(),
        scram_sha512: None,
        acl: Acl {
            rules: vec![AclRule { topic_filter: filter.into(), actions: vec![Action::Publish, Action::Subscribe] }],
        },
    }
}

impl Fixture {
    /// Namespace `a` with `alice` (everything) and `carol` (`a/#` only);
    /// namespace `b` with `bob` (everything); namespace `limited` (a plan of
    /// 2 connections, 2 subscriptions per session, 1 retained message,
    /// 1 KiB packets, 4 in flight, 1 stored session) with `dave`; namespace `storm` (2 new
    /// connections a second) with `flo`. Every password is `pw`.
    async fn start() -> Fixture {
        let dir = std::env::temp_dir().join(format!("omnibus-dp-mqtt-{}", uuid::Uuid::new_v4()));
        let tenancy = Arc::new(Tenancy::open(&dir).await.unwrap());
        for id in ["a", "b"] {
            tenancy
                .apply_namespace(Namespace { id: id.into(), plan: "free".into(), ..Namespace::default() })
                .await
                .unwrap();
        }
        tenancy.apply_credential(credential("a", "c-alice", "alice", "#")).await.unwrap();
        tenancy.apply_credential(credential("a", "c-carol", "carol", "a/#")).await.unwrap();
        tenancy.apply_credential(credential("b", "c-bob", "bob", "#")).await.unwrap();
        let mqtt_limits = crate::tenancy::MqttLimits {
            max_connections: Some(2),
            max_subscriptions_per_session: Some(2),
            max_retained_messages: Some(1),
            max_packet_size: Some(1024),
            max_inflight: Some(4),
            max_sessions: Some(1),
            ..Default::default()
        };
        let limited = Namespace { id: "limited".into(), plan: "tiny".into(), mqtt_limits, ..Namespace::default() };
        tenancy.apply_namespace(limited).await.unwrap();
        tenancy.apply_credential(credential("limited", "c-dave", "dave", "#")).await.unwrap();
        let rate_limits = crate::tenancy::RateLimits { connections_per_second: Some(2), ..Default::default() };
        let storm = Namespace { id: "storm".into(), plan: "tiny".into(), rate_limits, ..Namespace::default() };
        tenancy.apply_namespace(storm).await.unwrap();
        tenancy.apply_credential(credential("storm", "c-flo", "flo", "#")).await.unwrap();
        Fixture::serve(tenancy, dir).await
    }

    /// A broker on the tenancy and data directory of a fixture.
    async fn serve(tenancy: Arc<Tenancy>, dir: PathBuf) -> Fixture {
        let hub = Arc::new(Hub::open(&dir.join("mqtt"), 1000, None).unwrap());
        Hub::spawn_timers(&hub);
        let mut listener =
            MqttListener::bind("127.0.0.1:0".parse().unwrap(), tenancy.clone(), hub, 4096).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let ws_addr = listener.bind_transport("127.0.0.1:0".parse().unwrap(), super::Transport::Ws).await.unwrap();
        let stop = CancellationToken::new();
        let server = tokio::spawn(listener.serve(stop.clone()));
        Fixture { addr, ws_addr, tenancy, stop, server, dir }
    }

    /// Stops the broker and starts another on the same data directory, as a
    /// restart does.
    async fn restart(self) -> Fixture {
        self.stop.cancel();
        tokio::time::timeout(WAIT, self.server).await.unwrap().unwrap();
        Fixture::serve(self.tenancy, self.dir).await
    }

    async fn stop(self) {
        self.stop.cancel();
        tokio::time::timeout(WAIT, self.server).await.unwrap().unwrap();
        std::fs::remove_dir_all(self.dir).unwrap();
    }

    async fn connect(&self, connect: Connect) -> (Client, ConnAck) {
        let stream = TcpStream::connect(self.addr).await.unwrap();
        let mut codec = MqttCodec::new(1 << 20);
        codec.version = connect.protocol;
        let mut client = Client(Framed::new(stream, codec));
        client.send(Packet::Connect(connect)).await;
        match client.recv().await {
            Packet::ConnAck(connack) => (client, connack),
            other => panic!("expected CONNACK, got {other:?}"),
        }
    }

    async fn login(&self, username: &str, client_id: &str) -> Client {
        let (client, connack) = self.connect(connect(client_id, Some(username), Some("pw"))).await;
        assert_eq!(connack.code, ConnectReturnCode::Accepted);
        client
    }
}

fn connect(client_id: &str, username: Option<&str>, password: Option<&str>) -> Connect {
    Connect {
        protocol: ProtocolVersion::V3_1_1,
        clean_session: true,
        keep_alive: 30,
        client_id: client_id.into(),
        will: None,
        username: username.map(Into::into),
        password: password.map(|p| Bytes::copy_from_slice(p.as_bytes())),
        ..Default::default()
    }
}

fn pid(id: u16) -> PacketId {
    PacketId::new(id).unwrap()
}

fn publish(topic: &str, payload: &'static [u8], qos: QosPid) -> Packet {
    Packet::Publish(Publish {
        dup: false,
        qos,
        retain: false,
        topic: Arc::from(topic),
        payload: Bytes::from_static(payload),
        ..Default::default()
    })
}

struct Client(Framed<TcpStream, MqttCodec>);

impl Client {
    async fn send(&mut self, packet: Packet) {
        self.0.send(packet).await.unwrap();
    }

    async fn recv(&mut self) -> Packet {
        match tokio::time::timeout(WAIT, self.0.next()).await {
            Ok(Some(Ok(packet))) => packet,
            other => panic!("expected a packet, got {other:?}"),
        }
    }

    async fn subscribe(&mut self, filters: &[(&str, QoS)]) -> Vec<SubscribeReturnCode> {
        let filters = filters.iter().map(|(f, q)| ((*f).to_owned(), (*q).into())).collect();
        self.send(Packet::Subscribe(Subscribe::new(pid(1), filters))).await;
        match self.recv().await {
            Packet::SubAck(suback) => suback.return_codes,
            other => panic!("expected SUBACK, got {other:?}"),
        }
    }

    async fn expect_closed(&mut self) {
        match tokio::time::timeout(WAIT, self.0.next()).await {
            Ok(None | Some(Err(_))) => {}
            other => panic!("expected the connection to close, got {other:?}"),
        }
    }

    async fn expect_nothing(&mut self) {
        let next = tokio::time::timeout(Duration::from_millis(200), self.0.next()).await;
        assert!(next.is_err(), "expected nothing, got {next:?}");
    }
}

#[tokio::test]
async fn qos_1_round_trip_within_a_namespace_only() {
    let fixture = Fixture::start().await;
    let mut sub_a = fixture.login("alice", "sub").await;
    let mut sub_b = fixture.login("bob", "sub").await;
    assert_eq!(
        sub_a.subscribe(&[("a/#", QoS::ExactlyOnce)]).await,
        vec![SubscribeReturnCode::Granted(QoS::ExactlyOnce)]
    );
    assert_eq!(sub_b.subscribe(&[("#", QoS::AtLeastOnce)]).await, vec![SubscribeReturnCode::Granted(QoS::AtLeastOnce)]);

    let mut publisher = fixture.login("carol", "pub").await;
    publisher.send(publish("a/b", b"hi", QosPid::AtLeastOnce(pid(9)))).await;
    assert_eq!(publisher.recv().await, Packet::PubAck(PubAck::new(pid(9))));

    let Packet::Publish(delivered) = sub_a.recv().await else { panic!("expected PUBLISH") };
    assert_eq!((delivered.topic.as_ref(), &delivered.payload[..]), ("a/b", &b"hi"[..]));
    let QosPid::AtLeastOnce(id) = delivered.qos else { panic!("expected QoS 1, got {:?}", delivered.qos) };
    sub_a.send(Packet::PubAck(PubAck::new(id))).await;
    sub_b.expect_nothing().await;
    fixture.stop().await;
}

#[tokio::test]
async fn refuses_bad_connects_with_the_right_code() {
    let fixture = Fixture::start().await;
    let cases = [
        (connect("c", Some("alice"), Some("wrong")), ConnectReturnCode::BadUserNameOrPassword),
        (connect("c", Some("nobody"), Some("pw")), ConnectReturnCode::BadUserNameOrPassword),
        (connect("c", Some("alice"), None), ConnectReturnCode::BadUserNameOrPassword),
        (connect("c", None, None), ConnectReturnCode::NotAuthorized),
        (
            Connect { clean_session: false, ..connect("", Some("alice"), Some("pw")) },
            ConnectReturnCode::IdentifierRejected,
        ),
        (
            Connect {
                will: Some(LastWill {
                    topic: Arc::from("elsewhere"),
                    payload: Bytes::new(),
                    qos: QoS::AtMostOnce,
                    retain: false,
                    ..Default::default()
                }),
                ..connect("c", Some("carol"), Some("pw"))
            },
            ConnectReturnCode::NotAuthorized,
        ),
    ];
    for (connect, expected) in cases {
        let (mut client, connack) = fixture.connect(connect).await;
        assert_eq!(connack.code, expected);
        client.expect_closed().await;
    }
    let (_, connack) = fixture.connect(connect("", Some("alice"), Some("pw"))).await;
    assert_eq!(connack.code, ConnectReturnCode::Accepted, "an empty client id with a clean session gets one");
    fixture.stop().await;
}

#[tokio::test]
async fn answers_each_protocol_level_in_its_own_form() {
    let fixture = Fixture::start().await;
    let answer = |bytes: &'static [u8]| {
        let addr = fixture.addr;
        async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream.write_all(bytes).await.unwrap();
            let mut answer = Vec::new();
            tokio::time::timeout(WAIT, stream.read_to_end(&mut answer)).await.unwrap().unwrap();
            answer
        }
    };
    // CONNECT "MQTT" level 5 without credentials: a 5.0 CONNACK 0x86 whose properties carry the
    // reason string (0x1F) the client asked for by not setting Request Problem Information to 0.
    let v5 = answer(&[0x10, 14, 0, 4, b'M', b'Q', b'T', b'T', 5, 2, 0, 60, 0, 0, 1, b'c']).await;
    assert_eq!(v5[0], 0x20);
    assert_eq!(usize::from(v5[1]), v5.len() - 2);
    assert_eq!(v5[2..4], [0, 0x86]);
    assert_eq!(v5[5], 0x1F, "a reason string says why");
    // Level 6 does not exist: return code 1 in the 3.1.1 form.
    let v6 = answer(&[0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 6, 2, 0, 60, 0, 1, b'c']).await;
    assert_eq!(v6, [0x20, 2, 0, 1]);
    fixture.stop().await;
}

#[tokio::test]
async fn the_acl_refuses_subscriptions_and_drops_denied_publishes() {
    let fixture = Fixture::start().await;
    let mut alice = fixture.login("alice", "alice").await;
    alice.subscribe(&[("#", QoS::AtLeastOnce)]).await;
    let mut carol = fixture.login("carol", "carol").await;
    let codes = carol.subscribe(&[("a/+/c", QoS::AtMostOnce), ("#", QoS::AtMostOnce)]).await;
    assert_eq!(
        codes,
        vec![SubscribeReturnCode::Granted(QoS::AtMostOnce), SubscribeReturnCode::Failure(ReasonCode::UnspecifiedError)]
    );
    // MQTT 3.1.1: acknowledged as usual and delivered to nobody.
    carol.send(publish("b", b"x", QosPid::AtLeastOnce(pid(4)))).await;
    assert_eq!(carol.recv().await, Packet::PubAck(PubAck::new(pid(4))));
    carol.send(publish("b", b"y", QosPid::ExactlyOnce(pid(5)))).await;
    assert_eq!(carol.recv().await, Packet::PubRec(PubAck::new(pid(5))));
    alice.expect_nothing().await;
    carol.send(publish("a/ok", b"z", QosPid::AtMostOnce)).await;
    let Packet::Publish(allowed) = alice.recv().await else { panic!("expected the allowed publish") };
    assert_eq!(&allowed.payload[..], b"z");
    fixture.stop().await;
}

#[tokio::test]
async fn inbound_qos_2_is_delivered_once() {
    let fixture = Fixture::start().await;
    let mut subscriber = fixture.login("alice", "sub").await;
    subscriber.subscribe(&[("t", QoS::AtMostOnce)]).await;
    let mut publisher = fixture.login("alice", "pub").await;
    publisher.send(publish("t", b"once", QosPid::ExactlyOnce(pid(3)))).await;
    assert_eq!(publisher.recv().await, Packet::PubRec(PubAck::new(pid(3))));
    let resend = Publish {
        dup: true,
        qos: QosPid::ExactlyOnce(pid(3)),
        retain: false,
        topic: Arc::from("t"),
        payload: Bytes::from_static(b"once"),
        ..Default::default()
    };
    publisher.send(Packet::Publish(resend)).await;
    assert_eq!(publisher.recv().await, Packet::PubRec(PubAck::new(pid(3))));
    publisher.send(Packet::PubRel(PubAck::new(pid(3)))).await;
    assert_eq!(publisher.recv().await, Packet::PubComp(PubAck::new(pid(3))));
    let Packet::Publish(delivered) = subscriber.recv().await else { panic!("expected PUBLISH") };
    assert_eq!(delivered.qos, QosPid::AtMostOnce);
    subscriber.expect_nothing().await;
    fixture.stop().await;
}

#[tokio::test]
async fn a_second_connection_with_the_same_client_id_takes_over() {
    let fixture = Fixture::start().await;
    let mut first = fixture.login("alice", "same").await;
    let mut other_namespace = fixture.login("bob", "same").await;
    let mut second = fixture.login("alice", "same").await;
    first.expect_closed().await;
    second.send(Packet::PingReq).await;
    assert_eq!(second.recv().await, Packet::PingResp);
    other_namespace.send(Packet::PingReq).await;
    assert_eq!(other_namespace.recv().await, Packet::PingResp);
    fixture.stop().await;
}

#[tokio::test]
async fn the_will_is_published_on_abnormal_close_only() {
    let fixture = Fixture::start().await;
    let mut watcher = fixture.login("alice", "watcher").await;
    watcher.subscribe(&[("will/#", QoS::AtMostOnce)]).await;
    let with_will = |client_id: &str, topic: &str| Connect {
        will: Some(LastWill {
            topic: Arc::from(topic),
            payload: Bytes::from_static(b"bye"),
            qos: QoS::AtMostOnce,
            retain: false,
            ..Default::default()
        }),
        ..connect(client_id, Some("alice"), Some("pw"))
    };
    let (mut polite, _) = fixture.connect(with_will("polite", "will/polite")).await;
    polite.send(Packet::Disconnect(Disconnect::default())).await;
    polite.expect_closed().await;
    let (rude, _) = fixture.connect(with_will("rude", "will/rude")).await;
    drop(rude);
    let Packet::Publish(will) = watcher.recv().await else { panic!("expected the will") };
    assert_eq!(will.topic.as_ref(), "will/rude");
    watcher.expect_nothing().await;
    fixture.stop().await;
}

#[tokio::test]
async fn revoking_a_credential_closes_its_connections() {
    let fixture = Fixture::start().await;
    let mut carol = fixture.login("carol", "carol").await;
    let mut alice = fixture.login("alice", "alice").await;
    fixture.tenancy.revoke_credential("a", "c-carol").await.unwrap();
    carol.expect_closed().await;
    alice.send(Packet::PingReq).await;
    assert_eq!(alice.recv().await, Packet::PingResp);
    fixture.tenancy.delete_namespace("a").await.unwrap();
    alice.expect_closed().await;
    fixture.stop().await;
}

#[tokio::test]
async fn malformed_or_oversized_packets_close_only_their_connection() {
    let fixture = Fixture::start().await;
    let mut bystander = fixture.login("alice", "bystander").await;
    let mut raw = TcpStream::connect(fixture.addr).await.unwrap();
    raw.write_all(&[0xC0, 0]).await.unwrap();
    let mut rest = Vec::new();
    tokio::time::timeout(WAIT, raw.read_to_end(&mut rest)).await.unwrap().unwrap();
    assert!(rest.is_empty(), "a first packet other than CONNECT gets no answer");

    let mut malformed = fixture.login("alice", "malformed").await;
    malformed.0.get_mut().write_all(&[0x36, 3, 0, 1, b't']).await.unwrap();
    malformed.expect_closed().await;

    let mut oversized = fixture.login("alice", "oversized").await;
    oversized.send(publish("t", &[0; 8192], QosPid::AtMostOnce)).await;
    oversized.expect_closed().await;

    bystander.send(Packet::PingReq).await;
    assert_eq!(bystander.recv().await, Packet::PingResp);
    fixture.stop().await;
}

#[tokio::test]
async fn shutdown_closes_client_connections() {
    let fixture = Fixture::start().await;
    let mut client = fixture.login("alice", "c").await;
    fixture.stop.cancel();
    client.expect_closed().await;
    fixture.stop().await;
}

fn persistent(client_id: &str) -> Connect {
    Connect { clean_session: false, ..connect(client_id, Some("alice"), Some("pw")) }
}

/// Acknowledges `packet` as the client must (PUBACK, or PUBREC..PUBCOMP) and
/// returns its payload and QoS.
async fn acknowledge(client: &mut Client, packet: Packet) -> (Bytes, QoS) {
    let Packet::Publish(publish) = packet else { panic!("expected PUBLISH, got {packet:?}") };
    match publish.qos {
        QosPid::AtMostOnce => {}
        QosPid::AtLeastOnce(id) => client.send(Packet::PubAck(PubAck::new(id))).await,
        QosPid::ExactlyOnce(id) => {
            client.send(Packet::PubRec(PubAck::new(id))).await;
            assert_eq!(client.recv().await, Packet::PubRel(PubAck::new(id)));
            client.send(Packet::PubComp(PubAck::new(id))).await;
        }
    }
    (publish.payload, publish.qos.qos())
}

/// Publishes at every QoS, completing the publisher's handshakes.
async fn publish_each_qos(publisher: &mut Client, topic: &str) {
    publisher.send(publish(topic, b"zero", QosPid::AtMostOnce)).await;
    publisher.send(publish(topic, b"one", QosPid::AtLeastOnce(pid(1)))).await;
    assert_eq!(publisher.recv().await, Packet::PubAck(PubAck::new(pid(1))));
    publisher.send(publish(topic, b"two", QosPid::ExactlyOnce(pid(2)))).await;
    assert_eq!(publisher.recv().await, Packet::PubRec(PubAck::new(pid(2))));
    publisher.send(Packet::PubRel(PubAck::new(pid(2)))).await;
    assert_eq!(publisher.recv().await, Packet::PubComp(PubAck::new(pid(2))));
}

#[tokio::test]
async fn a_persistent_session_keeps_subscriptions_and_messages_across_a_restart() {
    let fixture = Fixture::start().await;
    let (mut sub, connack) = fixture.connect(persistent("durable")).await;
    assert!(!connack.session_present);
    sub.subscribe(&[("q/#", QoS::ExactlyOnce)]).await;
    sub.send(Packet::Disconnect(Disconnect::default())).await;
    sub.expect_closed().await;

    // Offline: QoS 1 and 2 are kept for it, QoS 0 is not.
    let mut publisher = fixture.login("alice", "pub").await;
    publish_each_qos(&mut publisher, "q/x").await;
    drop(publisher);
    let fixture = fixture.restart().await;

    let (mut sub, connack) = fixture.connect(persistent("durable")).await;
    assert!(connack.session_present, "the session was kept");
    let first = sub.recv().await;
    assert_eq!(acknowledge(&mut sub, first).await, (Bytes::from_static(b"one"), QoS::AtLeastOnce));
    let second = sub.recv().await;
    assert_eq!(acknowledge(&mut sub, second).await, (Bytes::from_static(b"two"), QoS::ExactlyOnce));
    sub.expect_nothing().await;
    // The subscription itself survived: a new message arrives without subscribing again.
    let mut publisher = fixture.login("alice", "pub").await;
    publisher.send(publish("q/y", b"live", QosPid::AtLeastOnce(pid(7)))).await;
    assert_eq!(publisher.recv().await, Packet::PubAck(PubAck::new(pid(7))));
    let live = sub.recv().await;
    assert_eq!(acknowledge(&mut sub, live).await.0, Bytes::from_static(b"live"));
    // A clean session discards it.
    drop(sub);
    let (sub, connack) = fixture.connect(connect("durable", Some("alice"), Some("pw"))).await;
    assert!(!connack.session_present);
    drop(sub);
    let (_, connack) = fixture.connect(persistent("durable")).await;
    assert!(!connack.session_present, "the clean connection discarded the stored session");
    fixture.stop().await;
}

#[tokio::test]
async fn unacknowledged_messages_are_resent_with_dup_and_qos_2_is_never_duplicated() {
    let fixture = Fixture::start().await;
    let (mut sub, _) = fixture.connect(persistent("flaky")).await;
    sub.subscribe(&[("r", QoS::ExactlyOnce)]).await;
    let mut publisher = fixture.login("alice", "pub").await;
    publisher.send(publish("r", b"one", QosPid::AtLeastOnce(pid(1)))).await;
    assert_eq!(publisher.recv().await, Packet::PubAck(PubAck::new(pid(1))));
    publisher.send(publish("r", b"two", QosPid::ExactlyOnce(pid(2)))).await;
    assert_eq!(publisher.recv().await, Packet::PubRec(PubAck::new(pid(2))));
    publisher.send(Packet::PubRel(PubAck::new(pid(2)))).await;
    assert_eq!(publisher.recv().await, Packet::PubComp(PubAck::new(pid(2))));

    // The subscriber gets both, acknowledges neither fully, and drops the connection.
    let Packet::Publish(one) = sub.recv().await else { panic!() };
    let Packet::Publish(two) = sub.recv().await else { panic!() };
    assert!(!one.dup && !two.dup);
    let QosPid::ExactlyOnce(two_id) = two.qos else { panic!("{:?}", two.qos) };
    drop(sub);
    // After a broker restart too, what was in flight comes back with DUP set.
    let fixture = fixture.restart().await;
    let (mut sub, connack) = fixture.connect(persistent("flaky")).await;
    assert!(connack.session_present);
    let Packet::Publish(again) = sub.recv().await else { panic!() };
    assert!(again.dup && again.qos == one.qos && &again.payload[..] == b"one", "{again:?}");
    let Packet::Publish(again_two) = sub.recv().await else { panic!() };
    assert!(again_two.dup && again_two.qos == two.qos);
    sub.send(Packet::PubAck(PubAck::new(one.qos.packet_id().unwrap()))).await;
    // PUBREC, then the broker restarts before PUBCOMP: it must resume with PUBREL, not PUBLISH.
    sub.send(Packet::PubRec(PubAck::new(two_id))).await;
    assert_eq!(sub.recv().await, Packet::PubRel(PubAck::new(two_id)));
    drop(sub);
    let fixture = fixture.restart().await;
    let (mut sub, connack) = fixture.connect(persistent("flaky")).await;
    assert!(connack.session_present);
    assert_eq!(sub.recv().await, Packet::PubRel(PubAck::new(two_id)));
    sub.send(Packet::PubComp(PubAck::new(two_id))).await;
    sub.expect_nothing().await;
    drop(sub);
    let (mut sub, _) = fixture.connect(persistent("flaky")).await;
    sub.expect_nothing().await;
    fixture.stop().await;
}

#[tokio::test]
async fn inbound_qos_2_of_a_persistent_session_is_not_redelivered_after_a_restart() {
    let fixture = Fixture::start().await;
    let (mut watcher, _) = fixture.connect(persistent("watcher")).await;
    watcher.subscribe(&[("w", QoS::AtLeastOnce)]).await;
    let (mut publisher, _) = fixture.connect(persistent("publisher")).await;
    publisher.send(publish("w", b"once", QosPid::ExactlyOnce(pid(11)))).await;
    assert_eq!(publisher.recv().await, Packet::PubRec(PubAck::new(pid(11))));
    let delivered = watcher.recv().await;
    assert_eq!(acknowledge(&mut watcher, delivered).await.0, Bytes::from_static(b"once"));
    // A round trip, so the broker has read the PUBACK before it stops.
    watcher.send(Packet::PingReq).await;
    assert_eq!(watcher.recv().await, Packet::PingResp);
    drop((watcher, publisher));
    let fixture = fixture.restart().await;
    // The publisher did not get PUBCOMP, so it resends the PUBLISH with DUP.
    let (mut publisher, connack) = fixture.connect(persistent("publisher")).await;
    assert!(connack.session_present);
    let resend = Publish {
        dup: true,
        qos: QosPid::ExactlyOnce(pid(11)),
        retain: false,
        topic: Arc::from("w"),
        payload: Bytes::from_static(b"once"),
        ..Default::default()
    };
    publisher.send(Packet::Publish(resend)).await;
    assert_eq!(publisher.recv().await, Packet::PubRec(PubAck::new(pid(11))));
    publisher.send(Packet::PubRel(PubAck::new(pid(11)))).await;
    assert_eq!(publisher.recv().await, Packet::PubComp(PubAck::new(pid(11))));
    let (mut watcher, _) = fixture.connect(persistent("watcher")).await;
    watcher.expect_nothing().await;
    // The id is free again: a new message with it is delivered.
    publisher.send(publish("w", b"new", QosPid::ExactlyOnce(pid(11)))).await;
    assert_eq!(publisher.recv().await, Packet::PubRec(PubAck::new(pid(11))));
    let delivered = watcher.recv().await;
    assert_eq!(acknowledge(&mut watcher, delivered).await.0, Bytes::from_static(b"new"));
    fixture.stop().await;
}

#[tokio::test]
async fn retained_messages_are_set_replaced_cleared_and_kept_per_namespace() {
    let fixture = Fixture::start().await;
    let mut publisher = fixture.login("alice", "pub").await;
    let retained = |topic: &str, payload: &'static [u8], id: u16| {
        Packet::Publish(Publish {
            dup: false,
            qos: QosPid::AtLeastOnce(pid(id)),
            retain: true,
            topic: Arc::from(topic),
            payload: Bytes::from_static(payload),
            ..Default::default()
        })
    };
    for (topic, payload, id) in [("s/1", &b"old"[..], 1), ("s/1", b"new", 2), ("s/2", b"gone", 3), ("s/2", b"", 4)] {
        publisher.send(retained(topic, payload, id)).await;
        assert_eq!(publisher.recv().await, Packet::PubAck(PubAck::new(pid(id))));
    }
    let fixture = fixture.restart().await;
    let mut late = fixture.login("alice", "late").await;
    assert_eq!(
        late.subscribe(&[("s/#", QoS::AtLeastOnce)]).await,
        vec![SubscribeReturnCode::Granted(QoS::AtLeastOnce)]
    );
    let Packet::Publish(kept) = late.recv().await else { panic!("expected the retained message") };
    assert!(kept.retain && &kept.payload[..] == b"new" && kept.topic.as_ref() == "s/1", "{kept:?}");
    acknowledge(&mut late, Packet::Publish(kept)).await;
    late.expect_nothing().await;
    let mut other = fixture.login("bob", "late").await;
    other.subscribe(&[("#", QoS::AtMostOnce)]).await;
    other.expect_nothing().await;
    fixture.stop().await;
}

#[tokio::test]
async fn shared_subscriptions_split_the_work_and_respect_the_acl_inside_the_group() {
    let fixture = Fixture::start().await;
    let mut one = fixture.login("alice", "one").await;
    let mut two = fixture.login("alice", "two").await;
    for worker in [&mut one, &mut two] {
        assert_eq!(
            worker.subscribe(&[("$share/workers/jobs/#", QoS::AtLeastOnce)]).await,
            vec![SubscribeReturnCode::Granted(QoS::AtLeastOnce)]
        );
    }
    let mut carol = fixture.login("carol", "carol").await;
    let refused = carol.subscribe(&[("$share/g/b/#", QoS::AtMostOnce), ("$share//a", QoS::AtMostOnce)]).await;
    assert_eq!(
        refused,
        vec![
            SubscribeReturnCode::Failure(ReasonCode::UnspecifiedError),
            SubscribeReturnCode::Failure(ReasonCode::UnspecifiedError)
        ]
    );
    let mut publisher = fixture.login("alice", "pub").await;
    for n in 1..=4u16 {
        publisher.send(publish("jobs/x", b"job", QosPid::AtLeastOnce(pid(n)))).await;
        assert_eq!(publisher.recv().await, Packet::PubAck(PubAck::new(pid(n))));
    }
    for worker in [&mut one, &mut two] {
        for _ in 0..2 {
            let delivered = worker.recv().await;
            acknowledge(worker, delivered).await;
        }
        worker.expect_nothing().await;
    }
    fixture.stop().await;
}

#[tokio::test]
async fn delayed_publishes_arrive_after_their_delay_and_survive_a_restart() {
    let fixture = Fixture::start().await;
    let mut watcher = fixture.login("alice", "watcher").await;
    watcher.subscribe(&[("later/#", QoS::AtLeastOnce)]).await;
    let mut publisher = fixture.login("alice", "pub").await;
    publisher.send(publish("$delayed/1/later/a", b"in a second", QosPid::AtLeastOnce(pid(1)))).await;
    assert_eq!(publisher.recv().await, Packet::PubAck(PubAck::new(pid(1))));
    let started = tokio::time::Instant::now();
    let delivered = watcher.recv().await;
    assert!(started.elapsed() >= Duration::from_millis(900), "delivered early");
    let Packet::Publish(message) = &delivered else { panic!("{delivered:?}") };
    assert_eq!(message.topic.as_ref(), "later/a", "delivered to the topic after the delay");
    acknowledge(&mut watcher, delivered).await;
    // Carol may not publish to later/#, so her delayed publish goes nowhere; a malformed one neither.
    let mut carol = fixture.login("carol", "carol").await;
    carol.send(publish("$delayed/0/later/a", b"denied", QosPid::AtLeastOnce(pid(2)))).await;
    assert_eq!(carol.recv().await, Packet::PubAck(PubAck::new(pid(2))));
    publisher.send(publish("$delayed/soon/later/a", b"malformed", QosPid::AtLeastOnce(pid(3)))).await;
    assert_eq!(publisher.recv().await, Packet::PubAck(PubAck::new(pid(3))));
    // Stored: a broker restart does not lose it.
    publisher.send(publish("$delayed/2/later/b", b"after a restart", QosPid::AtLeastOnce(pid(4)))).await;
    assert_eq!(publisher.recv().await, Packet::PubAck(PubAck::new(pid(4))));
    watcher.expect_nothing().await;
    drop((watcher, publisher, carol));
    let fixture = fixture.restart().await;
    let (mut watcher, _) = fixture.connect(persistent("watcher2")).await;
    watcher.subscribe(&[("later/#", QoS::AtLeastOnce)]).await;
    let delivered = watcher.recv().await;
    assert_eq!(acknowledge(&mut watcher, delivered).await.0, Bytes::from_static(b"after a restart"));
    watcher.expect_nothing().await;
    fixture.stop().await;
}

#[tokio::test]
async fn pipelined_publishes_are_acknowledged_and_delivered_in_order() {
    let fixture = Fixture::start().await;
    let (mut durable, _) = fixture.connect(persistent("durable-reader")).await;
    durable.subscribe(&[("seq", QoS::ExactlyOnce)]).await;
    let mut publisher = fixture.login("alice", "burst").await;
    // MQTT-4.6.0-2/3: acknowledgements in the order of the PUBLISH packets,
    // though the broker stores them while reading on.
    for n in 1..=60u16 {
        let qos = if n % 2 == 0 { QosPid::AtLeastOnce(pid(n)) } else { QosPid::ExactlyOnce(pid(n)) };
        let payload = Bytes::from(n.to_string());
        publisher.send(Packet::Publish(Publish { qos, topic: Arc::from("seq"), payload, ..Publish::default() })).await;
    }
    for n in 1..=60u16 {
        match publisher.recv().await {
            Packet::PubAck(ack) | Packet::PubRec(ack) => assert_eq!(ack.packet_id, pid(n), "MQTT-4.6.0-2"),
            other => panic!("expected an acknowledgement, got {other:?}"),
        }
    }
    // The subscriber acknowledges as packets come (PUBREL interleaves with
    // the next PUBLISHes, up to the window in flight).
    let mut payloads = Vec::new();
    while payloads.len() < 60 {
        match durable.recv().await {
            Packet::Publish(publish) => {
                match publish.qos {
                    QosPid::AtLeastOnce(id) => durable.send(Packet::PubAck(PubAck::new(id))).await,
                    QosPid::ExactlyOnce(id) => durable.send(Packet::PubRec(PubAck::new(id))).await,
                    QosPid::AtMostOnce => {}
                }
                payloads.push(publish.payload);
            }
            Packet::PubRel(rel) => durable.send(Packet::PubComp(PubAck::new(rel.packet_id))).await,
            other => panic!("unexpected {other:?}"),
        }
    }
    let expected: Vec<Bytes> = (1..=60u16).map(|n| Bytes::from(n.to_string())).collect();
    assert_eq!(payloads, expected, "MQTT-4.6.0-5: in the order published");
    fixture.stop().await;
}
