//! Incident timeline rows, numbered per incident from 1: row n records the change that made the incident's version n.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
};

use crate::entity::incident_timeline::{Column, Entity};
use crate::{DbTime, StorageError, TimelineRow, Tx};

/// Appends a timeline row. The unique (tenant, incident, ordinal) key refuses a second row with one ordinal.
pub async fn insert(tx: &Tx, row: TimelineRow) -> Result<(), StorageError> {
    Entity::insert(row.into_active_model().reset_all())
        .exec_without_returning(tx.write()?)
        .await
        .map_err(StorageError::from_db)?;
    Ok(())
}

/// The incident's timeline in ordinal order; with `as_of`, only rows created at or before it.
pub async fn list(
    tx: &Tx,
    tenant_id: &str,
    incident_id: &str,
    as_of: Option<DbTime>,
) -> Result<Vec<TimelineRow>, StorageError> {
    let mut query = Entity::find()
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::IncidentId.eq(incident_id));
    if let Some(as_of) = as_of {
        query = query.filter(Column::CreatedAt.lte(as_of));
    }
    query
        .order_by_asc(Column::Ordinal)
        .all(&tx.conn())
        .await
        .map_err(StorageError::from_db)
}
