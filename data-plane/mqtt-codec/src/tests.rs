//! Table-driven tests of the codec: valid packets decode and re-encode to the
//! same bytes, every prefix of them is incomplete, malformed ones fail. This
//! file has MQTT 3.1 / 3.1.1 and the helpers; `tests/v5.rs` has MQTT 5.0 and
//! `tests/round_trip.rs` every packet in every version.

mod round_trip;
mod v5;

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use super::decode::{DecodeError, decode as decode_as};
use super::encode::encode;
use super::packet::*;
use super::{CodecError, MqttCodec};
use crate::topic::TopicError;

const MAX: u32 = 1024 * 1024;

/// Decodes in the form of 3.1.1, the codec's default before CONNECT.
fn decode(buf: &mut BytesMut, max: u32) -> Result<Option<Packet>, DecodeError> {
    decode_as(buf, ProtocolVersion::V3_1_1, max)
}

fn pid(id: u16) -> PacketId {
    PacketId::new(id).unwrap()
}

/// A fixed header (with a one-byte remaining length) in front of `body`.
fn frame(first: u8, body: &[u8]) -> Vec<u8> {
    let mut bytes = vec![first, u8::try_from(body.len()).unwrap()];
    bytes.extend_from_slice(body);
    bytes
}

/// The variable header of a CONNECT up to and including its flags and keep-alive.
fn connect_head(name: &str, level: u8, flags: u8) -> Vec<u8> {
    let mut body = vec![0, u8::try_from(name.len()).unwrap()];
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(&[level, flags, 0, 60]);
    body
}

fn connect_frame(name: &str, level: u8, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut body = connect_head(name, level, flags);
    body.extend_from_slice(payload);
    frame(0x10, &body)
}

fn connect(protocol: ProtocolVersion, client_id: &str) -> Connect {
    Connect {
        protocol,
        clean_session: true,
        keep_alive: 60,
        client_id: client_id.to_owned(),
        will: None,
        username: None,
        password: None,
        properties: Box::default(),
    }
}

fn valid_cases() -> Vec<(&'static str, Vec<u8>, Packet)> {
    let big_payload = Bytes::from(vec![7u8; 200]);
    let mut big_publish = vec![0x30, 0xCB, 0x01, 0, 1, b't'];
    big_publish.extend_from_slice(&big_payload);
    vec![
        (
            "connect 3.1.1",
            vec![0x10, 0x0F, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60, 0, 3, b'a', b'b', b'c'],
            Packet::Connect(connect(ProtocolVersion::V3_1_1, "abc")),
        ),
        (
            "connect 3.1",
            connect_frame("MQIsdp", 3, 0x02, &[0, 1, b'x']),
            Packet::Connect(connect(ProtocolVersion::V3_1, "x")),
        ),
        (
            "connect with empty client id, no clean session",
            connect_frame("MQTT", 4, 0x00, &[0, 0]),
            Packet::Connect(Connect { clean_session: false, ..connect(ProtocolVersion::V3_1_1, "") }),
        ),
        (
            "connect with will, user name and password",
            connect_frame("MQTT", 4, 0xEE, &[0, 1, b'c', 0, 1, b'w', 0, 3, b'b', b'y', b'e', 0, 1, b'u', 0, 1, b'p']),
            Packet::Connect(Connect {
                will: Some(LastWill {
                    topic: Arc::from("w"),
                    payload: Bytes::from_static(b"bye"),
                    qos: QoS::AtLeastOnce,
                    retain: true,
                    ..Default::default()
                }),
                username: Some("u".to_owned()),
                password: Some(Bytes::from_static(b"p")),
                ..connect(ProtocolVersion::V3_1_1, "c")
            }),
        ),
        (
            "connect with user name only",
            connect_frame("MQTT", 4, 0x82, &[0, 1, b'c', 0, 1, b'u']),
            Packet::Connect(Connect { username: Some("u".to_owned()), ..connect(ProtocolVersion::V3_1_1, "c") }),
        ),
        (
            "connack accepted",
            vec![0x20, 2, 0, 0],
            Packet::ConnAck(ConnAck {
                session_present: false,
                code: ConnectReturnCode::Accepted,
                ..Default::default()
            }),
        ),
        (
            "connack session present",
            vec![0x20, 2, 1, 0],
            Packet::ConnAck(ConnAck { session_present: true, code: ConnectReturnCode::Accepted, ..Default::default() }),
        ),
        (
            "connack bad user name or password",
            vec![0x20, 2, 0, 4],
            Packet::ConnAck(ConnAck {
                session_present: false,
                code: ConnectReturnCode::BadUserNameOrPassword,
                ..Default::default()
            }),
        ),
        (
            "publish qos 0",
            vec![0x30, 0x07, 0, 3, b'a', b'/', b'b', b'h', b'i'],
            Packet::Publish(Publish {
                dup: false,
                qos: QosPid::AtMostOnce,
                retain: false,
                topic: Arc::from("a/b"),
                payload: Bytes::from_static(b"hi"),
                ..Default::default()
            }),
        ),
        (
            "publish qos 1 dup retain",
            vec![0x3B, 0x07, 0, 1, b't', 0, 0x0A, b'x', b'y'],
            Packet::Publish(Publish {
                dup: true,
                qos: QosPid::AtLeastOnce(pid(10)),
                retain: true,
                topic: Arc::from("t"),
                payload: Bytes::from_static(b"xy"),
                ..Default::default()
            }),
        ),
        (
            "publish qos 2 empty payload",
            vec![0x34, 0x05, 0, 1, b't', 0x12, 0x34],
            Packet::Publish(Publish {
                dup: false,
                qos: QosPid::ExactlyOnce(pid(0x1234)),
                retain: false,
                topic: Arc::from("t"),
                payload: Bytes::new(),
                ..Default::default()
            }),
        ),
        (
            "publish with a two-byte remaining length",
            big_publish,
            Packet::Publish(Publish {
                dup: false,
                qos: QosPid::AtMostOnce,
                retain: false,
                topic: Arc::from("t"),
                payload: big_payload,
                ..Default::default()
            }),
        ),
        ("puback", vec![0x40, 2, 0, 1], Packet::PubAck(PubAck::new(pid(1)))),
        ("pubrec", vec![0x50, 2, 0, 2], Packet::PubRec(PubAck::new(pid(2)))),
        ("pubrel", vec![0x62, 2, 0, 3], Packet::PubRel(PubAck::new(pid(3)))),
        ("pubcomp", vec![0x70, 2, 1, 4], Packet::PubComp(PubAck::new(pid(0x104)))),
        (
            "subscribe two filters",
            vec![0x82, 12, 0, 1, 0, 3, b'a', b'/', b'#', 1, 0, 1, b'b', 2],
            Packet::Subscribe(Subscribe::new(
                pid(1),
                vec![("a/#".to_owned(), QoS::AtLeastOnce.into()), ("b".to_owned(), QoS::ExactlyOnce.into())],
            )),
        ),
        (
            "suback",
            vec![0x90, 5, 0, 1, 0, 1, 0x80],
            Packet::SubAck(SubAck::new(
                pid(1),
                vec![
                    SubscribeReturnCode::Granted(QoS::AtMostOnce),
                    SubscribeReturnCode::Granted(QoS::AtLeastOnce),
                    SubscribeReturnCode::Failure(ReasonCode::UnspecifiedError),
                ],
            )),
        ),
        (
            "unsubscribe",
            vec![0xA2, 7, 0, 2, 0, 3, b'a', b'/', b'+'],
            Packet::Unsubscribe(Unsubscribe::new(pid(2), vec!["a/+".to_owned()])),
        ),
        ("unsuback", vec![0xB0, 2, 0, 2], Packet::UnsubAck(UnsubAck::new(pid(2)))),
        ("pingreq", vec![0xC0, 0], Packet::PingReq),
        ("pingresp", vec![0xD0, 0], Packet::PingResp),
        ("disconnect", vec![0xE0, 0], Packet::Disconnect(Disconnect::default())),
    ]
}

#[test]
fn decodes_valid_packets() {
    for (name, bytes, expected) in valid_cases() {
        let mut buf = BytesMut::from(&bytes[..]);
        let packet = decode(&mut buf, MAX).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(packet.as_ref(), Some(&expected), "{name}");
        assert!(buf.is_empty(), "{name}: left {} bytes", buf.len());
    }
}

#[test]
fn encodes_to_the_bytes_it_decodes_from() {
    for (name, bytes, packet) in valid_cases() {
        let version = match &packet {
            Packet::Connect(connect) => connect.protocol,
            _ => ProtocolVersion::V3_1_1,
        };
        let mut buf = BytesMut::new();
        encode(&packet, version, &mut buf).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(&buf[..], &bytes[..], "{name}");
    }
}

#[test]
fn every_prefix_is_incomplete_and_consumes_nothing() {
    for (name, bytes, _) in valid_cases() {
        for len in 0..bytes.len() {
            let mut buf = BytesMut::from(&bytes[..len]);
            assert_eq!(decode(&mut buf, MAX), Ok(None), "{name} cut at {len}");
            assert_eq!(buf.len(), len, "{name} cut at {len}");
        }
    }
}

#[test]
fn refuses_malformed_packets() {
    let cases: Vec<(&str, Vec<u8>, DecodeError)> = vec![
        ("packet type 0", vec![0x00, 0], DecodeError::ReservedPacketType(0)),
        ("five-byte remaining length", vec![0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F], DecodeError::MalformedRemainingLength),
        ("publish qos 3", vec![0x36, 3, 0, 1, b't'], DecodeError::InvalidQoS),
        (
            "publish with + in topic",
            vec![0x30, 5, 0, 3, b'a', b'/', b'+'],
            DecodeError::InvalidTopic(TopicError::WildcardInName),
        ),
        ("publish with # in topic", vec![0x30, 3, 0, 1, b'#'], DecodeError::InvalidTopic(TopicError::WildcardInName)),
        ("publish with empty topic", vec![0x30, 2, 0, 0], DecodeError::InvalidTopic(TopicError::Empty)),
        ("publish with U+0000 in topic", vec![0x30, 4, 0, 2, b'a', 0], DecodeError::NullCharacter),
        ("publish with invalid UTF-8", vec![0x30, 4, 0, 2, 0xC3, 0x28], DecodeError::InvalidUtf8),
        ("publish dup at qos 0", vec![0x38, 3, 0, 1, b't'], DecodeError::DupOnQos0),
        ("publish packet id 0", vec![0x32, 5, 0, 1, b't', 0, 0], DecodeError::ZeroPacketId),
        ("publish without packet id", vec![0x32, 3, 0, 1, b't'], DecodeError::Truncated),
        ("topic longer than body", vec![0x30, 3, 0, 5, b'a'], DecodeError::Truncated),
        ("puback with flags", vec![0x42, 2, 0, 1], DecodeError::InvalidFlags { packet_type: 4, flags: 2 }),
        ("pubrel without flags", vec![0x60, 2, 0, 1], DecodeError::InvalidFlags { packet_type: 6, flags: 0 }),
        ("puback too short", vec![0x40, 1, 0], DecodeError::Truncated),
        ("puback too long", vec![0x40, 3, 0, 1, 0], DecodeError::TrailingBytes(1)),
        ("pingreq with body", vec![0xC0, 1, 0], DecodeError::TrailingBytes(1)),
        ("disconnect with flags", vec![0xE1, 0], DecodeError::InvalidFlags { packet_type: 14, flags: 1 }),
        (
            "subscribe without flags",
            vec![0x80, 6, 0, 1, 0, 1, b'a', 0],
            DecodeError::InvalidFlags { packet_type: 8, flags: 0 },
        ),
        ("subscribe without filters", vec![0x82, 2, 0, 1], DecodeError::NoTopicFilter),
        ("subscribe qos 3", vec![0x82, 6, 0, 1, 0, 1, b'a', 3], DecodeError::InvalidQoS),
        ("subscribe reserved bits", vec![0x82, 6, 0, 1, 0, 1, b'a', 4], DecodeError::ReservedSubscribeBits),
        ("subscribe missing qos byte", vec![0x82, 5, 0, 1, 0, 1, b'a'], DecodeError::Truncated),
        (
            "subscribe with # not last",
            vec![0x82, 10, 0, 1, 0, 5, b'a', b'/', b'#', b'/', b'b', 0],
            DecodeError::InvalidTopic(TopicError::MultiLevelNotLast),
        ),
        ("subscribe with empty filter", vec![0x82, 5, 0, 1, 0, 0, 0], DecodeError::InvalidTopic(TopicError::Empty)),
        ("unsubscribe without filters", vec![0xA2, 2, 0, 1], DecodeError::NoTopicFilter),
        (
            "unsubscribe without flags",
            vec![0xA0, 5, 0, 1, 0, 1, b'a'],
            DecodeError::InvalidFlags { packet_type: 10, flags: 0 },
        ),
        ("connack reserved flag bits", vec![0x20, 2, 2, 0], DecodeError::InvalidConnAck),
        ("connack unknown code", vec![0x20, 2, 0, 6], DecodeError::InvalidConnAck),
        ("connack refusal with a session", vec![0x20, 2, 1, 5], DecodeError::SessionPresentOnRefusal),
        ("suback code 3", vec![0x90, 3, 0, 1, 3], DecodeError::InvalidSubAckCode(3)),
        ("connect with reserved flag", connect_frame("MQTT", 4, 0x03, &[0, 1, b'c']), DecodeError::ReservedConnectFlag),
        (
            "connect with will qos but no will",
            connect_frame("MQTT", 4, 0x0A, &[0, 1, b'c']),
            DecodeError::WillFlagsWithoutWill,
        ),
        (
            "connect with will retain but no will",
            connect_frame("MQTT", 4, 0x22, &[0, 1, b'c']),
            DecodeError::WillFlagsWithoutWill,
        ),
        (
            "connect with will qos 3",
            connect_frame("MQTT", 4, 0x1E, &[0, 1, b'c', 0, 1, b'w', 0, 0]),
            DecodeError::InvalidQoS,
        ),
        (
            "connect with password but no user name",
            connect_frame("MQTT", 4, 0x42, &[0, 1, b'c', 0, 1, b'p']),
            DecodeError::PasswordWithoutUsername,
        ),
        (
            "connect with wildcard will topic",
            connect_frame("MQTT", 4, 0x06, &[0, 1, b'c', 0, 1, b'#', 0, 0]),
            DecodeError::InvalidTopic(TopicError::WildcardInName),
        ),
        (
            "connect with unknown protocol name",
            connect_frame("MQTX", 4, 0x02, &[0, 1, b'c']),
            DecodeError::InvalidProtocolName("MQTX".to_owned()),
        ),
        ("connect level 6", connect_frame("MQTT", 6, 0x02, &[0, 0, 1, b'c']), DecodeError::UnsupportedProtocolLevel(6)),
        ("auth, reserved before 5.0", vec![0xF0, 0], DecodeError::ReservedPacketType(15)),
        (
            "connect MQIsdp at level 4",
            connect_frame("MQIsdp", 4, 0x02, &[0, 1, b'c']),
            DecodeError::UnsupportedProtocolLevel(4),
        ),
        ("connect without client id", connect_frame("MQTT", 4, 0x02, &[]), DecodeError::Truncated),
        (
            "connect missing the password it announces",
            connect_frame("MQTT", 4, 0xC2, &[0, 1, b'c', 0, 1, b'u']),
            DecodeError::Truncated,
        ),
        (
            "connect with invalid UTF-8 client id",
            connect_frame("MQTT", 4, 0x02, &[0, 2, 0xFF, 0xFE]),
            DecodeError::InvalidUtf8,
        ),
        (
            "connect with trailing bytes",
            connect_frame("MQTT", 4, 0x02, &[0, 1, b'c', 9]),
            DecodeError::TrailingBytes(1),
        ),
        (
            "connect with fixed-header flags",
            {
                let mut bytes = connect_frame("MQTT", 4, 0x02, &[0, 1, b'c']);
                bytes[0] = 0x11;
                bytes
            },
            DecodeError::InvalidFlags { packet_type: 1, flags: 1 },
        ),
    ];
    for (name, bytes, expected) in cases {
        let mut buf = BytesMut::from(&bytes[..]);
        assert_eq!(decode(&mut buf, MAX), Err(expected), "{name}");
    }
}

#[test]
fn refuses_a_packet_over_the_limit_before_it_arrives() {
    // Remaining length 16383 announced; only the header is there.
    let mut buf = BytesMut::from(&[0x30, 0xFF, 0x7F][..]);
    assert_eq!(decode(&mut buf, 64), Err(DecodeError::PacketTooLarge { size: 16386, max: 64 }));
    // Exactly at the limit is fine.
    let mut buf = BytesMut::from(&[0xC0, 0][..]);
    assert_eq!(decode(&mut buf, 2), Ok(Some(Packet::PingReq)));
}

#[test]
fn decodes_back_to_back_packets() {
    let mut buf = BytesMut::from(&[0xC0, 0, 0x40, 2, 0, 9, 0xE0][..]);
    assert_eq!(decode(&mut buf, MAX), Ok(Some(Packet::PingReq)));
    assert_eq!(decode(&mut buf, MAX), Ok(Some(Packet::PubAck(PubAck::new(pid(9))))));
    assert_eq!(decode(&mut buf, MAX), Ok(None));
    assert_eq!(&buf[..], &[0xE0]);
}

#[test]
fn connack_for_mqtt_3_1_has_no_session_present_flag() {
    let packet =
        Packet::ConnAck(ConnAck { session_present: true, code: ConnectReturnCode::Accepted, ..Default::default() });
    let mut buf = BytesMut::new();
    encode(&packet, ProtocolVersion::V3_1, &mut buf).unwrap();
    assert_eq!(&buf[..], &[0x20, 2, 0, 0]);
}

#[test]
fn refuses_to_encode_an_overlong_field() {
    let packet = Packet::Publish(Publish {
        dup: false,
        qos: QosPid::AtMostOnce,
        retain: false,
        topic: Arc::from("t".repeat(70_000)),
        payload: Bytes::new(),
        ..Default::default()
    });
    let mut buf = BytesMut::new();
    assert!(encode(&packet, ProtocolVersion::V3_1_1, &mut buf).is_err());
    assert!(buf.is_empty());
}

#[test]
fn codec_counts_the_bytes_it_frames() {
    let mut codec = MqttCodec::new(MAX);
    let mut buf = BytesMut::from(&[0xC0, 0, 0x40, 2, 0, 9][..]);
    while codec.decode(&mut buf).unwrap().is_some() {}
    assert_eq!(codec.take_bytes_decoded(), 6);
    assert_eq!(codec.take_bytes_decoded(), 0);
    let mut out = BytesMut::new();
    codec.encode(Packet::PingResp, &mut out).unwrap();
    assert_eq!(codec.take_bytes_encoded(), 2);
    let mut bad = BytesMut::from(&[0x00, 0][..]);
    assert!(matches!(codec.decode(&mut bad), Err(CodecError::Decode(_))));
}
