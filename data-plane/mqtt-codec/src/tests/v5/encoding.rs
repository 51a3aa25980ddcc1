//! MQTT 5.0 on the way out: what a 3.1.1 encoder makes of 5.0 values, what
//! 5.0 does not allow to be encoded, and packets held to the peer's maximum.

use super::*;

#[test]
fn a_3_1_1_encoder_leaves_out_what_only_5_0_has() {
    let reason = AckProperties { reason_string: Some("r".to_owned()), user_properties: vec![user("k", "v")] };
    let cases: Vec<(&str, Packet, Vec<u8>)> = vec![
        (
            "publish properties",
            Packet::Publish(Publish {
                topic: Arc::from("t"),
                payload: Bytes::from_static(b"x"),
                properties: PublishProperties { message_expiry_interval: Some(1), ..Default::default() },
                ..Publish::default()
            }),
            vec![0x30, 4, 0, 1, b't', b'x'],
        ),
        (
            "puback reason code and properties",
            Packet::PubAck(PubAck { properties: reason.clone(), ..ack(1, ReasonCode::QuotaExceeded) }),
            vec![0x40, 2, 0, 1],
        ),
        (
            "subscription options beyond the QoS",
            Packet::Subscribe(Subscribe::new(
                pid(1),
                vec![(
                    "t".to_owned(),
                    SubscriptionOptions {
                        qos: QoS::AtLeastOnce,
                        no_local: true,
                        retain_as_published: true,
                        retain_handling: RetainHandling::DoNotSend,
                    },
                )],
            )),
            vec![0x82, 6, 0, 1, 0, 1, b't', 1],
        ),
        (
            "suback refusals become 0x80",
            Packet::SubAck(SubAck {
                properties: reason.clone(),
                ..SubAck::new(
                    pid(1),
                    vec![
                        SubscribeReturnCode::Failure(ReasonCode::NotAuthorized),
                        SubscribeReturnCode::Granted(QoS::AtLeastOnce),
                    ],
                )
            }),
            vec![0x90, 4, 0, 1, 0x80, 1],
        ),
        (
            "unsuback reason codes",
            Packet::UnsubAck(UnsubAck { reason_codes: vec![ReasonCode::NotAuthorized], ..UnsubAck::new(pid(1)) }),
            vec![0xB0, 2, 0, 1],
        ),
        (
            "disconnect reason code and properties",
            Packet::Disconnect(Disconnect {
                reason_code: ReasonCode::ServerShuttingDown,
                properties: DisconnectProperties { reason_string: Some("r".to_owned()), ..Default::default() },
            }),
            vec![0xE0, 0],
        ),
        (
            "connack properties",
            Packet::ConnAck(ConnAck {
                properties: Box::new(ConnAckProperties { receive_maximum: Some(1), ..Default::default() }),
                ..ConnAck::default()
            }),
            vec![0x20, 2, 0, 0],
        ),
        (
            "a 5.0-only connack code as its nearest 3.1.1 return code",
            Packet::ConnAck(ConnAck { code: ConnectReturnCode::ServerBusy, ..ConnAck::default() }),
            vec![0x20, 2, 0, 3],
        ),
        (
            "banned as not authorized",
            Packet::ConnAck(ConnAck { code: ConnectReturnCode::Banned, ..ConnAck::default() }),
            vec![0x20, 2, 0, 5],
        ),
        (
            "a bad authentication method as a bad user name or password",
            Packet::ConnAck(ConnAck { code: ConnectReturnCode::BadAuthenticationMethod, ..ConnAck::default() }),
            vec![0x20, 2, 0, 4],
        ),
        (
            "a 3.1.1 connect ignores its properties and those of its will",
            Packet::Connect(Connect {
                protocol: ProtocolVersion::V3_1_1,
                will: Some(LastWill {
                    topic: Arc::from("w"),
                    properties: Box::new(WillProperties { will_delay_interval: Some(5), ..Default::default() }),
                    ..LastWill::default()
                }),
                properties: Box::new(ConnectProperties { session_expiry_interval: Some(5), ..Default::default() }),
                ..v5_connect("c")
            }),
            connect_frame("MQTT", 4, 0x06, &[0, 1, b'c', 0, 1, b'w', 0, 0]),
        ),
    ];
    for (name, packet, expected) in cases {
        let mut buf = BytesMut::new();
        encode(&packet, ProtocolVersion::V3_1_1, &mut buf).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(&buf[..], &expected[..], "{name}");
    }
}

#[test]
fn connack_codes_map_between_3_1_1_and_5_0() {
    for byte in 0..=5 {
        let code = ConnectReturnCode::from_return_code(byte).unwrap();
        assert_eq!(code.return_code(), byte);
        assert_eq!(ConnectReturnCode::from_reason_code(code.reason_code()), Some(code));
    }
    assert_eq!(ConnectReturnCode::from_return_code(6), None);
    assert_eq!(ConnectReturnCode::UnacceptableProtocolVersion.reason_code(), ReasonCode::UnsupportedProtocolVersion);
    assert_eq!(ConnectReturnCode::from_reason_code(ReasonCode::SessionTakenOver), None);
    for code in ReasonCode::ALL {
        assert_eq!(ReasonCode::from_byte(code.byte()), Some(code));
    }
}

#[test]
fn refuses_to_encode_what_5_0_does_not_allow() {
    let cases: Vec<(&str, Packet, ProtocolVersion, EncodeError)> = vec![
        (
            "auth before 5.0",
            Packet::Auth(Auth::default()),
            ProtocolVersion::V3_1_1,
            EncodeError::NotInVersion { packet: "AUTH", version: ProtocolVersion::V3_1_1 },
        ),
        (
            "a puback reason code of DISCONNECT",
            Packet::PubAck(ack(1, ReasonCode::ServerShuttingDown)),
            V5,
            EncodeError::ReasonCodeNotAllowed { packet: "PUBACK", code: ReasonCode::ServerShuttingDown },
        ),
        (
            "a suback refusal that is no error",
            Packet::SubAck(SubAck::new(pid(1), vec![SubscribeReturnCode::Failure(ReasonCode::GrantedQoS1)])),
            V5,
            EncodeError::ReasonCodeNotAllowed { packet: "SUBACK", code: ReasonCode::GrantedQoS1 },
        ),
        (
            "an unsuback reason code of SUBACK",
            Packet::UnsubAck(UnsubAck { reason_codes: vec![ReasonCode::GrantedQoS2], ..UnsubAck::new(pid(1)) }),
            V5,
            EncodeError::ReasonCodeNotAllowed { packet: "UNSUBACK", code: ReasonCode::GrantedQoS2 },
        ),
        (
            "a subscription identifier beyond four bytes",
            Packet::Publish(Publish {
                topic: Arc::from("t"),
                properties: PublishProperties { subscription_identifiers: vec![1 << 28], ..Default::default() },
                ..Publish::default()
            }),
            V5,
            EncodeError::VariableByteIntegerTooLarge(1 << 28),
        ),
        (
            "a property string over 65535 bytes",
            Packet::Disconnect(Disconnect {
                reason_code: ReasonCode::Success,
                properties: DisconnectProperties { reason_string: Some("r".repeat(70_000)), ..Default::default() },
            }),
            V5,
            EncodeError::FieldTooLong(70_000),
        ),
    ];
    for (name, packet, version, expected) in cases {
        let mut buf = BytesMut::new();
        assert_eq!(encode(&packet, version, &mut buf), Err(expected), "{name}");
        assert!(buf.is_empty(), "{name}: wrote {} bytes", buf.len());
    }
}

#[test]
fn codec_reads_and_writes_the_version_it_is_set_to() {
    let mut codec = MqttCodec::new(MAX);
    codec.version = V5;
    let mut buf = BytesMut::from(&[0xE0, 1, 0x04][..]);
    let packet = codec.decode(&mut buf).unwrap().unwrap();
    assert_eq!(
        packet,
        Packet::Disconnect(Disconnect { reason_code: ReasonCode::DisconnectWithWillMessage, ..Default::default() })
    );
    let mut out = BytesMut::new();
    codec.encode(packet, &mut out).unwrap();
    assert_eq!(&out[..], &[0xE0, 1, 0x04]);
}

#[test]
fn a_packet_over_the_peers_maximum_goes_without_reason_string_and_user_properties() {
    let mut codec = MqttCodec::new(MAX);
    codec.version = ProtocolVersion::V5;
    let mut ack = ack(1, ReasonCode::NotAuthorized);
    ack.properties.reason_string = Some("the credential may not publish to a/b".into());
    ack.properties.user_properties = vec![("k".into(), "v".into())];
    let mut out = BytesMut::new();
    codec.encode(Packet::PubAck(ack.clone()), &mut out).unwrap();
    let full = out.len();
    assert!(full > 8);

    codec.peer_max_packet_size = Some(u32::try_from(full).unwrap());
    out.clear();
    codec.encode(Packet::PubAck(ack.clone()), &mut out).unwrap();
    assert_eq!(out.len(), full, "a packet at the limit is sent whole");

    codec.peer_max_packet_size = Some(8);
    codec.take_bytes_encoded();
    out.clear();
    codec.encode(Packet::PubAck(ack), &mut out).unwrap();
    let sent = decode_as(&mut out.clone(), V5, MAX).unwrap().unwrap();
    let Packet::PubAck(sent) = sent else { panic!("{sent:?}") };
    assert_eq!(sent.reason_code, ReasonCode::NotAuthorized, "the reason code stays");
    assert_eq!(sent.properties, AckProperties::default());
    assert_eq!(codec.take_bytes_encoded(), out.len() as u64);

    codec.peer_max_packet_size = Some(3);
    let mut suback = SubAck::new(pid(2), vec![SubscribeReturnCode::Granted(QoS::AtMostOnce); 4]);
    suback.properties.reason_string = Some("x".into());
    out.clear();
    let refused = codec.encode(Packet::SubAck(suback), &mut out);
    assert!(
        matches!(
            refused,
            Err(CodecError::Encode(EncodeError::ExceedsPeerMaximum { packet: "SUBACK", limit: 3, size: 9 }))
        ),
        "{refused:?}"
    );
    assert!(out.is_empty(), "nothing of a refused packet is written");
    assert_eq!(codec.take_bytes_encoded(), 0);
}
