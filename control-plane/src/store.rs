//! The control plane's database: connection, migrations and the queries the
//! rest of the crate uses. SQLite (embedded default) and PostgreSQL run the
//! same SQL through sqlx's `Any` driver: placeholders are `$n`, ids are TEXT
//! and times BIGINT milliseconds, so one migration set serves both.
//!
//! Owns every SQL statement of the crate; knows nothing of HTTP or the fleet.

mod api_keys;
mod audit;
mod billing;
mod credentials;
mod email_tokens;
mod fleets;
mod idempotency;
mod identity;
mod instances;
mod leases;
mod mappings;
mod organizations;
mod rate_limits;
mod usage;

use std::str::FromStr;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions};

pub use api_keys::ApiKeyRow;
pub use audit::{AuditEventRow, AuditFilter, AuditScope};
pub use billing::{FinalInvoice, InvoiceLineRow, InvoiceRow, PriceBookRow, SpendAlertEventRow, SpendAlertRow};
pub use credentials::{CredentialRow, CredentialState};
pub use email_tokens::Purpose;
pub use fleets::{FleetRow, FleetSpec};
pub use idempotency::Claim;
pub use identity::{NewSignup, OrganizationRow, RefreshTokenRow, UserRow};
pub use instances::InstanceRow;
pub use mappings::{MappingInsert, MappingRow};
pub use organizations::{InvitationRow, MemberRow, MembershipChange};
pub use usage::{DIMENSIONS, PeriodRow, Sums, UsageBucket, UsageScope};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("invalid database url {url:?}: {source}")]
    Url { url: String, source: sqlx::Error },
    #[error("cannot create the database directory {path}: {source}")]
    Directory { path: String, source: std::io::Error },
    #[error("cannot connect to the database: {0}")]
    Connect(sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    sqlite: bool,
}

impl Store {
    /// Connects (creating a SQLite file if needed) and applies migrations.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let is_sqlite = url.starts_with("sqlite:");
        let url = if is_sqlite { sqlite_url(url)? } else { url.to_string() };
        let options = AnyConnectOptions::from_str(&url)
            .map_err(|source| StoreError::Url { url: redact(&url), source })?
            .log_statements(tracing::log::LevelFilter::Trace);
        // SQLite takes one writer at a time; a small pool avoids lock contention.
        let pool = AnyPoolOptions::new()
            .max_connections(if is_sqlite { 4 } else { 16 })
            .connect_with(options)
            .await
            .map_err(StoreError::Connect)?;
        if is_sqlite {
            sqlx::query("PRAGMA journal_mode = WAL").execute(&pool).await.map_err(StoreError::Connect)?;
        }
        MIGRATOR.run(&pool).await?;
        Ok(Store { pool, sqlite: is_sqlite })
    }

    /// A transaction that writes. On SQLite it takes the write lock first
    /// (`BEGIN IMMEDIATE`), so a concurrent writer makes it wait (the busy
    /// timeout) rather than fail with "database is locked" when it writes
    /// after reading, as a deferred transaction does once another connection
    /// has written since its read.
    async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        if self.sqlite { self.pool.begin_with("BEGIN IMMEDIATE").await } else { self.pool.begin().await }
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }
}

/// Turns `sqlite://path` into a URL that creates the file, and creates its
/// directory.
fn sqlite_url(url: &str) -> Result<String, StoreError> {
    let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let dir = std::path::Path::new(path).parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir.filter(|_| path != ":memory:") {
        std::fs::create_dir_all(dir)
            .map_err(|source| StoreError::Directory { path: dir.display().to_string(), source })?;
    }
    let query = if query.contains("mode=") {
        query.to_string()
    } else if query.is_empty() {
        "mode=rwc".into()
    } else {
        format!("{query}&mode=rwc")
    };
    Ok(format!("sqlite://{path}?{query}"))
}

/// A database URL with any password replaced, for error messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Whether an error is a unique-constraint violation (on either engine).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// A database URL with any password replaced.
#[cfg(test)]
pub(crate) fn redacted(url: &str) -> String {
    redact(url)
}

#[cfg(test)]
impl Store {
    /// An organization with its owner and an instance created at `at`, for
    /// billing tests.
    pub(crate) async fn seed_billing_fixture(
        &self,
        organization_id: &str,
        owner_email: &str,
        instance_id: &str,
        instance_name: &str,
        plan: &str,
        at: i64,
    ) {
        let user_id = format!("user-{organization_id}");
        sqlx::query("INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, 'x', 0)")
            .bind(&user_id)
            .bind(owner_email)
            .execute(&self.pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO organizations (id, name, created_at) VALUES ($1, $1, 0)")
            .bind(organization_id)
            .execute(&self.pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO memberships (user_id, organization_id, role, created_at) VALUES ($1, $2, 'owner', 0)")
            .bind(&user_id)
            .bind(organization_id)
            .execute(&self.pool)
            .await
            .unwrap();
        let mut tx = self.begin().await.unwrap();
        usage::open_period_in(&mut tx, instance_id, organization_id, instance_name, plan, at).await.unwrap();
        tx.commit().await.unwrap();
    }
}

#[cfg(test)]
/// A fresh SQLite database, and a fresh PostgreSQL one when
/// `OMNIBUS_TEST_POSTGRES_URL` is set (as `scripts/test` does).
pub(crate) async fn fresh_databases(dir: &std::path::Path) -> Vec<String> {
    use sqlx::Connection as _;
    let mut urls = vec![sqlite_url(&format!("sqlite://{}/cp.db", dir.display())).unwrap()];
    if let Ok(admin) = std::env::var("OMNIBUS_TEST_POSTGRES_URL") {
        let name = format!("unit_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(&admin).await.expect("connect to PostgreSQL");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.unwrap();
        let (server, _) = admin.rsplit_once('/').expect("a database url with a path");
        urls.push(format!("{server}/{name}"));
    }
    urls
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_in_urls() {
        assert_eq!(redact("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact("postgres://h/db"), "postgres://h/db");
    }

    #[test]
    fn sqlite_urls_create_the_file() {
        assert_eq!(sqlite_url("sqlite::memory:").unwrap(), "sqlite://:memory:?mode=rwc");
        assert_eq!(sqlite_url("sqlite://x.db?mode=ro").unwrap(), "sqlite://x.db?mode=ro");
    }

    /// The last migration before mappings existed.
    const BEFORE_MAPPINGS: i64 = 20261124000002;

    #[tokio::test]
    async fn a_lease_has_one_holder_until_released_or_expired() {
        let dir = std::env::temp_dir().join(format!("omnibus-cp-lease-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        sqlx::any::install_default_drivers();
        for url in fresh_databases(&dir).await {
            let store = Store::connect(&url).await.unwrap();
            assert!(store.acquire_lease("instance:i1", "a", 1_000, 30_000).await.unwrap());
            assert!(!store.acquire_lease("instance:i1", "b", 2_000, 30_000).await.unwrap(), "{}", redact(&url));
            assert!(store.acquire_lease("instance:i2", "b", 2_000, 30_000).await.unwrap(), "another name is free");
            assert!(store.acquire_lease("instance:i1", "a", 3_000, 30_000).await.unwrap(), "the holder renews");
            store.release_lease("instance:i1", "b").await.unwrap();
            assert!(!store.acquire_lease("instance:i1", "b", 4_000, 30_000).await.unwrap(), "only the holder releases");
            store.release_lease("instance:i1", "a").await.unwrap();
            assert!(store.acquire_lease("instance:i1", "b", 5_000, 30_000).await.unwrap());
            assert!(store.acquire_lease("instance:i1", "a", 35_000, 30_000).await.unwrap(), "an expired lease is free");
            store.pool.close().await;
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn instances_from_before_mappings_get_the_default_one() {
        let dir = std::env::temp_dir().join(format!("omnibus-cp-store-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        sqlx::any::install_default_drivers();
        for url in fresh_databases(&dir).await {
            let pool = AnyPool::connect(&url).await.unwrap();
            MIGRATOR.run_to(BEFORE_MAPPINGS, &pool).await.unwrap();
            sqlx::query("INSERT INTO organizations (id, name, created_at) VALUES ('org', 'Org', 1)")
                .execute(&pool)
                .await
                .unwrap();
            for (id, name, created_at) in [("0193a3c6-0000-7000-8000-000000000001", "a", 1000_i64), ("i2", "b", 2000)] {
                sqlx::query(
                    "INSERT INTO instances (id, organization_id, name, plan, region, status, endpoints, \
                     created_at, updated_at) VALUES ($1, 'org', $2, 'developer', 'local', 'ready', '{}', $3, $3)",
                )
                .bind(id)
                .bind(name)
                .bind(created_at)
                .execute(&pool)
                .await
                .unwrap();
            }
            MIGRATOR.run(&pool).await.unwrap();
            let store = Store { sqlite: url.starts_with("sqlite:"), pool };
            let mappings = store.instance_mappings("0193a3c6-0000-7000-8000-000000000001").await.unwrap();
            assert_eq!(
                mappings,
                [MappingRow {
                    id: "0193a3c6-0000-7000-8000-000000000001".into(),
                    instance_id: "0193a3c6-0000-7000-8000-000000000001".into(),
                    mqtt_filter: "#".into(),
                    kafka_topic: "mqtt".into(),
                    direction: "both".into(),
                    mqtt_topic_prefix: String::new(),
                    created_at: 1000,
                }],
                "{}",
                redact(&url)
            );
            assert_eq!(store.instance_mappings("i2").await.unwrap().len(), 1);
            store.pool.close().await;
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
