//! Postmortem rows: at most one per incident.

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter};

use crate::entity::postmortems::{Column, Entity, Model as PostmortemRow};
use crate::{StorageError, Tx};

/// The postmortem of an incident, if one exists.
pub async fn find_for_incident(
    tx: &Tx,
    tenant_id: &str,
    incident_id: &str,
) -> Result<Option<PostmortemRow>, StorageError> {
    Entity::find()
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::IncidentId.eq(incident_id))
        .one(&tx.conn())
        .await
        .map_err(StorageError::from_db)
}

/// A postmortem of the tenant by id.
pub async fn find(
    tx: &Tx,
    tenant_id: &str,
    id: &str,
) -> Result<Option<PostmortemRow>, StorageError> {
    Entity::find()
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::Id.eq(id))
        .one(&tx.conn())
        .await
        .map_err(StorageError::from_db)
}

/// Inserts a postmortem; a second one for the same incident is a `Conflict`.
pub async fn insert(tx: &Tx, row: PostmortemRow) -> Result<(), StorageError> {
    Entity::insert(row.into_active_model().reset_all())
        .exec_without_returning(tx.write()?)
        .await
        .map_err(StorageError::from_db)?;
    Ok(())
}
