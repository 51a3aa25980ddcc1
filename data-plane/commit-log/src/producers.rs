//! Producer sequence state of v2 batches (KIP-98 idempotence): per producer id, its current epoch and the
//! last [`BATCHES_KEPT`] batches it appended, used to refuse fenced and out-of-order batches and to
//! recognise a retried batch so that it is not appended twice.
//!
//! This lives in the log rather than in the Kafka front end because producerId, producerEpoch and
//! baseSequence are fields of the stored batch format, the check must be atomic with the append (it runs
//! under the partition's lock, so two racing requests of one producer cannot both pass it), and the state
//! is rebuilt from the batches on disk when the log is opened. Pure bookkeeping: no I/O.
//!
//! The rules are Kafka's (`ProducerStateManager`, 2.5+): an older epoch is fenced; a newer epoch starts
//! over at sequence 0; within an epoch a batch must continue right after the last one (sequences wrap from
//! `i32::MAX` to 0) or repeat one of the last five exactly; a producer id never seen (or whose state was
//! forgotten) is accepted at any sequence.

use std::collections::{HashMap, VecDeque};

use crate::batch::BatchHeader;

/// Batches remembered per producer: a client has at most this many requests in flight per partition.
pub(crate) const BATCHES_KEPT: usize = 5;

/// A producer whose newest batch is older than this (by the batch's max timestamp) is forgotten when the
/// log rolls a segment (Kafka's `producer.id.expiration.ms` default).
pub(crate) const EXPIRATION_MS: i64 = 24 * 60 * 60 * 1000;

/// Why an idempotent batch was refused; nothing of the append was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SequenceError {
    #[error("producer {producer_id} epoch {epoch} is older than its current epoch {current}")]
    StaleEpoch { producer_id: i64, epoch: i16, current: i16 },
    #[error("producer {producer_id} sent sequence {found}, expected {expected}")]
    OutOfOrder { producer_id: i64, expected: i32, found: i32 },
    /// Kafka accepts one batch per partition per Produce request (v3+); an idempotent batch must be alone.
    #[error("a batch of an idempotent producer must be the only batch of its append")]
    NotAlone,
}

/// Where a remembered batch went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchMeta {
    pub first_seq: i32,
    pub last_seq: i32,
    pub base_offset: i64,
    pub last_offset: i64,
    /// The batch's max timestamp (the broker's time for LogAppendTime).
    pub timestamp: i64,
}

#[derive(Debug, Clone)]
struct Entry {
    epoch: i16,
    /// Oldest first, at most [`BATCHES_KEPT`].
    batches: VecDeque<BatchMeta>,
}

/// The producer state of one partition log.
#[derive(Debug, Default)]
pub(crate) struct Producers {
    entries: HashMap<i64, Entry>,
}

fn next_sequence(seq: i32) -> i32 {
    if seq == i32::MAX { 0 } else { seq + 1 }
}

impl Producers {
    /// Checks the batches of one append (before offsets are assigned). `Ok(Some(meta))`: the append is a
    /// retry of the batch described by `meta`, already in the log; `Ok(None)`: append it.
    pub fn check(&self, headers: &[BatchHeader]) -> Result<Option<BatchMeta>, SequenceError> {
        let mut idempotent = headers.iter().filter(|h| h.producer_id >= 0);
        let Some(header) = idempotent.next() else { return Ok(None) };
        if headers.len() > 1 {
            return Err(SequenceError::NotAlone);
        }
        let (producer_id, first) = (header.producer_id, header.base_sequence);
        let out_of_order = |expected| SequenceError::OutOfOrder { producer_id, expected, found: first };
        let Some(entry) = self.entries.get(&producer_id) else {
            return if first < 0 { Err(out_of_order(0)) } else { Ok(None) };
        };
        if header.producer_epoch < entry.epoch {
            return Err(SequenceError::StaleEpoch { producer_id, epoch: header.producer_epoch, current: entry.epoch });
        }
        if header.producer_epoch > entry.epoch {
            return if first == 0 { Ok(None) } else { Err(out_of_order(0)) };
        }
        let last = header.last_sequence();
        if let Some(duplicate) = entry.batches.iter().find(|b| b.first_seq == first && b.last_seq == last) {
            return Ok(Some(*duplicate));
        }
        match entry.batches.back() {
            Some(previous) if next_sequence(previous.last_seq) != first => {
                Err(out_of_order(next_sequence(previous.last_seq)))
            }
            _ if first < 0 => Err(out_of_order(0)),
            _ => Ok(None),
        }
    }

    /// Records an appended (or recovered) batch, its offsets assigned.
    pub fn record(&mut self, header: &BatchHeader) {
        if header.producer_id < 0 {
            return;
        }
        let entry = self
            .entries
            .entry(header.producer_id)
            .or_insert_with(|| Entry { epoch: header.producer_epoch, batches: VecDeque::new() });
        if entry.epoch != header.producer_epoch {
            entry.epoch = header.producer_epoch;
            entry.batches.clear();
        }
        if entry.batches.len() == BATCHES_KEPT {
            entry.batches.pop_front();
        }
        entry.batches.push_back(BatchMeta {
            first_seq: header.base_sequence,
            last_seq: header.last_sequence(),
            base_offset: header.base_offset,
            last_offset: header.last_offset(),
            timestamp: header.max_timestamp,
        });
    }

    /// Forgets producers whose newest batch has a timestamp before `cutoff_ms`.
    pub fn expire(&mut self, cutoff_ms: i64) {
        self.entries.retain(|_, e| e.batches.back().is_some_and(|b| b.timestamp >= cutoff_ms));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(producer_id: i64, epoch: i16, base_sequence: i32, records: i32, base_offset: i64) -> BatchHeader {
        BatchHeader {
            base_offset,
            len: 100,
            last_offset_delta: records - 1,
            max_timestamp: 1_000,
            producer_id,
            producer_epoch: epoch,
            base_sequence,
        }
    }

    /// Checks and, when it is to be appended, records the batch; returns the check's verdict.
    fn offer(p: &mut Producers, h: BatchHeader) -> Result<Option<i64>, SequenceError> {
        let verdict = p.check(&[h])?;
        if verdict.is_none() {
            p.record(&h);
        }
        Ok(verdict.map(|m| m.base_offset))
    }

    #[test]
    fn in_order_batches_append_and_retries_are_duplicates() {
        let mut p = Producers::default();
        assert_eq!(offer(&mut p, header(7, 0, 0, 3, 0)), Ok(None));
        assert_eq!(offer(&mut p, header(7, 0, 3, 2, 3)), Ok(None));
        assert_eq!(offer(&mut p, header(7, 0, 0, 3, 99)), Ok(Some(0)));
        assert_eq!(offer(&mut p, header(7, 0, 3, 2, 99)), Ok(Some(3)));
        assert_eq!(offer(&mut p, header(7, 0, 5, 1, 5)), Ok(None));
    }

    #[test]
    fn only_the_last_five_batches_are_remembered() {
        let mut p = Producers::default();
        for i in 0..6 {
            assert_eq!(offer(&mut p, header(1, 0, i, 1, i64::from(i))), Ok(None));
        }
        assert_eq!(offer(&mut p, header(1, 0, 1, 1, 99)), Ok(Some(1)));
        let oldest = offer(&mut p, header(1, 0, 0, 1, 99));
        assert_eq!(oldest, Err(SequenceError::OutOfOrder { producer_id: 1, expected: 6, found: 0 }));
    }

    #[test]
    fn gaps_and_partial_overlaps_are_out_of_order() {
        let mut p = Producers::default();
        assert_eq!(offer(&mut p, header(2, 0, 0, 3, 0)), Ok(None));
        let gap = offer(&mut p, header(2, 0, 4, 1, 3));
        assert_eq!(gap, Err(SequenceError::OutOfOrder { producer_id: 2, expected: 3, found: 4 }));
        let overlap = offer(&mut p, header(2, 0, 1, 3, 3));
        assert_eq!(overlap, Err(SequenceError::OutOfOrder { producer_id: 2, expected: 3, found: 1 }));
        let negative = offer(&mut p, header(9, 0, -1, 1, 3));
        assert_eq!(negative, Err(SequenceError::OutOfOrder { producer_id: 9, expected: 0, found: -1 }));
    }

    #[test]
    fn epochs_fence_and_reset() {
        let mut p = Producers::default();
        assert_eq!(offer(&mut p, header(3, 1, 0, 2, 0)), Ok(None));
        let stale = offer(&mut p, header(3, 0, 2, 1, 2));
        assert_eq!(stale, Err(SequenceError::StaleEpoch { producer_id: 3, epoch: 0, current: 1 }));
        let not_zero = offer(&mut p, header(3, 2, 2, 1, 2));
        assert_eq!(not_zero, Err(SequenceError::OutOfOrder { producer_id: 3, expected: 0, found: 2 }));
        assert_eq!(offer(&mut p, header(3, 2, 0, 1, 2)), Ok(None));
        let old_after_bump = offer(&mut p, header(3, 1, 2, 1, 3));
        assert!(matches!(old_after_bump, Err(SequenceError::StaleEpoch { current: 2, .. })));
        assert_eq!(offer(&mut p, header(3, 2, 0, 1, 99)), Ok(Some(2)));
    }

    #[test]
    fn sequences_wrap_after_i32_max() {
        let mut p = Producers::default();
        let near_end = header(4, 0, i32::MAX - 1, 4, 0);
        assert_eq!(near_end.last_sequence(), 1);
        assert_eq!(offer(&mut p, near_end), Ok(None));
        assert_eq!(offer(&mut p, header(4, 0, i32::MAX - 1, 4, 99)), Ok(Some(0)));
        assert_eq!(offer(&mut p, header(4, 0, 2, 1, 4)), Ok(None));
        let mut q = Producers::default();
        assert_eq!(offer(&mut q, header(5, 0, i32::MAX, 1, 0)), Ok(None));
        assert_eq!(offer(&mut q, header(5, 0, 0, 1, 1)), Ok(None));
    }

    #[test]
    fn unknown_producers_start_anywhere_and_plain_batches_are_ignored() {
        let mut p = Producers::default();
        assert_eq!(offer(&mut p, header(6, 3, 500, 1, 0)), Ok(None));
        assert_eq!(offer(&mut p, header(6, 3, 501, 1, 1)), Ok(None));
        assert_eq!(offer(&mut p, header(-1, -1, -1, 4, 2)), Ok(None));
        assert_eq!(p.check(&[header(-1, -1, -1, 1, 0), header(-1, -1, -1, 1, 1)]), Ok(None));
        assert_eq!(p.check(&[header(-1, -1, -1, 1, 0), header(6, 3, 502, 1, 1)]), Err(SequenceError::NotAlone));
    }

    #[test]
    fn expiry_forgets_idle_producers() {
        let mut p = Producers::default();
        assert_eq!(offer(&mut p, header(8, 0, 0, 1, 0)), Ok(None));
        p.expire(1_000);
        assert_eq!(offer(&mut p, header(8, 0, 0, 1, 99)), Ok(Some(0)));
        p.expire(1_001);
        assert_eq!(offer(&mut p, header(8, 0, 0, 1, 1)), Ok(None));
    }
}
