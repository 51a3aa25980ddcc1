//! Kafka record batch (magic v2) headers: parsing, validation and the two rewrites the log makes
//! (offset assignment and LogAppendTime). Pure byte manipulation: no I/O, no knowledge of segments.
//! Records inside a batch are never decoded, so compressed batches pass through untouched.

/// Bytes of a v2 batch header, from `baseOffset` through `recordsCount`.
pub const HEADER_LEN: usize = 61;
/// `baseOffset` + `batchLength`: the bytes not counted by `batchLength`.
pub(crate) const LOG_OVERHEAD: usize = 12;

const BATCH_LENGTH: usize = 8;
const MAGIC: usize = 16;
const CRC: usize = 17;
const ATTRIBUTES: usize = 21;
const LAST_OFFSET_DELTA: usize = 23;
const BASE_TIMESTAMP: usize = 27;
const MAX_TIMESTAMP: usize = 35;
const PRODUCER_ID: usize = 43;
const PRODUCER_EPOCH: usize = 51;
const BASE_SEQUENCE: usize = 53;
const RECORDS_COUNT: usize = 57;

const TIMESTAMP_TYPE_BIT: i16 = 1 << 3;
const CONTROL_BIT: i16 = 1 << 5;

/// Why a batch was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("no record batches")]
    Empty,
    #[error("batch is truncated")]
    Truncated,
    #[error("batchLength {0} is invalid")]
    BadLength(i32),
    #[error("magic {0} is not supported (only v2)")]
    BadMagic(i8),
    #[error("crc mismatch: header says {expected:#010x}, data has {actual:#010x}")]
    BadCrc { expected: u32, actual: u32 },
    #[error("lastOffsetDelta {0} is negative")]
    BadLastOffsetDelta(i32),
    #[error("recordsCount {records} does not match lastOffsetDelta {last_offset_delta}")]
    BadRecordsCount { records: i32, last_offset_delta: i32 },
    #[error("batch has baseOffset {found}, expected {expected}")]
    OffsetMismatch { expected: i64, found: i64 },
    #[error("batch does not fit the 32-bit offsets and positions of a segment index")]
    IndexRange,
}

/// The header fields the log needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchHeader {
    pub base_offset: i64,
    /// Total bytes of the batch, including [`LOG_OVERHEAD`].
    pub len: usize,
    pub last_offset_delta: i32,
    pub max_timestamp: i64,
    /// -1 when the batch is not from an idempotent producer.
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
}

impl BatchHeader {
    pub fn last_offset(&self) -> i64 {
        self.base_offset + i64::from(self.last_offset_delta)
    }

    pub fn next_offset(&self) -> i64 {
        self.last_offset() + 1
    }

    pub fn len_u64(&self) -> u64 {
        self.len as u64
    }

    /// The sequence number of the batch's last record: sequences wrap from `i32::MAX` to 0, as Kafka's
    /// `DefaultRecordBatch.incrementSequence` does.
    pub fn last_sequence(&self) -> i32 {
        let last = (i64::from(self.base_sequence) + i64::from(self.last_offset_delta)) % (i64::from(i32::MAX) + 1);
        i32::try_from(last).unwrap_or(i32::MAX)
    }
}

fn i16_at(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}

fn i32_at(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn i64_at(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}

/// Total length of the batch starting at `buf` (which must hold at least [`LOG_OVERHEAD`] bytes).
pub(crate) fn total_len(buf: &[u8]) -> Result<usize, BatchError> {
    if buf.len() < LOG_OVERHEAD {
        return Err(BatchError::Truncated);
    }
    let length = i32_at(buf, BATCH_LENGTH);
    match usize::try_from(length) {
        Ok(n) if n >= HEADER_LEN - LOG_OVERHEAD => Ok(n + LOG_OVERHEAD),
        _ => Err(BatchError::BadLength(length)),
    }
}

/// Parses and checks the header at the start of `buf` (at least [`HEADER_LEN`] bytes); the CRC is not checked.
pub(crate) fn parse_header(buf: &[u8]) -> Result<BatchHeader, BatchError> {
    if buf.len() < HEADER_LEN {
        return Err(BatchError::Truncated);
    }
    let len = total_len(buf)?;
    let magic = i8::from_be_bytes([buf[MAGIC]]);
    if magic != 2 {
        return Err(BatchError::BadMagic(magic));
    }
    let last_offset_delta = i32_at(buf, LAST_OFFSET_DELTA);
    if last_offset_delta < 0 {
        return Err(BatchError::BadLastOffsetDelta(last_offset_delta));
    }
    let records = i32_at(buf, RECORDS_COUNT);
    let control = i16_at(buf, ATTRIBUTES) & CONTROL_BIT != 0;
    let count_ok = match records {
        0 => control,
        n if n > 0 => i64::from(n) == i64::from(last_offset_delta) + 1,
        _ => false,
    };
    if !count_ok {
        return Err(BatchError::BadRecordsCount { records, last_offset_delta });
    }
    Ok(BatchHeader {
        base_offset: i64_at(buf, 0),
        len,
        last_offset_delta,
        max_timestamp: i64_at(buf, MAX_TIMESTAMP),
        producer_id: i64_at(buf, PRODUCER_ID),
        producer_epoch: i16_at(buf, PRODUCER_EPOCH),
        base_sequence: i32_at(buf, BASE_SEQUENCE),
    })
}

/// Checks one whole batch (`batch` is exactly its bytes): header and CRC-32C.
pub(crate) fn check_batch(batch: &[u8]) -> Result<BatchHeader, BatchError> {
    let header = parse_header(batch)?;
    if header.len != batch.len() {
        return Err(BatchError::Truncated);
    }
    let expected = u32_at(batch, CRC);
    let actual = crc32c::crc32c(&batch[ATTRIBUTES..]);
    if expected != actual {
        return Err(BatchError::BadCrc { expected, actual });
    }
    Ok(header)
}

/// Validates a payload of concatenated whole batches, returning each batch's header with its index on error.
pub(crate) fn split_batches(payload: &[u8]) -> Result<Vec<BatchHeader>, (usize, BatchError)> {
    if payload.is_empty() {
        return Err((0, BatchError::Empty));
    }
    let mut headers = Vec::new();
    let mut pos = 0;
    while pos < payload.len() {
        let index = headers.len();
        let rest = &payload[pos..];
        let len = total_len(rest).map_err(|e| (index, e))?;
        let batch = rest.get(..len).ok_or((index, BatchError::Truncated))?;
        headers.push(check_batch(batch).map_err(|e| (index, e))?);
        pos += len;
    }
    Ok(headers)
}

/// Writes `offset` into `baseOffset`; the CRC does not cover it.
pub(crate) fn set_base_offset(batch: &mut [u8], offset: i64) {
    batch[..8].copy_from_slice(&offset.to_be_bytes());
}

/// Marks the batch as LogAppendTime with `now_ms` as its base and max timestamp, and recomputes the CRC.
pub(crate) fn set_log_append_time(batch: &mut [u8], now_ms: i64) {
    let attributes = i16_at(batch, ATTRIBUTES) | TIMESTAMP_TYPE_BIT;
    batch[ATTRIBUTES..ATTRIBUTES + 2].copy_from_slice(&attributes.to_be_bytes());
    batch[BASE_TIMESTAMP..BASE_TIMESTAMP + 8].copy_from_slice(&now_ms.to_be_bytes());
    batch[MAX_TIMESTAMP..MAX_TIMESTAMP + 8].copy_from_slice(&now_ms.to_be_bytes());
    let crc = crc32c::crc32c(&batch[ATTRIBUTES..]);
    batch[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::encode::{Record, encode_batch};

    /// An uncompressed batch of `n` records with values `v0..`, timestamps `ts..`.
    pub(crate) fn batch(n: usize, ts: i64) -> Vec<u8> {
        let values: Vec<Vec<u8>> = (0..n).map(|i| format!("v{i}").into_bytes()).collect();
        let records: Vec<Record<'_>> = values
            .iter()
            .enumerate()
            .map(|(i, v)| Record { key: None, value: Some(v), timestamp_delta: i as i64, headers: &[] })
            .collect();
        encode_batch(&records, ts).map(|b| b.to_vec()).unwrap_or_default()
    }

    /// Like [`batch`], from producer `producer_id` at `epoch` with first sequence `base_sequence`.
    pub(crate) fn idempotent_batch(n: usize, producer_id: i64, epoch: i16, base_sequence: i32) -> Vec<u8> {
        let mut b = batch(n, 1_000);
        b[PRODUCER_ID..PRODUCER_ID + 8].copy_from_slice(&producer_id.to_be_bytes());
        b[PRODUCER_EPOCH..PRODUCER_EPOCH + 2].copy_from_slice(&epoch.to_be_bytes());
        b[BASE_SEQUENCE..BASE_SEQUENCE + 4].copy_from_slice(&base_sequence.to_be_bytes());
        refresh_crc(&mut b);
        b
    }

    fn refresh_crc(b: &mut [u8]) {
        let crc = crc32c::crc32c(&b[ATTRIBUTES..]);
        b[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
    }

    /// A batch whose attributes say gzip and whose records are opaque bytes.
    pub(crate) fn gzip_batch() -> Vec<u8> {
        let mut b = batch(3, 1_000);
        b[ATTRIBUTES + 1] |= 1;
        b.truncate(HEADER_LEN);
        b.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 1, 2, 3]);
        let len = i32::try_from(b.len() - LOG_OVERHEAD).unwrap_or(i32::MAX);
        b[BATCH_LENGTH..BATCH_LENGTH + 4].copy_from_slice(&len.to_be_bytes());
        refresh_crc(&mut b);
        b
    }

    fn patched(at: usize, bytes: &[u8], recrc: bool) -> Vec<u8> {
        let mut b = batch(2, 5);
        b[at..at + bytes.len()].copy_from_slice(bytes);
        if recrc {
            refresh_crc(&mut b);
        }
        b
    }

    fn control_empty() -> Vec<u8> {
        let mut b = patched(ATTRIBUTES, &CONTROL_BIT.to_be_bytes(), false);
        b[LAST_OFFSET_DELTA..LAST_OFFSET_DELTA + 4].copy_from_slice(&0i32.to_be_bytes());
        b[RECORDS_COUNT..RECORDS_COUNT + 4].copy_from_slice(&0i32.to_be_bytes());
        refresh_crc(&mut b);
        b
    }

    #[test]
    fn validation_table() {
        let good = batch(2, 5);
        let two = [good.clone(), batch(1, 9)].concat();
        let mut flipped = good.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0xff;
        type Case = (&'static str, Vec<u8>, Result<usize, (usize, BatchError)>);
        let cases: Vec<Case> = vec![
            ("one batch", good.clone(), Ok(1)),
            ("two batches", two.clone(), Ok(2)),
            ("gzip passes through", gzip_batch(), Ok(1)),
            ("control batch without records", control_empty(), Ok(1)),
            ("empty payload", vec![], Err((0, BatchError::Empty))),
            ("half a header", good[..30].to_vec(), Err((0, BatchError::Truncated))),
            ("second batch truncated", two[..two.len() - 1].to_vec(), Err((1, BatchError::Truncated))),
            ("trailing garbage", [good.clone(), vec![0; 5]].concat(), Err((1, BatchError::Truncated))),
            ("magic 1", patched(MAGIC, &[1], false), Err((0, BatchError::BadMagic(1)))),
            (
                "batchLength too small",
                patched(BATCH_LENGTH, &10i32.to_be_bytes(), false),
                Err((0, BatchError::BadLength(10))),
            ),
            (
                "batchLength negative",
                patched(BATCH_LENGTH, &(-1i32).to_be_bytes(), false),
                Err((0, BatchError::BadLength(-1))),
            ),
            (
                "batchLength too large",
                patched(BATCH_LENGTH, &1000i32.to_be_bytes(), false),
                Err((0, BatchError::Truncated)),
            ),
            (
                "negative lastOffsetDelta",
                patched(LAST_OFFSET_DELTA, &(-1i32).to_be_bytes(), true),
                Err((0, BatchError::BadLastOffsetDelta(-1))),
            ),
            (
                "count mismatch",
                patched(RECORDS_COUNT, &3i32.to_be_bytes(), true),
                Err((0, BatchError::BadRecordsCount { records: 3, last_offset_delta: 1 })),
            ),
            (
                "zero records, not control",
                patched(RECORDS_COUNT, &0i32.to_be_bytes(), true),
                Err((0, BatchError::BadRecordsCount { records: 0, last_offset_delta: 1 })),
            ),
        ];
        for (name, payload, want) in cases {
            let got = split_batches(&payload).map(|h| h.len());
            assert_eq!(got, want, "{name}");
        }
        assert!(matches!(split_batches(&flipped), Err((0, BatchError::BadCrc { .. }))));
    }

    #[test]
    fn base_offset_rewrite_keeps_crc_valid() {
        let mut b = batch(3, 7);
        set_base_offset(&mut b, 42);
        let h = check_batch(&b);
        assert_eq!(h.map(|h| (h.base_offset, h.last_offset())), Ok((42, 44)));
    }

    #[test]
    fn log_append_time_rewrite() {
        let mut b = gzip_batch();
        let records_before = b[HEADER_LEN..].to_vec();
        set_log_append_time(&mut b, 123_456);
        let h = check_batch(&b);
        assert_eq!(h.map(|h| h.max_timestamp), Ok(123_456));
        assert_eq!(i16_at(&b, ATTRIBUTES), 1 | TIMESTAMP_TYPE_BIT);
        assert_eq!(i64_at(&b, BASE_TIMESTAMP), 123_456);
        assert_eq!(&b[HEADER_LEN..], &records_before[..]);
    }
}
