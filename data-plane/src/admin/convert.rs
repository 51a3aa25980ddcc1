//! Fleet gRPC messages ↔ broker records: validated tenancy records in, usage records out.
//!
//! Owns the admin edge's validation: every refusal is an `invalid_argument`
//! [`Status`] whose message names the field. Nothing here touches state.

use omnibus_api::fleet;
use omnibus_api::scram::ScramHash;
use tonic::Status;

use crate::meter::{Dimension, Record};
use crate::mqtt::topic;
use crate::tenancy::{
    Acl, AclRule, Action, Credential, KafkaLimits, Mapping, MappingDirection, MqttLimits, Namespace, RateLimits,
    ScramSecret, WriteDurability,
};

/// Longest flush interval of `DURABILITY_INTERVAL`, in milliseconds.
const MAX_FLUSH_INTERVAL_MS: u32 = 60_000;

/// Longest id or user name accepted, in bytes.
const MAX_NAME_LEN: usize = 256;

/// Checks an id-like field: non-empty, bounded, no control characters.
pub fn name(field: &str, value: String) -> Result<String, Status> {
    if value.is_empty() {
        return Err(Status::invalid_argument(format!("{field} must not be empty")));
    }
    if value.len() > MAX_NAME_LEN {
        return Err(Status::invalid_argument(format!("{field} is longer than {MAX_NAME_LEN} bytes")));
    }
    if value.chars().any(char::is_control) {
        return Err(Status::invalid_argument(format!("{field} contains a control character")));
    }
    Ok(value)
}

pub fn namespace(namespace: Option<fleet::Namespace>) -> Result<Namespace, Status> {
    let namespace = namespace.ok_or_else(|| Status::invalid_argument("namespace is required"))?;
    let durability = match namespace.durability() {
        fleet::Durability::Unspecified | fleet::Durability::Fsync => WriteDurability::Fsync,
        fleet::Durability::Interval => match namespace.flush_interval_ms {
            ms @ 1..=MAX_FLUSH_INTERVAL_MS => WriteDurability::Interval { flush_interval_ms: ms },
            _ => {
                return Err(Status::invalid_argument(format!(
                    "namespace.flush_interval_ms must be between 1 and {MAX_FLUSH_INTERVAL_MS}"
                )));
            }
        },
    };
    let limit = |value: u32| (value > 0).then_some(value);
    let mqtt_limits = namespace.mqtt_limits.map_or_else(MqttLimits::default, |l| MqttLimits {
        max_connections: limit(l.max_connections),
        max_subscriptions_per_session: limit(l.max_subscriptions_per_session),
        max_queued_messages: limit(l.max_queued_messages),
        max_retained_messages: limit(l.max_retained_messages),
        max_packet_size: limit(l.max_packet_size),
        max_inflight: limit(l.max_inflight),
        max_sessions: limit(l.max_sessions),
    });
    let kafka_limits = namespace.kafka_limits.map_or_else(KafkaLimits::default, |l| KafkaLimits {
        max_topics: limit(l.max_topics),
        max_partitions: limit(l.max_partitions),
        max_consumer_groups: limit(l.max_consumer_groups),
        max_storage_bytes: (l.max_storage_bytes > 0).then_some(l.max_storage_bytes),
    });
    let rate_limits = namespace.rate_limits.map_or_else(RateLimits::default, |l| RateLimits {
        bytes_in_per_second: limit(l.bytes_in_per_second),
        bytes_out_per_second: limit(l.bytes_out_per_second),
        messages_in_per_second: limit(l.messages_in_per_second),
        connections_per_second: limit(l.connections_per_second),
    });
    Ok(Namespace {
        id: name("namespace.id", namespace.id)?,
        plan: namespace.plan,
        durability,
        mqtt_limits,
        kafka_limits,
        rate_limits,
    })
}

pub fn credential(credential: Option<fleet::Credential>) -> Result<Credential, Status> {
    let credential = credential.ok_or_else(|| Status::invalid_argument("credential is required"))?;
    let secret =
        credential.scram_sha256.ok_or_else(|| Status::invalid_argument("credential.scram_sha256 is required"))?;
    Ok(Credential {
        id: name("credential.id", credential.id)?,
        namespace_id: name("credential.namespace_id", credential.namespace_id)?,
        username: name("credential.username", credential.username)?,
        scram_sha256: scram_secret("credential.scram_sha256", ScramHash::Sha256, secret)?,
        scram_sha512: credential
            .scram_sha512
            .map(|secret| scram_secret("credential.scram_sha512", ScramHash::Sha512, secret))
            .transpose()?,
        acl: acl(credential.acl)?,
    })
}

/// Checks a salted form whose keys are `hash`'s output length.
fn scram_secret(field: &str, hash: ScramHash, secret: fleet::ScramSecret) -> Result<ScramSecret, Status> {
    if secret.iterations == 0 {
        return Err(Status::invalid_argument(format!("{field}.iterations must be positive")));
    }
    if secret.salt.is_empty() {
        return Err(Status::invalid_argument(format!("{field}.salt must not be empty")));
    }
    let key_len = hash.key_len();
    for (name, key) in [("stored_key", &secret.stored_key), ("server_key", &secret.server_key)] {
        if key.len() != key_len {
            return Err(Status::invalid_argument(format!("{field}.{name} must be {key_len} bytes, got {}", key.len())));
        }
    }
    Ok(secret.into())
}

fn acl(rules: Vec<fleet::AclRule>) -> Result<Acl, Status> {
    let rules = rules
        .into_iter()
        .enumerate()
        .map(|(i, rule)| {
            topic::validate_filter(&rule.topic_filter).map_err(|error| {
                Status::invalid_argument(format!(
                    "credential.acl[{i}].topic_filter {:?} is not a valid topic filter: {error}",
                    rule.topic_filter
                ))
            })?;
            if rule.actions.is_empty() {
                return Err(Status::invalid_argument(format!("credential.acl[{i}].actions must not be empty")));
            }
            let actions = rule
                .actions
                .iter()
                .map(|&raw| {
                    action(raw).ok_or_else(|| {
                        Status::invalid_argument(format!("credential.acl[{i}].actions has an invalid action {raw}"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(AclRule { topic_filter: rule.topic_filter, actions })
        })
        .collect::<Result<Vec<_>, Status>>()?;
    Ok(Acl { rules })
}

/// A namespace's whole set of mappings: ids unique, filters valid and not
/// shared, topics valid Kafka names.
/// A sealed usage record as the fleet service answers it.
pub fn usage_record(record: Record) -> fleet::UsageRecord {
    let value = |dimension: Dimension| record.values[dimension as usize];
    fleet::UsageRecord {
        seq: record.seq,
        start_ms: record.start_ms,
        end_ms: record.end_ms,
        kafka_messages_in: value(Dimension::KafkaMessagesIn),
        kafka_bytes_in: value(Dimension::KafkaBytesIn),
        kafka_messages_out: value(Dimension::KafkaMessagesOut),
        kafka_bytes_out: value(Dimension::KafkaBytesOut),
        mqtt_messages_in: value(Dimension::MqttMessagesIn),
        mqtt_bytes_in: value(Dimension::MqttBytesIn),
        mqtt_messages_out: value(Dimension::MqttMessagesOut),
        mqtt_bytes_out: value(Dimension::MqttBytesOut),
        connection_seconds: value(Dimension::ConnectionSeconds),
        storage_byte_seconds: value(Dimension::StorageByteSeconds),
        partition_seconds: value(Dimension::PartitionSeconds),
        namespace_id: record.namespace,
    }
}

pub fn mappings(mappings: Vec<fleet::Mapping>) -> Result<Vec<Mapping>, Status> {
    let mut ids = std::collections::HashSet::new();
    mappings
        .into_iter()
        .enumerate()
        .map(|(i, mapping)| {
            let direction = match fleet::MappingDirection::try_from(mapping.direction) {
                Ok(fleet::MappingDirection::Unspecified | fleet::MappingDirection::Both) => MappingDirection::Both,
                Ok(fleet::MappingDirection::MqttToKafka) => MappingDirection::MqttToKafka,
                Ok(fleet::MappingDirection::KafkaToMqtt) => MappingDirection::KafkaToMqtt,
                Err(_) => {
                    return Err(Status::invalid_argument(format!(
                        "mappings[{i}].direction has an invalid value {}",
                        mapping.direction
                    )));
                }
            };
            let id = name(&format!("mappings[{i}].id"), mapping.id)?;
            if !ids.insert(id.clone()) {
                return Err(Status::invalid_argument(format!("mappings[{i}].id {id:?} is used twice")));
            }
            topic::validate_filter(&mapping.mqtt_filter).map_err(|error| {
                Status::invalid_argument(format!(
                    "mappings[{i}].mqtt_filter {:?} is not a valid topic filter: {error}",
                    mapping.mqtt_filter
                ))
            })?;
            if mapping.mqtt_filter.starts_with(topic::SHARED_PREFIX) {
                return Err(Status::invalid_argument(format!(
                    "mappings[{i}].mqtt_filter {:?} must not be a shared subscription",
                    mapping.mqtt_filter
                )));
            }
            omnibus_api::kafka_topic::validate(&mapping.kafka_topic).map_err(|error| {
                Status::invalid_argument(format!(
                    "mappings[{i}].kafka_topic {:?} is not a valid Kafka topic name: {error}",
                    mapping.kafka_topic
                ))
            })?;
            if !mapping.mqtt_topic_prefix.is_empty() {
                topic::validate_name(&mapping.mqtt_topic_prefix).map_err(|error| {
                    Status::invalid_argument(format!(
                        "mappings[{i}].mqtt_topic_prefix {:?} cannot start a topic name: {error}",
                        mapping.mqtt_topic_prefix
                    ))
                })?;
            }
            Ok(Mapping {
                id,
                mqtt_filter: mapping.mqtt_filter,
                kafka_topic: mapping.kafka_topic,
                direction,
                mqtt_topic_prefix: mapping.mqtt_topic_prefix,
            })
        })
        .collect()
}

fn action(raw: i32) -> Option<Action> {
    match fleet::Action::try_from(raw).ok()? {
        fleet::Action::Unspecified => None,
        fleet::Action::Publish => Some(Action::Publish),
        fleet::Action::Subscribe => Some(Action::Subscribe),
        fleet::Action::Produce => Some(Action::Produce),
        fleet::Action::Consume => Some(Action::Consume),
        fleet::Action::Group => Some(Action::Group),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::Code;

    fn valid() -> fleet::Credential {
        fleet::Credential {
            id: "cred-1".into(),
            namespace_id: "ns-1".into(),
            username: "alice".into(),
            scram_sha256: Some(fleet::ScramSecret {
                salt: vec![1; 16],
                iterations: 4096,
                stored_key: vec![2; 32],
                server_key: vec![3; 32],
            }),
            scram_sha512: Some(fleet::ScramSecret {
                salt: vec![4; 16],
                iterations: 4096,
                stored_key: vec![5; 64],
                server_key: vec![6; 64],
            }),
            acl: vec![fleet::AclRule {
                topic_filter: "a/#".into(),
                actions: vec![fleet::Action::Publish as i32, fleet::Action::Subscribe as i32],
            }],
        }
    }

    type Edit = Box<dyn FnOnce(&mut fleet::Credential)>;

    fn refusal(edit: impl FnOnce(&mut fleet::Credential)) -> String {
        let mut credential = valid();
        edit(&mut credential);
        let status = super::credential(Some(credential)).unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        status.message().to_owned()
    }

    #[test]
    fn accepts_a_valid_credential() {
        let credential = credential(Some(valid())).unwrap();
        assert_eq!(credential.acl.rules[0].actions, vec![Action::Publish, Action::Subscribe]);
        assert_eq!(credential.scram_sha512.map(|s| s.stored_key.len()), Some(64));
    }

    #[test]
    fn the_sha512_form_is_optional() {
        let mut old = valid();
        old.scram_sha512 = None;
        assert_eq!(credential(Some(old)).unwrap().scram_sha512, None);
    }

    #[test]
    fn names_the_field_it_refuses() {
        let cases: Vec<(Edit, &str)> = vec![
            (Box::new(|c| c.id.clear()), "credential.id must not be empty"),
            (Box::new(|c| c.namespace_id.clear()), "credential.namespace_id must not be empty"),
            (Box::new(|c| c.username = "a\nb".into()), "credential.username contains a control character"),
            (Box::new(|c| c.scram_sha256 = None), "credential.scram_sha256 is required"),
            (
                Box::new(|c| c.scram_sha256.as_mut().unwrap().iterations = 0),
                "credential.scram_sha256.iterations must be positive",
            ),
            (
                Box::new(|c| {
                    c.scram_sha256.as_mut().unwrap().stored_key.pop();
                }),
                "credential.scram_sha256.stored_key must be 32 bytes, got 31",
            ),
            (
                Box::new(|c| c.scram_sha512.as_mut().unwrap().iterations = 0),
                "credential.scram_sha512.iterations must be positive",
            ),
            (
                Box::new(|c| c.scram_sha512.as_mut().unwrap().salt.clear()),
                "credential.scram_sha512.salt must not be empty",
            ),
            (
                Box::new(|c| c.scram_sha512.as_mut().unwrap().server_key = vec![0; 32]),
                "credential.scram_sha512.server_key must be 64 bytes, got 32",
            ),
            (Box::new(|c| c.acl[0].topic_filter = "a/#/b".into()), "credential.acl[0].topic_filter"),
            (Box::new(|c| c.acl[0].actions.clear()), "credential.acl[0].actions must not be empty"),
            (Box::new(|c| c.acl[0].actions = vec![0]), "invalid action 0"),
            (Box::new(|c| c.acl[0].actions = vec![99]), "invalid action 99"),
        ];
        for (edit, expected) in cases {
            let message = refusal(edit);
            assert!(message.contains(expected), "{message:?} should contain {expected:?}");
        }
    }

    fn mapping(id: &str, mqtt_filter: &str, kafka_topic: &str, direction: i32) -> fleet::Mapping {
        fleet::Mapping {
            id: id.into(),
            mqtt_filter: mqtt_filter.into(),
            kafka_topic: kafka_topic.into(),
            direction,
            mqtt_topic_prefix: String::new(),
        }
    }

    #[test]
    fn accepts_mappings_and_reads_unspecified_as_both() {
        let set = mappings(vec![
            mapping("m1", "#", "mqtt", fleet::MappingDirection::Unspecified as i32),
            mapping("m2", "sensors/+/temp", "temps.v1", fleet::MappingDirection::MqttToKafka as i32),
            mapping("m3", "$SYS/x", "sys", fleet::MappingDirection::KafkaToMqtt as i32),
            mapping("m4", "a", "a", fleet::MappingDirection::Both as i32),
        ])
        .unwrap();
        let directions: Vec<_> = set.iter().map(|m| m.direction).collect();
        assert_eq!(
            directions,
            [
                MappingDirection::Both,
                MappingDirection::MqttToKafka,
                MappingDirection::KafkaToMqtt,
                MappingDirection::Both
            ]
        );
        assert_eq!(set[1].mqtt_filter, "sensors/+/temp");
        assert_eq!(set[1].kafka_topic, "temps.v1");
        assert!(mappings(Vec::new()).unwrap().is_empty());
    }

    #[test]
    fn names_the_mapping_field_it_refuses() {
        let both = fleet::MappingDirection::Both as i32;
        let cases = [
            (mapping("", "#", "t", both), "mappings[0].id must not be empty"),
            (mapping("m", "a/#/b", "t", both), "mappings[0].mqtt_filter \"a/#/b\" is not a valid topic filter"),
            (mapping("m", "", "t", both), "mappings[0].mqtt_filter"),
            (mapping("m", "$share/g/a", "t", both), "mappings[0].mqtt_filter \"$share/g/a\" must not be a shared"),
            (mapping("m", "#", "", both), "mappings[0].kafka_topic"),
            (mapping("m", "#", "..", both), "mappings[0].kafka_topic \"..\" is not a valid Kafka topic name"),
            (mapping("m", "#", "a b", both), "mappings[0].kafka_topic"),
            (mapping("m", "#", &"x".repeat(250), both), "mappings[0].kafka_topic"),
            (mapping("m", "#", "t", 7), "mappings[0].direction has an invalid value 7"),
            (
                fleet::Mapping { mqtt_topic_prefix: "a/+/".into(), ..mapping("m", "#", "t", both) },
                "mappings[0].mqtt_topic_prefix \"a/+/\" cannot start a topic name",
            ),
        ];
        for (bad, expected) in cases {
            let status = mappings(vec![bad]).unwrap_err();
            assert_eq!(status.code(), Code::InvalidArgument);
            assert!(status.message().contains(expected), "{:?} should contain {expected:?}", status.message());
        }
        let twice = mappings(vec![mapping("m", "a", "t", both), mapping("m", "b", "t", both)]).unwrap_err();
        assert_eq!(twice.message(), "mappings[1].id \"m\" is used twice");
    }

    #[test]
    fn refuses_a_missing_or_empty_namespace() {
        assert_eq!(namespace(None).unwrap_err().code(), Code::InvalidArgument);
        let empty = fleet::Namespace { id: String::new(), plan: "free".into(), ..Default::default() };
        assert_eq!(namespace(Some(empty)).unwrap_err().message(), "namespace.id must not be empty");
    }

    #[test]
    fn mqtt_limits_of_zero_take_the_brokers_own() {
        let limits = fleet::MqttLimits { max_connections: 5, max_packet_size: 0, ..Default::default() };
        let applied = fleet::Namespace { id: "ns".into(), mqtt_limits: Some(limits), ..Default::default() };
        let limits = namespace(Some(applied)).unwrap().mqtt_limits;
        assert_eq!((limits.max_connections, limits.max_packet_size), (Some(5), None));
        let bare = fleet::Namespace { id: "ns".into(), ..Default::default() };
        assert_eq!(namespace(Some(bare)).unwrap().mqtt_limits, MqttLimits::default());
    }

    #[test]
    fn kafka_limits_of_zero_are_none() {
        let limits =
            fleet::KafkaLimits { max_topics: 3, max_partitions: 0, max_consumer_groups: 5, max_storage_bytes: 0 };
        let applied = fleet::Namespace { id: "ns".into(), kafka_limits: Some(limits), ..Default::default() };
        let limits = namespace(Some(applied)).unwrap().kafka_limits;
        assert_eq!((limits.max_topics, limits.max_partitions, limits.max_consumer_groups), (Some(3), None, Some(5)));
        assert_eq!(limits.max_storage_bytes, None);
        let bare = fleet::Namespace { id: "ns".into(), ..Default::default() };
        assert_eq!(namespace(Some(bare)).unwrap().kafka_limits, KafkaLimits::default());
    }

    #[test]
    fn durability_defaults_to_fsync_and_an_interval_is_bounded() {
        let with = |durability: fleet::Durability, flush_interval_ms| fleet::Namespace {
            id: "ns".into(),
            plan: "developer".into(),
            durability: durability as i32,
            flush_interval_ms,
            mqtt_limits: None,
            kafka_limits: None,
            rate_limits: None,
        };
        assert_eq!(
            namespace(Some(with(fleet::Durability::Unspecified, 0))).unwrap().durability,
            WriteDurability::Fsync
        );
        assert_eq!(
            namespace(Some(with(fleet::Durability::Interval, 1000))).unwrap().durability,
            WriteDurability::Interval { flush_interval_ms: 1000 }
        );
        for bad in [0, MAX_FLUSH_INTERVAL_MS + 1] {
            let message = namespace(Some(with(fleet::Durability::Interval, bad))).unwrap_err().message().to_string();
            assert!(message.contains("flush_interval_ms"), "{message}");
        }
    }
}
