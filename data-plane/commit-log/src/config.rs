//! Per-log settings and the small enums of the public API. Plain data with documented defaults.

use std::time::Duration;

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// When an acknowledged append is durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// On disk: acknowledged after a group-commit fdatasync that covers it. Readers see only fsynced data.
    Fsync,
    /// In the page cache: acknowledged and visible once written, and fdatasynced in the background no later
    /// than this long after. Survives a crash of the process; a crash of the machine can lose the last
    /// interval's acknowledged writes.
    Interval(Duration),
}

/// Which timestamp a batch carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimestampType {
    /// Keep the producer's timestamps.
    CreateTime,
    /// Stamp the batch with the broker's clock at append (attribute bit 3, base and max timestamp).
    LogAppendTime,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogConfig {
    /// Roll when the active segment would exceed this many bytes. Default 1 GiB (at most 4 GiB is used).
    pub segment_bytes: u64,
    /// Roll an active segment older than this, on the next append. Default 7 days.
    pub segment_ms: Option<u64>,
    /// One sparse index entry per this many bytes appended. Default 4096.
    pub index_interval_bytes: u32,
    /// Delete closed segments whose newest timestamp is older than this. `None` = forever; default 7 days.
    pub retention_ms: Option<i64>,
    /// Delete the oldest closed segments while the log is larger than this. `None` (default) = no limit.
    pub retention_bytes: Option<u64>,
    /// Default [`Durability::Fsync`].
    pub durability: Durability,
    /// Tiered storage: `Some` when closed segments are copied to a remote tier. Local copies are then
    /// deleted only once copied, by these limits, and `retention_ms`/`retention_bytes` are the whole log's,
    /// which the remote tier applies. Default `None`: every segment lives on local disk only.
    pub tiered: Option<LocalRetention>,
}

/// How long local copies of segments already in the remote tier are kept (Kafka's `local.retention.ms`
/// and `local.retention.bytes`). A local copy goes when either limit is passed; `None` is no limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LocalRetention {
    pub ms: Option<i64>,
    pub bytes: Option<u64>,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            segment_bytes: 1 << 30,
            segment_ms: Some(7 * DAY_MS),
            index_interval_bytes: 4096,
            retention_ms: Some(7 * DAY_MS as i64),
            retention_bytes: None,
            durability: Durability::Fsync,
            tiered: None,
        }
    }
}
