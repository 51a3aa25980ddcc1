//! The few MQTT 3.1.1 packets a load-generating client needs, sans-IO:
//! CONNECT, PUBLISH (QoS 0 and 1), PUBACK, SUBSCRIBE, PINGREQ and DISCONNECT
//! out; CONNACK, PUBLISH, PUBACK, SUBACK and PINGRESP in.
//!
//! Written here rather than borrowed from the broker's codec on purpose: the
//! client under load must not share a bug with the server it measures, and
//! its hot path borrows frames straight from the read buffer (no allocation
//! per message) so the generator stays cheap next to the broker on the same
//! cores. Encoders append to a `Vec<u8>`; [`frame`] splits one packet off the
//! front of a buffer.

/// Control packet types (the high nibble of the first byte).
pub const CONNACK: u8 = 2;
pub const PUBLISH: u8 = 3;
pub const PUBACK: u8 = 4;
pub const SUBACK: u8 = 9;
pub const PINGRESP: u8 = 13;

/// Bytes that are not a packet this client understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed packet: {0}")]
pub struct Malformed(pub &'static str);

/// One packet as it sits in the read buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    pub kind: u8,
    pub flags: u8,
    pub body: &'a [u8],
}

/// A PUBLISH borrowed from its frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Publish<'a> {
    pub topic: &'a [u8],
    pub qos: u8,
    /// 0 for QoS 0.
    pub packet_id: u16,
    pub payload: &'a [u8],
}

fn remaining_length(buf: &mut Vec<u8>, mut len: usize) {
    loop {
        let mut byte = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            byte |= 0x80;
        }
        buf.push(byte);
        if len == 0 {
            return;
        }
    }
}

fn string(buf: &mut Vec<u8>, s: &[u8]) {
    buf.extend_from_slice(&(s.len() as u16).to_be_bytes());
    buf.extend_from_slice(s);
}

/// CONNECT, protocol level 4 (3.1.1), no will.
pub fn connect(
    buf: &mut Vec<u8>,
    client_id: &str,
    username: Option<&str>,
    password: Option<&str>,
    keep_alive: u16,
    clean_session: bool,
) {
    let mut flags = 0u8;
    if username.is_some() {
        flags |= 0x80;
    }
    if password.is_some() {
        flags |= 0x40;
    }
    if clean_session {
        flags |= 0x02;
    }
    let len = 10 + 2 + client_id.len() + username.map_or(0, |u| 2 + u.len()) + password.map_or(0, |p| 2 + p.len());
    buf.push(0x10);
    remaining_length(buf, len);
    string(buf, b"MQTT");
    buf.push(4);
    buf.push(flags);
    buf.extend_from_slice(&keep_alive.to_be_bytes());
    string(buf, client_id.as_bytes());
    if let Some(username) = username {
        string(buf, username.as_bytes());
    }
    if let Some(password) = password {
        string(buf, password.as_bytes());
    }
}

/// The fixed header, topic and packet id of a PUBLISH whose `payload_len`
/// bytes of payload the caller appends next.
pub fn publish_header(buf: &mut Vec<u8>, topic: &[u8], qos: u8, packet_id: u16, payload_len: usize) {
    buf.push(0x30 | (qos << 1));
    let id_len = if qos > 0 { 2 } else { 0 };
    remaining_length(buf, 2 + topic.len() + id_len + payload_len);
    string(buf, topic);
    if qos > 0 {
        buf.extend_from_slice(&packet_id.to_be_bytes());
    }
}

pub fn publish(buf: &mut Vec<u8>, topic: &[u8], qos: u8, packet_id: u16, payload: &[u8]) {
    publish_header(buf, topic, qos, packet_id, payload.len());
    buf.extend_from_slice(payload);
}

pub fn puback(buf: &mut Vec<u8>, packet_id: u16) {
    buf.extend_from_slice(&[0x40, 2]);
    buf.extend_from_slice(&packet_id.to_be_bytes());
}

/// SUBSCRIBE to one filter.
pub fn subscribe(buf: &mut Vec<u8>, packet_id: u16, filter: &str, qos: u8) {
    buf.push(0x82);
    remaining_length(buf, 2 + 2 + filter.len() + 1);
    buf.extend_from_slice(&packet_id.to_be_bytes());
    string(buf, filter.as_bytes());
    buf.push(qos);
}

pub fn pingreq(buf: &mut Vec<u8>) {
    buf.extend_from_slice(&[0xC0, 0]);
}

pub fn disconnect(buf: &mut Vec<u8>) {
    buf.extend_from_slice(&[0xE0, 0]);
}

/// The first byte, the fixed header's length and the remaining length of the
/// packet at the front of `buf`, or `None` while that header is incomplete.
pub fn header(buf: &[u8]) -> Result<Option<(u8, usize, usize)>, Malformed> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    let mut len = 0usize;
    let mut shift = 0;
    let mut header = 1;
    loop {
        let Some(&byte) = buf.get(header) else {
            return Ok(None);
        };
        header += 1;
        len |= usize::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(Some((first, header, len)));
        }
        shift += 7;
        if shift > 21 {
            return Err(Malformed("remaining length longer than four bytes"));
        }
    }
}

/// The packet at the front of `buf` and its length, or `None` while it is
/// incomplete. Packets longer than `max_len` are refused.
pub fn frame(buf: &[u8], max_len: usize) -> Result<Option<(Frame<'_>, usize)>, Malformed> {
    let Some((first, header, len)) = header(buf)? else {
        return Ok(None);
    };
    if header + len > max_len {
        return Err(Malformed("packet larger than the client accepts"));
    }
    let Some(body) = buf.get(header..header + len) else {
        return Ok(None);
    };
    Ok(Some((Frame { kind: first >> 4, flags: first & 0x0f, body }, header + len)))
}

/// The parts of a PUBLISH frame.
pub fn parse_publish(frame: Frame<'_>) -> Result<Publish<'_>, Malformed> {
    let qos = (frame.flags >> 1) & 3;
    if qos == 3 {
        return Err(Malformed("PUBLISH with QoS 3"));
    }
    let body = frame.body;
    let topic_len = match body {
        [hi, lo, ..] => usize::from(u16::from_be_bytes([*hi, *lo])),
        _ => return Err(Malformed("PUBLISH without a topic")),
    };
    let topic = body.get(2..2 + topic_len).ok_or(Malformed("PUBLISH topic past its end"))?;
    let mut at = 2 + topic_len;
    let mut packet_id = 0;
    if qos > 0 {
        let id = body.get(at..at + 2).ok_or(Malformed("PUBLISH without a packet id"))?;
        packet_id = u16::from_be_bytes([id[0], id[1]]);
        at += 2;
    }
    Ok(Publish { topic, qos, packet_id, payload: &body[at..] })
}

/// The packet id at the front of a PUBACK or SUBACK.
pub fn packet_id(frame: Frame<'_>) -> Result<u16, Malformed> {
    match frame.body {
        [hi, lo, ..] => Ok(u16::from_be_bytes([*hi, *lo])),
        _ => Err(Malformed("no packet id")),
    }
}

/// The return code of a CONNACK (0 = accepted).
pub fn connack_code(frame: Frame<'_>) -> Result<u8, Malformed> {
    match frame.body {
        [_flags, code] => Ok(*code),
        _ => Err(Malformed("CONNACK is not two bytes")),
    }
}

/// The return codes of a SUBACK (0x80 = refused).
pub fn suback_codes(frame: Frame<'_>) -> Result<&[u8], Malformed> {
    frame.body.get(2..).ok_or(Malformed("SUBACK without a packet id"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_the_packets_as_the_spec_lays_them_out() {
        let cases: Vec<(&str, Vec<u8>, Vec<u8>)> = vec![
            (
                "connect",
                {
                    let mut b = vec![];
                    connect(&mut b, "c", Some("u"), Some("p"), 60, true);
                    b
                },
                vec![0x10, 19, 0, 4, b'M', b'Q', b'T', b'T', 4, 0xC2, 0, 60, 0, 1, b'c', 0, 1, b'u', 0, 1, b'p'],
            ),
            (
                "anonymous connect",
                {
                    let mut b = vec![];
                    connect(&mut b, "", None, None, 0, true);
                    b
                },
                vec![0x10, 12, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 0, 0, 0],
            ),
            (
                "publish qos 0",
                {
                    let mut b = vec![];
                    publish(&mut b, b"a/b", 0, 0, b"hi");
                    b
                },
                vec![0x30, 7, 0, 3, b'a', b'/', b'b', b'h', b'i'],
            ),
            (
                "publish qos 1",
                {
                    let mut b = vec![];
                    publish(&mut b, b"t", 1, 0x0102, b"x");
                    b
                },
                vec![0x32, 6, 0, 1, b't', 1, 2, b'x'],
            ),
            (
                "puback",
                {
                    let mut b = vec![];
                    puback(&mut b, 7);
                    b
                },
                vec![0x40, 2, 0, 7],
            ),
            (
                "subscribe",
                {
                    let mut b = vec![];
                    subscribe(&mut b, 1, "a/#", 1);
                    b
                },
                vec![0x82, 8, 0, 1, 0, 3, b'a', b'/', b'#', 1],
            ),
            (
                "pingreq",
                {
                    let mut b = vec![];
                    pingreq(&mut b);
                    b
                },
                vec![0xC0, 0],
            ),
            (
                "disconnect",
                {
                    let mut b = vec![];
                    disconnect(&mut b);
                    b
                },
                vec![0xE0, 0],
            ),
        ];
        for (name, got, want) in cases {
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn long_remaining_lengths_take_several_bytes() {
        for (len, want) in [(127, vec![0x7f]), (128, vec![0x80, 1]), (16_384, vec![0x80, 0x80, 1])] {
            let mut b = vec![];
            remaining_length(&mut b, len);
            assert_eq!(b, want, "{len}");
        }
        let mut b = vec![];
        publish(&mut b, b"t", 0, 0, &[7; 200]);
        let (f, used) = frame(&b, 1 << 20).unwrap().unwrap();
        assert_eq!(used, b.len());
        assert_eq!(parse_publish(f).unwrap().payload, &[7; 200][..]);
    }

    #[test]
    fn frames_split_off_the_front_and_wait_for_the_rest() {
        let mut b = vec![];
        publish(&mut b, b"t/1", 1, 9, b"payload");
        puback(&mut b, 3);
        let (f, used) = frame(&b, 1024).unwrap().unwrap();
        let p = parse_publish(f).unwrap();
        assert_eq!((p.topic, p.qos, p.packet_id, p.payload), (&b"t/1"[..], 1, 9, &b"payload"[..]));
        let (f, rest) = frame(&b[used..], 1024).unwrap().unwrap();
        assert_eq!((f.kind, packet_id(f).unwrap(), rest), (PUBACK, 3, 4));
        for cut in 0..used {
            assert_eq!(frame(&b[..cut], 1024).unwrap(), None, "cut at {cut}");
        }
        assert!(frame(&b, 4).is_err());
        assert!(frame(&[0x30, 0xff, 0xff, 0xff, 0xff, 0x01], 1 << 30).is_err());
    }

    #[test]
    fn reads_connack_suback_and_refuses_bad_publishes() {
        let (f, _) = frame(&[0x20, 2, 0, 5], 16).unwrap().unwrap();
        assert_eq!((f.kind, connack_code(f).unwrap()), (CONNACK, 5));
        let (f, _) = frame(&[0x90, 3, 0, 1, 0x80], 16).unwrap().unwrap();
        assert_eq!((f.kind, packet_id(f).unwrap(), suback_codes(f).unwrap()), (SUBACK, 1, &[0x80][..]));
        let (f, _) = frame(&[0x32, 3, 0, 1, b't'], 16).unwrap().unwrap();
        assert!(parse_publish(f).is_err(), "QoS 1 without a packet id");
        let (f, _) = frame(&[0x36, 3, 0, 1, b't'], 16).unwrap().unwrap();
        assert!(parse_publish(f).is_err(), "QoS 3");
        let (f, _) = frame(&[0x30, 2, 0, 9], 16).unwrap().unwrap();
        assert!(parse_publish(f).is_err(), "topic past the end");
    }
}
