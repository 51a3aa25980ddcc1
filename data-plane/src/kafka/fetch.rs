//! Fetch: stored record batches, byte for byte, from each requested partition,
//! with Kafka's long poll (answer once `min_bytes` are there or `max_wait_ms`
//! has passed). No fetch sessions: every answer is a full one (session id 0),
//! which clients accept.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt as _;
use kafka_protocol::ResponseError;
use kafka_protocol::messages::TopicName;
use kafka_protocol::messages::fetch_request::FetchRequest;
use kafka_protocol::messages::fetch_response::{FetchResponse, FetchableTopicResponse, PartitionData};
use omnibus_commit_log::{LogError, PartitionLog, ReadResult};
use tokio::sync::watch;

use super::connection::Ctx;
use crate::tenancy::Action;
use crate::tier::Tier;

/// Longest wait we honour, whatever the client asks.
const MAX_WAIT: Duration = Duration::from_secs(30);

/// Bytes and records of the record batches a Fetch response carries, for
/// the rate quotas and the meter.
pub fn size(response: &FetchResponse) -> (u64, u64) {
    response
        .responses
        .iter()
        .flat_map(|topic| &topic.partitions)
        .filter_map(|partition| partition.records.as_ref())
        .fold((0, 0), |(bytes, records), batches| {
            (bytes + batches.len() as u64, records + super::produce::records_in(batches))
        })
}

pub async fn handle(ctx: &Ctx<'_>, request: FetchRequest) -> FetchResponse {
    let wait = Duration::from_millis(u64::try_from(request.max_wait_ms).unwrap_or(0)).min(MAX_WAIT);
    let deadline = tokio::time::Instant::now() + wait;
    let min_bytes = usize::try_from(request.min_bytes).unwrap_or(0);
    let plan: Arc<[TopicPlan]> = resolve(ctx, &request).into();
    loop {
        // Subscribe before reading, so a write between the two still wakes us.
        let mut watches: Vec<watch::Receiver<i64>> = plan
            .iter()
            .flat_map(|t| &t.partitions)
            .filter_map(|p| p.log.as_ref().ok())
            .map(|l| l.subscribe())
            .collect();
        // Reading segment files is blocking I/O (and the object store's copies
        // are waited for there too): keep it off the async workers.
        let pass = {
            let plan = plan.clone();
            let max_bytes = request.max_bytes;
            let tier = ctx.shared.tier.clone();
            tokio::task::spawn_blocking(move || read(&plan, max_bytes, &tier)).await
        };
        let (response, bytes, errors) = match pass {
            Ok(pass) => pass,
            Err(e) => {
                tracing::warn!(error = %e, "fetch read task failed");
                return FetchResponse::default().with_error_code(ResponseError::UnknownServerError.code());
            }
        };
        let done = bytes >= min_bytes.max(1) || errors || watches.is_empty();
        if done || tokio::time::Instant::now() >= deadline {
            metrics::counter!("omnibus_kafka_bytes_out_total").increment(bytes as u64);
            return response;
        }
        let changed = futures_util::future::select_all(watches.iter_mut().map(|w| w.changed().boxed()));
        tokio::select! {
            _ = changed => {}
            () = tokio::time::sleep_until(deadline) => {}
            () = ctx.shutdown.cancelled() => return response,
        }
    }
}

/// Batches the object store's copy holds at `offset`, below the local
/// segments; a failure of the store is a storage error the client retries.
fn read_remote(tier: &Tier, log: &PartitionLog, offset: i64, max_bytes: usize) -> Result<ReadResult, LogError> {
    let high_watermark = log.high_watermark();
    let log_start_offset = log.log_start_offset();
    match tier.read_blocking(log, offset, max_bytes) {
        Ok(bytes) => Ok(ReadResult { bytes, high_watermark, log_start_offset }),
        Err(e) if offset < log_start_offset => {
            tracing::debug!(offset, error = %e, "retention moved the log start during a remote read");
            Err(LogError::OffsetOutOfRange { requested: offset, log_start: log_start_offset, high_watermark })
        }
        Err(e) => Err(LogError::Io(std::io::Error::other(e))),
    }
}

/// A requested topic: its name and, per requested partition, the log to read
/// or why it cannot be read.
struct TopicPlan {
    name: TopicName,
    partitions: Vec<PartitionPlan>,
}

struct PartitionPlan {
    index: i32,
    fetch_offset: i64,
    max_bytes: i32,
    log: Result<Arc<PartitionLog>, ResponseError>,
}

/// Looks every requested partition up in the namespace and checks the ACL.
fn resolve(ctx: &Ctx<'_>, request: &FetchRequest) -> Vec<TopicPlan> {
    request
        .topics
        .iter()
        .map(|wanted| {
            let topic = ctx.topic(Action::Consume, wanted.topic.0.as_str());
            let partitions = wanted
                .partitions
                .iter()
                .map(|p| {
                    let log = topic.partition(p.partition);
                    PartitionPlan {
                        index: p.partition,
                        fetch_offset: p.fetch_offset,
                        max_bytes: p.partition_max_bytes,
                        log,
                    }
                })
                .collect();
            TopicPlan { name: wanted.topic.clone(), partitions }
        })
        .collect()
}

/// One pass over the planned partitions: the answer, the record bytes in it,
/// and whether any partition answered an error (which is answered at once).
fn read(plan: &[TopicPlan], max_bytes: i32, tier: &Tier) -> (FetchResponse, usize, bool) {
    let mut budget = usize::try_from(max_bytes).unwrap_or(usize::MAX).max(1);
    let mut total = 0;
    let mut errors = false;
    let topics = plan
        .iter()
        .map(|topic| {
            let partitions = topic
                .partitions
                .iter()
                .map(|wanted| {
                    let answer = PartitionData::default().with_partition_index(wanted.index);
                    let log = match &wanted.log {
                        Ok(log) => log,
                        Err(error) => {
                            errors = true;
                            return answer.with_error_code(error.code());
                        }
                    };
                    let max = usize::try_from(wanted.max_bytes).unwrap_or(0).min(budget);
                    let read = match log.read(wanted.fetch_offset, max.max(1)) {
                        Err(LogError::InRemoteTier { requested, .. }) => read_remote(tier, log, requested, max.max(1)),
                        read => read,
                    };
                    match read {
                        Ok(read) => {
                            // Kafka returns at least one batch even past the budget (KIP-74),
                            // but only for the first partition that has data.
                            let bytes = if total > 0 && read.bytes.len() > budget { Bytes::new() } else { read.bytes };
                            total += bytes.len();
                            budget = budget.saturating_sub(bytes.len());
                            answer
                                .with_high_watermark(read.high_watermark)
                                .with_last_stable_offset(read.high_watermark)
                                .with_log_start_offset(read.log_start_offset)
                                .with_records(Some(bytes))
                        }
                        Err(LogError::OffsetOutOfRange { log_start, high_watermark, .. }) => {
                            errors = true;
                            answer
                                .with_error_code(ResponseError::OffsetOutOfRange.code())
                                .with_high_watermark(high_watermark)
                                .with_log_start_offset(log_start)
                        }
                        Err(e) => {
                            errors = true;
                            tracing::warn!(topic = %topic.name.0.as_str(), partition = wanted.index, error = %e, "read failed");
                            // KAFKA_STORAGE_ERROR is retriable: the client refreshes metadata and fetches again.
                            answer.with_error_code(ResponseError::KafkaStorageError.code())
                        }
                    }
                })
                .collect();
            FetchableTopicResponse::default().with_topic(topic.name.clone()).with_partitions(partitions)
        })
        .collect();
    (FetchResponse::default().with_responses(topics), total, errors)
}
