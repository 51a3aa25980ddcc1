//! The Fleet service's ReadMessages: the newest records of a topic, decoded
//! from the stored batches, for the console's message browser. Reads the
//! partition logs (off the async threads) and consumes nothing: no offsets,
//! no group, no metering (it is the operator's view, not a client's fetch).

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::records::RecordBatchDecoder;
use omnibus_api::fleet::{ReadMessagesRequest, ReadMessagesResponse, StoredRecord};
use omnibus_commit_log::PartitionLog;
use tonic::Status;

use super::topics::known_namespace;
use crate::catalog::Catalog;
use crate::tenancy::Tenancy;

/// The most records one call returns.
pub const MAX_RECORDS: u32 = 100;
/// Values longer than this are cut.
pub const VALUE_PREVIEW: usize = 4096;
/// The most bytes read from one partition for one call.
const READ_BUDGET: usize = 8 << 20;

pub async fn read(
    tenancy: &Tenancy,
    catalog: &Arc<Catalog>,
    request: ReadMessagesRequest,
) -> Result<ReadMessagesResponse, Status> {
    let namespace = known_namespace(tenancy, request.namespace_id)?;
    if !(1..=MAX_RECORDS).contains(&request.limit) {
        return Err(Status::invalid_argument(format!("limit must be 1-{MAX_RECORDS}")));
    }
    let topic = catalog.topic(&namespace, &request.topic).ok_or_else(|| Status::not_found("no such topic"))?;
    let limit = request.limit as usize;
    let partitions = topic.partitions.clone();
    let records = tokio::task::spawn_blocking(move || {
        let mut records = Vec::new();
        for (index, log) in partitions.iter().enumerate() {
            records.extend(latest(i32::try_from(index).unwrap_or(i32::MAX), log, limit)?);
        }
        records.sort_by(|a: &StoredRecord, b| b.timestamp_ms.cmp(&a.timestamp_ms).then(b.offset.cmp(&a.offset)));
        records.truncate(limit);
        Ok::<_, Status>(records)
    })
    .await
    .map_err(|e| Status::internal(format!("the read did not finish: {e}")))??;
    Ok(ReadMessagesResponse { records })
}

/// The last `limit` data records of one partition (control records skipped).
fn latest(partition: i32, log: &PartitionLog, limit: usize) -> Result<Vec<StoredRecord>, Status> {
    let end = log.high_watermark();
    let start = log.local_start_offset().max(end - i64::try_from(limit).unwrap_or(i64::MAX));
    let mut records = Vec::new();
    let mut offset = start;
    let mut budget = READ_BUDGET;
    while offset < end && budget > 0 {
        let read = match log.read(offset, budget.min(1 << 20)) {
            Ok(read) => read,
            // Retention moved the start meanwhile: what is left is newer anyway.
            Err(_) => return Ok(records),
        };
        if read.bytes.is_empty() {
            break;
        }
        budget = budget.saturating_sub(read.bytes.len());
        let mut bytes: Bytes = read.bytes;
        let sets = RecordBatchDecoder::decode_all(&mut bytes)
            .map_err(|e| Status::internal(format!("a stored batch cannot be decoded: {e}")))?;
        let mut next = offset;
        for set in sets {
            for record in set.records {
                next = next.max(record.offset + 1);
                if record.offset < start || record.control {
                    continue;
                }
                let (value, value_truncated) = match record.value {
                    Some(value) if value.len() > VALUE_PREVIEW => (Some(value.slice(..VALUE_PREVIEW).to_vec()), true),
                    value => (value.map(|v| v.to_vec()), false),
                };
                records.push(StoredRecord {
                    partition,
                    offset: record.offset,
                    timestamp_ms: record.timestamp,
                    key: record.key.map(|k| k.to_vec()),
                    value,
                    value_truncated,
                });
            }
        }
        if next <= offset {
            break;
        }
        offset = next;
    }
    Ok(records)
}
