//! The tenancy records as the broker keeps and persists them: namespaces,
//! credentials and MQTT↔Kafka mappings, already validated at the admin edge.
//!
//! Plain serde data. Owns their on-disk spelling (binary fields as base64);
//! knows nothing of gRPC, MQTT or files.

use omnibus_api::scram::ScramHash;
use serde::{Deserialize, Serialize};

use super::acl::Acl;

/// An instance: every name inside it is scoped by `id`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Namespace {
    pub id: String,
    pub plan: String,
    pub durability: WriteDurability,
    pub mqtt_limits: MqttLimits,
    pub kafka_limits: KafkaLimits,
    pub rate_limits: RateLimits,
}

/// What the namespace may use per second, from its plan; `None`: no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimits {
    pub bytes_in_per_second: Option<u32>,
    pub bytes_out_per_second: Option<u32>,
    pub messages_in_per_second: Option<u32>,
    pub connections_per_second: Option<u32>,
}

/// What the namespace's Kafka topics may add up to, from its plan; `None`: no
/// limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KafkaLimits {
    pub max_topics: Option<u32>,
    pub max_partitions: Option<u32>,
    /// Consumer groups (with members or committed offsets).
    #[serde(default)]
    pub max_consumer_groups: Option<u32>,
    /// Bytes the namespace's logs may hold; past it writes are refused.
    #[serde(default)]
    pub max_storage_bytes: Option<u64>,
}

/// What the namespace's MQTT clients may use, from its plan; `None`: the
/// broker's own limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MqttLimits {
    pub max_connections: Option<u32>,
    pub max_subscriptions_per_session: Option<u32>,
    pub max_queued_messages: Option<u32>,
    pub max_retained_messages: Option<u32>,
    pub max_packet_size: Option<u32>,
    pub max_inflight: Option<u32>,
    /// Persistent sessions the namespace may store.
    #[serde(default)]
    pub max_sessions: Option<u32>,
}

/// When a write to the namespace's logs is acknowledged; the plan fixes it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum WriteDurability {
    /// After a group-commit fdatasync covers it.
    #[default]
    Fsync,
    /// Once in the page cache; fdatasynced within `flush_interval_ms`.
    Interval { flush_interval_ms: u32 },
}

/// The RFC 5802 salted form of a credential's secret, for one hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScramSecret {
    #[serde(with = "base64_bytes")]
    pub salt: Vec<u8>,
    pub iterations: u32,
    #[serde(with = "base64_bytes")]
    pub stored_key: Vec<u8>,
    #[serde(with = "base64_bytes")]
    pub server_key: Vec<u8>,
}

impl From<omnibus_api::fleet::ScramSecret> for ScramSecret {
    fn from(secret: omnibus_api::fleet::ScramSecret) -> Self {
        ScramSecret {
            salt: secret.salt,
            iterations: secret.iterations,
            stored_key: secret.stored_key,
            server_key: secret.server_key,
        }
    }
}

impl ScramSecret {
    /// The wire form `omnibus_api::scram` verifies against.
    pub fn to_api(&self) -> omnibus_api::fleet::ScramSecret {
        omnibus_api::fleet::ScramSecret {
            salt: self.salt.clone(),
            iterations: self.iterations,
            stored_key: self.stored_key.clone(),
            server_key: self.server_key.clone(),
        }
    }
}

/// A credential of one namespace: a user name unique across the broker, its
/// secret's salted forms and its ACL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    pub id: String,
    pub namespace_id: String,
    pub username: String,
    pub scram_sha256: ScramSecret,
    /// Absent for credentials created before the control plane derived it
    /// (and in files written before then): Kafka SCRAM-SHA-512 is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scram_sha512: Option<ScramSecret>,
    pub acl: Acl,
}

impl Credential {
    /// The salted form for `hash`, if this credential has one.
    pub fn scram(&self, hash: ScramHash) -> Option<&ScramSecret> {
        match hash {
            ScramHash::Sha256 => Some(&self.scram_sha256),
            ScramHash::Sha512 => self.scram_sha512.as_ref(),
        }
    }
}

/// One MQTT↔Kafka mapping of a namespace: MQTT topics matching `mqtt_filter`
/// and the Kafka topic `kafka_topic` are joined in `direction`. The filter is a
/// valid, non-shared MQTT topic filter and the topic a valid Kafka topic name.
/// `mqtt_topic_prefix` (empty when none, else free of wildcards) is the part of
/// the MQTT topics the Kafka side does not see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    pub id: String,
    pub mqtt_filter: String,
    pub kafka_topic: String,
    pub direction: MappingDirection,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mqtt_topic_prefix: String,
}

impl Mapping {
    /// Whether MQTT messages on matching topics go to the Kafka topic.
    pub fn to_kafka(&self) -> bool {
        self.direction.to_kafka()
    }

    /// Whether records of the Kafka topic go to MQTT subscribers.
    pub fn to_mqtt(&self) -> bool {
        self.direction.to_mqtt()
    }
}

/// Which way a [`Mapping`] carries messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MappingDirection {
    MqttToKafka,
    KafkaToMqtt,
    Both,
}

impl MappingDirection {
    /// MQTT → Kafka: `MqttToKafka` or `Both`.
    pub fn to_kafka(&self) -> bool {
        matches!(self, MappingDirection::MqttToKafka | MappingDirection::Both)
    }

    /// Kafka → MQTT: `KafkaToMqtt` or `Both`.
    pub fn to_mqtt(&self) -> bool {
        matches!(self, MappingDirection::KafkaToMqtt | MappingDirection::Both)
    }
}

/// Binary fields as standard base64 strings.
mod base64_bytes {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directions_say_which_way() {
        let ways = |d: MappingDirection| (d.to_kafka(), d.to_mqtt());
        assert_eq!(ways(MappingDirection::MqttToKafka), (true, false));
        assert_eq!(ways(MappingDirection::KafkaToMqtt), (false, true));
        assert_eq!(ways(MappingDirection::Both), (true, true));
        let mapping = Mapping {
            id: "m".into(),
            mqtt_filter: "#".into(),
            kafka_topic: "mqtt".into(),
            direction: MappingDirection::KafkaToMqtt,
            mqtt_topic_prefix: String::new(),
        };
        assert!(mapping.to_mqtt() && !mapping.to_kafka());
    }
}
