//! The audit log: appending events and reading an organization's, newest
//! first, with filters.

use sqlx::FromRow;

use super::Store;

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct AuditEventRow {
    pub id: String,
    pub organization_id: Option<String>,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub source_address: String,
    pub request_id: String,
    /// `success`, `failure` or `replayed`.
    pub outcome: String,
    pub status: i64,
    pub created_at: i64,
}

/// What to read of an organization's log; every filter is an exact match.
#[derive(Debug, Default)]
pub struct AuditFilter<'a> {
    pub actor: Option<&'a str>,
    pub action: Option<&'a str>,
    pub target: Option<&'a str>,
    pub outcome: Option<&'a str>,
    /// Unix ms, inclusive.
    pub since: Option<i64>,
    /// Unix ms, exclusive.
    pub until: Option<i64>,
}

impl Store {
    pub async fn insert_audit_event(&self, row: &AuditEventRow) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO audit_events (id, organization_id, actor, action, target, source_address, request_id, \
             outcome, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&row.id)
        .bind(&row.organization_id)
        .bind(&row.actor)
        .bind(&row.action)
        .bind(&row.target)
        .bind(&row.source_address)
        .bind(&row.request_id)
        .bind(&row.outcome)
        .bind(row.status)
        .bind(row.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The events of `scope` matching `filter`, newest first, older than the
    /// event `before` when given, at most `limit`.
    pub async fn audit_events(
        &self,
        scope: AuditScope<'_>,
        filter: &AuditFilter<'_>,
        before: Option<&str>,
        limit: i64,
    ) -> Result<Vec<AuditEventRow>, sqlx::Error> {
        // Each filter is `($n IS NULL OR column = $n)`, so one statement serves
        // every combination on both engines; the scope picks one of two, so
        // each can use the (organization_id, id) index.
        macro_rules! select {
            ($scope:literal) => {
                concat!(
                    "SELECT id, organization_id, actor, action, target, source_address, request_id, outcome, status, \
                     created_at FROM audit_events WHERE ",
                    $scope,
                    " AND ($2 IS NULL OR actor = $2) AND ($3 IS NULL OR action = $3) AND ($4 IS NULL OR target = $4) \
                     AND ($5 IS NULL OR outcome = $5) AND ($6 IS NULL OR created_at >= $6) \
                     AND ($7 IS NULL OR created_at < $7) AND ($8 IS NULL OR id < $8) \
                     ORDER BY id DESC LIMIT $9"
                )
            };
        }
        let (sql, organization_id) = match scope {
            AuditScope::Organization(id) => (select!("organization_id = $1"), id),
            // $1 is bound (and unused) so both statements take the same parameters.
            AuditScope::Platform => (select!("organization_id IS NULL AND $1 = ''"), ""),
        };
        sqlx::query_as(sql)
            .bind(organization_id)
            .bind(filter.actor)
            .bind(filter.action)
            .bind(filter.target)
            .bind(filter.outcome)
            .bind(filter.since)
            .bind(filter.until)
            .bind(before)
            .bind(limit)
            .fetch_all(&self.pool)
            .await
    }
}

/// Whose events are read.
#[derive(Debug, Clone, Copy)]
pub enum AuditScope<'a> {
    Organization(&'a str),
    /// Those of no organization: platform operators' calls and calls that
    /// named none (a refused token).
    Platform,
}
