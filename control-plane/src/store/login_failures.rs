//! Failed-login records: how many a bucket (an account or an address) has
//! had since a time, and recording one more. What a bucket is and what the
//! limits are is `http::login_limit`'s.

use super::Store;

impl Store {
    /// How many failures `bucket` has had after `since`, and the oldest of them.
    pub async fn login_failures_since(&self, bucket: &str, since: i64) -> Result<(i64, Option<i64>), sqlx::Error> {
        sqlx::query_as("SELECT COUNT(*), MIN(at) FROM login_failures WHERE bucket = $1 AND at > $2")
            .bind(bucket)
            .bind(since)
            .fetch_one(&self.pool)
            .await
    }

    /// Records a failure at `at` for each bucket, and forgets those up to
    /// `expired_before`.
    pub async fn record_login_failure(
        &self,
        buckets: &[&str],
        at: i64,
        expired_before: i64,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM login_failures WHERE at <= $1").bind(expired_before).execute(&mut *tx).await?;
        for bucket in buckets {
            sqlx::query("INSERT INTO login_failures (bucket, at) VALUES ($1, $2)")
                .bind(bucket)
                .bind(at)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }
}
