//! Console session rows (migration 19): opened at sign-in, read on every console request, touched as they are
//! used, ended at sign-out, swept once they have expired.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter};

use crate::entity::api_keys::{Entity as Keys, Model as ApiKeyRow};
use crate::entity::console_sessions::{ActiveModel, Column, Entity, Model as SessionRow};
use crate::{DbTime, StorageError, Tx};

/// Inserts a session.
pub async fn open(tx: &Tx, row: SessionRow) -> Result<(), StorageError> {
    Entity::insert(row.into_active_model())
        .exec_without_returning(tx.write()?)
        .await
        .map_err(StorageError::from_db)?;
    Ok(())
}

/// The session whose token hashes to `id_hash`, with the key it was opened with (revoked or not).
pub async fn find(tx: &Tx, id_hash: &str) -> Result<Option<(SessionRow, ApiKeyRow)>, StorageError> {
    let conn = tx.conn();
    let Some(session) = Entity::find_by_id(id_hash.to_owned())
        .one(&conn)
        .await
        .map_err(StorageError::from_db)?
    else {
        return Ok(None);
    };
    let key = Keys::find_by_id(session.key_id.clone())
        .one(&conn)
        .await
        .map_err(StorageError::from_db)?;
    Ok(key.map(|key| (session, key)))
}

/// Marks a session used at `at`.
pub async fn touch(tx: &Tx, id_hash: &str, at: DbTime) -> Result<(), StorageError> {
    let mut active = ActiveModel {
        id_hash: Set(id_hash.to_owned()),
        ..Default::default()
    };
    active.last_used_at = Set(at);
    Entity::update_many()
        .set(active)
        .filter(Column::IdHash.eq(id_hash))
        .exec(tx.write()?)
        .await
        .map_err(StorageError::from_db)?;
    Ok(())
}

/// Ends a session (an unknown one is already ended).
pub async fn end(tx: &Tx, id_hash: &str) -> Result<(), StorageError> {
    Entity::delete_by_id(id_hash.to_owned())
        .exec(tx.write()?)
        .await
        .map_err(StorageError::from_db)?;
    Ok(())
}

/// Removes the sessions unused since `used_before` or opened before `started_before`; how many.
pub async fn sweep(
    tx: &Tx,
    used_before: DbTime,
    started_before: DbTime,
) -> Result<u64, StorageError> {
    Entity::delete_many()
        .filter(
            Expr::col(Column::LastUsedAt)
                .lt(used_before)
                .or(Expr::col(Column::StartedAt).lt(started_before)),
        )
        .exec(tx.write()?)
        .await
        .map(|r| r.rows_affected)
        .map_err(StorageError::from_db)
}
