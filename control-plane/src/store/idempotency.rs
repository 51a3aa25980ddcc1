//! Idempotency keys: claiming one for a request, keeping the answer, and
//! forgetting keys older than a day. What the rows hold is opaque here
//! (hashes and a sealed answer, made by `http::idempotency`).

use super::Store;

/// What [`Store::claim_idempotency_key`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is new (or was abandoned): this request runs.
    Claimed,
    /// Another request holds the key; `response` is its sealed answer, `None`
    /// while it is still running.
    Taken { request_hash: String, response: Option<String> },
}

/// How long a claimed key without an answer blocks retries: after this the
/// first request is taken for dead (its process crashed) and a retry runs.
const ABANDONED_MS: i64 = 60_000;

impl Store {
    /// Claims `key_hash` for a request hashing to `request_hash`, first
    /// forgetting keys created before `expired_before_ms`. The insert decides
    /// between concurrent claimants on every engine (the primary key).
    pub async fn claim_idempotency_key(
        &self,
        key_hash: &str,
        request_hash: &str,
        now_ms: i64,
        expired_before_ms: i64,
    ) -> Result<Claim, sqlx::Error> {
        sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(expired_before_ms)
            .execute(&self.pool)
            .await?;
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys (key_hash, request_hash, response, created_at) VALUES ($1, $2, NULL, $3) \
             ON CONFLICT (key_hash) DO NOTHING",
        )
        .bind(key_hash)
        .bind(request_hash)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok(Claim::Claimed);
        }
        let revived = sqlx::query(
            "UPDATE idempotency_keys SET created_at = $3 \
             WHERE key_hash = $1 AND request_hash = $2 AND response IS NULL AND created_at < $4",
        )
        .bind(key_hash)
        .bind(request_hash)
        .bind(now_ms)
        .bind(now_ms - ABANDONED_MS)
        .execute(&self.pool)
        .await?;
        if revived.rows_affected() == 1 {
            return Ok(Claim::Claimed);
        }
        let row: Option<(String, Option<String>)> =
            sqlx::query_as("SELECT request_hash, response FROM idempotency_keys WHERE key_hash = $1")
                .bind(key_hash)
                .fetch_optional(&self.pool)
                .await?;
        match row {
            Some((request_hash, response)) => Ok(Claim::Taken { request_hash, response }),
            // Expired and deleted between the insert and the read: try once more.
            None => Box::pin(self.claim_idempotency_key(key_hash, request_hash, now_ms, expired_before_ms)).await,
        }
    }

    /// Keeps the sealed answer of the request holding `key_hash`.
    pub async fn complete_idempotency_key(&self, key_hash: &str, response: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE idempotency_keys SET response = $2 WHERE key_hash = $1")
            .bind(key_hash)
            .bind(response)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Lets go of a key whose request failed on our side, so a retry runs.
    pub async fn release_idempotency_key(&self, key_hash: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM idempotency_keys WHERE key_hash = $1 AND response IS NULL")
            .bind(key_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
