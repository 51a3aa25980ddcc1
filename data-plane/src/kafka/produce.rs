//! Produce: each partition's record batches are appended to its log as the
//! client sent them (validated, offsets assigned) and acknowledged once on
//! disk. `acks=0` gets no answer, as Kafka does. Batches of idempotent
//! producers are sequence-checked by the log: a retry already stored is
//! answered with its original offsets, a fenced epoch with
//! INVALID_PRODUCER_EPOCH, a gap with OUT_OF_ORDER_SEQUENCE_NUMBER.
//!
//! Two phases, so a connection can pipeline Produce requests: [`start`]
//! writes every batch now, in request order; [`Started::finish`] waits for
//! the fsyncs that cover them, hands the batches of topics mapped to MQTT to
//! the bridge (in order, before answering), and builds the answer.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::ResponseError;
use kafka_protocol::messages::TopicName;
use kafka_protocol::messages::produce_request::ProduceRequest;
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, ProduceResponse, TopicProduceResponse};
use kafka_protocol::protocol::StrBytes;
use omnibus_commit_log::{AppendInfo, LogError, PendingAppend, SequenceError, TimestampType};

use super::connection::Ctx;
use crate::bridge::ToMqtt;
use crate::meter::Usage;
use crate::tenancy::Action;

/// A Produce request whose batches are written; its answer waits for them to be durable.
pub struct Started {
    acks: i16,
    namespace: Arc<str>,
    to_mqtt: Arc<ToMqtt>,
    topics: Vec<(TopicName, Vec<Partition>)>,
}

enum Partition {
    Answered(PartitionProduceResponse),
    /// `mqtt`: the batches, when the topic is mapped to MQTT.
    Writing {
        answer: PartitionProduceResponse,
        pending: PendingAppend,
        bytes: usize,
        mqtt: Option<Bytes>,
    },
}

impl Started {
    /// Whether the client expects an answer (`acks` is not 0).
    pub fn answers(&self) -> bool {
        self.acks != 0
    }

    /// The answer, once every write of the request is durable.
    pub async fn finish(self) -> ProduceResponse {
        let mut responses = Vec::with_capacity(self.topics.len());
        for (name, partitions) in self.topics {
            let mut answers = Vec::with_capacity(partitions.len());
            for partition in partitions {
                answers.push(match partition {
                    Partition::Answered(answer) => answer,
                    Partition::Writing { answer, pending, bytes, mqtt } => match pending.durable().await {
                        Ok(info) => {
                            if let Some(batches) = mqtt.filter(|_| !info.duplicate) {
                                self.to_mqtt.deliver(&self.namespace, name.0.as_str(), batches).await;
                            }
                            acknowledged(answer, &info, bytes)
                        }
                        Err(e) => refused(answer, name.0.as_str(), e),
                    },
                });
            }
            responses.push(TopicProduceResponse::default().with_name(name).with_partition_responses(answers));
        }
        ProduceResponse::default().with_responses(responses)
    }
}

/// Bytes and records a Produce request carries, for the rate quotas: the
/// record batches' sizes and their record counts ([`records_in`]).
/// A malformed batch counts what its header claims; the log refuses it later.
pub fn size(request: &ProduceRequest) -> (u64, u64) {
    let (mut bytes, mut records) = (0u64, 0u64);
    for data in request.topic_data.iter().flat_map(|topic| &topic.partition_data) {
        let Some(batches) = &data.records else { continue };
        bytes += batches.len() as u64;
        records += records_in(batches);
    }
    (bytes, records)
}

/// The records of v2 record batches, read from each batch header
/// (baseOffset 8, batchLength 4, then 45 bytes up to recordCount).
pub fn records_in(batches: &[u8]) -> u64 {
    const COUNT_AT: usize = 57;
    let (mut records, mut at) = (0u64, 0usize);
    while let Some(header) = batches.get(at..at + COUNT_AT + 4) {
        let length = u32::from_be_bytes([header[8], header[9], header[10], header[11]]) as usize;
        let count = i32::from_be_bytes([header[57], header[58], header[59], header[60]]);
        records += u64::try_from(count).unwrap_or_default();
        at = at.saturating_add(12).saturating_add(length);
    }
    records
}

/// Checks permissions and writes every partition's batches, in request order,
/// metering what the logs took (a retry they recognise adds nothing).
pub fn start(ctx: &Ctx<'_>, request: ProduceRequest, usage: &Usage) -> Started {
    let mut topics = Vec::with_capacity(request.topic_data.len());
    for topic_data in request.topic_data {
        let name = topic_data.name.0.as_str().to_string();
        let topic = ctx.topic(Action::Produce, &name);
        let mapped = ctx.shared.to_mqtt.wants(ctx.principal.namespace_id(), &name);
        let storage_full = ctx.shared.catalog.storage_full(ctx.principal.namespace_id());
        let mut partitions = Vec::with_capacity(topic_data.partition_data.len());
        for data in topic_data.partition_data {
            let answer = PartitionProduceResponse::default().with_index(data.index);
            let log = match topic.partition(data.index) {
                Ok(log) => log,
                Err(error) => {
                    partitions.push(Partition::Answered(answer.with_error_code(error.code())));
                    continue;
                }
            };
            let Some(records) = data.records.filter(|r| !r.is_empty()) else {
                partitions.push(Partition::Answered(answer.with_error_code(ResponseError::CorruptMessage.code())));
                continue;
            };
            if let Some(max) = storage_full {
                let message = format!("the instance's logs hold its max_storage_bytes ({max}); nothing more is stored");
                let answer = answer
                    .with_error_code(ResponseError::PolicyViolation.code())
                    .with_error_message(Some(StrBytes::from_string(message)));
                partitions.push(Partition::Answered(answer));
                continue;
            }
            let bytes = records.len();
            let count = records_in(&records);
            let mqtt = mapped.then(|| records.clone());
            partitions.push(match log.append_pending(records, TimestampType::CreateTime) {
                Ok(pending) => {
                    if !pending.is_duplicate() {
                        usage.kafka_in(bytes as u64, count);
                    }
                    Partition::Writing { answer, pending, bytes, mqtt }
                }
                Err(e) => Partition::Answered(refused(answer, &name, e)),
            });
        }
        topics.push((topic_data.name, partitions));
    }
    let namespace = Arc::from(ctx.principal.namespace_id());
    Started { acks: request.acks, namespace, to_mqtt: ctx.shared.to_mqtt.clone(), topics }
}

fn acknowledged(answer: PartitionProduceResponse, info: &AppendInfo, bytes: usize) -> PartitionProduceResponse {
    if info.duplicate {
        metrics::counter!("omnibus_kafka_duplicate_batches_total").increment(1);
    } else {
        metrics::counter!("omnibus_kafka_bytes_in_total").increment(bytes as u64);
    }
    answer
        .with_base_offset(info.base_offset)
        .with_log_append_time_ms(info.log_append_time.unwrap_or(-1))
        .with_log_start_offset(info.log_start_offset)
}

fn refused(answer: PartitionProduceResponse, topic: &str, error: LogError) -> PartitionProduceResponse {
    let (code, message) = match error {
        LogError::CorruptBatch { reason, .. } => (ResponseError::CorruptMessage, Some(reason.to_string())),
        LogError::Sequence(e) => {
            let code = match e {
                SequenceError::StaleEpoch { .. } => ResponseError::InvalidProducerEpoch,
                SequenceError::OutOfOrder { .. } => ResponseError::OutOfOrderSequenceNumber,
                SequenceError::NotAlone => ResponseError::InvalidRecord,
            };
            (code, Some(e.to_string()))
        }
        e => {
            tracing::warn!(topic, partition = answer.index, error = %e, "append failed");
            (ResponseError::KafkaStorageError, None)
        }
    };
    answer.with_error_code(code.code()).with_error_message(message.map(StrBytes::from_string))
}
