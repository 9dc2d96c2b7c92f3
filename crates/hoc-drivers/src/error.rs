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
    /// The database could not be reached, did not hand out a connection in time, or is locked by another writer
    /// (SQLite busy); safe to retry later. The caller already waited, so retrying at once is pointless.
    #[error("storage unavailable")]
    Unavailable(#[source] DbErr),
    /// The statement was cut off before its transaction could commit: the connection was lost or closed by the
    /// server (PostgreSQL admin shutdown, 08xxx), or PostgreSQL aborted it as a serialization failure or deadlock.
    /// Nothing of the transaction was kept; re-running the whole operation at once is safe and likely to succeed.
    #[error("storage interrupted")]
    Interrupted(#[source] DbErr),
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
    /// Read replicas were given for a database that cannot have them (streaming replicas are PostgreSQL's), or a
    /// replica URL that is not PostgreSQL.
    #[error("read replicas need a PostgreSQL primary and postgres:// replica urls; {problem}")]
    ReplicasUnsupported {
        /// What was given.
        problem: String,
    },
    /// The SQL functions of our own could not be installed into SQLite (`hoc_sqlite_ext`).
    #[error("could not install the sqlite functions")]
    SqliteFunctions(#[source] hoc_sqlite_ext::SqliteExtError),
    /// A write was attempted through a reader, which has no transaction to keep it in (a bug in the caller).
    #[error("a write through a read-only handle; writes need a transaction")]
    ReadOnly,
    /// Any other database error.
    #[error("storage error")]
    Backend(#[source] DbErr),
}

impl StorageError {
    /// An interruption the code itself detects (what it read before it waited changed meanwhile): nothing of the
    /// transaction is kept, and running the whole operation again is safe.
    pub fn interrupted(message: impl Into<String>) -> Self {
        Self::Interrupted(DbErr::Custom(message.into()))
    }

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
            DbErr::ConnectionAcquire(_) => Self::Unavailable(err),
            DbErr::Conn(RuntimeErr::SqlxError(e))
            | DbErr::Exec(RuntimeErr::SqlxError(e))
            | DbErr::Query(RuntimeErr::SqlxError(e)) => match transience(e) {
                Some(Transience::Interrupted) => Self::Interrupted(err),
                Some(Transience::Unavailable) => Self::Unavailable(err),
                None if matches!(err, DbErr::Conn(_)) => Self::Unavailable(err),
                None => Self::Backend(err),
            },
            DbErr::Conn(_) => Self::Unavailable(err),
            _ => Self::Backend(err),
        }
    }

    /// Whether retrying the whole operation may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::Interrupted(_))
    }

    /// Whether the operation was cut off before it could commit, so that re-running it at once is safe and likely
    /// to succeed (see [`StorageError::Interrupted`]).
    pub fn is_interrupted(&self) -> bool {
        matches!(self, Self::Interrupted(_))
    }
}

enum Transience {
    Interrupted,
    Unavailable,
}

/// How a sqlx error is transient, if it is: connection loss, a server shutting the session down, a PostgreSQL
/// serialization failure or deadlock (interrupted: retry at once); a busy SQLite database, a pool that timed out or
/// closed, a server that refuses connections (unavailable: retry later).
fn transience(e: &sea_orm::sqlx::Error) -> Option<Transience> {
    use sea_orm::sqlx::Error;
    match e {
        Error::Io(_) | Error::Protocol(_) | Error::WorkerCrashed => Some(Transience::Interrupted),
        Error::PoolTimedOut | Error::PoolClosed => Some(Transience::Unavailable),
        Error::Database(db) => {
            let code = db.code()?;
            match code.as_ref() {
                // PostgreSQL: serialization_failure, deadlock_detected; admin_shutdown, crash_shutdown,
                // cannot_connect_now; the connection exception class.
                "40001" | "40P01" | "57P01" | "57P02" | "57P03" => Some(Transience::Interrupted),
                c if c.starts_with("08") => Some(Transience::Interrupted),
                // PostgreSQL too_many_connections; SQLite SQLITE_BUSY, SQLITE_LOCKED (and their extended codes).
                "53300" => Some(Transience::Unavailable),
                c if is_sqlite_busy(c) => Some(Transience::Unavailable),
                _ => None,
            }
        }
        _ => None,
    }
}

/// SQLITE_BUSY (5) and SQLITE_LOCKED (6), with their extended codes (the low byte is the primary code). SQLite's
/// codes are at most four digits; PostgreSQL's SQLSTATEs are always five characters.
fn is_sqlite_busy(code: &str) -> bool {
    code.len() < 5 && code.parse::<u32>().is_ok_and(|n| matches!(n & 0xff, 5 | 6))
}

#[cfg(test)]
mod tests {
    use super::is_sqlite_busy;

    #[test]
    fn sqlite_busy_codes_are_told_from_postgres_sqlstates() {
        for busy in ["5", "6", "261", "517", "773", "262"] {
            assert!(is_sqlite_busy(busy), "{busy}");
        }
        // 22021 % 256 == 5, but it is PostgreSQL's character_not_in_repertoire.
        for other in ["19", "2067", "22021", "23505", "40001"] {
            assert!(!is_sqlite_busy(other), "{other}");
        }
    }
}
