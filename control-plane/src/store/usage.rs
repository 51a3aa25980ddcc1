//! Metered usage: instance periods (an instance on a plan, from creation or
//! a plan change to the next change or its deletion), the usage records the
//! brokers sealed, stored once each, and the sums the usage API and billing
//! read. Knows nothing of gRPC or prices.

use std::collections::HashMap;

use omnibus_api::fleet::UsageRecord;
use sqlx::{Any, FromRow, Transaction};

use super::Store;

/// The raw columns, in the order of [`Sums::values`].
pub const DIMENSIONS: [&str; 11] = [
    "kafka_messages_in",
    "kafka_bytes_in",
    "kafka_messages_out",
    "kafka_bytes_out",
    "mqtt_messages_in",
    "mqtt_bytes_in",
    "mqtt_messages_out",
    "mqtt_bytes_out",
    "connection_seconds",
    "storage_byte_seconds",
    "partition_seconds",
];

macro_rules! sums {
    () => {
        "CAST(SUM(kafka_messages_in) AS BIGINT), CAST(SUM(kafka_bytes_in) AS BIGINT), \
         CAST(SUM(kafka_messages_out) AS BIGINT), CAST(SUM(kafka_bytes_out) AS BIGINT), \
         CAST(SUM(mqtt_messages_in) AS BIGINT), CAST(SUM(mqtt_bytes_in) AS BIGINT), \
         CAST(SUM(mqtt_messages_out) AS BIGINT), CAST(SUM(mqtt_bytes_out) AS BIGINT), \
         CAST(SUM(connection_seconds) AS BIGINT), CAST(SUM(storage_byte_seconds) AS BIGINT), \
         CAST(SUM(partition_seconds) AS BIGINT)"
    };
}

/// Summed usage, one value per [`DIMENSIONS`] entry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sums {
    pub values: [u64; 11],
}

impl Sums {
    /// Reads the 11 sums starting at column `first`.
    pub(super) fn from_row(row: &sqlx::any::AnyRow, first: usize) -> Result<Sums, sqlx::Error> {
        use sqlx::Row as _;
        let mut values = [0u64; 11];
        for (i, value) in values.iter_mut().enumerate() {
            let sum: Option<i64> = row.try_get(first + i)?;
            *value = u64::try_from(sum.unwrap_or(0)).unwrap_or(0);
        }
        Ok(Sums { values })
    }

    pub fn get(&self, dimension: &str) -> u64 {
        DIMENSIONS.iter().position(|d| *d == dimension).map_or(0, |i| self.values[i])
    }
}

/// One bucket of one instance's usage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageBucket {
    pub instance_id: String,
    pub start_ms: i64,
    pub sums: Sums,
}

/// An instance on a plan for a stretch of time.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct PeriodRow {
    pub instance_id: String,
    pub organization_id: String,
    pub instance_name: String,
    pub plan: String,
    pub started_at: i64,
    pub ended_at: Option<i64>,
}

/// Opens an instance's period on `plan` at `at`.
pub(super) async fn open_period_in(
    tx: &mut Transaction<'_, Any>,
    instance_id: &str,
    organization_id: &str,
    name: &str,
    plan: &str,
    at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO instance_periods (id, instance_id, organization_id, instance_name, plan, started_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(instance_id)
    .bind(organization_id)
    .bind(name)
    .bind(plan)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Ends an instance's open period at `at`.
pub(super) async fn close_period_in(
    tx: &mut Transaction<'_, Any>,
    instance_id: &str,
    at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE instance_periods SET ended_at = $1 WHERE instance_id = $2 AND ended_at IS NULL")
        .bind(at)
        .bind(instance_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Renames an instance's open period.
pub(super) async fn rename_period_in(
    tx: &mut Transaction<'_, Any>,
    instance_id: &str,
    name: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE instance_periods SET instance_name = $1 WHERE instance_id = $2 AND ended_at IS NULL")
        .bind(name)
        .bind(instance_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Whose usage a query reads.
#[derive(Debug, Clone, Copy)]
pub enum UsageScope<'a> {
    Organization(&'a str),
    Instance { organization_id: &'a str, instance_id: &'a str },
}

impl Store {
    /// Stores the records of one broker journal, each once: a record already
    /// stored (read again after a crash, or by another control plane) is
    /// skipped. Answers how many were new.
    pub async fn ingest_usage(
        &self,
        journal_id: &str,
        broker_id: &str,
        records: &[UsageRecord],
        now: i64,
    ) -> Result<u64, sqlx::Error> {
        let mut tx = self.begin().await?;
        let mut owners: HashMap<&str, Option<(String, String)>> = HashMap::new();
        let mut inserted = 0;
        for record in records {
            if !owners.contains_key(record.namespace_id.as_str()) {
                let owner: Option<(String, String)> = sqlx::query_as(
                    "SELECT organization_id, plan FROM instance_periods WHERE instance_id = $1 \
                     ORDER BY started_at DESC LIMIT 1",
                )
                .bind(&record.namespace_id)
                .fetch_optional(&mut *tx)
                .await?;
                if owner.is_none() {
                    tracing::warn!(namespace = %record.namespace_id, "usage of a namespace no instance had; kept, not billed");
                }
                owners.insert(&record.namespace_id, owner);
            }
            let (organization_id, plan) = owners[record.namespace_id.as_str()].clone().unzip();
            let value = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
            let done = sqlx::query(
                "INSERT INTO usage_records (journal_id, seq, broker_id, instance_id, organization_id, plan, \
                 start_ms, end_ms, kafka_messages_in, kafka_bytes_in, kafka_messages_out, kafka_bytes_out, \
                 mqtt_messages_in, mqtt_bytes_in, mqtt_messages_out, mqtt_bytes_out, connection_seconds, \
                 storage_byte_seconds, partition_seconds, ingested_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20) \
                 ON CONFLICT (journal_id, seq) DO NOTHING",
            )
            .bind(journal_id)
            .bind(value(record.seq))
            .bind(broker_id)
            .bind(&record.namespace_id)
            .bind(organization_id)
            .bind(plan)
            .bind(record.start_ms)
            .bind(record.end_ms)
            .bind(value(record.kafka_messages_in))
            .bind(value(record.kafka_bytes_in))
            .bind(value(record.kafka_messages_out))
            .bind(value(record.kafka_bytes_out))
            .bind(value(record.mqtt_messages_in))
            .bind(value(record.mqtt_bytes_in))
            .bind(value(record.mqtt_messages_out))
            .bind(value(record.mqtt_bytes_out))
            .bind(value(record.connection_seconds))
            .bind(value(record.storage_byte_seconds))
            .bind(value(record.partition_seconds))
            .bind(now)
            .execute(&mut *tx)
            .await?;
            inserted += done.rows_affected();
        }
        tx.commit().await?;
        Ok(inserted)
    }

    /// Usage in `[from, to)` (by record start), summed per instance and
    /// bucket of `bucket_ms` (buckets aligned to the unix epoch, so UTC).
    pub async fn usage_buckets(
        &self,
        scope: UsageScope<'_>,
        from: i64,
        to: i64,
        bucket_ms: i64,
    ) -> Result<Vec<UsageBucket>, sqlx::Error> {
        let (organization_id, instance_id) = match scope {
            UsageScope::Organization(org) => (org, None),
            UsageScope::Instance { organization_id, instance_id } => (organization_id, Some(instance_id)),
        };
        let rows = sqlx::query(concat!(
            "SELECT instance_id, (start_ms / $1) * $1 AS bucket, ",
            sums!(),
            " FROM usage_records WHERE organization_id = $2 AND ($3 = '' OR instance_id = $3) \
             AND start_ms >= $4 AND start_ms < $5 GROUP BY instance_id, 2 ORDER BY instance_id, 2"
        ))
        .bind(bucket_ms)
        .bind(organization_id)
        .bind(instance_id.unwrap_or(""))
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                use sqlx::Row as _;
                Ok(UsageBucket {
                    instance_id: row.try_get(0)?,
                    start_ms: row.try_get(1)?,
                    sums: Sums::from_row(row, 2)?,
                })
            })
            .collect()
    }

    /// The organization's instance periods that overlap `[from, to)`.
    pub async fn periods_overlapping(
        &self,
        organization_id: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<PeriodRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT instance_id, organization_id, instance_name, plan, started_at, ended_at FROM instance_periods \
             WHERE organization_id = $1 AND started_at < $2 AND (ended_at IS NULL OR ended_at > $3) \
             ORDER BY instance_id, started_at",
        )
        .bind(organization_id)
        .bind(to)
        .bind(from)
        .fetch_all(&self.pool)
        .await
    }

    /// Usage not yet billed with `from <= start < to`, stored at or before
    /// `ingested_by`, summed per instance and plan.
    pub async fn unbilled_usage(
        &self,
        organization_id: &str,
        from: i64,
        to: i64,
        ingested_by: i64,
    ) -> Result<Vec<(String, String, Sums)>, sqlx::Error> {
        let rows = sqlx::query(concat!(
            "SELECT instance_id, plan, ",
            sums!(),
            " FROM usage_records WHERE organization_id = $1 AND invoice_id IS NULL \
             AND start_ms >= $2 AND start_ms < $3 AND ingested_at <= $4 GROUP BY instance_id, plan \
             ORDER BY instance_id, plan"
        ))
        .bind(organization_id)
        .bind(from)
        .bind(to)
        .bind(ingested_by)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                use sqlx::Row as _;
                let plan: Option<String> = row.try_get(1)?;
                Ok((row.try_get(0)?, plan.unwrap_or_default(), Sums::from_row(row, 2)?))
            })
            .collect()
    }
}
