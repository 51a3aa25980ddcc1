//! Builds uncompressed v2 record batches (keys, values, headers), for writers that produce records themselves (the MQTT bridge,
//! tests, benchmarks). Pure encoding: no I/O, and it never touches batches received from Kafka clients.

use bytes::{BufMut, Bytes, BytesMut};

use crate::batch::{HEADER_LEN, LOG_OVERHEAD};

/// One record to encode.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    /// Milliseconds after the batch's base timestamp.
    pub timestamp_delta: i64,
    /// (name, value) in order; a name may repeat.
    pub headers: &'a [(&'a str, Option<&'a [u8]>)],
}

fn put_varlong(buf: &mut BytesMut, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        buf.put_u8((z as u8) | 0x80);
        z >>= 7;
    }
    buf.put_u8(z as u8);
}

fn put_bytes(buf: &mut BytesMut, b: Option<&[u8]>) {
    match b {
        Some(b) => {
            put_varlong(buf, b.len() as i64);
            buf.put_slice(b);
        }
        None => put_varlong(buf, -1),
    }
}

/// Encodes `records` (at least one, else `None`) as one uncompressed batch with baseOffset 0, CreateTime
/// timestamps, no producer id, and a valid CRC-32C. The log assigns the real offsets on append.
pub fn encode_batch(records: &[Record<'_>], base_timestamp: i64) -> Option<Bytes> {
    let last_offset_delta = i32::try_from(records.len().checked_sub(1)?).ok()?;
    let mut body = BytesMut::new();
    let mut record = BytesMut::new();
    for (delta, r) in records.iter().enumerate() {
        record.clear();
        record.put_u8(0);
        put_varlong(&mut record, r.timestamp_delta);
        put_varlong(&mut record, delta as i64);
        put_bytes(&mut record, r.key);
        put_bytes(&mut record, r.value);
        put_varlong(&mut record, r.headers.len() as i64);
        for (name, value) in r.headers {
            put_bytes(&mut record, Some(name.as_bytes()));
            put_bytes(&mut record, *value);
        }
        put_varlong(&mut body, record.len() as i64);
        body.put_slice(&record);
    }
    let max_delta = records.iter().map(|r| r.timestamp_delta).max().unwrap_or(0);
    let batch_length = i32::try_from(HEADER_LEN - LOG_OVERHEAD + body.len()).ok()?;
    let mut out = BytesMut::with_capacity(HEADER_LEN + body.len());
    out.put_i64(0);
    out.put_i32(batch_length);
    out.put_i32(-1);
    out.put_i8(2);
    out.put_u32(0);
    let crc_from = out.len();
    out.put_i16(0);
    out.put_i32(last_offset_delta);
    out.put_i64(base_timestamp);
    out.put_i64(base_timestamp + max_delta);
    out.put_i64(-1);
    out.put_i16(-1);
    out.put_i32(-1);
    out.put_i32(last_offset_delta + 1);
    out.put_slice(&body);
    let crc = crc32c::crc32c(&out[crc_from..]);
    out[crc_from - 4..crc_from].copy_from_slice(&crc.to_be_bytes());
    Some(out.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::check_batch;

    #[test]
    fn encodes_a_valid_batch() {
        let records = [
            Record { key: Some(b"k"), value: Some(b"hello"), timestamp_delta: 0, headers: &[] },
            Record { key: None, value: None, timestamp_delta: 7, headers: &[("h", Some(b"v")), ("n", None)] },
        ];
        let b = encode_batch(&records, 1_000);
        let h = b.as_deref().map(check_batch);
        assert_eq!(h.map(|h| h.map(|h| (h.last_offset_delta, h.max_timestamp))), Some(Ok((1, 1_007))));
        // the first record, byte by byte: length 12, attributes, ts delta 0, offset delta 0, key "k", value "hello", 0 headers
        let first = b.as_deref().map(|b| b[HEADER_LEN..HEADER_LEN + 12].to_vec());
        assert_eq!(first, Some(vec![24, 0, 0, 0, 2, b'k', 10, b'h', b'e', b'l', b'l', b'o']));
        // the second: header count 2, "h" = "v", "n" = null
        let second = b.as_deref().map(|b| b[HEADER_LEN + 13..].to_vec());
        assert_eq!(second, Some(vec![26, 0, 14, 2, 1, 1, 4, 2, b'h', 2, b'v', 2, b'n', 1]));
        assert!(encode_batch(&[], 0).is_none());
    }
}
