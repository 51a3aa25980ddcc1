//! Instances: the desired state the reconciler applies, and the status it
//! writes back.

use sqlx::FromRow;

use super::mappings::insert_mapping_in;
use super::usage::{close_period_in, open_period_in, rename_period_in};
use super::{MappingRow, Store};

#[derive(Debug, Clone, FromRow)]
pub struct InstanceRow {
    pub id: String,
    pub organization_id: String,
    pub name: String,
    pub plan: String,
    pub region: String,
    pub status: String,
    pub status_reason: Option<String>,
    /// JSON of `omnibus_api::rest::Endpoints`.
    pub endpoints: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// The fleet it is placed on.
    pub fleet_id: Option<String>,
    /// JSON of `omnibus_api::rest::QuotaOverrides` a platform operator set.
    pub quota_overrides: Option<String>,
}

macro_rules! instance_columns {
    () => {
        "id, organization_id, name, plan, region, status, status_reason, endpoints, created_at, updated_at, \
         fleet_id, quota_overrides"
    };
}

impl Store {
    /// Inserts an instance with its first mappings, in one transaction, if
    /// its fleet is still active and has room; false when not (placement
    /// raced with another create or a drain: place it again). The fleet's row
    /// is written first, which serialises creates on one fleet on both
    /// engines, so several control planes never fill a fleet past capacity.
    pub async fn insert_instance(&self, row: &InstanceRow, mappings: &[MappingRow]) -> Result<bool, sqlx::Error> {
        let mut tx = self.begin().await?;
        if let Some(fleet) = &row.fleet_id {
            let active = sqlx::query("UPDATE fleets SET updated_at = updated_at WHERE id = $1 AND state = 'active'")
                .bind(fleet)
                .execute(&mut *tx)
                .await?;
            let (placed, capacity): (i64, i64) = sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM instances WHERE fleet_id = $1), \
                 COALESCE((SELECT capacity FROM fleets WHERE id = $1), 0)",
            )
            .bind(fleet)
            .fetch_one(&mut *tx)
            .await?;
            if active.rows_affected() != 1 || placed >= capacity {
                return Ok(false);
            }
        }
        sqlx::query(concat!(
            "INSERT INTO instances (",
            instance_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .bind(&row.id)
        .bind(&row.organization_id)
        .bind(&row.name)
        .bind(&row.plan)
        .bind(&row.region)
        .bind(&row.status)
        .bind(&row.status_reason)
        .bind(&row.endpoints)
        .bind(row.created_at)
        .bind(row.updated_at)
        .bind(&row.fleet_id)
        .bind(&row.quota_overrides)
        .execute(&mut *tx)
        .await?;
        for mapping in mappings {
            insert_mapping_in(&mut tx, mapping).await?;
        }
        open_period_in(&mut tx, &row.id, &row.organization_id, &row.name, &row.plan, row.created_at).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// An instance of the organization, or `None` (also when it belongs to another).
    pub async fn instance_in_org(&self, org_id: &str, id: &str) -> Result<Option<InstanceRow>, sqlx::Error> {
        sqlx::query_as(concat!(
            "SELECT ",
            instance_columns!(),
            " FROM instances WHERE id = $1 AND organization_id = $2"
        ))
        .bind(id)
        .bind(org_id)
        .fetch_optional(&self.pool)
        .await
    }

    pub async fn instance(&self, id: &str) -> Result<Option<InstanceRow>, sqlx::Error> {
        sqlx::query_as(concat!("SELECT ", instance_columns!(), " FROM instances WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
    }

    /// A page of the organization's instances in id (= creation) order, after `after`.
    pub async fn list_instances(
        &self,
        org_id: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<InstanceRow>, sqlx::Error> {
        sqlx::query_as(concat!(
            "SELECT ",
            instance_columns!(),
            " FROM instances WHERE organization_id = $1 AND id > $2 ORDER BY id LIMIT $3"
        ))
        .bind(org_id)
        .bind(after.unwrap_or(""))
        .bind(limit)
        .fetch_all(&self.pool)
        .await
    }

    /// Every instance id, for the reconciler's periodic resync.
    pub async fn all_instance_ids(&self) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT id FROM instances ORDER BY id").fetch_all(&self.pool).await
    }

    pub async fn set_instance_status(
        &self,
        id: &str,
        status: &str,
        reason: Option<&str>,
        endpoints: &str,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        // Never resurrect an instance whose deletion began meanwhile.
        sqlx::query(
            "UPDATE instances SET status = $1, status_reason = $2, endpoints = $3, updated_at = $4 \
             WHERE id = $5 AND (status <> 'deleting' OR $1 = 'deleting')",
        )
        .bind(status)
        .bind(reason)
        .bind(endpoints)
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Marks the instance for deletion, if it still is `expected` when one is
    /// given; false when it is not in the organization (or has changed).
    pub async fn mark_instance_deleting(
        &self,
        org_id: &str,
        id: &str,
        now: i64,
        expected: Option<&InstanceRow>,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.begin().await?;
        let done = match expected {
            None => {
                sqlx::query(
                    "UPDATE instances SET status = 'deleting', status_reason = NULL, updated_at = $1 \
                     WHERE id = $2 AND organization_id = $3",
                )
                .bind(now)
                .bind(id)
                .bind(org_id)
                .execute(&mut *tx)
                .await?
            }
            Some(row) => {
                sqlx::query(
                    "UPDATE instances SET status = 'deleting', status_reason = NULL, updated_at = $1 \
                     WHERE id = $2 AND organization_id = $3 AND name = $4 AND plan = $5 AND region = $6 \
                     AND status = $7 AND COALESCE(status_reason, '') = $8 AND endpoints = $9",
                )
                .bind(now)
                .bind(id)
                .bind(org_id)
                .bind(&row.name)
                .bind(&row.plan)
                .bind(&row.region)
                .bind(&row.status)
                .bind(row.status_reason.as_deref().unwrap_or_default())
                .bind(&row.endpoints)
                .execute(&mut *tx)
                .await?
            }
        };
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        close_period_in(&mut tx, id, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Renames the instance or moves it to another plan, from `current` (what
    /// the caller read: the write is conditional on it); a new plan sets the
    /// status `updating` until the reconciler has applied it. False when the
    /// instance is no longer `current` (or is being deleted). Another instance
    /// of the organization with the name is a unique violation.
    pub async fn update_instance(
        &self,
        current: &InstanceRow,
        name: &str,
        plan: &str,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let status = if plan == current.plan { current.status.as_str() } else { "updating" };
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE instances SET name = $1, plan = $2, status = $3, updated_at = $4 \
             WHERE id = $5 AND organization_id = $6 AND status <> 'deleting' AND name = $7 AND plan = $8 \
             AND region = $9 AND status = $10 AND COALESCE(status_reason, '') = $11 AND endpoints = $12",
        )
        .bind(name)
        .bind(plan)
        .bind(status)
        .bind(now)
        .bind(&current.id)
        .bind(&current.organization_id)
        .bind(&current.name)
        .bind(&current.plan)
        .bind(&current.region)
        .bind(&current.status)
        .bind(current.status_reason.as_deref().unwrap_or_default())
        .bind(&current.endpoints)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        if plan != current.plan {
            close_period_in(&mut tx, &current.id, now).await?;
            open_period_in(&mut tx, &current.id, &current.organization_id, name, plan, now).await?;
        } else if name != current.name {
            rename_period_in(&mut tx, &current.id, name).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Sets (or with `None` clears) the quotas a platform operator gives the
    /// instance over its plan's; the status is `updating` until the reconciler
    /// has applied them. False when there is no such instance or it is being
    /// deleted.
    pub async fn set_quota_overrides(&self, id: &str, overrides: Option<&str>, now: i64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE instances SET quota_overrides = $1, status = 'updating', updated_at = $2 \
             WHERE id = $3 AND status <> 'deleting'",
        )
        .bind(overrides)
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes an instance, its credentials and its mappings once the fleet has
    /// forgotten it.
    pub async fn delete_instance(&self, id: &str) -> Result<(), sqlx::Error> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM credentials WHERE instance_id = $1").bind(id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM mappings WHERE instance_id = $1").bind(id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM instances WHERE id = $1 AND status = 'deleting'").bind(id).execute(&mut *tx).await?;
        tx.commit().await
    }
}
