//! Rate-limit events (failed logins, mail requests): how many a bucket has had
//! since a time, and recording more. What a bucket is and what the limits are
//! is `http::rate_limit`'s.

use super::Store;

impl Store {
    /// How many events `bucket` has had after `since`, and the oldest of them.
    pub async fn rate_limit_events_since(&self, bucket: &str, since: i64) -> Result<(i64, Option<i64>), sqlx::Error> {
        sqlx::query_as("SELECT COUNT(*), MIN(at) FROM rate_limit_events WHERE bucket = $1 AND at > $2")
            .bind(bucket)
            .bind(since)
            .fetch_one(&self.pool)
            .await
    }

    /// Records an event at `at` for each bucket, kept until `expires_at`, and
    /// forgets the events expired by then.
    pub async fn record_rate_limit_events(
        &self,
        buckets: &[&str],
        at: i64,
        expires_at: i64,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM rate_limit_events WHERE expires_at <= $1").bind(at).execute(&mut *tx).await?;
        for bucket in buckets {
            sqlx::query("INSERT INTO rate_limit_events (bucket, at, expires_at) VALUES ($1, $2, $3)")
                .bind(bucket)
                .bind(at)
                .bind(expires_at)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }
}
