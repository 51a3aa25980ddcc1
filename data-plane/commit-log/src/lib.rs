//! Omnibus's storage: one append-only log per partition, in segments, holding Kafka v2 record batches exactly
//! as they arrived, with group-commit fsync, sparse indexes, crash recovery and retention.
//!
//! Invariants:
//! - Batches are stored byte for byte as given, except `baseOffset` (assigned here) and, for
//!   LogAppendTime, the attributes, timestamps and CRC. Records are never decoded or re-encoded.
//! - Offsets are contiguous across the whole log; readers never see data above the high watermark, and
//!   with [`Durability::Fsync`] the high watermark only covers fsynced data.
//! - This crate knows nothing of protocols: no Kafka or MQTT front-end types cross its API.
//! - A batch with a producer id is appended only in sequence for its producer and epoch (KIP-98
//!   idempotence, the batch format's own fields); a retried batch is recognised and not stored twice.
//!
//! - With tiered storage ([`LogConfig::tiered`]) a local segment is deleted only once the remote tier holds
//!   it ([`PartitionLog::set_remote`]); offsets below the local segments are the remote tier's to serve.
//!
//! File layout per log directory (Kafka's): `{base:020}.log`, `.index`, `.timeindex`, `log-start-offset`.

mod batch;
mod checkpoint;
mod config;
mod encode;
mod error;
mod flusher;
pub mod format;
mod index;
mod log;
mod producers;
mod recovery;
mod segment;
#[cfg(test)]
mod test_dir;

pub use batch::{BatchError, HEADER_LEN};
pub use config::{Durability, LocalRetention, LogConfig, TimestampType};
pub use encode::{Record, encode_batch};
pub use error::LogError;
pub use log::{AppendInfo, ClosedSegment, LogStats, PartitionLog, PendingAppend, ReadResult, RemoteRange};
pub use producers::SequenceError;
