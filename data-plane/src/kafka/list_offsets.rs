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

pub fn handle(ctx: &Ctx<'_>, request: ListOffsetsRequest) -> ListOffsetsResponse {
    let topics = request
        .topics
        .into_iter()
        .map(|wanted| {
            let name = wanted.name.0.as_str();
            let topic = ctx.topic(Action::Consume, name);
            let partitions = wanted
                .partitions
                .iter()
                .map(|p| {
                    let answer = ListOffsetsPartitionResponse::default().with_partition_index(p.partition_index);
                    let log = match topic.partition(p.partition_index) {
                        Ok(log) => log,
                        Err(error) => return answer.with_error_code(error.code()),
                    };
                    match p.timestamp {
                        LATEST => answer.with_offset(log.high_watermark()).with_timestamp(-1),
                        EARLIEST => answer.with_offset(log.log_start_offset()).with_timestamp(-1),
                        ts => match log.offset_for_timestamp(ts) {
                            Ok(Some((offset, timestamp))) => answer.with_offset(offset).with_timestamp(timestamp),
                            Ok(None) => answer.with_offset(-1).with_timestamp(-1),
                            Err(e) => {
                                tracing::warn!(topic = %name, error = %e, "time index lookup failed");
                                answer.with_error_code(ResponseError::KafkaStorageError.code())
                            }
                        },
                    }
                })
                .collect();
            ListOffsetsTopicResponse::default().with_name(wanted.name).with_partitions(partitions)
        })
        .collect();
    ListOffsetsResponse::default().with_topics(topics)
}
