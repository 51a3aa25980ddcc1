//! ListOffsets: the earliest (-2) or latest (-1) offset of a partition, or
//! the first offset whose batch carries a timestamp at or after the one asked.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::list_offsets_request::ListOffsetsRequest;
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsResponse, ListOffsetsTopicResponse,
};

use super::connection::Ctx;
use crate::tenancy::Action;

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;

pub async fn handle(ctx: &Ctx<'_>, request: ListOffsetsRequest) -> ListOffsetsResponse {
    let mut topics = Vec::with_capacity(request.topics.len());
    for wanted in request.topics {
        let name = wanted.name.0.as_str();
        let topic = ctx.topic(Action::Consume, name);
        let mut partitions = Vec::with_capacity(wanted.partitions.len());
        for p in &wanted.partitions {
            let answer = ListOffsetsPartitionResponse::default().with_partition_index(p.partition_index);
            let log = match topic.partition(p.partition_index) {
                Ok(log) => log,
                Err(error) => {
                    partitions.push(answer.with_error_code(error.code()));
                    continue;
                }
            };
            let answer = match p.timestamp {
                LATEST => answer.with_offset(log.high_watermark()).with_timestamp(-1),
                EARLIEST => answer.with_offset(log.log_start_offset()).with_timestamp(-1),
                ts => {
                    // The object store's copy holds the older batches, so it is asked first.
                    let remote = ctx.shared.tier.offset_for_timestamp(&log, ts).await.map_err(|e| e.to_string());
                    let found = match remote {
                        Ok(None) => log.offset_for_timestamp(ts).map_err(|e| e.to_string()),
                        found => found,
                    };
                    match found {
                        Ok(Some((offset, timestamp))) => answer.with_offset(offset).with_timestamp(timestamp),
                        Ok(None) => answer.with_offset(-1).with_timestamp(-1),
                        Err(e) => {
                            tracing::warn!(topic = %name, error = %e, "time index lookup failed");
                            answer.with_error_code(ResponseError::KafkaStorageError.code())
                        }
                    }
                }
            };
            partitions.push(answer);
        }
        topics.push(ListOffsetsTopicResponse::default().with_name(wanted.name).with_partitions(partitions));
    }
    ListOffsetsResponse::default().with_topics(topics)
}
