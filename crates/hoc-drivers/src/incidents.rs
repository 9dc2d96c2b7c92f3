//! Incident rows: insert, tenant-scoped lookup, and the compare-and-set transition.

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter};

use crate::entity::incidents::{Column, Entity};
use crate::{IncidentRow, StorageError, Tx};

/// Inserts a new incident.
pub async fn insert(tx: &Tx, row: IncidentRow) -> Result<(), StorageError> {
    Entity::insert(row.into_active_model().reset_all())
        .exec_without_returning(tx.conn())
        .await
        .map_err(StorageError::from_db)?;
    Ok(())
}

/// The incident `id` of `tenant_id`, or `None` (another tenant's incident is `None` too).
pub async fn find(tx: &Tx, tenant_id: &str, id: &str) -> Result<Option<IncidentRow>, StorageError> {
    Entity::find()
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::Id.eq(id))
        .one(tx.conn())
        .await
        .map_err(StorageError::from_db)
}

/// Writes `after` over the stored incident only if the stored row still has `expected_version` and one of the
/// `allowed_from` states; returns whether it did. `after.version` must already be the next version. This is
/// the guard that makes N concurrent conflicting transitions apply exactly one.
pub async fn compare_and_set(
    tx: &Tx,
    allowed_from: &[&str],
    expected_version: i64,
    after: &IncidentRow,
) -> Result<bool, StorageError> {
    let result = Entity::update_many()
        .set(after.clone().into_active_model().reset_all())
        .filter(Column::TenantId.eq(after.tenant_id.as_str()))
        .filter(Column::Id.eq(after.id.as_str()))
        .filter(Column::Status.is_in(allowed_from.iter().copied()))
        .filter(Column::Version.eq(expected_version))
        .exec(tx.conn())
        .await
        .map_err(StorageError::from_db)?;
    Ok(result.rows_affected == 1)
}
