//! The errors of the commit log. Callers tell apart bad input (`CorruptBatch`, `TooLarge`, `Sequence`), bad
//! requests (`OffsetOutOfRange`), storage faults (`Io`, `CorruptSegment`, `Inconsistent`, `Poisoned`) and `Closed`.

use std::path::PathBuf;

use crate::batch::BatchError;
use crate::producers::SequenceError;

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The append payload is not a sequence of valid v2 batches; nothing was written.
    #[error("corrupt record batch #{index} in payload: {reason}")]
    CorruptBatch { index: usize, reason: BatchError },
    /// The payload cannot fit one segment (more than 4 GiB or 2^32 offsets).
    #[error("payload of {bytes} bytes does not fit in a segment")]
    TooLarge { bytes: usize },
    /// An idempotent producer's batch is fenced or out of sequence; nothing was written.
    #[error(transparent)]
    Sequence(#[from] SequenceError),
    #[error("offset {requested} is outside the log range [{log_start}, {high_watermark}]")]
    OffsetOutOfRange { requested: i64, log_start: i64, high_watermark: i64 },
    /// The offset is in the log but below its local segments: the remote tier holds it.
    #[error("offset {requested} is below the local log (starting at {local_start}); it is in the remote tier")]
    InRemoteTier { requested: i64, local_start: i64 },
    /// Bytes already in a segment no longer parse (disk corruption).
    #[error("segment {segment} is corrupt at position {position}: {reason}")]
    CorruptSegment { segment: i64, position: u64, reason: BatchError },
    /// The directory holds segments that do not fit together; the log refuses to open.
    #[error("log directory {dir} is inconsistent: {reason}")]
    Inconsistent { dir: PathBuf, reason: String },
    /// An fsync failed: what the kernel kept is unknown, so the log accepts no writes until it is reopened.
    #[error("an fsync failed earlier; the log refuses writes until it is reopened")]
    Poisoned,
    #[error("the log is closed")]
    Closed,
    #[error("log i/o: {0}")]
    Io(#[from] std::io::Error),
}
