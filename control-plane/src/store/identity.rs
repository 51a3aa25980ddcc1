//! Users, organizations, memberships and refresh tokens.

use sqlx::FromRow;

use super::Store;

#[derive(Debug, Clone, FromRow)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct OrganizationRow {
    pub id: String,
    pub name: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct RefreshTokenRow {
    pub token_hash: String,
    pub family_id: String,
    pub user_id: String,
    pub organization_id: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

pub struct NewSignup<'a> {
    pub user: &'a UserRow,
    pub organization: &'a OrganizationRow,
}

impl Store {
    /// Creates a user, their organization and their owner membership, all or nothing.
    pub async fn create_signup(&self, new: NewSignup<'_>) -> Result<(), sqlx::Error> {
        let mut tx = self.begin().await?;
        sqlx::query("INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&new.user.id)
            .bind(&new.user.email)
            .bind(&new.user.password_hash)
            .bind(new.user.created_at)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(&new.organization.id)
            .bind(&new.organization.name)
            .bind(new.organization.created_at)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO memberships (user_id, organization_id, role, created_at) VALUES ($1, $2, 'owner', $3)",
        )
        .bind(&new.user.id)
        .bind(&new.organization.id)
        .bind(new.user.created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserRow>, sqlx::Error> {
        sqlx::query_as("SELECT id, email, password_hash, created_at FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(&self.pool)
            .await
    }

    /// Ids of the organizations the user belongs to, oldest membership first.
    pub async fn organization_ids(&self, user_id: &str) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT organization_id FROM memberships WHERE user_id = $1 ORDER BY created_at, organization_id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
    }

    pub async fn insert_refresh_token(&self, row: &RefreshTokenRow) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, family_id, user_id, organization_id, expires_at, used_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, NULL, NULL)",
        )
        .bind(&row.token_hash)
        .bind(&row.family_id)
        .bind(&row.user_id)
        .bind(&row.organization_id)
        .bind(row.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn refresh_token(&self, token_hash: &str) -> Result<Option<RefreshTokenRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT token_hash, family_id, user_id, organization_id, expires_at, used_at, revoked_at \
             FROM refresh_tokens WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
    }

    /// Marks a refresh token used; false when it already was (a replay, or a
    /// concurrent refresh that won the race).
    pub async fn use_refresh_token(&self, token_hash: &str, now: i64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(token_hash)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Revokes every token of a family (used when a spent token is replayed).
    pub async fn revoke_refresh_family(&self, family_id: &str, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(family_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn user_by_id(&self, id: &str) -> Result<Option<UserRow>, sqlx::Error> {
        sqlx::query_as("SELECT id, email, password_hash, created_at FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
    }

    /// The user's organizations with their role in each, oldest membership first.
    pub async fn memberships(&self, user_id: &str) -> Result<Vec<(OrganizationRow, String)>, sqlx::Error> {
        let rows: Vec<(String, String, i64, String)> = sqlx::query_as(
            "SELECT o.id, o.name, o.created_at, m.role FROM memberships m \
             JOIN organizations o ON o.id = m.organization_id \
             WHERE m.user_id = $1 ORDER BY m.created_at, m.organization_id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, created_at, role)| (OrganizationRow { id, name, created_at }, role))
            .collect())
    }

    /// Replaces a user's password hash and revokes all of their refresh tokens
    /// (every other login ends), in one transaction.
    pub async fn change_password(&self, user_id: &str, password_hash: &str, now: i64) -> Result<(), sqlx::Error> {
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    /// The user's role in the organization; `None` when not a member.
    pub async fn membership_role(&self, user_id: &str, organization_id: &str) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT role FROM memberships WHERE user_id = $1 AND organization_id = $2")
            .bind(user_id)
            .bind(organization_id)
            .fetch_optional(&self.pool)
            .await
    }
}
