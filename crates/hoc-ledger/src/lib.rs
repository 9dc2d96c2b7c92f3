//! The spine's capabilities, and nobody else's: beginning a transaction, and appending to the two append-only
//! ledgers — the audit ledger and the event outbox with its gapless sequence counter.
//!
//! Engines get a borrowed [`Tx`] to read and write their own tables through `hoc-drivers`; they cannot begin or
//! end a transaction, write an audit row or an event, because this crate is the only place those functions
//! exist and the layering verifier lets no crate but `hoc-spine` (and `xtask`) depend on it.

#![warn(missing_docs)]

use hoc_drivers::{Backend, Database, StorageError, Tx};
use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};

/// Begins a transaction that will write. On SQLite it takes the write lock up front (BEGIN IMMEDIATE), so
/// concurrent writers queue instead of failing when they upgrade from reading.
pub async fn begin_write(db: &Database) -> Result<Tx, StorageError> {
    let options = TransactionOptions {
        isolation_level: None,
        access_mode: None,
        sqlite_transaction_mode: (db.backend() == Backend::Sqlite)
            .then_some(SqliteTransactionMode::Immediate),
    };
    let inner = db
        .pool()
        .begin_with_options(options)
        .await
        .map_err(StorageError::from_db)?;
    Ok(Tx::from_transaction(inner))
}

/// Begins a transaction that only reads (one consistent snapshot for multi-query reads).
pub async fn begin_read(db: &Database) -> Result<Tx, StorageError> {
    let inner = db.pool().begin().await.map_err(StorageError::from_db)?;
    Ok(Tx::from_transaction(inner))
}

/// The append-only audit ledger. There is no update or delete here, and the database refuses both.
pub mod audit {
    use hoc_drivers::entity::audit_ledger::Entity;
    use hoc_drivers::{AuditRow, StorageError, Tx};
    use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel};

    /// Appends an audit row.
    pub async fn append(tx: &Tx, row: AuditRow) -> Result<(), StorageError> {
        Entity::insert(row.into_active_model().reset_all())
            .exec_without_returning(tx.transaction())
            .await
            .map_err(StorageError::from_db)?;
        Ok(())
    }
}

/// The event outbox and its gapless per-(tenant, project) sequence counter.
pub mod outbox {
    use hoc_contracts::EventEnvelope;
    use hoc_drivers::entity::event_outbox::{ActiveModel, Entity};
    use hoc_drivers::{StorageError, Tx};
    use sea_orm::ActiveValue::{NotSet, Set};
    use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, Statement};

    /// Hands out the next sequence number of (tenant, project), starting at 1.
    ///
    /// The counter row is upserted inside the caller's transaction: on PostgreSQL the row stays locked until the
    /// transaction ends, so concurrent writers of one (tenant, project) queue; on SQLite the whole database is
    /// locked by the writing transaction. A rolled-back transaction gives its number back, so numbers have no gaps.
    pub async fn next_sequence_no(
        tx: &Tx,
        tenant_id: &str,
        project_id: &str,
    ) -> Result<i64, StorageError> {
        let placeholders = match tx.transaction().get_database_backend() {
            DbBackend::Postgres => ("$1", "$2"),
            _ => ("?", "?"),
        };
        let sql = format!(
            "INSERT INTO event_sequences (tenant_id, project_id, last_sequence_no) VALUES ({}, {}, 1) \
             ON CONFLICT (tenant_id, project_id) \
             DO UPDATE SET last_sequence_no = event_sequences.last_sequence_no + 1 \
             RETURNING last_sequence_no",
            placeholders.0, placeholders.1
        );
        let row = tx
            .transaction()
            .query_one_raw(Statement::from_sql_and_values(
                tx.transaction().get_database_backend(),
                sql,
                [tenant_id.into(), project_id.into()],
            ))
            .await
            .map_err(StorageError::from_db)?
            .ok_or(StorageError::Corrupt {
                table: "event_sequences",
                problem: "the counter upsert returned no row".to_owned(),
            })?;
        row.try_get::<i64>("", "last_sequence_no")
            .map_err(StorageError::from_db)
    }

    /// Writes a validated envelope to the outbox.
    pub async fn insert(tx: &Tx, envelope: &EventEnvelope) -> Result<(), StorageError> {
        let payload =
            serde_json::to_string(&envelope.to_json()).map_err(|e| StorageError::Corrupt {
                table: "event_outbox",
                problem: e.to_string(),
            })?;
        let row = ActiveModel {
            event_id: Set(envelope.event_id.clone()),
            tenant_id: Set(envelope.tenant_id.clone()),
            project_id: Set(envelope.project_id.clone()),
            sequence_no: Set(envelope.sequence_no),
            event_type: Set(envelope.event_type.clone()),
            schema_version: Set(envelope.schema_version.clone()),
            occurred_at: Set(envelope.occurred_at.into()),
            payload: Set(payload),
            published_at: NotSet,
        };
        Entity::insert(row)
            .exec_without_returning(tx.transaction())
            .await
            .map_err(StorageError::from_db)?;
        Ok(())
    }
}
