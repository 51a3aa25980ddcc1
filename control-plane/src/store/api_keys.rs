//! API keys: created, listed, looked up by digest, marked used, revoked.

use sqlx::FromRow;

use super::Store;

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ApiKeyRow {
    pub id: String,
    pub organization_id: String,
    pub name: String,
    pub role: String,
    pub key_hash: String,
    pub prefix: String,
    /// `user:<id>` or `api_key:<id>`.
    pub created_by: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

macro_rules! api_key_columns {
    () => {
        "id, organization_id, name, role, key_hash, prefix, created_by, created_at, expires_at, last_used_at, revoked_at"
    };
}

/// How stale `last_used_at` may get before a use writes it again.
const LAST_USED_GRANULARITY_MS: i64 = 60_000;

impl Store {
    pub async fn insert_api_key(&self, row: &ApiKeyRow) -> Result<(), sqlx::Error> {
        sqlx::query(concat!(
            "INSERT INTO api_keys (",
            api_key_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, NULL)"
        ))
        .bind(&row.id)
        .bind(&row.organization_id)
        .bind(&row.name)
        .bind(&row.role)
        .bind(&row.key_hash)
        .bind(&row.prefix)
        .bind(&row.created_by)
        .bind(row.created_at)
        .bind(row.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The organization's keys not revoked, by id, after `after`, at most `limit`.
    pub async fn list_api_keys(
        &self,
        organization_id: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<ApiKeyRow>, sqlx::Error> {
        sqlx::query_as(concat!(
            "SELECT ",
            api_key_columns!(),
            " FROM api_keys WHERE organization_id = $1 AND revoked_at IS NULL AND id > $2 ORDER BY id LIMIT $3"
        ))
        .bind(organization_id)
        .bind(after.unwrap_or(""))
        .bind(limit)
        .fetch_all(&self.pool)
        .await
    }

    pub async fn api_key(&self, organization_id: &str, id: &str) -> Result<Option<ApiKeyRow>, sqlx::Error> {
        sqlx::query_as(concat!(
            "SELECT ",
            api_key_columns!(),
            " FROM api_keys WHERE organization_id = $1 AND id = $2 AND revoked_at IS NULL"
        ))
        .bind(organization_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
    }

    pub async fn api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKeyRow>, sqlx::Error> {
        sqlx::query_as(concat!("SELECT ", api_key_columns!(), " FROM api_keys WHERE key_hash = $1"))
            .bind(key_hash)
            .fetch_optional(&self.pool)
            .await
    }

    /// Notes a use of the key, at most once a minute.
    pub async fn touch_api_key(&self, id: &str, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
        )
        .bind(now)
        .bind(id)
        .bind(now - LAST_USED_GRANULARITY_MS)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Revokes a key; false when the organization has no such live key.
    pub async fn revoke_api_key(&self, organization_id: &str, id: &str, now: i64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE api_keys SET revoked_at = $1 WHERE organization_id = $2 AND id = $3 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(organization_id)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
