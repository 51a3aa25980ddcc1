//! MQTT 5.0: byte-exact vectors (a few from the spec), the shortened forms,
//! every malformed case with its error and the reason code that reports it,
//! and what a 3.1.1 encoder makes of 5.0 values.

use super::*;
use crate::encode::EncodeError;

mod encoding;
mod malformed;

const V5: ProtocolVersion = ProtocolVersion::V5;

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// A length-prefixed binary field.
fn bin(bytes: &[u8]) -> Vec<u8> {
    cat(&[&u16::try_from(bytes.len()).unwrap().to_be_bytes(), bytes])
}

/// A length-prefixed UTF-8 string.
fn s(text: &str) -> Vec<u8> {
    bin(text.as_bytes())
}

/// A variable byte integer.
fn vbi(mut value: usize) -> Vec<u8> {
    let mut bytes = Vec::new();
    loop {
        let mut byte = u8::try_from(value & 0x7F).unwrap();
        value >>= 7;
        if value > 0 {
            byte |= 0x80;
        }
        bytes.push(byte);
        if value == 0 {
            return bytes;
        }
    }
}

/// A property section: its length, then the properties.
fn props(properties: &[&[u8]]) -> Vec<u8> {
    let body = properties.concat();
    cat(&[&vbi(body.len()), &body])
}

/// A whole packet: the first byte, the remaining length, then `parts`.
fn packet(first: u8, parts: &[&[u8]]) -> Vec<u8> {
    let body = parts.concat();
    cat(&[&[first], &vbi(body.len()), &body])
}

fn user(name: &str, value: &str) -> (String, String) {
    (name.to_owned(), value.to_owned())
}

fn ack(id: u16, reason_code: ReasonCode) -> PubAck {
    PubAck { reason_code, ..PubAck::new(pid(id)) }
}

fn v5_connect(client_id: &str) -> Connect {
    Connect { protocol: V5, clean_session: true, keep_alive: 60, client_id: client_id.to_owned(), ..Connect::default() }
}

/// Bytes that decode to the packet and that the packet encodes to.
fn valid_cases() -> Vec<(&'static str, Vec<u8>, Packet)> {
    vec![
        (
            // §3.1.2.12, Figure 3-6: the variable header (user name, password,
            // will QoS 1, will, clean start; keep-alive 10; Session Expiry
            // Interval 10), with a payload added.
            "connect, the spec's variable header example",
            vec![
                0x10, 0x21, 0, 4, b'M', b'Q', b'T', b'T', 5, 0xCE, 0, 10, 5, 0x11, 0, 0, 0, 10, // variable header
                0, 2, b'c', b'1', 0, 0, 1, b'w', 0, 1, b'x', 0, 1, b'u', 0, 1, b'p', // payload
            ],
            Packet::Connect(Connect {
                keep_alive: 10,
                will: Some(LastWill {
                    topic: Arc::from("w"),
                    payload: Bytes::from_static(b"x"),
                    qos: QoS::AtLeastOnce,
                    ..LastWill::default()
                }),
                username: Some("u".to_owned()),
                password: Some(Bytes::from_static(b"p")),
                properties: Box::new(ConnectProperties { session_expiry_interval: Some(10), ..Default::default() }),
                ..v5_connect("c1")
            }),
        ),
        (
            "connect, minimal",
            packet(0x10, &[&s("MQTT"), &[5, 0x02, 0, 60], &props(&[]), &s("c")]),
            Packet::Connect(v5_connect("c")),
        ),
        (
            "connect with every property, a will with every property, a password alone",
            packet(
                0x10,
                &[
                    &s("MQTT"),
                    &[5, 0x76, 0, 60], // password, will retain, will QoS 2, will, clean start
                    &props(&[
                        &[0x11, 0, 0, 0x0E, 0x10],
                        &[0x21, 0, 20],
                        &[0x27, 0, 1, 0, 0],
                        &[0x22, 0, 5],
                        &[0x19, 1],
                        &[0x17, 0],
                        &cat(&[&[0x26], &s("k"), &s("v1")]),
                        &cat(&[&[0x26], &s("k"), &s("v2")]),
                        &cat(&[&[0x15], &s("SCRAM-SHA-256")]),
                        &cat(&[&[0x16], &bin(b"n,,n=u")]),
                    ]),
                    &s("c"),
                    &props(&[
                        &[0x18, 0, 0, 0, 30],
                        &[0x01, 1],
                        &[0x02, 0, 0, 0x0E, 0x10],
                        &cat(&[&[0x03], &s("text/plain")]),
                        &cat(&[&[0x08], &s("reply/here")]),
                        &cat(&[&[0x09], &bin(&[1, 2, 3])]),
                        &cat(&[&[0x26], &s("why"), &s("gone")]),
                    ]),
                    &s("will/t"),
                    &bin(b"bye"),
                    &bin(b"secret"),
                ],
            ),
            Packet::Connect(Connect {
                will: Some(LastWill {
                    topic: Arc::from("will/t"),
                    payload: Bytes::from_static(b"bye"),
                    qos: QoS::ExactlyOnce,
                    retain: true,
                    properties: Box::new(WillProperties {
                        will_delay_interval: Some(30),
                        payload_format_indicator: Some(PayloadFormat::Utf8),
                        message_expiry_interval: Some(3600),
                        content_type: Some("text/plain".to_owned()),
                        response_topic: Some("reply/here".to_owned()),
                        correlation_data: Some(Bytes::from_static(&[1, 2, 3])),
                        user_properties: vec![user("why", "gone")],
                    }),
                }),
                password: Some(Bytes::from_static(b"secret")),
                properties: Box::new(ConnectProperties {
                    session_expiry_interval: Some(3600),
                    receive_maximum: Some(20),
                    maximum_packet_size: Some(65536),
                    topic_alias_maximum: Some(5),
                    request_response_information: Some(true),
                    request_problem_information: Some(false),
                    user_properties: vec![user("k", "v1"), user("k", "v2")],
                    authentication_method: Some("SCRAM-SHA-256".to_owned()),
                    authentication_data: Some(Bytes::from_static(b"n,,n=u")),
                }),
                ..v5_connect("c")
            }),
        ),
        ("connack, success", vec![0x20, 3, 0, 0, 0], Packet::ConnAck(ConnAck::default())),
        (
            "connack, refused: not authorized, with a reason string",
            packet(0x20, &[&[0, 0x87], &props(&[&cat(&[&[0x1F], &s("no")])])]),
            Packet::ConnAck(ConnAck {
                code: ConnectReturnCode::NotAuthorized,
                properties: Box::new(ConnAckProperties { reason_string: Some("no".to_owned()), ..Default::default() }),
                ..ConnAck::default()
            }),
        ),
        (
            "connack, banned",
            vec![0x20, 3, 0, 0x8A, 0],
            Packet::ConnAck(ConnAck { code: ConnectReturnCode::Banned, ..ConnAck::default() }),
        ),
        (
            "connack with every property",
            packet(
                0x20,
                &[
                    &[1, 0],
                    &props(&[
                        &[0x11, 0, 0, 0, 60],
                        &[0x21, 0, 10],
                        &[0x24, 1],
                        &[0x25, 0],
                        &[0x27, 0, 0, 0x10, 0],
                        &cat(&[&[0x12], &s("auto-1")]),
                        &[0x22, 0, 10],
                        &cat(&[&[0x1F], &s("welcome")]),
                        &cat(&[&[0x26], &s("a"), &s("b")]),
                        &[0x28, 0],
                        &[0x29, 1],
                        &[0x2A, 0],
                        &[0x13, 0, 30],
                        &cat(&[&[0x1A], &s("resp/")]),
                        &cat(&[&[0x1C], &s("other:1883")]),
                        &cat(&[&[0x15], &s("SCRAM-SHA-256")]),
                        &cat(&[&[0x16], &bin(b"v=x")]),
                    ]),
                ],
            ),
            Packet::ConnAck(ConnAck {
                session_present: true,
                code: ConnectReturnCode::Accepted,
                properties: Box::new(ConnAckProperties {
                    session_expiry_interval: Some(60),
                    receive_maximum: Some(10),
                    maximum_qos: Some(QoS::AtLeastOnce),
                    retain_available: Some(false),
                    maximum_packet_size: Some(4096),
                    assigned_client_identifier: Some("auto-1".to_owned()),
                    topic_alias_maximum: Some(10),
                    reason_string: Some("welcome".to_owned()),
                    user_properties: vec![user("a", "b")],
                    wildcard_subscription_available: Some(false),
                    subscription_identifiers_available: Some(true),
                    shared_subscription_available: Some(false),
                    server_keep_alive: Some(30),
                    response_information: Some("resp/".to_owned()),
                    server_reference: Some("other:1883".to_owned()),
                    authentication_method: Some("SCRAM-SHA-256".to_owned()),
                    authentication_data: Some(Bytes::from_static(b"v=x")),
                }),
            }),
        ),
        (
            // §3.3.2.4, Figure 3-9: topic a/b, packet identifier 10, no properties.
            "publish, the spec's variable header example",
            vec![0x32, 10, 0, 3, b'a', b'/', b'b', 0, 10, 0, b'h', b'i'],
            Packet::Publish(Publish {
                qos: QosPid::AtLeastOnce(pid(10)),
                topic: Arc::from("a/b"),
                payload: Bytes::from_static(b"hi"),
                ..Publish::default()
            }),
        ),
        (
            // §1.5.4, Figure 1-1: "A" then U+2A6D4 as UTF-8; §1.5.5, Table 1-1:
            // the smallest and largest value of each variable byte integer length.
            "publish, the spec's UTF-8 and variable byte integer examples",
            packet(
                0x30,
                &[
                    &[0, 5, 0x41, 0xF0, 0xAA, 0x9B, 0x94],
                    &props(&[
                        &[0x0B, 0x01],
                        &[0x0B, 0x7F],
                        &[0x0B, 0x80, 0x01],
                        &[0x0B, 0xFF, 0x7F],
                        &[0x0B, 0x80, 0x80, 0x01],
                        &[0x0B, 0xFF, 0xFF, 0x7F],
                        &[0x0B, 0x80, 0x80, 0x80, 0x01],
                        &[0x0B, 0xFF, 0xFF, 0xFF, 0x7F],
                    ]),
                ],
            ),
            Packet::Publish(Publish {
                topic: Arc::from("A\u{2A6D4}"),
                properties: PublishProperties {
                    subscription_identifiers: vec![1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, 268_435_455],
                    ..Default::default()
                },
                ..Publish::default()
            }),
        ),
        (
            "publish with every property",
            packet(
                0x3D,
                &[
                    &s("t/1"),
                    &[0, 7],
                    &props(&[
                        &[0x01, 0],
                        &[0x02, 0, 0, 0, 9],
                        &[0x23, 0, 3],
                        &cat(&[&[0x08], &s("r")]),
                        &cat(&[&[0x09], &bin(b"id")]),
                        &cat(&[&[0x26], &s("z"), &s("1")]),
                        &cat(&[&[0x26], &s("a"), &s("2")]),
                        &cat(&[&[0x26], &s("z"), &s("3")]),
                        &[0x0B, 5],
                        &cat(&[&[0x03], &s("application/json")]),
                    ]),
                    b"{}",
                ],
            ),
            Packet::Publish(Publish {
                dup: true,
                qos: QosPid::ExactlyOnce(pid(7)),
                retain: true,
                topic: Arc::from("t/1"),
                payload: Bytes::from_static(b"{}"),
                properties: PublishProperties {
                    payload_format_indicator: Some(PayloadFormat::Unspecified),
                    message_expiry_interval: Some(9),
                    topic_alias: Some(3),
                    response_topic: Some("r".to_owned()),
                    correlation_data: Some(Bytes::from_static(b"id")),
                    user_properties: vec![user("z", "1"), user("a", "2"), user("z", "3")],
                    subscription_identifiers: vec![5],
                    content_type: Some("application/json".to_owned()),
                },
            }),
        ),
        (
            "publish with an empty topic and a topic alias",
            packet(0x30, &[&s(""), &props(&[&[0x23, 0, 1]]), b"m"]),
            Packet::Publish(Publish {
                payload: Bytes::from_static(b"m"),
                properties: PublishProperties { topic_alias: Some(1), ..Default::default() },
                ..Publish::default()
            }),
        ),
        ("puback, success in two bytes", vec![0x40, 2, 0, 1], Packet::PubAck(PubAck::new(pid(1)))),
        (
            "puback, no matching subscribers without properties",
            vec![0x40, 3, 0, 1, 0x10],
            Packet::PubAck(ack(1, ReasonCode::NoMatchingSubscribers)),
        ),
        (
            "puback, success with properties",
            packet(0x40, &[&[0, 1, 0], &props(&[&cat(&[&[0x1F], &s("ok")]), &cat(&[&[0x26], &s("k"), &s("v")])])]),
            Packet::PubAck(PubAck {
                properties: AckProperties {
                    reason_string: Some("ok".to_owned()),
                    user_properties: vec![user("k", "v")],
                },
                ..PubAck::new(pid(1))
            }),
        ),
        ("pubrec, quota exceeded", vec![0x50, 3, 0, 2, 0x97], Packet::PubRec(ack(2, ReasonCode::QuotaExceeded))),
        (
            "pubrel, packet identifier not found",
            vec![0x62, 3, 0, 3, 0x92],
            Packet::PubRel(ack(3, ReasonCode::PacketIdentifierNotFound)),
        ),
        ("pubcomp, success", vec![0x70, 2, 0, 4], Packet::PubComp(PubAck::new(pid(4)))),
        (
            "subscribe with options and properties",
            packet(
                0x82,
                &[
                    &[0, 9],
                    &props(&[&[0x0B, 0x80, 0x01], &cat(&[&[0x26], &s("k"), &s("v")])]),
                    &s("a/#"),
                    &[0b0010_1110], // retain handling 2, retain as published, no local, QoS 2
                    &s("$share/g/b"),
                    &[0b0001_0001], // retain handling 1, QoS 1
                ],
            ),
            Packet::Subscribe(Subscribe {
                packet_id: pid(9),
                filters: vec![
                    (
                        "a/#".to_owned(),
                        SubscriptionOptions {
                            qos: QoS::ExactlyOnce,
                            no_local: true,
                            retain_as_published: true,
                            retain_handling: RetainHandling::DoNotSend,
                        },
                    ),
                    (
                        "$share/g/b".to_owned(),
                        SubscriptionOptions {
                            qos: QoS::AtLeastOnce,
                            retain_handling: RetainHandling::SendAtSubscribeIfNew,
                            ..SubscriptionOptions::default()
                        },
                    ),
                ],
                properties: SubscribeProperties {
                    subscription_identifier: Some(128),
                    user_properties: vec![user("k", "v")],
                },
            }),
        ),
        (
            "suback with granted and refused codes",
            packet(0x90, &[&[0, 9], &props(&[&cat(&[&[0x1F], &s("partly")])]), &[0, 1, 2, 0x87, 0xA2]]),
            Packet::SubAck(SubAck {
                properties: AckProperties { reason_string: Some("partly".to_owned()), ..Default::default() },
                ..SubAck::new(
                    pid(9),
                    vec![
                        SubscribeReturnCode::Granted(QoS::AtMostOnce),
                        SubscribeReturnCode::Granted(QoS::AtLeastOnce),
                        SubscribeReturnCode::Granted(QoS::ExactlyOnce),
                        SubscribeReturnCode::Failure(ReasonCode::NotAuthorized),
                        SubscribeReturnCode::Failure(ReasonCode::WildcardSubscriptionsNotSupported),
                    ],
                )
            }),
        ),
        (
            "unsubscribe with a user property",
            packet(0xA2, &[&[0, 4], &props(&[&cat(&[&[0x26], &s("k"), &s("v")])]), &s("a/+"), &s("b")]),
            Packet::Unsubscribe(Unsubscribe {
                properties: UnsubscribeProperties { user_properties: vec![user("k", "v")] },
                ..Unsubscribe::new(pid(4), vec!["a/+".to_owned(), "b".to_owned()])
            }),
        ),
        (
            "unsuback with reason codes",
            vec![0xB0, 5, 0, 4, 0, 0x00, 0x11],
            Packet::UnsubAck(UnsubAck {
                reason_codes: vec![ReasonCode::Success, ReasonCode::NoSubscriptionExisted],
                ..UnsubAck::new(pid(4))
            }),
        ),
        ("pingreq", vec![0xC0, 0], Packet::PingReq),
        ("pingresp", vec![0xD0, 0], Packet::PingResp),
        ("disconnect, normal, empty", vec![0xE0, 0], Packet::Disconnect(Disconnect::default())),
        (
            "disconnect with will message, reason code only",
            vec![0xE0, 1, 0x04],
            Packet::Disconnect(Disconnect { reason_code: ReasonCode::DisconnectWithWillMessage, ..Default::default() }),
        ),
        (
            "disconnect, session taken over, with properties",
            packet(
                0xE0,
                &[
                    &[0x8E],
                    &props(&[
                        &[0x11, 0, 0, 0, 0],
                        &cat(&[&[0x1F], &s("bye")]),
                        &cat(&[&[0x26], &s("k"), &s("v")]),
                        &cat(&[&[0x1C], &s("elsewhere")]),
                    ]),
                ],
            ),
            Packet::Disconnect(Disconnect {
                reason_code: ReasonCode::SessionTakenOver,
                properties: DisconnectProperties {
                    session_expiry_interval: Some(0),
                    reason_string: Some("bye".to_owned()),
                    user_properties: vec![user("k", "v")],
                    server_reference: Some("elsewhere".to_owned()),
                },
            }),
        ),
        ("auth, success, empty", vec![0xF0, 0], Packet::Auth(Auth::default())),
        (
            "auth, continue authentication",
            packet(
                0xF0,
                &[
                    &[0x18],
                    &props(&[
                        &cat(&[&[0x15], &s("SCRAM-SHA-256")]),
                        &cat(&[&[0x16], &bin(b"r=abc")]),
                        &cat(&[&[0x1F], &s("step 2")]),
                        &cat(&[&[0x26], &s("k"), &s("v")]),
                    ]),
                ],
            ),
            Packet::Auth(Auth {
                reason_code: ReasonCode::ContinueAuthentication,
                properties: AuthProperties {
                    authentication_method: Some("SCRAM-SHA-256".to_owned()),
                    authentication_data: Some(Bytes::from_static(b"r=abc")),
                    reason_string: Some("step 2".to_owned()),
                    user_properties: vec![user("k", "v")],
                },
            }),
        ),
    ]
}

#[test]
fn decodes_valid_packets() {
    for (name, bytes, expected) in valid_cases() {
        let mut buf = BytesMut::from(&bytes[..]);
        let packet = decode_as(&mut buf, V5, MAX).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(packet.as_ref(), Some(&expected), "{name}");
        assert!(buf.is_empty(), "{name}: left {} bytes", buf.len());
    }
}

#[test]
fn encodes_to_the_bytes_it_decodes_from() {
    for (name, bytes, packet) in valid_cases() {
        let mut buf = BytesMut::new();
        encode(&packet, V5, &mut buf).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(&buf[..], &bytes[..], "{name}");
    }
}

#[test]
fn every_prefix_is_incomplete_and_consumes_nothing() {
    for (name, bytes, _) in valid_cases() {
        for len in 0..bytes.len() {
            let mut buf = BytesMut::from(&bytes[..len]);
            assert_eq!(decode_as(&mut buf, V5, MAX), Ok(None), "{name} cut at {len}");
            assert_eq!(buf.len(), len, "{name} cut at {len}");
        }
    }
}

#[test]
fn a_connect_names_its_own_version() {
    let v5 = packet(0x10, &[&s("MQTT"), &[5, 0x02, 0, 60], &props(&[&[0x11, 0, 0, 0, 5]]), &s("c")]);
    let v4 = connect_frame("MQTT", 4, 0x02, &[0, 1, b'c']);
    for codec_version in ProtocolVersion::ALL {
        let Ok(Some(Packet::Connect(connect))) = decode_as(&mut BytesMut::from(&v5[..]), codec_version, MAX) else {
            panic!("5.0 CONNECT in a {codec_version:?} codec");
        };
        assert_eq!((connect.protocol, connect.properties.session_expiry_interval), (V5, Some(5)));
        let Ok(Some(Packet::Connect(connect))) = decode_as(&mut BytesMut::from(&v4[..]), codec_version, MAX) else {
            panic!("3.1.1 CONNECT in a {codec_version:?} codec");
        };
        assert_eq!(connect.protocol, ProtocolVersion::V3_1_1);
    }
}

#[test]
fn decodes_the_shortened_and_long_forms_alike() {
    let cases: Vec<(&str, Vec<u8>, Packet)> = vec![
        ("puback, success without properties", vec![0x40, 3, 0, 1, 0], Packet::PubAck(PubAck::new(pid(1)))),
        ("puback, success, empty properties", vec![0x40, 4, 0, 1, 0, 0], Packet::PubAck(PubAck::new(pid(1)))),
        (
            "pubrec, reason code, empty properties",
            vec![0x50, 4, 0, 1, 0x10, 0],
            Packet::PubRec(ack(1, ReasonCode::NoMatchingSubscribers)),
        ),
        ("disconnect, normal, reason code only", vec![0xE0, 1, 0], Packet::Disconnect(Disconnect::default())),
        ("disconnect, normal, empty properties", vec![0xE0, 2, 0, 0], Packet::Disconnect(Disconnect::default())),
        (
            "publish with the property section as long as it could be",
            packet(0x30, &[&s("t"), &[0x80, 0x80, 0x80, 0x00]]),
            Packet::Publish(Publish { topic: Arc::from("t"), ..Publish::default() }),
        ),
    ];
    for (name, bytes, expected) in cases {
        let mut buf = BytesMut::from(&bytes[..]);
        assert_eq!(decode_as(&mut buf, V5, MAX), Ok(Some(expected)), "{name}");
        assert!(buf.is_empty(), "{name}");
    }
}
