//! The outbox relay's bookkeeping, on the pool: which (tenant, project) partitions have events not yet published,
//! a lease per partition so that one relay instance at a time publishes it, the pending events in order, and
//! marking them published once the broker acknowledged them.
//!
//! Each function is one autocommit statement and none is a domain change (nothing here is audited or announced):
//! the only writes outside an operation's transaction, and why they may be (`docs/ARCHITECTURE.md`, "Relay").

use hoc_contracts::EventEnvelope;
use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};

use crate::{Database, DbTime, StorageError};

/// One ordered stream of events: a tenant's project.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Partition {
    /// The tenant.
    pub tenant_id: String,
    /// The project.
    pub project_id: String,
}

/// How many events wait to be published, and the oldest one's instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Backlog {
    /// Events not yet published.
    pub events: i64,
    /// When the oldest of them occurred (microseconds since the epoch).
    pub oldest_micros: Option<i64>,
}

fn statement(db: &Database, sql: &str, values: Vec<Value>) -> Statement {
    let backend = db.conn().get_database_backend();
    // Written with `?`; PostgreSQL numbers its placeholders.
    let sql = if backend == DbBackend::Postgres {
        let mut out = String::with_capacity(sql.len() + 8);
        let mut n = 0;
        for c in sql.chars() {
            if c == '?' {
                n += 1;
                out.push_str(&format!("${n}"));
            } else {
                out.push(c);
            }
        }
        out
    } else {
        sql.to_owned()
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// Partitions with events not yet published (at most `limit`, in a stable order).
pub async fn pending_partitions(db: &Database, limit: u64) -> Result<Vec<Partition>, StorageError> {
    let rows = db
        .conn()
        .query_all_raw(statement(
            db,
            "SELECT DISTINCT tenant_id, project_id FROM event_outbox WHERE published_at IS NULL \
             ORDER BY tenant_id, project_id LIMIT ?",
            vec![i64::try_from(limit).unwrap_or(i64::MAX).into()],
        ))
        .await
        .map_err(StorageError::from_db)?;
    rows.iter()
        .map(|row| {
            Ok(Partition {
                tenant_id: row
                    .try_get("", "tenant_id")
                    .map_err(StorageError::from_db)?,
                project_id: row
                    .try_get("", "project_id")
                    .map_err(StorageError::from_db)?,
            })
        })
        .collect()
}

/// Takes or renews the lease of `partition` for `holder` until `now + ttl` (microseconds): granted when nobody
/// holds it, `holder` does, or the holder's lease expired. One statement, so two instances never both get it.
pub async fn claim(
    db: &Database,
    partition: &Partition,
    holder: &str,
    now_micros: i64,
    ttl_micros: i64,
) -> Result<bool, StorageError> {
    let row = db
        .conn()
        .query_one_raw(statement(
            db,
            "INSERT INTO relay_leases (tenant_id, project_id, holder, expires_micros) VALUES (?, ?, ?, ?) \
             ON CONFLICT (tenant_id, project_id) DO UPDATE SET holder = excluded.holder, \
             expires_micros = excluded.expires_micros \
             WHERE relay_leases.holder = excluded.holder OR relay_leases.expires_micros < ? \
             RETURNING holder",
            vec![
                partition.tenant_id.clone().into(),
                partition.project_id.clone().into(),
                holder.into(),
                now_micros.saturating_add(ttl_micros).into(),
                now_micros.into(),
            ],
        ))
        .await
        .map_err(StorageError::from_db)?;
    Ok(row.is_some())
}

/// Gives `partition` up (when `holder` holds it), so another instance can take it at once.
pub async fn release(
    db: &Database,
    partition: &Partition,
    holder: &str,
) -> Result<(), StorageError> {
    db.conn()
        .execute_raw(statement(
            db,
            "DELETE FROM relay_leases WHERE tenant_id = ? AND project_id = ? AND holder = ?",
            vec![
                partition.tenant_id.clone().into(),
                partition.project_id.clone().into(),
                holder.into(),
            ],
        ))
        .await
        .map_err(StorageError::from_db)?;
    Ok(())
}

/// The first `limit` events of `partition` not yet published, in `sequence_no` order.
pub async fn pending(
    db: &Database,
    partition: &Partition,
    limit: u64,
) -> Result<Vec<EventEnvelope>, StorageError> {
    let rows = db
        .conn()
        .query_all_raw(statement(
            db,
            "SELECT event_id, payload FROM event_outbox WHERE tenant_id = ? AND project_id = ? \
             AND published_at IS NULL ORDER BY sequence_no LIMIT ?",
            vec![
                partition.tenant_id.clone().into(),
                partition.project_id.clone().into(),
                i64::try_from(limit).unwrap_or(i64::MAX).into(),
            ],
        ))
        .await
        .map_err(StorageError::from_db)?;
    rows.iter()
        .map(|row| {
            let payload: String = row.try_get("", "payload").map_err(StorageError::from_db)?;
            serde_json::from_str(&payload).map_err(|e| StorageError::Corrupt {
                table: "event_outbox",
                problem: e.to_string(),
            })
        })
        .collect()
}

/// Marks the events of `partition` up to `through` published at `at` — only while `holder` still holds the
/// partition's lease (an instance whose lease was taken over marks nothing). Returns how many it marked.
pub async fn mark_published(
    db: &Database,
    partition: &Partition,
    holder: &str,
    through: i64,
    at: DbTime,
) -> Result<u64, StorageError> {
    let done = db
        .conn()
        .execute_raw(statement(
            db,
            "UPDATE event_outbox SET published_at = ? WHERE tenant_id = ? AND project_id = ? \
             AND sequence_no <= ? AND published_at IS NULL AND EXISTS (SELECT 1 FROM relay_leases l \
             WHERE l.tenant_id = ? AND l.project_id = ? AND l.holder = ?)",
            vec![
                at.into(),
                partition.tenant_id.clone().into(),
                partition.project_id.clone().into(),
                through.into(),
                partition.tenant_id.clone().into(),
                partition.project_id.clone().into(),
                holder.into(),
            ],
        ))
        .await
        .map_err(StorageError::from_db)?;
    Ok(done.rows_affected())
}

/// Deletes the events published before `before` (never one not yet published). First it records, for each
/// partition, the highest `sequence_no` it removes and the retention it ran with (`event_prune_marks`), so that a
/// read of the feed reaching into the removed range is refused by name rather than answered with a shorter list;
/// then it deletes exactly the published events at or below each partition's mark. Were it cut off between the
/// two, the mark would claim events still there: reads are refused early, never answered short, and the next
/// pass deletes them. Returns how many events it deleted.
pub async fn prune(
    db: &Database,
    before: DbTime,
    retention_seconds: i64,
) -> Result<u64, StorageError> {
    let highest = match db.conn().get_database_backend() {
        DbBackend::Postgres => "GREATEST",
        _ => "MAX",
    };
    db.conn()
        .execute_raw(statement(
            db,
            &format!(
                "INSERT INTO event_prune_marks (tenant_id, project_id, pruned_through, retention_seconds, \
                 pruned_at) SELECT tenant_id, project_id, MAX(sequence_no), ?, ? FROM event_outbox \
                 WHERE published_at IS NOT NULL AND published_at < ? GROUP BY tenant_id, project_id \
                 ON CONFLICT (tenant_id, project_id) DO UPDATE SET \
                 pruned_through = {highest}(event_prune_marks.pruned_through, excluded.pruned_through), \
                 retention_seconds = excluded.retention_seconds, pruned_at = excluded.pruned_at"
            ),
            vec![
                retention_seconds.into(),
                DbTime::new(time::OffsetDateTime::now_utc()).into(),
                before.into(),
            ],
        ))
        .await
        .map_err(StorageError::from_db)?;
    let done = db
        .conn()
        .execute_raw(statement(
            db,
            "DELETE FROM event_outbox WHERE published_at IS NOT NULL AND EXISTS (SELECT 1 FROM \
             event_prune_marks m WHERE m.tenant_id = event_outbox.tenant_id \
             AND m.project_id = event_outbox.project_id AND event_outbox.sequence_no <= m.pruned_through)",
            vec![],
        ))
        .await
        .map_err(StorageError::from_db)?;
    Ok(done.rows_affected())
}

/// The events not yet published.
pub async fn backlog(db: &Database) -> Result<Backlog, StorageError> {
    let row = db
        .conn()
        .query_one_raw(statement(
            db,
            "SELECT COUNT(*) AS n, MIN(occurred_at) AS oldest FROM event_outbox WHERE published_at IS NULL",
            vec![],
        ))
        .await
        .map_err(StorageError::from_db)?;
    let Some(row) = row else {
        return Ok(Backlog::default());
    };
    let oldest: Option<DbTime> = row.try_get("", "oldest").map_err(StorageError::from_db)?;
    Ok(Backlog {
        events: row.try_get("", "n").map_err(StorageError::from_db)?,
        oldest_micros: oldest
            .map(|t| i64::try_from(t.get().unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)),
    })
}

/// The commit-to-publication lag of every published event (`published_at` − `occurred_at`), in microseconds: what
/// the benchmark reports.
pub async fn published_lags(db: &Database) -> Result<Vec<i64>, StorageError> {
    let rows = db
        .conn()
        .query_all_raw(statement(
            db,
            "SELECT occurred_at, published_at FROM event_outbox WHERE published_at IS NOT NULL",
            vec![],
        ))
        .await
        .map_err(StorageError::from_db)?;
    rows.iter()
        .map(|row| {
            let occurred: DbTime = row
                .try_get("", "occurred_at")
                .map_err(StorageError::from_db)?;
            let published: DbTime = row
                .try_get("", "published_at")
                .map_err(StorageError::from_db)?;
            let lag = published.get() - occurred.get();
            Ok(i64::try_from(lag.whole_microseconds()).unwrap_or(i64::MAX))
        })
        .collect()
}
