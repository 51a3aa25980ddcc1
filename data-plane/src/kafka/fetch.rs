//! Fetch: stored record batches, byte for byte, from each requested partition,
//! with Kafka's long poll (answer once `min_bytes` are there or `max_wait_ms`
//! has passed). No fetch sessions: every answer is a full one (session id 0),
//! which clients accept.

use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt as _;
use kafka_protocol::ResponseError;
use kafka_protocol::messages::fetch_request::FetchRequest;
use kafka_protocol::messages::fetch_response::{FetchResponse, FetchableTopicResponse, PartitionData};
use omnibus_commit_log::{LogError, PartitionLog};
use tokio::sync::watch;

use super::connection::Ctx;
use crate::tenancy::Action;

/// Longest wait we honour, whatever the client asks.
const MAX_WAIT: Duration = Duration::from_secs(30);

pub async fn handle(ctx: &Ctx<'_>, request: FetchRequest) -> FetchResponse {
    let wait = Duration::from_millis(u64::try_from(request.max_wait_ms).unwrap_or(0)).min(MAX_WAIT);
    let deadline = tokio::time::Instant::now() + wait;
    let min_bytes = usize::try_from(request.min_bytes).unwrap_or(0);
    loop {
        // Subscribe before reading, so a write between the two still wakes us.
        let (response, bytes, mut watches) = read(ctx, &request);
        if bytes >= min_bytes.max(1) || watches.is_empty() || tokio::time::Instant::now() >= deadline {
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

/// One pass over the requested partitions: the answer, the record bytes in
/// it, and watches of the partitions that were read without error.
fn read(ctx: &Ctx<'_>, request: &FetchRequest) -> (FetchResponse, usize, Vec<watch::Receiver<i64>>) {
    let namespace = ctx.principal.namespace_id();
    let mut budget = usize::try_from(request.max_bytes).unwrap_or(usize::MAX).max(1);
    let mut total = 0;
    let mut watches = Vec::new();
    let mut topics = Vec::with_capacity(request.topics.len());
    for fetch_topic in &request.topics {
        let name = fetch_topic.topic.0.as_str();
        let allowed = ctx.principal.acl().allows(Action::Consume, name);
        let topic = ctx.shared.catalog.topic(namespace, name);
        let mut partitions = Vec::with_capacity(fetch_topic.partitions.len());
        for wanted in &fetch_topic.partitions {
            let answer = PartitionData::default().with_partition_index(wanted.partition);
            let log: Option<&Arc<PartitionLog>> = topic.as_ref().and_then(|t| t.partition(wanted.partition));
            let answer = match (allowed, log) {
                (false, _) => answer.with_error_code(ResponseError::TopicAuthorizationFailed.code()),
                (true, None) => answer.with_error_code(ResponseError::UnknownTopicOrPartition.code()),
                (true, Some(log)) => {
                    let watch = log.subscribe();
                    let max = usize::try_from(wanted.partition_max_bytes).unwrap_or(0).min(budget);
                    let answer = match log.read(wanted.fetch_offset, max.max(1)) {
                        Ok(read) => {
                            // Kafka returns at least one batch even past the budget (KIP-74),
                            // but only for the first partition that has data.
                            let bytes =
                                if total > 0 && read.bytes.len() > budget { bytes::Bytes::new() } else { read.bytes };
                            total += bytes.len();
                            budget = budget.saturating_sub(bytes.len());
                            answer
                                .with_high_watermark(read.high_watermark)
                                .with_last_stable_offset(read.high_watermark)
                                .with_log_start_offset(read.log_start_offset)
                                .with_records(Some(bytes))
                        }
                        Err(LogError::OffsetOutOfRange { log_start, high_watermark, .. }) => answer
                            .with_error_code(ResponseError::OffsetOutOfRange.code())
                            .with_high_watermark(high_watermark)
                            .with_log_start_offset(log_start),
                        Err(e) => {
                            tracing::warn!(topic = %name, partition = wanted.partition, error = %e, "read failed");
                            answer.with_error_code(ResponseError::KafkaStorageError.code())
                        }
                    };
                    if answer.error_code == 0 {
                        watches.push(watch);
                    }
                    answer
                }
            };
            partitions.push(answer);
        }
        topics
            .push(FetchableTopicResponse::default().with_topic(fetch_topic.topic.clone()).with_partitions(partitions));
    }
    (FetchResponse::default().with_responses(topics), total, watches)
}
