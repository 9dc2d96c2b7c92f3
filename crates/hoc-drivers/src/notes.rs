//! Incident notes: every version of a note is a row that is never updated (creation is version 1, each edit and the
//! deletion one more), so the notes at an instant are each note's highest version written at or before it.

use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, Iterable,
    QueryFilter, QueryOrder,
};

use crate::entity::incident_notes::{Column, Entity};
use crate::{DbTime, NoteRow, StorageError, Tx};

/// Writes a version of a note. The (tenant, note, version) key refuses a second writer of one version.
pub async fn insert(tx: &Tx, row: NoteRow) -> Result<(), StorageError> {
    Entity::insert(row.into_active_model().reset_all())
        .exec_without_returning(tx.write()?)
        .await
        .map_err(StorageError::from_db)?;
    Ok(())
}

/// The current (highest) version of the tenant's note `note_id` on `incident_id`, or `None`.
pub async fn current(
    tx: &Tx,
    tenant_id: &str,
    incident_id: &str,
    note_id: &str,
) -> Result<Option<NoteRow>, StorageError> {
    Entity::find()
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::NoteId.eq(note_id))
        .filter(Column::IncidentId.eq(incident_id))
        .order_by_desc(Column::Version)
        .one(&tx.conn())
        .await
        .map_err(StorageError::from_db)
}

/// The notes of an incident as they were at `as_of` (each in its highest version written at or before it,
/// deleted ones included), oldest first by (created_at, note_id).
pub async fn list(
    tx: &Tx,
    tenant_id: &str,
    incident_id: &str,
    as_of: DbTime,
) -> Result<Vec<NoteRow>, StorageError> {
    let n = |c: Column| Expr::col(("n", c));
    let m = |c: Column| Expr::col(("m", c));
    let latest = Query::select()
        .expr(m(Column::Version).max())
        .from_as(Entity, "m")
        .and_where(m(Column::TenantId).equals(("n", Column::TenantId)))
        .and_where(m(Column::NoteId).equals(("n", Column::NoteId)))
        .and_where(m(Column::UpdatedAt).lte(as_of))
        .take();
    let select = Query::select()
        .columns(Column::iter().map(|c| ("n", c)))
        .from_as(Entity, "n")
        .and_where(n(Column::TenantId).eq(tenant_id))
        .and_where(n(Column::IncidentId).eq(incident_id))
        .and_where(n(Column::CreatedAt).lte(as_of))
        .and_where(n(Column::Version).eq(Expr::from(latest)))
        .order_by(("n", Column::CreatedAt), Order::Asc)
        .order_by(("n", Column::NoteId), Order::Asc)
        .take();
    Entity::find()
        .from_raw_sql(tx.conn().get_database_backend().build(&select))
        .all(&tx.conn())
        .await
        .map_err(StorageError::from_db)
}
