//! Every packet in every version it exists in: encoded, then decoded back to
//! an equal value. 5.0 values carry properties; older ones only what their
//! version can say.

use super::*;

fn user(name: &str, value: &str) -> (String, String) {
    (name.to_owned(), value.to_owned())
}

fn reason() -> AckProperties {
    AckProperties { reason_string: Some("why".to_owned()), user_properties: vec![user("k", "v"), user("k", "w")] }
}

/// `value` in 5.0, the default (all a 3.1.1 packet has) before.
fn only_v5<T: Default>(v5: bool, value: T) -> T {
    if v5 { value } else { T::default() }
}

/// One value of each packet kind, as full as `version` allows.
fn every_packet(version: ProtocolVersion) -> Vec<Packet> {
    let v5 = version.is_v5();
    let ack = |code: ReasonCode| PubAck {
        reason_code: if v5 { code } else { ReasonCode::Success },
        properties: only_v5(v5, reason()),
        ..PubAck::new(pid(3))
    };
    let options = SubscriptionOptions {
        qos: QoS::AtLeastOnce,
        no_local: v5,
        retain_as_published: v5,
        retain_handling: if v5 { RetainHandling::SendAtSubscribeIfNew } else { RetainHandling::SendAtSubscribe },
    };
    let mut packets = vec![
        Packet::Connect(Connect {
            protocol: version,
            clean_session: false,
            keep_alive: 5,
            client_id: "client".to_owned(),
            will: Some(LastWill {
                topic: Arc::from("will"),
                payload: Bytes::from_static(b"gone"),
                qos: QoS::ExactlyOnce,
                retain: true,
                properties: only_v5(
                    v5,
                    Box::new(WillProperties {
                        will_delay_interval: Some(1),
                        payload_format_indicator: Some(PayloadFormat::Utf8),
                        message_expiry_interval: Some(2),
                        content_type: Some("c".to_owned()),
                        response_topic: Some("r".to_owned()),
                        correlation_data: Some(Bytes::from_static(b"d")),
                        user_properties: vec![user("a", "b")],
                    }),
                ),
            }),
            username: Some("user".to_owned()),
            password: Some(Bytes::from_static(b"\x00\xFFpw")),
            properties: only_v5(
                v5,
                Box::new(ConnectProperties {
                    session_expiry_interval: Some(u32::MAX),
                    receive_maximum: Some(u16::MAX),
                    maximum_packet_size: Some(u32::MAX),
                    topic_alias_maximum: Some(0),
                    request_response_information: Some(false),
                    request_problem_information: Some(true),
                    user_properties: vec![user("", "")],
                    authentication_method: Some("m".to_owned()),
                    authentication_data: Some(Bytes::new()),
                }),
            ),
        }),
        Packet::ConnAck(ConnAck { session_present: version != ProtocolVersion::V3_1, ..ConnAck::default() }),
        Packet::ConnAck(ConnAck {
            session_present: false,
            code: if v5 { ConnectReturnCode::QuotaExceeded } else { ConnectReturnCode::ServerUnavailable },
            properties: only_v5(
                v5,
                Box::new(ConnAckProperties {
                    maximum_qos: Some(QoS::AtMostOnce),
                    assigned_client_identifier: Some("id".to_owned()),
                    server_keep_alive: Some(0),
                    user_properties: vec![user("x", "y")],
                    ..Default::default()
                }),
            ),
        }),
        Packet::Publish(Publish {
            dup: true,
            qos: QosPid::AtLeastOnce(pid(1)),
            retain: true,
            topic: Arc::from("a/b/c"),
            payload: Bytes::from(vec![0xAB; 300]),
            properties: only_v5(
                v5,
                PublishProperties {
                    payload_format_indicator: Some(PayloadFormat::Unspecified),
                    topic_alias: Some(u16::MAX),
                    subscription_identifiers: vec![268_435_455, 1],
                    correlation_data: Some(Bytes::from_static(b"c")),
                    ..Default::default()
                },
            ),
        }),
        Packet::PubAck(ack(ReasonCode::PayloadFormatInvalid)),
        Packet::PubRec(ack(ReasonCode::NoMatchingSubscribers)),
        Packet::PubRel(ack(ReasonCode::PacketIdentifierNotFound)),
        Packet::PubComp(ack(ReasonCode::Success)),
        Packet::Subscribe(Subscribe {
            properties: only_v5(
                v5,
                SubscribeProperties { subscription_identifier: Some(77), user_properties: vec![user("s", "t")] },
            ),
            ..Subscribe::new(pid(4), vec![("a/+".to_owned(), options), ("#".to_owned(), QoS::ExactlyOnce.into())])
        }),
        Packet::SubAck(SubAck {
            properties: only_v5(v5, reason()),
            ..SubAck::new(
                pid(4),
                vec![
                    SubscribeReturnCode::Granted(QoS::ExactlyOnce),
                    SubscribeReturnCode::Failure(if v5 {
                        ReasonCode::QuotaExceeded
                    } else {
                        ReasonCode::UnspecifiedError
                    }),
                ],
            )
        }),
        Packet::Unsubscribe(Unsubscribe {
            properties: only_v5(v5, UnsubscribeProperties { user_properties: vec![user("u", "v")] }),
            ..Unsubscribe::new(pid(5), vec!["a/+".to_owned(), "b/#".to_owned()])
        }),
        Packet::UnsubAck(UnsubAck {
            reason_codes: if v5 { vec![ReasonCode::Success, ReasonCode::TopicFilterInvalid] } else { Vec::new() },
            properties: only_v5(v5, reason()),
            ..UnsubAck::new(pid(5))
        }),
        Packet::PingReq,
        Packet::PingResp,
        Packet::Disconnect(Disconnect {
            reason_code: if v5 { ReasonCode::MessageRateTooHigh } else { ReasonCode::Success },
            properties: only_v5(v5, DisconnectProperties { session_expiry_interval: Some(3), ..Default::default() }),
        }),
    ];
    if v5 {
        packets.push(Packet::Auth(Auth {
            reason_code: ReasonCode::ReAuthenticate,
            properties: AuthProperties { authentication_method: Some("m".to_owned()), ..Default::default() },
        }));
    }
    packets
}

#[test]
fn every_packet_round_trips_in_every_version() {
    for version in ProtocolVersion::ALL {
        let mut kinds = Vec::new();
        for packet in every_packet(version) {
            let mut buf = BytesMut::new();
            encode(&packet, version, &mut buf).unwrap_or_else(|e| panic!("{version:?} {}: {e}", packet.kind()));
            let decoded =
                decode_as(&mut buf, version, MAX).unwrap_or_else(|e| panic!("{version:?} {}: {e}", packet.kind()));
            assert_eq!(decoded.as_ref(), Some(&packet), "{version:?} {}", packet.kind());
            assert!(buf.is_empty(), "{version:?} {}", packet.kind());
            kinds.push(packet.kind());
        }
        kinds.dedup();
        let expected = if version.is_v5() { 15 } else { 14 };
        assert_eq!(kinds.len(), expected, "{version:?}: {kinds:?}");
    }
}
