//! Organizations beyond sign-up: creating more, renaming, their members and
//! roles (never leaving one without an owner), and invitations.

use sqlx::FromRow;

use super::{OrganizationRow, Store};

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct MemberRow {
    pub user_id: String,
    pub email: String,
    pub role: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct InvitationRow {
    pub id: String,
    pub organization_id: String,
    pub email: String,
    pub role: String,
    pub token_hash: String,
    /// `user:<id>` or `api_key:<id>`.
    pub invited_by: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub accepted_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// What a change to a membership did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MembershipChange {
    Done,
    NotMember,
    /// Refused: the organization would have no owner left.
    LastOwner,
    /// Refused: the member no longer has the role the caller expected.
    Changed,
}

macro_rules! invitation_columns {
    () => {
        "id, organization_id, email, role, token_hash, invited_by, created_at, expires_at, accepted_at, revoked_at"
    };
}

impl Store {
    /// Creates an organization with `owner` as its owner, in one transaction.
    pub async fn create_organization(&self, organization: &OrganizationRow, owner: &str) -> Result<(), sqlx::Error> {
        let mut tx = self.begin().await?;
        sqlx::query("INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(&organization.id)
            .bind(&organization.name)
            .bind(organization.created_at)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO memberships (user_id, organization_id, role, created_at) VALUES ($1, $2, 'owner', $3)",
        )
        .bind(owner)
        .bind(&organization.id)
        .bind(organization.created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    pub async fn organization(&self, id: &str) -> Result<Option<OrganizationRow>, sqlx::Error> {
        sqlx::query_as("SELECT id, name, created_at FROM organizations WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
    }

    /// Renames the organization, if it is still named `expected` when that is
    /// given; false otherwise (or when there is no such organization).
    pub async fn rename_organization(&self, id: &str, name: &str, expected: Option<&str>) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("UPDATE organizations SET name = $1 WHERE id = $2 AND ($3 IS NULL OR name = $3)")
            .bind(name)
            .bind(id)
            .bind(expected)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The organization's members by user id, after `after`, at most `limit`.
    pub async fn members(
        &self,
        organization_id: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<MemberRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT m.user_id, u.email, m.role, m.created_at FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.organization_id = $1 AND m.user_id > $2 ORDER BY m.user_id LIMIT $3",
        )
        .bind(organization_id)
        .bind(after.unwrap_or(""))
        .bind(limit)
        .fetch_all(&self.pool)
        .await
    }

    /// One member of the organization.
    pub async fn member(&self, organization_id: &str, user_id: &str) -> Result<Option<MemberRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT m.user_id, u.email, m.role, m.created_at FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.organization_id = $1 AND m.user_id = $2",
        )
        .bind(organization_id)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await
    }

    /// Gives a member another role, or (`role` None) removes them, unless that
    /// leaves the organization without an owner, or the member's role is no
    /// longer `expected` when that is given. The organization's row is
    /// written first, which serialises changes to its members on both engines.
    pub async fn change_membership(
        &self,
        organization_id: &str,
        user_id: &str,
        role: Option<&str>,
        expected: Option<&str>,
        now: i64,
    ) -> Result<MembershipChange, sqlx::Error> {
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE organizations SET name = name WHERE id = $1")
            .bind(organization_id)
            .execute(&mut *tx)
            .await?;
        let current: Option<String> =
            sqlx::query_scalar("SELECT role FROM memberships WHERE organization_id = $1 AND user_id = $2")
                .bind(organization_id)
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(current) = current else {
            return Ok(MembershipChange::NotMember);
        };
        if expected.is_some_and(|expected| expected != current) {
            return Ok(MembershipChange::Changed);
        }
        if current == "owner" && role != Some("owner") {
            let owners: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM memberships WHERE organization_id = $1 AND role = 'owner'")
                    .bind(organization_id)
                    .fetch_one(&mut *tx)
                    .await?;
            if owners <= 1 {
                return Ok(MembershipChange::LastOwner);
            }
        }
        match role {
            Some(role) => {
                sqlx::query("UPDATE memberships SET role = $1 WHERE organization_id = $2 AND user_id = $3")
                    .bind(role)
                    .bind(organization_id)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
            }
            None => {
                sqlx::query("DELETE FROM memberships WHERE organization_id = $1 AND user_id = $2")
                    .bind(organization_id)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                // A removed member's logins in the organization end too.
                sqlx::query(
                    "UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND organization_id = $3 \
                     AND revoked_at IS NULL",
                )
                .bind(now)
                .bind(user_id)
                .bind(organization_id)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(MembershipChange::Done)
    }

    pub async fn insert_invitation(&self, row: &InvitationRow) -> Result<(), sqlx::Error> {
        sqlx::query(concat!(
            "INSERT INTO invitations (",
            invitation_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL)"
        ))
        .bind(&row.id)
        .bind(&row.organization_id)
        .bind(&row.email)
        .bind(&row.role)
        .bind(&row.token_hash)
        .bind(&row.invited_by)
        .bind(row.created_at)
        .bind(row.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The organization's open invitations (neither accepted nor revoked), by id.
    pub async fn invitations(
        &self,
        organization_id: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<InvitationRow>, sqlx::Error> {
        sqlx::query_as(concat!(
            "SELECT ",
            invitation_columns!(),
            " FROM invitations WHERE organization_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL \
             AND id > $2 ORDER BY id LIMIT $3"
        ))
        .bind(organization_id)
        .bind(after.unwrap_or(""))
        .bind(limit)
        .fetch_all(&self.pool)
        .await
    }

    /// One open invitation of the organization.
    pub async fn invitation(&self, organization_id: &str, id: &str) -> Result<Option<InvitationRow>, sqlx::Error> {
        sqlx::query_as(concat!(
            "SELECT ",
            invitation_columns!(),
            " FROM invitations WHERE organization_id = $1 AND id = $2 AND accepted_at IS NULL AND revoked_at IS NULL"
        ))
        .bind(organization_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
    }

    pub async fn invitation_by_token(&self, token_hash: &str) -> Result<Option<InvitationRow>, sqlx::Error> {
        sqlx::query_as(concat!("SELECT ", invitation_columns!(), " FROM invitations WHERE token_hash = $1"))
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await
    }

    pub async fn revoke_invitation(&self, organization_id: &str, id: &str, now: i64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE invitations SET revoked_at = $1 WHERE organization_id = $2 AND id = $3 \
             AND accepted_at IS NULL AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(organization_id)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Spends the invitation and makes `user_id` a member with its role (an
    /// existing member keeps their role); false when it was spent meanwhile.
    pub async fn accept_invitation(
        &self,
        invitation: &InvitationRow,
        user_id: &str,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.begin().await?;
        let spent = sqlx::query(
            "UPDATE invitations SET accepted_at = $1 WHERE id = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(&invitation.id)
        .execute(&mut *tx)
        .await?;
        if spent.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO memberships (user_id, organization_id, role, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, organization_id) DO NOTHING",
        )
        .bind(user_id)
        .bind(&invitation.organization_id)
        .bind(&invitation.role)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}
