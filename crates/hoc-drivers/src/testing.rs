//! Test support (feature `testing`): each storage test gets its own fresh, migrated database.
//!
//! SQLite always (a temporary file, deleted afterwards). PostgreSQL when `HOC_TEST_DATABASE_URL` is set: a new
//! database named `hoc_t_<uuid>` is created on that server, migrated, and dropped (`WITH (FORCE)`) when the
//! test ends, even if it panicked. If the variable is set and the server does not answer, the test fails
//! loudly; it never silently skips.
//!
//! [`storage_test!`](crate::storage_test) expands one body into a `sqlite` and a `postgres` test so the test
//! output names the backend each run used.
#![allow(clippy::expect_used, clippy::print_stderr, clippy::panic)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use sea_orm::{ConnectionTrait, Statement};

use crate::{Backend, Database, StorageError};

/// The environment variable naming the PostgreSQL server tests use.
pub const TEST_DATABASE_URL_VAR: &str = "HOC_TEST_DATABASE_URL";

/// Every table the schema has, in creation order.
pub const TABLES: &[&str] = &[
    "incidents",
    "incident_timeline",
    "postmortems",
    "audit_ledger",
    "event_sequences",
    "event_outbox",
    "analytics_artifacts",
    "api_keys",
    "console_sessions",
    "idempotency_keys",
    "incident_versions",
    "tenant_clocks",
    "recurrence_groups",
    "recurrence_group_versions",
    "relay_leases",
    "grouping_configs",
    "event_prune_marks",
    "incident_notes",
    "incident_search",
    "incident_status_counts",
    "incident_alerts",
    "ingest_deliveries",
    "ingest_policies",
    "grouping_templates",
];

#[path = "testing_cluster.rs"]
pub mod cluster;

/// A fresh, migrated database that is removed when dropped.
#[derive(Debug)]
pub struct TestDatabase {
    db: Database,
    url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    File(PathBuf),
    Postgres { admin_url: String, name: String },
}

impl TestDatabase {
    /// A migrated SQLite database in a new temporary file.
    pub async fn sqlite() -> Self {
        let path =
            std::env::temp_dir().join(format!("hoc-test-{}.db", uuid::Uuid::now_v7().simple()));
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let db = Database::connect_and_migrate(&url)
            .await
            .unwrap_or_else(|e| panic!("cannot create the SQLite test database {url}: {e:?}"));
        Self {
            db,
            url,
            cleanup: Cleanup::File(path),
        }
    }

    /// A migrated PostgreSQL database of its own, or `None` when `HOC_TEST_DATABASE_URL` is not set.
    /// Panics when it is set and the server cannot be used.
    pub async fn postgres() -> Option<Self> {
        let admin_url = std::env::var(TEST_DATABASE_URL_VAR).ok()?;
        let name = format!("hoc_t_{}", uuid::Uuid::now_v7().simple());
        let admin = Database::connect(&admin_url).await.unwrap_or_else(|e| {
            panic!("{TEST_DATABASE_URL_VAR} is set to {admin_url} but PostgreSQL does not answer: {e:?}")
        });
        assert_eq!(
            admin.backend(),
            Backend::Postgres,
            "{TEST_DATABASE_URL_VAR} must be a postgres:// URL"
        );
        admin
            .conn()
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap_or_else(|e| panic!("cannot create test database {name}: {e:?}"));
        let _ = admin.close().await;
        let url = with_database_name(&admin_url, &name);
        let db = Database::connect_and_migrate(&url)
            .await
            .unwrap_or_else(|e| panic!("cannot migrate test database {name}: {e:?}"));
        Some(Self {
            db,
            url,
            cleanup: Cleanup::Postgres { admin_url, name },
        })
    }

    /// The database handle.
    pub fn db(&self) -> &Database {
        &self.db
    }

    /// The URL another process (a host binary under test) can connect with.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A URL that connects as [`SERVING_ROLE`], the least-privilege role of `hocd serve`, with its grants on
    /// this database (created once per server, without a password: the test server trusts local connections).
    /// SQLite has no roles: its URL.
    pub async fn serving_url(&self) -> String {
        match &self.cleanup {
            Cleanup::Postgres { admin_url, .. } => {
                let admin = Database::connect(admin_url)
                    .await
                    .unwrap_or_else(|e| panic!("admin connects: {e:?}"));
                // Parallel tests create the role at once: serialise on an advisory lock.
                admin
                    .conn()
                    .execute_unprepared(&format!(
                        "DO $$ BEGIN PERFORM pg_advisory_xact_lock(7021); \
                         IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{SERVING_ROLE}') THEN \
                         CREATE ROLE {SERVING_ROLE} LOGIN; END IF; END $$"
                    ))
                    .await
                    .unwrap_or_else(|e| panic!("cannot create role {SERVING_ROLE}: {e:?}"));
                self.db
                    .grant_serving_role(SERVING_ROLE)
                    .await
                    .unwrap_or_else(|e| panic!("cannot grant {SERVING_ROLE}: {e:?}"));
                with_user(&self.url, SERVING_ROLE)
            }
            Cleanup::File(_) => self.url.clone(),
        }
    }
}

/// The role test servers run as on PostgreSQL.
pub const SERVING_ROLE: &str = "hoc_serve";

/// `url` with its user (and password) replaced by `user`.
fn with_user(url: &str, user: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let host_start = rest.find('/').map_or(rest.len(), |slash| {
        rest[..slash].rfind('@').map_or(0, |at| at + 1)
    });
    format!("{}{user}@{}", &url[..scheme_end], &rest[host_start..])
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    let _ = std::fs::remove_file(file);
                }
            }
            Cleanup::Postgres { admin_url, name } => {
                // Drop runs outside async; use a private runtime on a plain thread so this also works while a
                // panicking test unwinds inside the test's runtime.
                let admin_url = admin_url.clone();
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                let outcome = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| e.to_string())?;
                    runtime.block_on(async {
                        let admin = Database::connect(&admin_url)
                            .await
                            .map_err(|e| format!("{e:?}"))?;
                        admin
                            .conn()
                            .execute_unprepared(&sql)
                            .await
                            .map_err(|e| format!("{e:?}"))?;
                        admin.close().await.map_err(|e| format!("{e:?}"))
                    })
                })
                .join();
                if !matches!(outcome, Ok(Ok(()))) {
                    eprintln!("warning: could not drop test database {name}: {outcome:?}");
                }
            }
        }
    }
}

/// `admin_url` with its database path replaced by `name` (query string kept).
fn with_database_name(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (admin_url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut url = format!("{}/{name}", &base[..authority_end]);
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    url
}

/// The number of rows in every table, to prove that a rejected operation wrote nothing.
pub async fn row_counts(db: &Database) -> BTreeMap<&'static str, i64> {
    let mut counts = BTreeMap::new();
    for table in TABLES {
        let row = db
            .conn()
            .query_one_raw(Statement::from_string(
                db.conn().get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .expect("count query runs")
            .expect("count returns a row");
        counts.insert(
            *table,
            row.try_get::<i64>("", "n").expect("count is an integer"),
        );
    }
    counts
}

/// The integer column `n` of the one row `sql` answers (e.g. `SELECT COUNT(*) AS n FROM …`).
pub async fn scalar(db: &Database, sql: &str) -> Result<i64, StorageError> {
    column_n(db, sql).await
}

/// The text column `n` of the one row `sql` answers (e.g. a trigger's definition).
pub async fn scalar_text(db: &Database, sql: &str) -> Result<String, StorageError> {
    column_n(db, sql).await
}

async fn column_n<T: sea_orm::TryGetable>(db: &Database, sql: &str) -> Result<T, StorageError> {
    let row = db
        .conn()
        .query_one_raw(Statement::from_string(
            db.conn().get_database_backend(),
            sql.to_owned(),
        ))
        .await
        .map_err(StorageError::from_db)?
        .ok_or(StorageError::Corrupt {
            table: "(query)",
            problem: format!("no row from {sql}"),
        })?;
    row.try_get::<T>("", "n").map_err(StorageError::from_db)
}

/// Holds a write lock on `table` as another process would, until the returned transaction ends: on SQLite the
/// database's write lock (a write under `BEGIN IMMEDIATE`), on PostgreSQL `LOCK TABLE … IN EXCLUSIVE MODE` (reads
/// go on, every write to the table waits).
pub async fn hold_table_lock(db: &Database, table: &str) -> Result<crate::Tx, StorageError> {
    let tx = db.begin_transaction(true).await?;
    let sql = match db.backend() {
        Backend::Sqlite => "UPDATE tenant_clocks SET last_micros = last_micros".to_owned(),
        Backend::Postgres => format!("LOCK TABLE {table} IN EXCLUSIVE MODE"),
    };
    tx.write()?
        .execute_unprepared(&sql)
        .await
        .map_err(StorageError::from_db)?;
    Ok(tx)
}

/// Runs one raw SQL statement in `tx` (a write transaction), e.g. to hold a lock as another writer would.
pub async fn execute_in(tx: &crate::Tx, sql: &str) -> Result<u64, StorageError> {
    tx.write()?
        .execute_unprepared(sql)
        .await
        .map(|r| r.rows_affected())
        .map_err(StorageError::from_db)
}

/// Runs one raw SQL statement outside any transaction (for tests that poke the schema directly).
pub async fn execute_raw(db: &Database, sql: &str) -> Result<u64, StorageError> {
    db.conn()
        .execute_unprepared(sql)
        .await
        .map(|r| r.rows_affected())
        .map_err(StorageError::from_db)
}

/// Expands one async test body into a `sqlite` test and a `postgres` test inside a module named `$name`.
/// The body sees `$db: hoc_drivers::Database`, a fresh migrated database (connected as its owner), and optionally
/// `$url: String`, its URL for tests that start another process on it — on PostgreSQL as [`SERVING_ROLE`], which
/// may not change the schema or rewrite the audit ledger: `storage_test!(name, |db, url| { … })`. The `postgres` test returns at once
/// (saying so on stderr) when `HOC_TEST_DATABASE_URL` is not set; CI always sets it.
#[macro_export]
macro_rules! storage_test {
    ($name:ident, |$db:ident $(, $url:ident)?| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let test_db = $crate::testing::TestDatabase::sqlite().await;
                let $db: $crate::Database = test_db.db().clone();
                $(let $url: String = test_db.url().to_owned();)?
                $body
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                let Some(test_db) = $crate::testing::TestDatabase::postgres().await else {
                    #[allow(clippy::print_stderr)]
                    {
                        eprintln!(
                            "{} not set: PostgreSQL variant not run",
                            $crate::testing::TEST_DATABASE_URL_VAR
                        );
                    }
                    return;
                };
                let $db: $crate::Database = test_db.db().clone();
                // Another process on PostgreSQL connects as the least-privilege serving role.
                $(let $url: String = test_db.serving_url().await;)?
                $body
            }
        }
    };
}

/// Rebuilds the state the `incidents` triggers derive (history-based summaries, search rows, status counts) from the
/// recorded history, as a bulk load does (`migration::bulk_load`), and restores the triggers: a test compares the
/// replay with what the triggers kept.
pub async fn replay_derived_state(db: &Database) -> Result<(), StorageError> {
    migration::bulk_load::suspend_triggers(db.pool())
        .await
        .map_err(StorageError::from_db)?;
    migration::bulk_load::resume_triggers(db.pool())
        .await
        .map_err(StorageError::from_db)
}

#[cfg(test)]
mod tests {
    use super::with_database_name;

    #[test]
    fn user_is_replaced() {
        assert_eq!(
            super::with_user("postgres://postgres@127.0.0.1:5432/db", "hoc_serve"),
            "postgres://hoc_serve@127.0.0.1:5432/db"
        );
        assert_eq!(
            super::with_user("postgres://u:p@h/db?x=1", "r"),
            "postgres://r@h/db?x=1"
        );
        assert_eq!(
            super::with_user("postgres://h/db", "r"),
            "postgres://r@h/db"
        );
    }

    #[test]
    fn database_name_is_replaced_and_query_kept() {
        assert_eq!(
            with_database_name("postgres://postgres@127.0.0.1:5432/scratch", "hoc_t_1"),
            "postgres://postgres@127.0.0.1:5432/hoc_t_1"
        );
        assert_eq!(
            with_database_name("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(
            with_database_name("postgres://h:5432", "x"),
            "postgres://h:5432/x"
        );
    }
}
