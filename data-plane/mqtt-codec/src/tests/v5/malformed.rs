//! MQTT 5.0: every malformed case with its error and the reason code that
//! reports it.

use super::*;

/// A PUBLISH of topic `t` at QoS 0 with these properties and no payload.
fn publish_with(properties: &[&[u8]]) -> Vec<u8> {
    packet(0x30, &[&s("t"), &props(properties)])
}

/// A 5.0 CONNECT with these properties and client id `c`.
fn connect_with(properties: &[&[u8]]) -> Vec<u8> {
    packet(0x10, &[&s("MQTT"), &[5, 0x02, 0, 60], &props(properties), &s("c")])
}

/// A 5.0 SUBSCRIBE of `filter` with these options.
fn subscribe_with(filter: &str, options: u8) -> Vec<u8> {
    packet(0x82, &[&[0, 1], &props(&[]), &s(filter), &[options]])
}

#[test]
fn refuses_malformed_packets_with_the_right_reason_code() {
    use ReasonCode::{MalformedPacket as M, ProtocolError as P};
    let cases: Vec<(&str, Vec<u8>, DecodeError, ReasonCode)> = vec![
        (
            "property not allowed in the packet",
            publish_with(&[&[0x11, 0, 0, 0, 1]]),
            DecodeError::PropertyNotAllowed { property: 0x11, packet: "PUBLISH" },
            M,
        ),
        (
            "property not allowed in the will",
            packet(
                0x10,
                &[&s("MQTT"), &[5, 0x06, 0, 60], &props(&[]), &s("c"), &props(&[&[0x23, 0, 1]]), &s("w"), &bin(b"")],
            ),
            DecodeError::PropertyNotAllowed { property: 0x23, packet: "the will" },
            M,
        ),
        (
            "property given twice",
            publish_with(&[&[0x02, 0, 0, 0, 1], &[0x02, 0, 0, 0, 2]]),
            DecodeError::DuplicateProperty { property: 0x02, packet: "PUBLISH" },
            P,
        ),
        (
            "subscription identifier twice in SUBSCRIBE",
            packet(0x82, &[&[0, 1], &props(&[&[0x0B, 1], &[0x0B, 2]]), &s("t"), &[0]]),
            DecodeError::DuplicateProperty { property: 0x0B, packet: "SUBSCRIBE" },
            P,
        ),
        ("unknown property", publish_with(&[&[0x7F, 0]]), DecodeError::UnknownProperty(0x7F), M),
        ("two-byte property identifier", publish_with(&[&[0x80, 0x01, 0]]), DecodeError::UnknownProperty(128), M),
        (
            "property section longer than the packet",
            packet(0x30, &[&s("t"), &[5, 0x02, 0, 0]]),
            DecodeError::Truncated,
            M,
        ),
        ("property value cut short", publish_with(&[&[0x02, 0, 0]]), DecodeError::Truncated, M),
        (
            "property length of five bytes",
            packet(0x30, &[&s("t"), &[0x80, 0x80, 0x80, 0x80, 0x00]]),
            DecodeError::MalformedVariableByteInteger,
            M,
        ),
        (
            "subscription identifier of five bytes",
            publish_with(&[&[0x0B, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]]),
            DecodeError::MalformedVariableByteInteger,
            M,
        ),
        ("subscription identifier 0", publish_with(&[&[0x0B, 0]]), DecodeError::InvalidPropertyValue(0x0B), P),
        (
            "topic alias 0",
            publish_with(&[&[0x23, 0, 0]]),
            DecodeError::InvalidPropertyValue(0x23),
            ReasonCode::TopicAliasInvalid,
        ),
        ("payload format indicator 2", publish_with(&[&[0x01, 2]]), DecodeError::InvalidPropertyValue(0x01), P),
        (
            "response topic with a wildcard",
            publish_with(&[&cat(&[&[0x08], &s("r/#")])]),
            DecodeError::InvalidPropertyValue(0x08),
            P,
        ),
        ("user property with invalid UTF-8", publish_with(&[&[0x26, 0, 1, 0xFF, 0, 0]]), DecodeError::InvalidUtf8, M),
        (
            "empty topic without a topic alias",
            packet(0x30, &[&s(""), &props(&[])]),
            DecodeError::EmptyTopicWithoutAlias,
            P,
        ),
        ("publish qos 3", packet(0x36, &[&s("t"), &props(&[])]), DecodeError::InvalidQoS, M),
        ("receive maximum 0", connect_with(&[&[0x21, 0, 0]]), DecodeError::InvalidPropertyValue(0x21), P),
        ("maximum packet size 0", connect_with(&[&[0x27, 0, 0, 0, 0]]), DecodeError::InvalidPropertyValue(0x27), P),
        ("request problem information 2", connect_with(&[&[0x17, 2]]), DecodeError::InvalidPropertyValue(0x17), P),
        ("request response information 2", connect_with(&[&[0x19, 2]]), DecodeError::InvalidPropertyValue(0x19), P),
        (
            "authentication data without a method",
            connect_with(&[&cat(&[&[0x16], &bin(b"x")])]),
            DecodeError::AuthenticationDataWithoutMethod,
            P,
        ),
        (
            "connect without its property length",
            packet(0x10, &[&s("MQTT"), &[5, 0x02, 0, 60]]),
            DecodeError::Truncated,
            M,
        ),
        (
            "connect with the reserved flag",
            packet(0x10, &[&s("MQTT"), &[5, 0x03, 0, 60], &props(&[]), &s("c")]),
            DecodeError::ReservedConnectFlag,
            M,
        ),
        (
            "connect level 6",
            connect_frame("MQTT", 6, 0x02, &[0, 0, 1, b'c']),
            DecodeError::UnsupportedProtocolLevel(6),
            ReasonCode::UnsupportedProtocolVersion,
        ),
        (
            "connack maximum qos 2",
            packet(0x20, &[&[0, 0], &props(&[&[0x24, 2]])]),
            DecodeError::InvalidPropertyValue(0x24),
            P,
        ),
        (
            "connack retain available 2",
            packet(0x20, &[&[0, 0], &props(&[&[0x25, 2]])]),
            DecodeError::InvalidPropertyValue(0x25),
            P,
        ),
        (
            "connack reason code not for CONNACK",
            vec![0x20, 3, 0, 0x04, 0],
            DecodeError::InvalidReasonCode { packet_type: 2, code: 0x04 },
            M,
        ),
        ("connack without properties", vec![0x20, 2, 0, 0], DecodeError::Truncated, M),
        ("connack refusal with a session", vec![0x20, 3, 1, 0x87, 0], DecodeError::SessionPresentOnRefusal, P),
        (
            "puback reason code of PUBREL",
            vec![0x40, 3, 0, 1, 0x92],
            DecodeError::InvalidReasonCode { packet_type: 4, code: 0x92 },
            M,
        ),
        (
            "pubrel reason code of PUBACK",
            vec![0x62, 3, 0, 1, 0x10],
            DecodeError::InvalidReasonCode { packet_type: 6, code: 0x10 },
            M,
        ),
        (
            "puback property not allowed",
            packet(0x40, &[&[0, 1, 0], &props(&[&[0x23, 0, 1]])]),
            DecodeError::PropertyNotAllowed { property: 0x23, packet: "PUBACK" },
            M,
        ),
        (
            "suback reason code of UNSUBACK",
            packet(0x90, &[&[0, 1], &props(&[]), &[0x11]]),
            DecodeError::InvalidReasonCode { packet_type: 9, code: 0x11 },
            M,
        ),
        (
            "unsuback reason code of SUBACK",
            packet(0xB0, &[&[0, 1], &props(&[]), &[0x01]]),
            DecodeError::InvalidReasonCode { packet_type: 11, code: 0x01 },
            M,
        ),
        (
            "disconnect with an undefined reason code",
            vec![0xE0, 1, 0x05],
            DecodeError::InvalidReasonCode { packet_type: 14, code: 0x05 },
            M,
        ),
        (
            "disconnect with a property of CONNECT",
            packet(0xE0, &[&[0], &props(&[&[0x21, 0, 1]])]),
            DecodeError::PropertyNotAllowed { property: 0x21, packet: "DISCONNECT" },
            M,
        ),
        (
            "auth with a reason code of CONNACK",
            packet(0xF0, &[&[0x87], &props(&[&cat(&[&[0x15], &s("m")])])]),
            DecodeError::InvalidReasonCode { packet_type: 15, code: 0x87 },
            M,
        ),
        ("auth without an authentication method", vec![0xF0, 2, 0x18, 0], DecodeError::MissingAuthenticationMethod, P),
        ("auth with a reason code but no properties", vec![0xF0, 1, 0x18], DecodeError::Truncated, M),
        ("auth with flags", vec![0xF1, 0], DecodeError::InvalidFlags { packet_type: 15, flags: 1 }, M),
        ("subscription options reserved bit", subscribe_with("t", 0b0100_0000), DecodeError::ReservedSubscribeBits, M),
        ("subscription maximum qos 3", subscribe_with("t", 0b0000_0011), DecodeError::InvalidMaximumQoS, P),
        ("subscription retain handling 3", subscribe_with("t", 0b0011_0000), DecodeError::InvalidRetainHandling, P),
        (
            "no local on a shared subscription",
            subscribe_with("$share/g/t", 0b0000_0100),
            DecodeError::NoLocalOnSharedSubscription,
            P,
        ),
        ("subscribe without filters", packet(0x82, &[&[0, 1], &props(&[])]), DecodeError::NoTopicFilter, P),
        ("unsubscribe without filters", packet(0xA2, &[&[0, 1], &props(&[])]), DecodeError::NoTopicFilter, P),
        (
            "subscribe with an invalid filter",
            subscribe_with("a/#/b", 0),
            DecodeError::InvalidTopic(TopicError::MultiLevelNotLast),
            M,
        ),
        (
            "five-byte remaining length",
            vec![0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F],
            DecodeError::MalformedRemainingLength,
            M,
        ),
        ("publish with trailing property bytes", packet(0x40, &[&[0, 1, 0], &[1, 0x1F]]), DecodeError::Truncated, M),
    ];
    for (name, bytes, expected, reason) in cases {
        let mut buf = BytesMut::from(&bytes[..]);
        let error = decode_as(&mut buf, V5, MAX).expect_err(name);
        assert_eq!(error, expected, "{name}");
        assert_eq!(error.reason_code(), reason, "{name}");
    }
}

#[test]
fn packet_too_large_is_reported_as_0x95() {
    let mut buf = BytesMut::from(&[0x30, 0xFF, 0x7F][..]);
    let error = decode_as(&mut buf, V5, 64).unwrap_err();
    assert_eq!(error.reason_code(), ReasonCode::PacketTooLarge);
}
