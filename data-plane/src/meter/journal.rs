//! The usage journal, `{data_dir}/meter/journal.redb`: sealed usage records
//! by sequence number, kept until the control plane acknowledges them, and
//! each slot's cumulative counters as of the last seal.
//!
//! A seal is one redb transaction (fsynced): the records of what grew since
//! the last seal and the new totals together, so a crash leaves either both
//! or neither, and the next seal after a restart counts exactly what the
//! last one did not. Owns the tables and their encoding; knows nothing of
//! the mapping or of gRPC.

use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::{Deserialize, Serialize};

use super::counters::COUNTERS;

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const TOTALS: TableDefinition<u64, &[u8]> = TableDefinition::new("totals");
const RECORDS: TableDefinition<u64, &[u8]> = TableDefinition::new("records");
const TOMBSTONES: TableDefinition<u64, ()> = TableDefinition::new("tombstones");

const JOURNAL_ID: &str = "journal_id";
const NEXT_SEQ: &str = "next_seq";
const SEALED_AT: &str = "sealed_at_ms";

#[derive(Debug, thiserror::Error)]
#[error("usage journal {path}: {source}")]
pub struct JournalError {
    path: PathBuf,
    source: redb::Error,
}

/// What one namespace used between two seals on this broker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub seq: u64,
    pub namespace: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub values: [u64; COUNTERS],
}

/// A slot as the sealer read it.
#[derive(Debug, Clone)]
pub struct Reading {
    pub generation: u64,
    pub namespace: String,
    pub cumulative: [u64; COUNTERS],
    /// Its namespace is gone and nothing can count into it any more: after
    /// this seal the slot is freed.
    pub last: bool,
}

#[derive(Serialize, Deserialize)]
struct Totals {
    values: [u64; COUNTERS],
}

pub struct Journal {
    db: Database,
    path: PathBuf,
    id: String,
}

impl Journal {
    /// Opens (creating) the journal; also answers the generations of slots
    /// freed after their last seal, which the caller frees in the mapping
    /// and then [`Journal::forget_tombstones`]. Blocking.
    pub fn open(dir: &Path) -> Result<(Journal, Vec<u64>), JournalError> {
        let path = dir.join("journal.redb");
        let error = |source: redb::Error| JournalError { path: path.clone(), source };
        std::fs::create_dir_all(dir).map_err(|e| error(redb::Error::Io(e)))?;
        let db = Database::create(&path).map_err(|e| error(e.into()))?;
        let txn = db.begin_write().map_err(|e| error(e.into()))?;
        let id = {
            let mut meta = txn.open_table(META).map_err(|e| error(e.into()))?;
            txn.open_table(TOTALS).map_err(|e| error(e.into()))?;
            txn.open_table(RECORDS).map_err(|e| error(e.into()))?;
            txn.open_table(TOMBSTONES).map_err(|e| error(e.into()))?;
            let existing = meta.get(JOURNAL_ID).map_err(|e| error(e.into()))?.map(|v| v.value().to_vec());
            match existing {
                Some(id) => String::from_utf8_lossy(&id).into_owned(),
                None => {
                    let id = uuid::Uuid::now_v7().to_string();
                    meta.insert(JOURNAL_ID, id.as_bytes()).map_err(|e| error(e.into()))?;
                    id
                }
            }
        };
        txn.commit().map_err(|e| error(e.into()))?;
        let journal = Journal { db, path, id };
        let tombstones = journal.tombstones()?;
        Ok((journal, tombstones))
    }

    fn error(&self, source: impl Into<redb::Error>) -> JournalError {
        JournalError { path: self.path.clone(), source: source.into() }
    }

    /// This journal's id: records are unique by (journal id, seq), so a
    /// broker whose disk was replaced never repeats a key.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn tombstones(&self) -> Result<Vec<u64>, JournalError> {
        let txn = self.db.begin_read().map_err(|e| self.error(e))?;
        let table = txn.open_table(TOMBSTONES).map_err(|e| self.error(e))?;
        let mut out = Vec::new();
        for entry in table.iter().map_err(|e| self.error(e))? {
            out.push(entry.map_err(|e| self.error(e))?.0.value());
        }
        Ok(out)
    }

    /// Drops tombstones whose slots are freed in the (flushed) mapping.
    pub fn forget_tombstones(&self, generations: &[u64]) -> Result<(), JournalError> {
        let txn = self.db.begin_write().map_err(|e| self.error(e))?;
        {
            let mut table = txn.open_table(TOMBSTONES).map_err(|e| self.error(e))?;
            for generation in generations {
                table.remove(generation).map_err(|e| self.error(e))?;
            }
        }
        txn.commit().map_err(|e| self.error(e))
    }

    /// Records what each slot counted since the last seal, as of `now_ms`,
    /// and moves the totals on, in one durable transaction. A slot whose
    /// counters are below its totals (the mapping lost pages in a power cut)
    /// starts again from what it has. Returns the records written.
    pub fn seal(&self, now_ms: i64, readings: &[Reading]) -> Result<Vec<Record>, JournalError> {
        let txn = self.db.begin_write().map_err(|e| self.error(e))?;
        let mut written = Vec::new();
        {
            let mut meta = txn.open_table(META).map_err(|e| self.error(e))?;
            let mut totals = txn.open_table(TOTALS).map_err(|e| self.error(e))?;
            let mut records = txn.open_table(RECORDS).map_err(|e| self.error(e))?;
            let mut tombstones = txn.open_table(TOMBSTONES).map_err(|e| self.error(e))?;
            let read_i64 = |meta: &redb::Table<&str, &[u8]>, key| -> Result<Option<i64>, JournalError> {
                let value = meta.get(key).map_err(|e| self.error(e))?;
                Ok(value.and_then(|v| v.value().try_into().ok()).map(i64::from_le_bytes))
            };
            let mut seq = read_i64(&meta, NEXT_SEQ)?.unwrap_or(1);
            let start_ms = read_i64(&meta, SEALED_AT)?.unwrap_or(now_ms);
            for reading in readings {
                let before = match totals.get(reading.generation).map_err(|e| self.error(e))? {
                    Some(value) => postcard::from_bytes::<Totals>(value.value()).map(|t| t.values).unwrap_or_default(),
                    None => [0; COUNTERS],
                };
                let mut values = [0u64; COUNTERS];
                let mut lost = false;
                for c in 0..COUNTERS {
                    match reading.cumulative[c].checked_sub(before[c]) {
                        Some(delta) => values[c] = delta,
                        None => lost = true,
                    }
                }
                if lost {
                    tracing::warn!(namespace = %reading.namespace, "usage counters went back (a power cut?); counting on from them");
                    values = [0; COUNTERS];
                }
                if values.iter().any(|&v| v != 0) {
                    let record = Record {
                        seq: u64::try_from(seq).unwrap_or_default(),
                        namespace: reading.namespace.clone(),
                        start_ms,
                        end_ms: now_ms,
                        values,
                    };
                    let bytes = postcard::to_stdvec(&record)
                        .map_err(|e| self.error(redb::Error::Io(std::io::Error::other(e))))?;
                    records.insert(record.seq, bytes.as_slice()).map_err(|e| self.error(e))?;
                    written.push(record);
                    seq += 1;
                }
                if reading.last {
                    totals.remove(reading.generation).map_err(|e| self.error(e))?;
                    tombstones.insert(reading.generation, ()).map_err(|e| self.error(e))?;
                } else {
                    let bytes = postcard::to_stdvec(&Totals { values: reading.cumulative })
                        .map_err(|e| self.error(redb::Error::Io(std::io::Error::other(e))))?;
                    totals.insert(reading.generation, bytes.as_slice()).map_err(|e| self.error(e))?;
                }
            }
            meta.insert(NEXT_SEQ, seq.to_le_bytes().as_slice()).map_err(|e| self.error(e))?;
            meta.insert(SEALED_AT, now_ms.to_le_bytes().as_slice()).map_err(|e| self.error(e))?;
        }
        txn.commit().map_err(|e| self.error(e))?;
        Ok(written)
    }

    /// Up to `limit` records after `after_seq`, oldest first.
    pub fn read(&self, after_seq: u64, limit: usize) -> Result<Vec<Record>, JournalError> {
        let txn = self.db.begin_read().map_err(|e| self.error(e))?;
        let table = txn.open_table(RECORDS).map_err(|e| self.error(e))?;
        let mut out = Vec::new();
        for entry in table.range(after_seq.saturating_add(1)..).map_err(|e| self.error(e))?.take(limit) {
            let (_, value) = entry.map_err(|e| self.error(e))?;
            match postcard::from_bytes::<Record>(value.value()) {
                Ok(record) => out.push(record),
                Err(e) => tracing::error!(error = %e, "unreadable usage record skipped"),
            }
        }
        Ok(out)
    }

    /// Forgets the records up to `through_seq`, which the control plane has
    /// stored; answers how many went.
    pub fn acknowledge(&self, through_seq: u64) -> Result<usize, JournalError> {
        let txn = self.db.begin_write().map_err(|e| self.error(e))?;
        let removed = {
            let mut table = txn.open_table(RECORDS).map_err(|e| self.error(e))?;
            let seqs: Vec<u64> = table
                .range(..=through_seq)
                .map_err(|e| self.error(e))?
                .map(|entry| entry.map(|(k, _)| k.value()))
                .collect::<Result<_, _>>()
                .map_err(|e| self.error(e))?;
            for seq in &seqs {
                table.remove(seq).map_err(|e| self.error(e))?;
            }
            seqs.len()
        };
        txn.commit().map_err(|e| self.error(e))?;
        Ok(removed)
    }

    /// Records not yet acknowledged.
    pub fn pending(&self) -> Result<u64, JournalError> {
        let txn = self.db.begin_read().map_err(|e| self.error(e))?;
        let table = txn.open_table(RECORDS).map_err(|e| self.error(e))?;
        table.len().map_err(|e| self.error(e))
    }
}
