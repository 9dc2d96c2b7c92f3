//! Analytics artifact rows: one immutable definition per (tenant, dataset_id, dataset_version).

use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect, TryInsertResult,
};

use crate::entity::analytics_artifacts::{Column, Entity, Model as ArtifactRow};
use crate::paging::{Direction, PageRequest, keyset_condition};
use crate::{DbTime, StorageError, Tx};

/// The artifact with this key, if any.
pub async fn find_by_key(
    tx: &Tx,
    tenant_id: &str,
    dataset_id: &str,
    dataset_version: &str,
) -> Result<Option<ArtifactRow>, StorageError> {
    Entity::find()
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::DatasetId.eq(dataset_id))
        .filter(Column::DatasetVersion.eq(dataset_version))
        .one(&tx.conn())
        .await
        .map_err(StorageError::from_db)
}

/// Inserts the artifact unless its key already exists (`INSERT … ON CONFLICT DO NOTHING`); returns whether it
/// was inserted. A concurrent inserter of the same key waits for the other transaction and then sees its row,
/// so this never fails on a duplicate key and never aborts the caller's PostgreSQL transaction.
pub async fn insert_if_absent(tx: &Tx, row: ArtifactRow) -> Result<bool, StorageError> {
    let result = Entity::insert(row.into_active_model().reset_all())
        .on_conflict_do_nothing_on([Column::TenantId, Column::DatasetId, Column::DatasetVersion])
        .exec_without_returning(tx.write()?)
        .await
        .map_err(StorageError::from_db)?;
    Ok(matches!(result, TryInsertResult::Inserted(n) if n > 0))
}

/// The latest artifact of a dataset by (as_of desc, created_at desc, id desc), among those whose `as_of` is at
/// or before `data_as_of` (when given) and that were created at or before `created_by`.
pub async fn latest(
    tx: &Tx,
    tenant_id: &str,
    dataset_id: &str,
    data_as_of: Option<DbTime>,
    created_by: DbTime,
) -> Result<Option<ArtifactRow>, StorageError> {
    let mut query = Entity::find()
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::DatasetId.eq(dataset_id))
        .filter(Column::CreatedAt.lte(created_by));
    if let Some(as_of) = data_as_of {
        query = query.filter(Column::AsOf.lte(as_of));
    }
    query
        .order_by_desc(Column::AsOf)
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::Id)
        .one(&tx.conn())
        .await
        .map_err(StorageError::from_db)
}

/// One page of the tenant's artifacts (optionally of one dataset), newest first by (created_at desc, id desc).
pub async fn list(
    tx: &Tx,
    tenant_id: &str,
    dataset_id: Option<&str>,
    page: &PageRequest,
) -> Result<Vec<ArtifactRow>, StorageError> {
    list_query(tenant_id, dataset_id, page)
        .all(&tx.conn())
        .await
        .map_err(StorageError::from_db)
}

/// The query of [`list`].
pub(crate) fn list_query(
    tenant_id: &str,
    dataset_id: Option<&str>,
    page: &PageRequest,
) -> sea_orm::Select<Entity> {
    let mut query = Entity::find().filter(Column::TenantId.eq(tenant_id));
    if let Some(dataset_id) = dataset_id {
        query = query.filter(Column::DatasetId.eq(dataset_id));
    }
    query
        .filter(keyset_condition(
            Column::CreatedAt,
            Column::Id,
            page,
            Direction::Descending,
        ))
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::Id)
        .limit(page.limit)
}
