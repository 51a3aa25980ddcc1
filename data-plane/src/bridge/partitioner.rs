//! Which partition a keyed record goes to: Apache Kafka's default partitioner
//! for keyed records (`murmur2(key) & 0x7fffffff % partitions`), so a record
//! the bridge writes lands where a Java producer would have put the same key
//! and each MQTT topic stays in order in one partition.
//!
//! Written here because it is twenty lines of Kafka's own `Utils.murmur2`
//! and no maintained crate reproduces Kafka's exact variant (seed 0x9747b28c,
//! signed arithmetic on the final mix). Pure functions.

/// Kafka's `Utils.murmur2`.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let length = data.len() as u32;
    let mut h = SEED ^ length;
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition of `key` among `partitions` (at least one).
pub fn partition_for(key: &[u8], partitions: usize) -> usize {
    let positive = (murmur2(key) & 0x7fff_ffff) as usize;
    positive % partitions.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_kafkas_murmur2() {
        // Apache Kafka's UtilsTest.testMurmur2.
        let cases: &[(&[u8], i32)] = &[
            (b"21", -973_932_308),
            (b"foobar", -790_332_482),
            (b"a-little-bit-long-string", -985_981_536),
            (b"a-little-bit-longer-string", -1_486_304_829),
            (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971),
            (b"abc", 479_470_107),
        ];
        for (data, expected) in cases {
            assert_eq!(murmur2(data), *expected, "{:?}", String::from_utf8_lossy(data));
        }
    }

    #[test]
    fn partitions_are_in_range_and_stable() {
        for key in [&b"sensors/a"[..], b"", b"x"] {
            let p = partition_for(key, 3);
            assert!(p < 3);
            assert_eq!(p, partition_for(key, 3));
        }
        assert_eq!(partition_for(b"anything", 1), 0);
    }
}
