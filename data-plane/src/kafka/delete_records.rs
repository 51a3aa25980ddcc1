//! DeleteRecords: moves a partition's log start forward (offset -1 means up
//! to the high watermark); whole segments below it are removed. Needs the
//! credential's `produce` permission on the topic.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::delete_records_request::DeleteRecordsRequest;
use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsResponse, DeleteRecordsTopicResult,
};
use omnibus_commit_log::LogError;

use super::connection::Ctx;
use crate::tenancy::Action;

pub async fn handle(ctx: &Ctx<'_>, request: DeleteRecordsRequest) -> DeleteRecordsResponse {
    let mut topics = Vec::with_capacity(request.topics.len());
    for wanted in request.topics {
        let name = wanted.name.0.as_str().to_string();
        let topic = ctx.topic(Action::Produce, &name);
        let mut partitions = Vec::with_capacity(wanted.partitions.len());
        for p in wanted.partitions {
            let result = DeleteRecordsPartitionResult::default().with_partition_index(p.partition_index);
            let result = match topic.partition(p.partition_index) {
                Err(error) => result.with_error_code(error.code()),
                Ok(log) => {
                    let offset = if p.offset == -1 { log.high_watermark() } else { p.offset };
                    match tokio::task::spawn_blocking(move || log.delete_records_before(offset)).await {
                        Ok(Ok(low_watermark)) => result.with_low_watermark(low_watermark),
                        Ok(Err(LogError::OffsetOutOfRange { .. })) => {
                            result.with_error_code(ResponseError::OffsetOutOfRange.code())
                        }
                        Ok(Err(e)) => {
                            tracing::warn!(topic = %name, error = %e, "delete records failed");
                            result.with_error_code(ResponseError::KafkaStorageError.code())
                        }
                        Err(e) => {
                            tracing::warn!(topic = %name, error = %e, "delete records task failed");
                            result.with_error_code(ResponseError::KafkaStorageError.code())
                        }
                    }
                }
            };
            partitions.push(result);
        }
        topics.push(DeleteRecordsTopicResult::default().with_name(wanted.name).with_partitions(partitions));
    }
    DeleteRecordsResponse::default().with_topics(topics)
}
