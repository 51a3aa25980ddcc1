//! One-use tokens sent by email (password reset, address verification) and
//! what spending them does.

use super::Store;

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Reset,
    Verify,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Reset => "reset",
            Purpose::Verify => "verify",
        }
    }
}

impl Store {
    /// Keeps a new token for `user_id`; earlier unspent ones of the purpose stop working.
    pub async fn insert_email_token(
        &self,
        token_hash: &str,
        purpose: Purpose,
        user_id: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE email_tokens SET used_at = $1 WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL")
            .bind(now)
            .bind(user_id)
            .bind(purpose.as_str())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO email_tokens (token_hash, purpose, user_id, created_at, expires_at, used_at) \
             VALUES ($1, $2, $3, $4, $5, NULL)",
        )
        .bind(token_hash)
        .bind(purpose.as_str())
        .bind(user_id)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    /// Spends a live token of `purpose`; the user it was for, or `None` when it
    /// is unknown, spent or expired.
    pub async fn spend_email_token(
        &self,
        token_hash: &str,
        purpose: Purpose,
        now: i64,
    ) -> Result<Option<String>, sqlx::Error> {
        let mut tx = self.begin().await?;
        let user: Option<String> = sqlx::query_scalar(
            "SELECT user_id FROM email_tokens WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL \
             AND expires_at > $3",
        )
        .bind(token_hash)
        .bind(purpose.as_str())
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(user) = user else {
            return Ok(None);
        };
        let spent = sqlx::query("UPDATE email_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL")
            .bind(now)
            .bind(token_hash)
            .execute(&mut *tx)
            .await?;
        if spent.rows_affected() != 1 {
            return Ok(None);
        }
        if purpose == Purpose::Verify {
            sqlx::query("UPDATE users SET email_verified_at = $1 WHERE id = $2 AND email_verified_at IS NULL")
                .bind(now)
                .bind(&user)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Some(user))
    }

    /// When the user proved they read their address; `None`: not yet.
    pub async fn email_verified_at(&self, user_id: &str) -> Result<Option<i64>, sqlx::Error> {
        let at: Option<Option<i64>> = sqlx::query_scalar("SELECT email_verified_at FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(at.flatten())
    }
}
