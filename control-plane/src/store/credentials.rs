//! Credentials of instances, kept only in salted SCRAM forms (SHA-256, and
//! SHA-512 for those created since it was added).

use sqlx::FromRow;

use super::Store;

#[derive(Debug, Clone, FromRow)]
pub struct CredentialRow {
    pub id: String,
    pub instance_id: String,
    pub name: String,
    pub username: String,
    /// Base64 of the SCRAM-SHA-256 salt, stored key and server key.
    pub scram_salt: String,
    pub scram_iterations: i64,
    pub scram_stored_key: String,
    pub scram_server_key: String,
    /// The same for SCRAM-SHA-512; all None for credentials created before
    /// that form was derived.
    pub scram_sha512_salt: Option<String>,
    pub scram_sha512_iterations: Option<i64>,
    pub scram_sha512_stored_key: Option<String>,
    pub scram_sha512_server_key: Option<String>,
    /// JSON of `Vec<omnibus_api::rest::AclRule>`.
    pub acl: String,
    pub state: String,
    pub created_at: i64,
}

/// `active` credentials are applied to the fleet; `revoking` ones are being
/// removed from it and deleted once that is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialState {
    Active,
    Revoking,
}

impl CredentialState {
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialState::Active => "active",
            CredentialState::Revoking => "revoking",
        }
    }
}

macro_rules! credential_columns {
    () => {
        "id, instance_id, name, username, scram_salt, scram_iterations, scram_stored_key, \
                       scram_server_key, scram_sha512_salt, scram_sha512_iterations, scram_sha512_stored_key, \
                       scram_sha512_server_key, acl, state, created_at"
    };
}

impl Store {
    pub async fn insert_credential(&self, row: &CredentialRow) -> Result<(), sqlx::Error> {
        sqlx::query(concat!(
            "INSERT INTO credentials (",
            credential_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        ))
        .bind(&row.id)
        .bind(&row.instance_id)
        .bind(&row.name)
        .bind(&row.username)
        .bind(&row.scram_salt)
        .bind(row.scram_iterations)
        .bind(&row.scram_stored_key)
        .bind(&row.scram_server_key)
        .bind(&row.scram_sha512_salt)
        .bind(row.scram_sha512_iterations)
        .bind(&row.scram_sha512_stored_key)
        .bind(&row.scram_sha512_server_key)
        .bind(&row.acl)
        .bind(&row.state)
        .bind(row.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every credential of the instance, active and revoking.
    pub async fn instance_credentials(&self, instance_id: &str) -> Result<Vec<CredentialRow>, sqlx::Error> {
        sqlx::query_as(concat!(
            "SELECT ",
            credential_columns!(),
            " FROM credentials WHERE instance_id = $1 ORDER BY id"
        ))
        .bind(instance_id)
        .fetch_all(&self.pool)
        .await
    }

    /// A page of the instance's active credentials after `after`.
    pub async fn list_credentials(
        &self,
        instance_id: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<CredentialRow>, sqlx::Error> {
        sqlx::query_as(concat!(
            "SELECT ",
            credential_columns!(),
            " FROM credentials WHERE instance_id = $1 AND state = 'active' AND id > $2 ORDER BY id LIMIT $3"
        ))
        .bind(instance_id)
        .bind(after.unwrap_or(""))
        .bind(limit)
        .fetch_all(&self.pool)
        .await
    }

    /// Starts revoking an active credential; false when there is none.
    /// An active credential of the instance.
    pub async fn credential(&self, instance_id: &str, id: &str) -> Result<Option<CredentialRow>, sqlx::Error> {
        sqlx::query_as(concat!(
            "SELECT ",
            credential_columns!(),
            " FROM credentials WHERE instance_id = $1 AND id = $2 AND state = 'active'"
        ))
        .bind(instance_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
    }

    /// Replaces an active credential's name, ACL and secret (its SCRAM forms)
    /// with `row`'s, if it still has the name, ACL and secret of `current`
    /// (what the caller read); false when it changed meanwhile or is no
    /// longer active. Two rotations at once: one wins, so no caller is shown
    /// a password that was overwritten.
    pub async fn update_credential(&self, row: &CredentialRow, current: &CredentialRow) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE credentials SET name = $1, acl = $2, scram_salt = $3, scram_iterations = $4, \
             scram_stored_key = $5, scram_server_key = $6, scram_sha512_salt = $7, scram_sha512_iterations = $8, \
             scram_sha512_stored_key = $9, scram_sha512_server_key = $10 \
             WHERE id = $11 AND instance_id = $12 AND state = 'active' \
             AND name = $13 AND acl = $14 AND scram_stored_key = $15",
        )
        .bind(&row.name)
        .bind(&row.acl)
        .bind(&row.scram_salt)
        .bind(row.scram_iterations)
        .bind(&row.scram_stored_key)
        .bind(&row.scram_server_key)
        .bind(&row.scram_sha512_salt)
        .bind(row.scram_sha512_iterations)
        .bind(&row.scram_sha512_stored_key)
        .bind(&row.scram_sha512_server_key)
        .bind(&row.id)
        .bind(&row.instance_id)
        .bind(&current.name)
        .bind(&current.acl)
        .bind(&current.scram_stored_key)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Marks an active credential for revocation, if it still has the name
    /// and ACL of `expected` when one is given; false otherwise.
    pub async fn mark_credential_revoking(
        &self,
        instance_id: &str,
        id: &str,
        expected: Option<&CredentialRow>,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE credentials SET state = 'revoking' WHERE id = $1 AND instance_id = $2 AND state = 'active' \
             AND ($3 IS NULL OR (name = $3 AND acl = $4))",
        )
        .bind(id)
        .bind(instance_id)
        .bind(expected.map(|row| row.name.as_str()))
        .bind(expected.map(|row| row.acl.as_str()))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn delete_credential(&self, id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM credentials WHERE id = $1 AND state = 'revoking'")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
