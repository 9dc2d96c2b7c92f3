//! L6 drivers: pure data access on sea-orm, for SQLite and PostgreSQL.
//!
//! The spine opens a [`Tx`] and owns it; drivers borrow it, read and write rows, and never commit or roll
//! back. Errors leave this crate as [`StorageError`], never as `sea_orm::DbErr` variants to match on.

#![warn(missing_docs)]

pub mod alerts;
pub mod api_keys;
pub mod artifacts;
pub mod audit;
pub mod bulk;
pub mod console_sessions;
mod db_time;
pub mod entity;
mod error;
pub mod grouping;
pub mod idempotency;
pub mod incidents;
pub mod metrics;
pub mod notes;
pub mod outbox;
pub mod paging;
#[cfg(test)]
mod plans;
pub mod postmortems;
pub mod relay;
mod replicas;
pub mod schema_check;
pub mod search;
mod stored;
pub mod tenant_clock;
pub mod tenant_keys;
#[cfg(feature = "testing")]
pub mod testing;
pub mod timeline;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::postgres::PgConnectOptions;
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sea_orm::{
    ConnectOptions, ConnectionTrait, DatabaseConnection, DatabaseExecutor, DatabaseTransaction,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

pub use crate::db_time::DbTime;
pub use crate::entity::analytics_artifacts::Model as ArtifactRow;
pub use crate::entity::api_keys::Model as ApiKeyRow;
pub use crate::entity::audit_ledger::Model as AuditRow;
pub use crate::entity::console_sessions::Model as SessionRow;
pub use crate::entity::idempotency_keys::Model as IdempotencyRow;
pub use crate::entity::incident_alerts::Model as AlertRow;
pub use crate::entity::incident_notes::Model as NoteRow;
pub use crate::entity::incident_timeline::Model as TimelineRow;
pub use crate::entity::incidents::Model as IncidentRow;
pub use crate::entity::ingest_deliveries::Model as DeliveryRow;
pub use crate::entity::ingest_policies::Model as IngestPolicyRow;
pub use crate::entity::postmortems::Model as PostmortemRow;
pub use crate::error::StorageError;
pub use crate::replicas::{ReplicaRead, ReplicaStatus};
pub use crate::stored::Stored;
pub use migration::audit_chain;

/// Which database a [`Database`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default: a file.
    Sqlite,
    /// The production database.
    Postgres,
}

/// A connection pool to one database. Cheap to clone (clones share the pool and its [`Counters`]).
///
/// On SQLite there are two pools on one file: one connection that writes (every write transaction holds the
/// database's write lock anyway) and a pool of readers, so that reads never queue behind a writer or an external lock
/// (WAL lets readers run beside the writer). An in-memory database has one pool (a second would be another
/// database).
#[derive(Debug, Clone)]
pub struct Database {
    conn: DatabaseConnection,
    reader: DatabaseConnection,
    backend: Backend,
    counts: Arc<Counts>,
    replicas: replicas::Replicas,
}

#[derive(Debug, Default)]
struct Counts {
    statements: AtomicU64,
    transactions: AtomicU64,
    /// Whether the text of each statement is kept in `recorded` (for the verifier: see [`Database::record_statements`]).
    recording: std::sync::atomic::AtomicBool,
    recorded: std::sync::Mutex<Vec<String>>,
}

/// How much a pool has done since it connected: what shows the round trips an operation costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    /// Statements sent (not counting `BEGIN`/`COMMIT`/`ROLLBACK`).
    pub statements: u64,
    /// Transactions begun.
    pub transactions: u64,
}

impl std::ops::Sub for Counters {
    type Output = Counters;

    fn sub(self, earlier: Counters) -> Counters {
        Counters {
            statements: self.statements.saturating_sub(earlier.statements),
            transactions: self.transactions.saturating_sub(earlier.transactions),
        }
    }
}

/// How a [`Database`] waits: the limits that turn an outage or a lock into a fast `unavailable` instead of a hang.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatabaseConfig {
    /// How long a call waits for a pooled connection (and for a new one to connect) before it is `unavailable`.
    pub acquire_timeout: Duration,
    /// SQLite: how long a write waits for the database's write lock (held by another process) before it is
    /// `unavailable`.
    pub busy_timeout: Duration,
    /// Most connections to PostgreSQL (SQLite: readers; it always has one writer).
    pub max_connections: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            acquire_timeout: Duration::from_secs(3),
            busy_timeout: Duration::from_secs(5),
            max_connections: 16,
        }
    }
}

impl Database {
    /// Connects to `sqlite://…` or `postgres://…` (also `postgresql://…`) with the default [`DatabaseConfig`].
    /// Does not migrate.
    pub async fn connect(url: &str) -> Result<Self, StorageError> {
        Self::connect_with(url, DatabaseConfig::default()).await
    }

    /// Connects with `config`. Does not migrate.
    pub async fn connect_with(url: &str, config: DatabaseConfig) -> Result<Self, StorageError> {
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StorageError::UnsupportedUrl {
                scheme: url.split(':').next().unwrap_or_default().to_owned(),
            });
        };
        if backend == Backend::Sqlite {
            // Before the first connection: SQLite installs the functions into every connection opened after this.
            hoc_sqlite_ext::register().map_err(StorageError::SqliteFunctions)?;
        }
        let counts = Arc::new(Counts::default());
        let pool = |max_connections: u32| {
            let mut options = ConnectOptions::new(url.to_owned());
            // No ping before each acquire: it costs a round trip per statement. A connection the server closed
            // fails its statement instead, is discarded, and the spine re-runs the interrupted call.
            options
                .sqlx_logging(false)
                .max_connections(max_connections)
                .acquire_timeout(config.acquire_timeout)
                .connect_timeout(config.acquire_timeout)
                .test_before_acquire(false);
            match backend {
                Backend::Sqlite => {
                    let busy_timeout = config.busy_timeout;
                    options.map_sqlx_sqlite_opts(move |opts: SqliteConnectOptions| {
                        opts.journal_mode(SqliteJournalMode::Wal)
                            .busy_timeout(busy_timeout)
                            .foreign_keys(true)
                    });
                }
                Backend::Postgres => {
                    // JIT off: every query here is short, but a prepared statement's generic plan over a large
                    // table can cost enough to pass `jit_above_cost`, and then each execution compiles code for
                    // tens of milliseconds (measured: a 1.7 ms list page took 340 ms).
                    options.map_sqlx_postgres_opts(|opts: PgConnectOptions| {
                        opts.options([("jit", "off")])
                    });
                }
            }
            options
        };
        let connect = |options: ConnectOptions| {
            let counts = Arc::clone(&counts);
            async move {
                let mut conn = sea_orm::Database::connect(options)
                    .await
                    .map_err(StorageError::from_db)?;
                conn.set_metric_callback(move |info| {
                    counts.statements.fetch_add(1, Ordering::Relaxed);
                    if counts.recording.load(Ordering::Relaxed)
                        && let Ok(mut recorded) = counts.recorded.lock()
                    {
                        recorded.push(info.statement.sql.clone());
                    }
                });
                Ok::<_, StorageError>(conn)
            }
        };
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let (conn, reader) = match backend {
            Backend::Sqlite if !in_memory => {
                // The writer first: it creates the file (`mode=rwc`) and switches it to WAL.
                let conn = connect(pool(1)).await?;
                let reader = connect(pool(config.max_connections.clamp(1, 8))).await?;
                (conn, reader)
            }
            Backend::Sqlite => {
                let conn = connect(pool(1)).await?;
                (conn.clone(), conn)
            }
            Backend::Postgres => {
                let conn = connect(pool(config.max_connections.max(1))).await?;
                (conn.clone(), conn)
            }
        };
        Ok(Self {
            conn,
            reader,
            backend,
            counts,
            replicas: replicas::Replicas::default(),
        })
    }

    /// Connects, applies every pending migration and refreshes the planner's statistics ([`Self::optimize`]).
    pub async fn connect_and_migrate(url: &str) -> Result<Self, StorageError> {
        Self::connect_and_migrate_with(url, DatabaseConfig::default()).await
    }

    /// [`Self::connect_and_migrate`] with `config`.
    pub async fn connect_and_migrate_with(
        url: &str,
        config: DatabaseConfig,
    ) -> Result<Self, StorageError> {
        let db = Self::connect_with(url, config).await?;
        db.migrate().await?;
        db.optimize().await?;
        Ok(db)
    }

    /// Refreshes the planner's statistics where the database does not do it itself: SQLite's `PRAGMA optimize`
    /// (which runs `ANALYZE` on the tables whose statistics are missing or stale; SQLite never does on its own).
    /// PostgreSQL's autovacuum analyzes by itself, so there it does nothing. Hosts run it at start and periodically.
    pub async fn optimize(&self) -> Result<(), StorageError> {
        if self.backend == Backend::Sqlite {
            self.conn
                .execute_unprepared("PRAGMA optimize=0x10002")
                .await
                .map_err(StorageError::from_db)?;
        }
        Ok(())
    }

    /// Applies every pending migration. When none is pending it changes nothing, so a role that may not create
    /// tables (the least-privilege role of `hocd serve`) can open a migrated database.
    pub async fn migrate(&self) -> Result<(), StorageError> {
        if matches!(
            Migrator::get_pending_migrations_read_only(&self.conn).await,
            Ok(pending) if pending.is_empty()
        ) {
            return Ok(());
        }
        Migrator::up(&self.conn, None)
            .await
            .map_err(StorageError::from_db)
    }

    /// PostgreSQL: grants `role` what `hocd serve` needs and no more: it may read and write every table but the
    /// audit ledger, which it may only read and append to (no UPDATE, DELETE or TRUNCATE), and it may not change
    /// the schema or the migration record. Run as the owner after migrating (`hocd migrate --grant-to ROLE`); the
    /// role must exist. SQLite has no roles: does nothing.
    pub async fn grant_serving_role(&self, role: &str) -> Result<(), StorageError> {
        if self.backend != Backend::Postgres {
            return Ok(());
        }
        for sql in serving_role_grants(role) {
            self.conn
                .execute_unprepared(&sql)
                .await
                .map_err(StorageError::from_db)?;
        }
        Ok(())
    }

    /// Rolls back every migration (used to prove migrations go up, down and up again).
    pub async fn migrate_down_all(&self) -> Result<(), StorageError> {
        Migrator::down(&self.conn, None)
            .await
            .map_err(StorageError::from_db)
    }

    /// Rolls back every migration from the newest through the one named `name` (used to prove what a migration
    /// adds, and that its backfill agrees with what its triggers maintain). Named, not counted, so that a later
    /// migration cannot silently change which one a caller rolls back.
    pub async fn migrate_down_through(&self, name: &str) -> Result<(), StorageError> {
        let names: Vec<String> = Migrator::migrations()
            .iter()
            .map(|m| m.name().to_owned())
            .collect();
        let Some(position) = names.iter().position(|n| n == name) else {
            return Err(StorageError::Corrupt {
                table: "seaql_migrations",
                problem: format!("no migration named {name}"),
            });
        };
        let steps = u32::try_from(names.len() - position).unwrap_or(u32::MAX);
        Migrator::down(&self.conn, Some(steps))
            .await
            .map_err(StorageError::from_db)
    }

    /// The backend behind this pool.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Checks that the database answers (on a reader: an external write lock does not make it fail).
    pub async fn ping(&self) -> Result<(), StorageError> {
        self.reader.ping().await.map_err(StorageError::from_db)
    }

    /// For the benchmark's read floors: the pool reads run on (on SQLite, the readers).
    #[doc(hidden)]
    pub fn read_pool(&self) -> &DatabaseConnection {
        &self.reader
    }

    /// Closes the pools.
    pub async fn close(self) -> Result<(), StorageError> {
        self.reader
            .clone()
            .close()
            .await
            .map_err(StorageError::from_db)?;
        self.conn.close().await.map_err(StorageError::from_db)
    }

    pub(crate) fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// From now on, keeps the text of every statement this pool (and its clones) sends, for
    /// [`Self::recorded_statements`]. For the verifier, which checks that each names its tenant.
    pub fn record_statements(&self) {
        self.counts.recording.store(true, Ordering::Relaxed);
    }

    /// The statements kept since [`Self::record_statements`], oldest first (and forgets them).
    pub fn recorded_statements(&self) -> Vec<String> {
        self.counts
            .recorded
            .lock()
            .map(|mut recorded| std::mem::take(&mut *recorded))
            .unwrap_or_default()
    }

    /// What this pool has done since it connected.
    pub fn counters(&self) -> Counters {
        Counters {
            statements: self.counts.statements.load(Ordering::Relaxed),
            transactions: self.counts.transactions.load(Ordering::Relaxed),
        }
    }

    /// For `hoc-ledger`, the only crate that begins transactions: begins one (on SQLite with `BEGIN IMMEDIATE` when
    /// `immediate`, taking the write lock up front).
    #[doc(hidden)]
    pub async fn begin_transaction(&self, immediate: bool) -> Result<Tx, StorageError> {
        let options = TransactionOptions {
            isolation_level: None,
            access_mode: None,
            sqlite_transaction_mode: (immediate && self.backend == Backend::Sqlite)
                .then_some(SqliteTransactionMode::Immediate),
        };
        let inner = self
            .conn
            .begin_with_options(options)
            .await
            .map_err(StorageError::from_db)?;
        self.counts.transactions.fetch_add(1, Ordering::Relaxed);
        Ok(Tx {
            inner: Inner::Transaction(inner),
            kept: std::sync::Mutex::default(),
            after_commit: AfterCommit::default(),
        })
    }

    /// For `hoc-ledger`, which begins transactions: the pool. Using it needs `sea_orm`, which only the drivers,
    /// the ledger and `migration` may name.
    #[doc(hidden)]
    pub fn pool(&self) -> &DatabaseConnection {
        &self.conn
    }
}

/// The statements [`Database::grant_serving_role`] runs (documented in the README), for a PostgreSQL role.
pub fn serving_role_grants(role: &str) -> Vec<String> {
    let role = format!("\"{}\"", role.replace('"', "\"\""));
    vec![
        format!("GRANT USAGE ON SCHEMA public TO {role}"),
        format!("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"),
        format!("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}"),
        format!("REVOKE UPDATE, DELETE, TRUNCATE ON audit_ledger FROM {role}"),
        format!("REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON seaql_migrations FROM {role}"),
    ]
}

/// What the spine reads and writes through: an open transaction, or — for a read — the pool itself.
///
/// A write runs in a transaction the spine owns and ends; dropping it without [`Tx::commit`] rolls everything back.
/// A read needs no transaction: every statement of a read is bounded by the read's instant, and nothing at or
/// before an instant already committed ever changes (see `docs/history.md`), so its statements agree as if they ran
/// in one snapshot, and each one is a single round trip without `BEGIN`/`COMMIT`. Drivers write only through
/// [`Tx::write`], which refuses a reader: a write can never autocommit outside its operation's transaction.
#[derive(Debug)]
pub struct Tx {
    inner: Inner,
    /// State a layer above keeps for the life of this transaction, one value per type (e.g. `hoc-ledger`'s audit
    /// chain head). Drivers never look inside.
    kept: std::sync::Mutex<Vec<Box<dyn std::any::Any + Send>>>,
    /// What runs once the transaction committed (see [`Tx::after_commit`]).
    after_commit: AfterCommit,
}

/// Work to run after a commit, in the order it was added.
#[derive(Default)]
struct AfterCommit(std::sync::Mutex<Vec<Box<dyn FnOnce() + Send>>>);

impl std::fmt::Debug for AfterCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.lock().map_or(0, |w| w.len());
        write!(f, "AfterCommit({n})")
    }
}

#[derive(Debug)]
enum Inner {
    Transaction(DatabaseTransaction),
    Reader(DatabaseConnection),
}

impl Tx {
    /// Commits every write made through this transaction (a reader has nothing to commit).
    pub async fn commit(self) -> Result<(), StorageError> {
        match self.inner {
            Inner::Transaction(tx) => tx.commit().await.map_err(StorageError::from_db)?,
            Inner::Reader(_) => {}
        }
        let work = match self.after_commit.0.into_inner() {
            Ok(work) => work,
            Err(poisoned) => poisoned.into_inner(),
        };
        for run in work {
            run();
        }
        Ok(())
    }

    /// Runs `work` once this transaction has committed, and never if it is rolled back or dropped (e.g. a counter
    /// of what the transaction wrote, which a rolled-back attempt must not count).
    pub fn after_commit(&self, work: impl FnOnce() + Send + 'static) {
        if let Ok(mut queued) = self.after_commit.0.lock() {
            queued.push(Box::new(work));
        }
    }

    /// Rolls back every write made through this transaction (a reader has nothing to roll back).
    pub async fn rollback(self) -> Result<(), StorageError> {
        match self.inner {
            Inner::Transaction(tx) => tx.rollback().await.map_err(StorageError::from_db),
            Inner::Reader(_) => Ok(()),
        }
    }

    /// Whether this is a transaction that may write (not a reader).
    pub fn writes(&self) -> bool {
        matches!(self.inner, Inner::Transaction(_))
    }

    /// Where reads go: the transaction, or the pool.
    pub(crate) fn conn(&self) -> DatabaseExecutor<'_> {
        match &self.inner {
            Inner::Transaction(tx) => DatabaseExecutor::Transaction(tx),
            Inner::Reader(pool) => DatabaseExecutor::Connection(pool),
        }
    }

    /// Whether statements run on the pool (a read: each may take its own connection, so independent statements can
    /// run side by side) rather than in one transaction.
    pub(crate) fn is_reader(&self) -> bool {
        matches!(self.inner, Inner::Reader(_))
    }

    /// Where writes go: the transaction; a reader refuses.
    pub(crate) fn write(&self) -> Result<&DatabaseTransaction, StorageError> {
        match &self.inner {
            Inner::Transaction(tx) => Ok(tx),
            Inner::Reader(_) => Err(StorageError::ReadOnly),
        }
    }

    /// For `hoc-ledger`: a reader on the pool of `db` (no transaction).
    #[doc(hidden)]
    pub fn reader(db: &Database) -> Self {
        Self::on_pool(db.reader.clone())
    }

    /// A reader on `pool` (no transaction).
    pub(crate) fn on_pool(pool: DatabaseConnection) -> Self {
        Self {
            inner: Inner::Reader(pool),
            kept: std::sync::Mutex::default(),
            after_commit: AfterCommit::default(),
        }
    }

    /// The value of type `T` a layer above keeps with this transaction, if any (see [`Tx::keep`]).
    pub fn kept<T: std::any::Any + Send + Clone>(&self) -> Option<T> {
        let kept = self.kept.lock().ok()?;
        kept.iter()
            .find_map(|value| value.downcast_ref::<T>().cloned())
    }

    /// Keeps `value` with this transaction until it ends, replacing the value of the same type kept before.
    pub fn keep<T: std::any::Any + Send>(&self, value: T) {
        if let Ok(mut kept) = self.kept.lock() {
            kept.retain(|old| !old.is::<T>());
            kept.push(Box::new(value));
        }
    }

    /// For `hoc-ledger`, which reads the tenant clock: where reads go. Using it needs `sea_orm`.
    #[doc(hidden)]
    pub fn executor(&self) -> DatabaseExecutor<'_> {
        self.conn()
    }

    /// For `hoc-ledger`, which appends to the ledgers: the transaction (a reader refuses). Using it needs
    /// `sea_orm`.
    #[doc(hidden)]
    pub fn transaction(&self) -> Result<&DatabaseTransaction, StorageError> {
        self.write()
    }
}
