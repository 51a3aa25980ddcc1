//! Produce: each partition's record batches are appended to its log as the
//! client sent them (validated, offsets assigned) and acknowledged once on
//! disk. `acks=0` gets no answer, as Kafka does. Batches of idempotent
//! producers are sequence-checked by the log: a retry already stored is
//! answered with its original offsets, a fenced epoch with
//! INVALID_PRODUCER_EPOCH, a gap with OUT_OF_ORDER_SEQUENCE_NUMBER.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::produce_request::ProduceRequest;
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, ProduceResponse, TopicProduceResponse};
use kafka_protocol::protocol::StrBytes;
use omnibus_commit_log::{LogError, SequenceError, TimestampType};

use super::connection::Ctx;
use crate::tenancy::Action;

pub async fn handle(ctx: &Ctx<'_>, request: ProduceRequest) -> Option<ProduceResponse> {
    let namespace = ctx.principal.namespace_id();
    let mut responses = Vec::with_capacity(request.topic_data.len());
    for topic_data in request.topic_data {
        let name = topic_data.name.0.as_str().to_string();
        let allowed = ctx.principal.acl().allows(Action::Produce, &name);
        let topic = ctx.shared.catalog.topic(namespace, &name);
        let mut partitions = Vec::with_capacity(topic_data.partition_data.len());
        for data in topic_data.partition_data {
            let answer = PartitionProduceResponse::default().with_index(data.index);
            let log = match (&topic, allowed) {
                (_, false) => {
                    partitions.push(answer.with_error_code(ResponseError::TopicAuthorizationFailed.code()));
                    continue;
                }
                (Some(topic), true) => topic.partition(data.index),
                (None, true) => None,
            };
            let Some(log) = log else {
                partitions.push(answer.with_error_code(ResponseError::UnknownTopicOrPartition.code()));
                continue;
            };
            let Some(records) = data.records.filter(|r| !r.is_empty()) else {
                partitions.push(answer.with_error_code(ResponseError::CorruptMessage.code()));
                continue;
            };
            let bytes = records.len();
            match log.append(records, TimestampType::CreateTime).await {
                Ok(info) => {
                    if info.duplicate {
                        metrics::counter!("omnibus_kafka_duplicate_batches_total").increment(1);
                    } else {
                        metrics::counter!("omnibus_kafka_bytes_in_total").increment(bytes as u64);
                    }
                    partitions.push(
                        answer
                            .with_base_offset(info.base_offset)
                            .with_log_append_time_ms(info.log_append_time.unwrap_or(-1))
                            .with_log_start_offset(info.log_start_offset),
                    );
                }
                Err(LogError::CorruptBatch { reason, .. }) => partitions.push(
                    answer
                        .with_error_code(ResponseError::CorruptMessage.code())
                        .with_error_message(Some(StrBytes::from_string(reason.to_string()))),
                ),
                Err(LogError::Sequence(e)) => {
                    let code = match e {
                        SequenceError::StaleEpoch { .. } => ResponseError::InvalidProducerEpoch,
                        SequenceError::OutOfOrder { .. } => ResponseError::OutOfOrderSequenceNumber,
                        SequenceError::NotAlone => ResponseError::InvalidRecord,
                    };
                    partitions.push(
                        answer
                            .with_error_code(code.code())
                            .with_error_message(Some(StrBytes::from_string(e.to_string()))),
                    );
                }
                Err(e) => {
                    tracing::warn!(topic = %name, partition = data.index, error = %e, "append failed");
                    partitions.push(answer.with_error_code(ResponseError::KafkaStorageError.code()));
                }
            }
        }
        responses.push(TopicProduceResponse::default().with_name(topic_data.name).with_partition_responses(partitions));
    }
    (request.acks != 0).then(|| ProduceResponse::default().with_responses(responses))
}
