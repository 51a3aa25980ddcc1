//! Usage resources: metered usage as time series (`/v1/instances/{id}/usage`,
//! `/v1/usage`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What was used in one bucket of a series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UsagePoint {
    /// The bucket's first instant.
    #[schema(format = DateTime)]
    pub start: String,
    pub value: u64,
}

/// One instance's usage of one dimension over time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UsageSeries {
    pub instance_id: String,
    /// `kafka_messages_in`, `kafka_bytes_in`, `kafka_messages_out`,
    /// `kafka_bytes_out`, `mqtt_messages_in`, `mqtt_bytes_in`,
    /// `mqtt_messages_out`, `mqtt_bytes_out`, `connection_seconds`,
    /// `storage_byte_seconds` or `partition_seconds`.
    pub dimension: String,
    /// `messages`, `bytes`, `connection-seconds`, `byte-seconds` or `partition-seconds`.
    pub unit: String,
    /// Oldest first; buckets without usage are left out.
    pub points: Vec<UsagePoint>,
}

/// Metered usage, as the brokers reported it: Kafka counts record batches
/// appended and fetched (bytes as stored) with their records, MQTT counts
/// PUBLISH messages accepted and delivered with their payload bytes;
/// connections are sampled every second, storage and partitions once a
/// minute.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "from": "2026-12-01T00:00:00Z", "to": "2026-12-02T00:00:00Z", "granularity": "hour",
    "series": [{"instance_id": "0193a5b0-0000-7000-8000-000000000002", "dimension": "kafka_bytes_in",
                "unit": "bytes", "points": [{"start": "2026-12-01T10:00:00Z", "value": 1048576}]}]
}))]
pub struct UsageReport {
    #[schema(format = DateTime)]
    pub from: String,
    #[schema(format = DateTime)]
    pub to: String,
    /// `minute`, `hour` or `day` (UTC).
    pub granularity: String,
    pub series: Vec<UsageSeries>,
}
