//! Topic resources: an instance's Kafka topics and their settings
//! (`/v1/instances/{id}/topics`), and the latest records of one.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A Kafka topic of an instance (MQTT messages mapped to Kafka land in them too).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"name": "telemetry", "partitions": 6, "retention_ms": 604800000, "retention_bytes": -1,
    "remote_storage_enable": false, "local_retention_ms": -2, "local_retention_bytes": -2}))]
pub struct Topic {
    pub name: String,
    pub partitions: i32,
    /// How long records are kept, ms; -1: for ever. With tiered storage, in both tiers.
    pub retention_ms: i64,
    /// Bytes each partition keeps at most; -1: no limit. With tiered storage, in both tiers.
    pub retention_bytes: i64,
    /// Tiered storage (Kafka's `remote.storage.enable`): closed segments are copied to
    /// the object store and read back from it transparently. Once on, it stays on.
    pub remote_storage_enable: bool,
    /// With tiered storage, how long local copies are kept once copied, ms; -2: as
    /// `retention_ms`, -1: for ever (`local.retention.ms`).
    pub local_retention_ms: i64,
    /// With tiered storage, bytes of local copies each partition keeps; -2: as
    /// `retention_bytes`, -1: no limit (`local.retention.bytes`).
    pub local_retention_bytes: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"name": "telemetry", "partitions": 6}))]
#[serde(deny_unknown_fields)]
pub struct CreateTopicRequest {
    /// Kafka's rules: 1-249 of letters, digits, '.', '_' and '-'.
    pub name: String,
    /// 1-1000. Default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitions: Option<i32>,
    /// Default 604800000 (7 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_ms: Option<i64>,
    /// Default -1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_bytes: Option<i64>,
    /// Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_storage_enable: Option<bool>,
    /// Default -2 (as `retention_ms`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_retention_ms: Option<i64>,
    /// Default -2 (as `retention_bytes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_retention_bytes: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"partitions": 12, "retention_ms": 86400000}))]
#[serde(deny_unknown_fields)]
pub struct UpdateTopicRequest {
    /// The new total, more than now (partitions are never removed, as in Kafka).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitions: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_bytes: Option<i64>,
    /// Only `true`: tiered storage cannot be turned off once on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_storage_enable: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_retention_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_retention_bytes: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TopicPage {
    /// By name.
    pub items: Vec<Topic>,
    #[serde(default)]
    pub next_page_token: Option<String>,
}

/// One record of a topic as stored. Keys and values are text when they are
/// UTF-8, else base64 with `binary` set.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"partition": 0, "offset": 41, "timestamp": "2026-12-01T12:00:00Z", "key": "sensors/t1", "value": "21.5", "binary": false, "value_truncated": false}))]
pub struct TopicMessage {
    pub partition: i32,
    pub offset: i64,
    /// The record's timestamp (its producer's, or the log's append time).
    #[schema(format = DateTime)]
    pub timestamp: String,
    pub key: Option<String>,
    pub value: Option<String>,
    /// `key` and `value` are base64: one of them is not UTF-8.
    pub binary: bool,
    /// `value` holds only the first 4 KiB.
    pub value_truncated: bool,
}

/// The newest records of a topic across its partitions, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TopicMessagePage {
    pub items: Vec<TopicMessage>,
}
