use sea_orm::{DbErr, RuntimeErr, SqlErr};

/// The error of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A unique or foreign-key constraint refused the write.
    #[error("conflict on {constraint}")]
    Conflict {
        /// What the database said about the constraint.
        constraint: String,
    },
    /// The database could not be reached or did not hand out a connection; safe to retry.
    #[error("storage unavailable")]
    Unavailable(#[source] DbErr),
    /// A stored value could not be read back as the type the code expects.
    #[error("corrupt row in {table}: {problem}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// What was wrong.
        problem: String,
    },
    /// The database URL names a backend this build does not support.
    #[error("unsupported database url scheme `{scheme}`; use sqlite:// or postgres://")]
    UnsupportedUrl {
        /// The scheme that was given.
        scheme: String,
    },
    /// A write was attempted through a reader, which has no transaction to keep it in (a bug in the caller).
    #[error("a write through a read-only handle; writes need a transaction")]
    ReadOnly,
    /// Any other database error.
    #[error("storage error")]
    Backend(#[source] DbErr),
}

impl StorageError {
    /// Translates a sea-orm error at the edge of this crate.
    /// Translates a sea-orm error (for `hoc-ledger`).
    #[doc(hidden)]
    pub fn from_db(err: DbErr) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(constraint))
            | Some(SqlErr::ForeignKeyConstraintViolation(constraint)) => {
                return Self::Conflict { constraint };
            }
            _ => {}
        }
        match &err {
            DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => Self::Unavailable(err),
            DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e))
                if is_transient(e) =>
            {
                Self::Unavailable(err)
            }
            _ => Self::Backend(err),
        }
    }

    /// Whether retrying the whole operation may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

/// Connection loss, a busy SQLite database, or a PostgreSQL serialization failure / deadlock.
fn is_transient(e: &sea_orm::sqlx::Error) -> bool {
    use sea_orm::sqlx::Error;
    match e {
        Error::Io(_) | Error::PoolTimedOut | Error::PoolClosed | Error::WorkerCrashed => true,
        Error::Database(db) => matches!(
            db.code().as_deref(),
            // SQLITE_BUSY, SQLITE_LOCKED; PostgreSQL serialization_failure, deadlock_detected.
            Some("5") | Some("6") | Some("40001") | Some("40P01")
        ),
        _ => false,
    }
}
