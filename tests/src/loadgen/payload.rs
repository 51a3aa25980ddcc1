//! What a load-generator message carries, so a subscriber can tell every
//! message apart: the run's tag, the publisher, its sequence number and when
//! it was sent. Little-endian, padded with `x` to the payload size asked for.
//!
//! | bytes  | field                                         |
//! | ------ | --------------------------------------------- |
//! | 0..4   | run tag (random per load-generator process)   |
//! | 4..8   | publisher index                               |
//! | 8..16  | sequence number, from 0, per publisher        |
//! | 16..24 | nanoseconds since the process's clock origin  |

/// The smallest payload that holds the fields.
pub const MIN_SIZE: usize = 24;

/// One decoded payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub tag: u32,
    pub publisher: u32,
    pub seq: u64,
    pub sent_ns: u64,
}

/// Appends a payload of `size` bytes (at least [`MIN_SIZE`]) carrying `stamp`.
pub fn write(buf: &mut Vec<u8>, stamp: Stamp, size: usize) {
    buf.extend_from_slice(&stamp.tag.to_le_bytes());
    buf.extend_from_slice(&stamp.publisher.to_le_bytes());
    buf.extend_from_slice(&stamp.seq.to_le_bytes());
    buf.extend_from_slice(&stamp.sent_ns.to_le_bytes());
    buf.resize(buf.len() + size.saturating_sub(MIN_SIZE), b'x');
}

/// The stamp of a payload, or `None` if it is too short to be one.
pub fn read(payload: &[u8]) -> Option<Stamp> {
    let field = |at: usize, n: usize| payload.get(at..at + n);
    let u32_at = |at| field(at, 4).map(|b| u32::from_le_bytes(b.try_into().expect("four bytes")));
    let u64_at = |at| field(at, 8).map(|b| u64::from_le_bytes(b.try_into().expect("eight bytes")));
    Some(Stamp { tag: u32_at(0)?, publisher: u32_at(4)?, seq: u64_at(8)?, sent_ns: u64_at(16)? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_pads() {
        let stamp = Stamp { tag: 0xdead_beef, publisher: 3, seq: 1 << 40, sent_ns: 123_456_789 };
        let mut buf = vec![];
        write(&mut buf, stamp, 64);
        assert_eq!(buf.len(), 64);
        assert!(buf[MIN_SIZE..].iter().all(|&b| b == b'x'));
        assert_eq!(read(&buf), Some(stamp));
        let mut short = vec![];
        write(&mut short, stamp, 0);
        assert_eq!(short.len(), MIN_SIZE, "never shorter than the fields");
        assert_eq!(read(&short[..MIN_SIZE - 1]), None);
    }
}
