//! Reading the event outbox (writing it, and numbering events, is `hoc-ledger`'s).

use hoc_contracts::EventEnvelope;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::entity::event_outbox::{Column, Entity};
use crate::{StorageError, Tx};

/// Events of a tenant (optionally one project) with `sequence_no > after` that occurred at or before `until`,
/// ascending, at most `limit`.
pub async fn list_after(
    tx: &Tx,
    tenant_id: &str,
    project_id: Option<&str>,
    after: i64,
    until: crate::DbTime,
    limit: u64,
) -> Result<Vec<EventEnvelope>, StorageError> {
    let rows = list_after_query(tenant_id, project_id, after, until, limit)
        .all(&tx.conn())
        .await
        .map_err(StorageError::from_db)?;
    envelopes(rows)
}

/// The highest `sequence_no` of a tenant's project (0: none yet): where a live follower that wants no history
/// starts. One index seek, newest first.
pub async fn last_sequence_no(
    tx: &Tx,
    tenant_id: &str,
    project_id: &str,
) -> Result<i64, StorageError> {
    let last = Entity::find()
        .select_only()
        .column(Column::SequenceNo)
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::ProjectId.eq(project_id))
        .order_by_desc(Column::SequenceNo)
        .limit(1)
        .into_tuple::<i64>()
        .one(&tx.conn())
        .await
        .map_err(StorageError::from_db)?;
    Ok(last.unwrap_or(0))
}

/// The envelopes stored in outbox rows.
fn envelopes(
    rows: Vec<crate::entity::event_outbox::Model>,
) -> Result<Vec<EventEnvelope>, StorageError> {
    rows.into_iter()
        .map(|row| {
            serde_json::from_str(&row.payload).map_err(|e| StorageError::Corrupt {
                table: "event_outbox",
                problem: format!("event {}: {e}", row.event_id),
            })
        })
        .collect()
}

/// The query of [`list_after`].
pub(crate) fn list_after_query(
    tenant_id: &str,
    project_id: Option<&str>,
    after: i64,
    until: crate::DbTime,
    limit: u64,
) -> sea_orm::Select<Entity> {
    let mut query = Entity::find()
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::SequenceNo.gt(after))
        .filter(Column::OccurredAt.lte(until));
    if let Some(project_id) = project_id {
        query = query.filter(Column::ProjectId.eq(project_id));
    }
    query
        .order_by_asc(Column::SequenceNo)
        .order_by_asc(Column::ProjectId)
        .limit(limit)
}

/// Where retention pruned a partition's events: every event through `pruned_through` is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PruneMark {
    /// The highest `sequence_no` pruned.
    pub pruned_through: i64,
    /// The retention the pruning ran with, in seconds.
    pub retention_seconds: i64,
}

/// The pruning mark of the (tenant, project) partition, if retention ever pruned it.
pub async fn prune_mark(
    tx: &Tx,
    tenant_id: &str,
    project_id: &str,
) -> Result<Option<PruneMark>, StorageError> {
    use crate::entity::event_prune_marks::{Column as MarkColumn, Entity as Marks};
    let mark = Marks::find()
        .filter(MarkColumn::TenantId.eq(tenant_id))
        .filter(MarkColumn::ProjectId.eq(project_id))
        .one(&tx.conn())
        .await
        .map_err(StorageError::from_db)?;
    Ok(mark.map(|mark| PruneMark {
        pruned_through: mark.pruned_through,
        retention_seconds: mark.retention_seconds,
    }))
}

/// The events of one incident (those whose `data.incident_id` names it, notes' included) that occurred at or before
/// `until`, in `sequence_no` order: what the outbox still holds (retention prunes published events).
pub async fn for_incident(
    tx: &Tx,
    tenant_id: &str,
    incident_id: &str,
    until: crate::DbTime,
) -> Result<Vec<EventEnvelope>, StorageError> {
    let backend = sea_orm::ConnectionTrait::get_database_backend(&tx.conn());
    let names = match backend {
        sea_orm::DbBackend::Postgres => sea_orm::sea_query::Expr::cust_with_values(
            "(payload::jsonb -> 'data' ->> 'incident_id') = $1",
            [incident_id],
        ),
        _ => sea_orm::sea_query::Expr::cust_with_values(
            "json_extract(payload, '$.data.incident_id') = ?",
            [incident_id],
        ),
    };
    let rows = Entity::find()
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::OccurredAt.lte(until))
        .filter(names)
        .order_by_asc(Column::SequenceNo)
        .order_by_asc(Column::ProjectId)
        .all(&tx.conn())
        .await
        .map_err(StorageError::from_db)?;
    envelopes(rows)
}
