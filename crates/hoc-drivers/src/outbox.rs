//! The event outbox and its gapless per-(tenant, project) sequence counter.

use hoc_contracts::EventEnvelope;
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Statement,
};

use crate::entity::event_outbox::{ActiveModel, Column, Entity};
use crate::{StorageError, Tx};

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
    let placeholders = match tx.backend() {
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
        .conn()
        .query_one_raw(Statement::from_sql_and_values(
            tx.backend(),
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
        .exec_without_returning(tx.conn())
        .await
        .map_err(StorageError::from_db)?;
    Ok(())
}

/// Events of a tenant (optionally one project) with `sequence_no > after`, ascending, at most `limit`.
pub async fn list_after(
    tx: &Tx,
    tenant_id: &str,
    project_id: Option<&str>,
    after: i64,
    limit: u64,
) -> Result<Vec<EventEnvelope>, StorageError> {
    let mut query = Entity::find()
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::SequenceNo.gt(after));
    if let Some(project_id) = project_id {
        query = query.filter(Column::ProjectId.eq(project_id));
    }
    let rows = query
        .order_by_asc(Column::SequenceNo)
        .order_by_asc(Column::ProjectId)
        .limit(limit)
        .all(tx.conn())
        .await
        .map_err(StorageError::from_db)?;
    rows.into_iter()
        .map(|row| {
            serde_json::from_str(&row.payload).map_err(|e| StorageError::Corrupt {
                table: "event_outbox",
                problem: format!("event {}: {e}", row.event_id),
            })
        })
        .collect()
}
