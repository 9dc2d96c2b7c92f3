//! API key rows.

use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, IntoActiveModel};

use crate::entity::api_keys::{ActiveModel, Entity, Model as ApiKeyRow};
use crate::{DbTime, StorageError, Tx};

/// Inserts a key.
pub async fn insert(tx: &Tx, row: ApiKeyRow) -> Result<(), StorageError> {
    Entity::insert(row.into_active_model().reset_all())
        .exec_without_returning(tx.write()?)
        .await
        .map_err(StorageError::from_db)?;
    Ok(())
}

/// A key by id (revoked or not).
pub async fn find(tx: &Tx, id: &str) -> Result<Option<ApiKeyRow>, StorageError> {
    Entity::find_by_id(id.to_owned())
        .one(&tx.conn())
        .await
        .map_err(StorageError::from_db)
}

/// Marks a key revoked at `at` (keeps an earlier revocation time).
pub async fn revoke(tx: &Tx, row: ApiKeyRow, at: DbTime) -> Result<ApiKeyRow, StorageError> {
    if row.revoked_at.is_some() {
        return Ok(row);
    }
    let mut active: ActiveModel = row.into_active_model();
    active.revoked_at = Set(Some(at));
    active
        .update(tx.write()?)
        .await
        .map_err(StorageError::from_db)
}
