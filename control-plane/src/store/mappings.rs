//! MQTT↔Kafka mappings of instances: the set the reconciler applies whole.

use sqlx::FromRow;

use super::Store;

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct MappingRow {
    pub id: String,
    pub instance_id: String,
    pub mqtt_filter: String,
    pub kafka_topic: String,
    /// `mqtt_to_kafka`, `kafka_to_mqtt` or `both`.
    pub direction: String,
    /// `""` when none.
    pub mqtt_topic_prefix: String,
    pub created_at: i64,
}

/// What [`Store::insert_mapping`] did. A (filter, topic) pair the instance
/// already maps is a unique violation, returned as the error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MappingInsert {
    Inserted,
    /// The instance already has `max` mappings.
    Full,
    /// The instance is gone or being deleted.
    NoInstance,
}

macro_rules! mapping_columns {
    () => {
        "id, instance_id, mqtt_filter, kafka_topic, direction, mqtt_topic_prefix, created_at"
    };
}

impl Store {
    /// Adds a mapping unless the instance has `max` already. The count and the
    /// insert are serialised per instance by first writing the instance's row
    /// (a row lock on PostgreSQL, the write lock on SQLite).
    pub async fn insert_mapping(&self, row: &MappingRow, max: i64) -> Result<MappingInsert, sqlx::Error> {
        let mut tx = self.begin().await?;
        let live = sqlx::query("UPDATE instances SET updated_at = updated_at WHERE id = $1 AND status <> 'deleting'")
            .bind(&row.instance_id)
            .execute(&mut *tx)
            .await?;
        if live.rows_affected() != 1 {
            return Ok(MappingInsert::NoInstance);
        }
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mappings WHERE instance_id = $1")
            .bind(&row.instance_id)
            .fetch_one(&mut *tx)
            .await?;
        if count >= max {
            return Ok(MappingInsert::Full);
        }
        insert_mapping_in(&mut tx, row).await?;
        tx.commit().await?;
        Ok(MappingInsert::Inserted)
    }

    /// Every mapping of the instance, in id (= creation) order: the set the
    /// fleet gets.
    pub async fn instance_mappings(&self, instance_id: &str) -> Result<Vec<MappingRow>, sqlx::Error> {
        sqlx::query_as(concat!("SELECT ", mapping_columns!(), " FROM mappings WHERE instance_id = $1 ORDER BY id"))
            .bind(instance_id)
            .fetch_all(&self.pool)
            .await
    }

    /// A page of the instance's mappings after `after`.
    pub async fn list_mappings(
        &self,
        instance_id: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<MappingRow>, sqlx::Error> {
        sqlx::query_as(concat!(
            "SELECT ",
            mapping_columns!(),
            " FROM mappings WHERE instance_id = $1 AND id > $2 ORDER BY id LIMIT $3"
        ))
        .bind(instance_id)
        .bind(after.unwrap_or(""))
        .bind(limit)
        .fetch_all(&self.pool)
        .await
    }

    pub async fn mapping(&self, instance_id: &str, id: &str) -> Result<Option<MappingRow>, sqlx::Error> {
        sqlx::query_as(concat!("SELECT ", mapping_columns!(), " FROM mappings WHERE id = $1 AND instance_id = $2"))
            .bind(id)
            .bind(instance_id)
            .fetch_optional(&self.pool)
            .await
    }

    /// Changes a mapping's filter, topic, direction and prefix from `current`
    /// (what the caller read); false when there is none or it is no longer
    /// `current`. A pair the instance already maps is a unique violation.
    pub async fn update_mapping(&self, row: &MappingRow, current: &MappingRow) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE mappings SET mqtt_filter = $1, kafka_topic = $2, direction = $3, mqtt_topic_prefix = $4 \
             WHERE id = $5 AND instance_id = $6 \
             AND mqtt_filter = $7 AND kafka_topic = $8 AND direction = $9 AND mqtt_topic_prefix = $10",
        )
        .bind(&row.mqtt_filter)
        .bind(&row.kafka_topic)
        .bind(&row.direction)
        .bind(&row.mqtt_topic_prefix)
        .bind(&row.id)
        .bind(&row.instance_id)
        .bind(&current.mqtt_filter)
        .bind(&current.kafka_topic)
        .bind(&current.direction)
        .bind(&current.mqtt_topic_prefix)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes a mapping, if it is still `expected` when one is given; false
    /// when there is none (or it changed). The fleet forgets it at the
    /// reconciler's next pass.
    pub async fn delete_mapping(
        &self,
        instance_id: &str,
        id: &str,
        expected: Option<&MappingRow>,
    ) -> Result<bool, sqlx::Error> {
        let done = match expected {
            None => {
                sqlx::query("DELETE FROM mappings WHERE id = $1 AND instance_id = $2")
                    .bind(id)
                    .bind(instance_id)
                    .execute(&self.pool)
                    .await?
            }
            Some(row) => {
                sqlx::query(
                    "DELETE FROM mappings WHERE id = $1 AND instance_id = $2 \
                     AND mqtt_filter = $3 AND kafka_topic = $4 AND direction = $5 AND mqtt_topic_prefix = $6",
                )
                .bind(id)
                .bind(instance_id)
                .bind(&row.mqtt_filter)
                .bind(&row.kafka_topic)
                .bind(&row.direction)
                .bind(&row.mqtt_topic_prefix)
                .execute(&self.pool)
                .await?
            }
        };
        Ok(done.rows_affected() == 1)
    }
}

/// Inserts a mapping inside `tx`.
pub(super) async fn insert_mapping_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    row: &MappingRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(concat!("INSERT INTO mappings (", mapping_columns!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7)"))
        .bind(&row.id)
        .bind(&row.instance_id)
        .bind(&row.mqtt_filter)
        .bind(&row.kafka_topic)
        .bind(&row.direction)
        .bind(&row.mqtt_topic_prefix)
        .bind(row.created_at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
