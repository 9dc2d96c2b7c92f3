//! The spine's capabilities, and nobody else's: beginning a transaction, and appending to the two append-only
//! ledgers — the audit ledger and the event outbox with its gapless sequence counter.
//!
//! Engines get a borrowed [`Tx`] to read and write their own tables through `hoc-drivers`; they cannot begin or
//! end a transaction, write an audit row or an event, because this crate is the only place those functions
//! exist and the layering verifier lets no crate but `hoc-spine` (and `xtask`) depend on it.

#![warn(missing_docs)]

use hoc_drivers::{Database, StorageError, Tx};

/// Begins a transaction that will write. On SQLite it takes the write lock up front (BEGIN IMMEDIATE), so
/// concurrent writers queue instead of failing when they upgrade from reading.
pub async fn begin_write(db: &Database) -> Result<Tx, StorageError> {
    db.begin_transaction(true).await
}

/// A reader: no transaction, each statement one round trip on the pool. Every read statement is bounded by the
/// read's instant, and what is committed at or before an instant never changes, so a read of several statements
/// agrees with itself as in one snapshot (see `docs/history.md`). It refuses writes.
pub fn begin_read(db: &Database) -> Tx {
    Tx::reader(db)
}

/// The backend of `tx` and its spelling of the first two statement parameters.
fn placeholders(tx: &Tx) -> (sea_orm::DbBackend, &'static str, &'static str) {
    use sea_orm::ConnectionTrait;
    match tx.executor().get_database_backend() {
        sea_orm::DbBackend::Postgres => (sea_orm::DbBackend::Postgres, "$1", "$2"),
        other => (other, "?", "?"),
    }
}

/// The tenant clock: the instants of a tenant's changes follow its commit order.
///
/// Every write takes its instant with [`clock::tick`] inside its transaction: `max(now, the tenant's last instant +
/// 1 µs)`, stored in the tenant's `tenant_clocks` row, whose lock (a row lock on PostgreSQL, the database write lock
/// on SQLite) the write then holds until it commits. So a tenant's instants strictly increase in commit order, and
/// every write still in flight has an instant after the last committed one. A read without `as_of` reads at
/// [`clock::last`] — the last committed instant its snapshot sees — which no write in flight can precede: the same
/// read at that instant gives the same answer later, whatever commits since.
pub mod clock {
    use hoc_drivers::{StorageError, Tx};
    use sea_orm::{ConnectionTrait, Statement};
    use time::OffsetDateTime;

    use crate::placeholders;

    fn micros(t: OffsetDateTime) -> i64 {
        i64::try_from(t.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
    }

    fn instant(micros: i64) -> Result<OffsetDateTime, StorageError> {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000).map_err(|e| {
            StorageError::Corrupt {
                table: "tenant_clocks",
                problem: e.to_string(),
            }
        })
    }

    /// The instant of a write of `tenant_id` that starts at `now`: after every instant the tenant has used.
    pub async fn tick(
        tx: &Tx,
        tenant_id: &str,
        now: OffsetDateTime,
    ) -> Result<OffsetDateTime, StorageError> {
        let (backend, p1, p2) = placeholders(tx);
        let sql = format!(
            "INSERT INTO tenant_clocks (tenant_id, last_micros) VALUES ({p1}, {p2}) \
             ON CONFLICT (tenant_id) DO UPDATE SET last_micros = \
             CASE WHEN tenant_clocks.last_micros >= excluded.last_micros \
             THEN tenant_clocks.last_micros + 1 ELSE excluded.last_micros END \
             RETURNING last_micros"
        );
        let row = tx
            .transaction()?
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                sql,
                [tenant_id.into(), micros(now).into()],
            ))
            .await
            .map_err(StorageError::from_db)?
            .ok_or(StorageError::Corrupt {
                table: "tenant_clocks",
                problem: "the clock upsert returned no row".to_owned(),
            })?;
        instant(
            row.try_get::<i64>("", "last_micros")
                .map_err(StorageError::from_db)?,
        )
    }

    /// The last instant the tenant committed a change at, as `tx` sees it (`None`: it never changed anything).
    pub async fn last(tx: &Tx, tenant_id: &str) -> Result<Option<OffsetDateTime>, StorageError> {
        let (backend, p1, _) = placeholders(tx);
        let row = tx
            .executor()
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                format!("SELECT last_micros FROM tenant_clocks WHERE tenant_id = {p1}"),
                [tenant_id.into()],
            ))
            .await
            .map_err(StorageError::from_db)?;
        row.map(|row| {
            row.try_get::<i64>("", "last_micros")
                .map_err(StorageError::from_db)
                .and_then(instant)
        })
        .transpose()
    }
}

/// The append-only audit ledger. There is no update or delete here, and the database refuses both.
pub mod audit {
    use hoc_drivers::entity::audit_ledger::Entity;
    use hoc_drivers::{AuditRow, StorageError, Tx};
    use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel};

    /// Appends an audit row.
    pub async fn append(tx: &Tx, row: AuditRow) -> Result<(), StorageError> {
        Entity::insert(row.into_active_model().reset_all())
            .exec_without_returning(tx.transaction()?)
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
    use sea_orm::{ConnectionTrait, EntityTrait, Statement};

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
        let (backend, p1, p2) = crate::placeholders(tx);
        let sql = format!(
            "INSERT INTO event_sequences (tenant_id, project_id, last_sequence_no) VALUES ({p1}, {p2}, 1) \
             ON CONFLICT (tenant_id, project_id) \
             DO UPDATE SET last_sequence_no = event_sequences.last_sequence_no + 1 \
             RETURNING last_sequence_no"
        );
        let row = tx
            .transaction()?
            .query_one_raw(Statement::from_sql_and_values(
                backend,
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
            .exec_without_returning(tx.transaction()?)
            .await
            .map_err(StorageError::from_db)?;
        Ok(())
    }
}
