//! The outbox relay's bookkeeping, on the pool: which (tenant, project) partitions have events not yet published,
//! a lease per partition so that one relay instance at a time publishes it, the pending events in order, and
//! marking them published once the broker acknowledged them.
//!
//! Each function is one autocommit statement and none is a domain change (nothing here is audited or announced):
//! the only writes outside an operation's transaction, and why they may be (`docs/ARCHITECTURE.md`, "Relay").

use hoc_contracts::EventEnvelope;
use sea_orm::sea_query::{Condition, Expr, ExprTrait, Func, OnConflict, Order, Query};
use sea_orm::{ConnectionTrait, DbBackend, Statement, StatementBuilder};

use crate::entity::event_outbox::{Column as Outbox, Entity as OutboxTable};
use crate::entity::event_prune_marks::{Column as Mark, Entity as Marks};
use crate::entity::relay_leases::{Column as Lease, Entity as Leases};
use crate::{Database, DbTime, StorageError};

/// The row an upsert proposed (`excluded.column` in `ON CONFLICT … DO UPDATE`).
const EXCLUDED: &str = "excluded";

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

/// `statement` in the database's own SQL dialect.
fn build(db: &Database, statement: &impl StatementBuilder) -> Statement {
    db.conn().get_database_backend().build(statement)
}

/// A statement sea_query refused to build (its columns and values disagree): a bug here, reported, not a panic.
fn unbuildable(table: &'static str) -> impl Fn(sea_orm::sea_query::error::Error) -> StorageError {
    move |e| StorageError::Corrupt {
        table,
        problem: format!("statement not built: {e}"),
    }
}

fn partition_is(partition: &Partition) -> Condition {
    Condition::all()
        .add(Expr::col(Outbox::TenantId).eq(partition.tenant_id.as_str()))
        .add(Expr::col(Outbox::ProjectId).eq(partition.project_id.as_str()))
}

/// Partitions with events not yet published (at most `limit`, in a stable order).
pub async fn pending_partitions(db: &Database, limit: u64) -> Result<Vec<Partition>, StorageError> {
    let rows = db
        .conn()
        .query_all_raw(build(
            db,
            Query::select()
                .distinct()
                .columns([Outbox::TenantId, Outbox::ProjectId])
                .from(OutboxTable)
                .and_where(Expr::col(Outbox::PublishedAt).is_null())
                .order_by(Outbox::TenantId, Order::Asc)
                .order_by(Outbox::ProjectId, Order::Asc)
                .limit(limit),
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
    let mut upsert = Query::insert();
    upsert
        .into_table(Leases)
        .columns([
            Lease::TenantId,
            Lease::ProjectId,
            Lease::Holder,
            Lease::ExpiresMicros,
        ])
        .values([
            partition.tenant_id.as_str().into(),
            partition.project_id.as_str().into(),
            holder.into(),
            now_micros.saturating_add(ttl_micros).into(),
        ])
        .map_err(unbuildable("relay_leases"))?
        .on_conflict(
            OnConflict::columns([Lease::TenantId, Lease::ProjectId])
                .update_columns([Lease::Holder, Lease::ExpiresMicros])
                .action_and_where(
                    Expr::col((Leases, Lease::Holder))
                        .equals((EXCLUDED, Lease::Holder))
                        .or(Expr::col((Leases, Lease::ExpiresMicros)).lt(now_micros)),
                )
                .to_owned(),
        )
        .returning_col(Lease::Holder);
    let row = db
        .conn()
        .query_one_raw(build(db, &upsert))
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
        .execute_raw(build(
            db,
            Query::delete()
                .from_table(Leases)
                .and_where(Expr::col(Lease::TenantId).eq(partition.tenant_id.as_str()))
                .and_where(Expr::col(Lease::ProjectId).eq(partition.project_id.as_str()))
                .and_where(Expr::col(Lease::Holder).eq(holder)),
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
        .query_all_raw(build(
            db,
            Query::select()
                .columns([Outbox::EventId, Outbox::Payload])
                .from(OutboxTable)
                .cond_where(partition_is(partition))
                .and_where(Expr::col(Outbox::PublishedAt).is_null())
                .order_by(Outbox::SequenceNo, Order::Asc)
                .limit(limit),
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
        .execute_raw(build(
            db,
            Query::update()
                .table(OutboxTable)
                .value(Outbox::PublishedAt, at)
                .cond_where(partition_is(partition))
                .and_where(Expr::col(Outbox::SequenceNo).lte(through))
                .and_where(Expr::col(Outbox::PublishedAt).is_null())
                .and_where(Expr::exists(
                    Query::select()
                        .expr(Expr::val(1))
                        .from(Leases)
                        .and_where(Expr::col(Lease::TenantId).eq(partition.tenant_id.as_str()))
                        .and_where(Expr::col(Lease::ProjectId).eq(partition.project_id.as_str()))
                        .and_where(Expr::col(Lease::Holder).eq(holder))
                        .take(),
                )),
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
    // The higher of the kept mark and this pass's: `GREATEST` on PostgreSQL, the two-argument `MAX` on SQLite.
    let highest = match db.conn().get_database_backend() {
        DbBackend::Postgres => "GREATEST",
        _ => "MAX",
    };
    let removed = Query::select()
        .columns([Outbox::TenantId, Outbox::ProjectId])
        .expr(Expr::col(Outbox::SequenceNo).max())
        .expr(Expr::val(retention_seconds))
        .expr(Expr::val(DbTime::new(time::OffsetDateTime::now_utc())))
        .from(OutboxTable)
        .and_where(Expr::col(Outbox::PublishedAt).is_not_null())
        .and_where(Expr::col(Outbox::PublishedAt).lt(before))
        .group_by_columns([Outbox::TenantId, Outbox::ProjectId])
        .take();
    let mut marks = Query::insert();
    marks
        .into_table(Marks)
        .columns([
            Mark::TenantId,
            Mark::ProjectId,
            Mark::PrunedThrough,
            Mark::RetentionSeconds,
            Mark::PrunedAt,
        ])
        .select_from(removed)
        .map_err(unbuildable("event_prune_marks"))?
        .on_conflict(
            OnConflict::columns([Mark::TenantId, Mark::ProjectId])
                .value(
                    Mark::PrunedThrough,
                    Func::cust(highest).args([
                        Expr::col((Marks, Mark::PrunedThrough)),
                        Expr::col((EXCLUDED, Mark::PrunedThrough)),
                    ]),
                )
                .update_columns([Mark::RetentionSeconds, Mark::PrunedAt])
                .to_owned(),
        );
    db.conn()
        .execute_raw(build(db, &marks))
        .await
        .map_err(StorageError::from_db)?;
    let done = db
        .conn()
        .execute_raw(build(
            db,
            Query::delete()
                .from_table(OutboxTable)
                .and_where(Expr::col(Outbox::PublishedAt).is_not_null())
                .and_where(Expr::exists(
                    Query::select()
                        .expr(Expr::val(1))
                        .from(Marks)
                        .and_where(
                            Expr::col((Marks, Mark::TenantId))
                                .equals((OutboxTable, Outbox::TenantId)),
                        )
                        .and_where(
                            Expr::col((Marks, Mark::ProjectId))
                                .equals((OutboxTable, Outbox::ProjectId)),
                        )
                        .and_where(
                            Expr::col((OutboxTable, Outbox::SequenceNo))
                                .lte(Expr::col((Marks, Mark::PrunedThrough))),
                        )
                        .take(),
                )),
        ))
        .await
        .map_err(StorageError::from_db)?;
    Ok(done.rows_affected())
}

/// The last `sequence_no` numbered in each of `partitions` (a partition without events is left out), in one
/// statement over `event_sequences` (its primary key): what the live streams' one watcher per process polls.
pub async fn heads(
    db: &Database,
    partitions: &[Partition],
) -> Result<Vec<(Partition, i64)>, StorageError> {
    use crate::entity::event_sequences::{Column as Seq, Entity as Sequences};
    if partitions.is_empty() {
        return Ok(Vec::new());
    }
    let mut any = Condition::any();
    for p in partitions {
        any = any.add(
            Condition::all()
                .add(Expr::col(Seq::TenantId).eq(p.tenant_id.as_str()))
                .add(Expr::col(Seq::ProjectId).eq(p.project_id.as_str())),
        );
    }
    let rows = db
        .conn()
        .query_all_raw(build(
            db,
            Query::select()
                .columns([Seq::TenantId, Seq::ProjectId, Seq::LastSequenceNo])
                .from(Sequences)
                .cond_where(any),
        ))
        .await
        .map_err(StorageError::from_db)?;
    rows.iter()
        .map(|row| {
            Ok((
                Partition {
                    tenant_id: row
                        .try_get("", "tenant_id")
                        .map_err(StorageError::from_db)?,
                    project_id: row
                        .try_get("", "project_id")
                        .map_err(StorageError::from_db)?,
                },
                row.try_get("", "last_sequence_no")
                    .map_err(StorageError::from_db)?,
            ))
        })
        .collect()
}

/// The events not yet published.
pub async fn backlog(db: &Database) -> Result<Backlog, StorageError> {
    let row = db
        .conn()
        .query_one_raw(build(
            db,
            Query::select()
                .expr_as(Expr::col(Outbox::EventId).count(), "n")
                .expr_as(Expr::col(Outbox::OccurredAt).min(), "oldest")
                .from(OutboxTable)
                .and_where(Expr::col(Outbox::PublishedAt).is_null()),
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
        .query_all_raw(build(
            db,
            Query::select()
                .columns([Outbox::OccurredAt, Outbox::PublishedAt])
                .from(OutboxTable)
                .and_where(Expr::col(Outbox::PublishedAt).is_not_null()),
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
