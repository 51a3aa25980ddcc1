//! Arbitrary bytes into the MQTT decoder, in the form of every protocol
//! version: decoding must not panic, an incomplete packet must consume
//! nothing, and every packet that decodes must encode, decode back to an
//! equal packet, and encode again to the same bytes.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use omnibus_mqtt_codec::decode::decode;
use omnibus_mqtt_codec::encode::encode;
use omnibus_mqtt_codec::{Packet, ProtocolVersion};

/// Large enough for any input libFuzzer makes; the limit check itself is
/// exercised by inputs announcing more.
const MAX_PACKET_SIZE: u32 = 1 << 20;

fuzz_target!(|data: &[u8]| {
    for version in ProtocolVersion::ALL {
        let mut buf = BytesMut::from(data);
        loop {
            let before = buf.len();
            match decode(&mut buf, version, MAX_PACKET_SIZE) {
                Ok(Some(packet)) => round_trip(&packet, version),
                Ok(None) => {
                    assert_eq!(buf.len(), before, "an incomplete packet consumed bytes");
                    break;
                }
                Err(_) => break,
            }
        }
    }
});

fn round_trip(packet: &Packet, version: ProtocolVersion) {
    let mut encoded = BytesMut::new();
    if let Err(error) = encode(packet, version, &mut encoded) {
        panic!("{version:?}: decoded {packet:?} does not encode: {error}");
    }
    let bytes = encoded.clone().freeze();
    let again = match decode(&mut encoded, version, u32::MAX) {
        Ok(Some(again)) => again,
        other => panic!("{version:?}: {packet:?} encoded as {bytes:02x?} decodes as {other:?}"),
    };
    assert!(encoded.is_empty(), "{version:?}: {bytes:02x?} decoded with bytes left over");
    assert_eq!(&again, packet, "{version:?}: round trip through {bytes:02x?}");
    let mut reencoded = BytesMut::new();
    encode(&again, version, &mut reencoded).expect("encodes once, encodes twice");
    assert_eq!(reencoded.freeze(), bytes, "{version:?}: {packet:?} encodes two ways");
}
