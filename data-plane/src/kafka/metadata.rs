//! Metadata: this broker as the only node, and the namespace's topics the
//! credential may produce to or consume from. Topics of other namespaces do
//! not exist here; names a credential may not use answer
//! TOPIC_AUTHORIZATION_FAILED.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::metadata_request::MetadataRequest;
use kafka_protocol::messages::metadata_response::{
    MetadataResponse, MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::connection::Ctx;
use crate::catalog::Topic;
use crate::tenancy::Action;

pub const CLUSTER_ID: &str = "omnibus";

pub fn handle(ctx: &Ctx<'_>, request: MetadataRequest, _version: i16) -> MetadataResponse {
    let advertised = &ctx.shared.advertised;
    let namespace = ctx.principal.namespace_id();
    let broker = MetadataResponseBroker::default()
        .with_node_id(BrokerId(advertised.node_id))
        .with_host(StrBytes::from_string(advertised.host.clone()))
        .with_port(i32::from(advertised.port));
    let topics = match request.topics {
        None => ctx
            .shared
            .catalog
            .topics(namespace)
            .iter()
            .filter(|t| may_describe(ctx, &t.name))
            .map(|t| describe(ctx, t))
            .collect(),
        Some(requested) => requested
            .into_iter()
            .filter_map(|r| r.name)
            .map(|name| {
                let text = name.0.as_str();
                if !may_describe(ctx, text) {
                    return error_topic(name, ResponseError::TopicAuthorizationFailed);
                }
                match ctx.shared.catalog.topic(namespace, text) {
                    Some(topic) => describe(ctx, &topic),
                    None => error_topic(name, ResponseError::UnknownTopicOrPartition),
                }
            })
            .collect(),
    };
    MetadataResponse::default()
        .with_brokers(vec![broker])
        .with_cluster_id(Some(StrBytes::from_static_str(CLUSTER_ID)))
        .with_controller_id(BrokerId(advertised.node_id))
        .with_topics(topics)
}

fn may_describe(ctx: &Ctx<'_>, topic: &str) -> bool {
    let acl = ctx.principal.acl();
    acl.allows(Action::Produce, topic) || acl.allows(Action::Consume, topic)
}

fn describe(ctx: &Ctx<'_>, topic: &Topic) -> MetadataResponseTopic {
    let node = BrokerId(ctx.shared.advertised.node_id);
    let partitions = (0..topic.partitions.len())
        .map(|index| {
            MetadataResponsePartition::default()
                .with_partition_index(i32::try_from(index).unwrap_or(i32::MAX))
                .with_leader_id(node)
                .with_leader_epoch(0)
                .with_replica_nodes(vec![node])
                .with_isr_nodes(vec![node])
        })
        .collect();
    MetadataResponseTopic::default()
        .with_name(Some(TopicName(StrBytes::from_string(topic.name.clone()))))
        .with_topic_id(topic.id)
        .with_partitions(partitions)
}

fn error_topic(name: TopicName, error: ResponseError) -> MetadataResponseTopic {
    MetadataResponseTopic::default().with_name(Some(name)).with_error_code(error.code())
}
