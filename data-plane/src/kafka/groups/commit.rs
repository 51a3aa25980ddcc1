//! OffsetCommit and OffsetFetch. Both need the credential's `group`
//! permission on the group id and `consume` on each topic; a commit names
//! existing partitions of the namespace, and is checked against the group's
//! generation and members (Kafka's rules, see `state`). Owns only the mapping
//! between wire messages and [`super::Groups`].

use kafka_protocol::ResponseError;
use kafka_protocol::messages::offset_commit_request::OffsetCommitRequest;
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponse, OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequest;
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponse, OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{GroupId, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::offsets::{Committed, GroupOffsets};
use super::{GroupsError, MemberRef, error_code};
use crate::kafka::connection::Ctx;
use crate::tenancy::Action;

/// Kafka's `offset.metadata.max.bytes`.
const MAX_METADATA: usize = 4096;

/// Per topic, per partition: the error it gets, or None when it is to be stored.
type Checked = Vec<(TopicName, Vec<(i32, Option<i16>)>)>;

pub async fn commit(ctx: &Ctx<'_>, request: OffsetCommitRequest) -> OffsetCommitResponse {
    let group_id = request.group_id.0.as_str();
    let namespace = ctx.principal.namespace_id();
    let group_error = if !ctx.principal.acl().allows(Action::Group, group_id) {
        Some(ResponseError::GroupAuthorizationFailed.code())
    } else if group_id.is_empty() {
        Some(ResponseError::InvalidGroupId.code())
    } else {
        None
    };
    let mut checked: Checked = Vec::new();
    let mut to_store = Vec::new();
    for topic in &request.topics {
        let name = topic.name.0.as_str();
        let allowed = ctx.principal.acl().allows(Action::Consume, name);
        let known = ctx.shared.catalog.topic(namespace, name);
        let partitions = topic
            .partitions
            .iter()
            .map(|p| {
                let outcome = if let Some(code) = group_error {
                    Some(code)
                } else if !allowed {
                    Some(ResponseError::TopicAuthorizationFailed.code())
                } else if known.as_ref().and_then(|t| t.partition(p.partition_index)).is_none() {
                    Some(ResponseError::UnknownTopicOrPartition.code())
                } else if p.committed_metadata.as_ref().is_some_and(|m| m.len() > MAX_METADATA) {
                    Some(ResponseError::OffsetMetadataTooLarge.code())
                } else {
                    let committed = Committed {
                        offset: p.committed_offset,
                        leader_epoch: p.committed_leader_epoch,
                        metadata: p.committed_metadata.as_ref().map(|m| m.as_str().to_string()),
                    };
                    to_store.push((name.to_string(), p.partition_index, committed));
                    None
                };
                (p.partition_index, outcome)
            })
            .collect();
        checked.push((topic.name.clone(), partitions));
    }
    let stored = if to_store.is_empty() {
        0
    } else {
        let member = MemberRef { id: request.member_id.as_str(), instance_id: request.group_instance_id.as_deref() };
        let generation = request.generation_id_or_member_epoch;
        match ctx.shared.groups.commit(namespace, group_id, member, generation, &to_store).await {
            Ok(()) => 0,
            Err(GroupsError::Group(e)) => error_code(e),
            Err(GroupsError::NamespaceDeleted) => ResponseError::CoordinatorNotAvailable.code(),
            Err(e) => {
                tracing::warn!(group = group_id, error = %e, "offset commit failed");
                ResponseError::KafkaStorageError.code()
            }
        }
    };
    let topics = checked
        .into_iter()
        .map(|(name, partitions)| {
            let partitions = partitions
                .into_iter()
                .map(|(index, outcome)| {
                    OffsetCommitResponsePartition::default()
                        .with_partition_index(index)
                        .with_error_code(outcome.unwrap_or(stored))
                })
                .collect();
            OffsetCommitResponseTopic::default().with_name(name).with_partitions(partitions)
        })
        .collect();
    OffsetCommitResponse::default().with_topics(topics)
}

/// One group's answer: per topic, per partition (index, offset, epoch, metadata, error).
type Fetched = Vec<(TopicName, Vec<(i32, i64, i32, String, i16)>)>;

/// What one group has committed for `topics` (all of them when None), or the group's error.
async fn fetch_group(
    ctx: &Ctx<'_>,
    group_id: &str,
    topics: Option<Vec<(TopicName, Vec<i32>)>>,
) -> Result<Fetched, i16> {
    let acl = ctx.principal.acl();
    if !acl.allows(Action::Group, group_id) {
        return Err(ResponseError::GroupAuthorizationFailed.code());
    }
    let committed: GroupOffsets = ctx.shared.groups.committed(ctx.principal.namespace_id(), group_id).await;
    let entry = |c: Option<&Committed>| match c {
        Some(c) => (c.offset, c.leader_epoch, c.metadata.clone().unwrap_or_default()),
        None => (-1, -1, String::new()),
    };
    let fetched = match topics {
        None => committed
            .iter()
            .filter(|(topic, _)| acl.allows(Action::Consume, topic))
            .map(|(topic, partitions)| {
                let partitions = partitions
                    .iter()
                    .map(|(index, c)| {
                        let (offset, epoch, metadata) = entry(Some(c));
                        (*index, offset, epoch, metadata, 0)
                    })
                    .collect();
                (TopicName(StrBytes::from_string(topic.clone())), partitions)
            })
            .collect(),
        Some(topics) => topics
            .into_iter()
            .map(|(name, indexes)| {
                let allowed = acl.allows(Action::Consume, name.0.as_str());
                let stored = committed.get(name.0.as_str());
                let partitions = indexes
                    .into_iter()
                    .map(|index| {
                        if !allowed {
                            return (index, -1, -1, String::new(), ResponseError::TopicAuthorizationFailed.code());
                        }
                        let (offset, epoch, metadata) = entry(stored.and_then(|p| p.get(&index)));
                        (index, offset, epoch, metadata, 0)
                    })
                    .collect();
                (name, partitions)
            })
            .collect(),
    };
    Ok(fetched)
}

pub async fn fetch(ctx: &Ctx<'_>, request: OffsetFetchRequest, version: i16) -> OffsetFetchResponse {
    if version >= 8 {
        let mut groups = Vec::with_capacity(request.groups.len());
        for group in request.groups {
            let topics = group.topics.map(|t| t.into_iter().map(|t| (t.name, t.partition_indexes)).collect());
            let answer = OffsetFetchResponseGroup::default().with_group_id(group.group_id.clone());
            groups.push(match fetch_group(ctx, group.group_id.0.as_str(), topics).await {
                Err(code) => answer.with_error_code(code),
                Ok(fetched) => answer.with_topics(
                    fetched
                        .into_iter()
                        .map(|(name, partitions)| {
                            let partitions = partitions
                                .into_iter()
                                .map(|(index, offset, epoch, metadata, code)| {
                                    OffsetFetchResponsePartitions::default()
                                        .with_partition_index(index)
                                        .with_committed_offset(offset)
                                        .with_committed_leader_epoch(epoch)
                                        .with_metadata(Some(StrBytes::from_string(metadata)))
                                        .with_error_code(code)
                                })
                                .collect();
                            OffsetFetchResponseTopics::default().with_name(name).with_partitions(partitions)
                        })
                        .collect(),
                ),
            });
        }
        return OffsetFetchResponse::default().with_groups(groups);
    }
    let requested: Option<Vec<(TopicName, Vec<i32>)>> =
        request.topics.map(|t| t.into_iter().map(|t| (t.name, t.partition_indexes)).collect());
    let group_id: GroupId = request.group_id;
    let (fetched, group_error) = match fetch_group(ctx, group_id.0.as_str(), requested.clone()).await {
        Ok(fetched) => (fetched, 0),
        // v1 has no group error: every requested partition carries it.
        Err(code) => {
            let fetched = requested
                .unwrap_or_default()
                .into_iter()
                .map(|(name, indexes)| (name, indexes.into_iter().map(|i| (i, -1, -1, String::new(), code)).collect()))
                .collect();
            (fetched, code)
        }
    };
    let topics = fetched
        .into_iter()
        .map(|(name, partitions)| {
            let partitions = partitions
                .into_iter()
                .map(|(index, offset, epoch, metadata, code)| {
                    OffsetFetchResponsePartition::default()
                        .with_partition_index(index)
                        .with_committed_offset(offset)
                        .with_committed_leader_epoch(epoch)
                        .with_metadata(Some(StrBytes::from_string(metadata)))
                        .with_error_code(code)
                })
                .collect();
            OffsetFetchResponseTopic::default().with_name(name).with_partitions(partitions)
        })
        .collect();
    let response = OffsetFetchResponse::default().with_topics(topics);
    if version >= 2 { response.with_error_code(group_error) } else { response }
}
