//! Idempotency records: claimed at the start of a write, completed with its response before commit.

use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
    TryInsertResult,
};

use crate::entity::idempotency_keys::{ActiveModel, Column, Entity, Model as IdempotencyRow};
use crate::{DbTime, StorageError, Tx};

/// Claims (tenant, key) for a request; returns `None` when claimed, or the existing record. On PostgreSQL a
/// concurrent claimer of the same key waits here until the first transaction ends, then sees its record (or,
/// if it rolled back, claims the key itself).
pub async fn claim(
    tx: &Tx,
    tenant_id: &str,
    key: &str,
    fingerprint: &str,
    now: DbTime,
) -> Result<Option<IdempotencyRow>, StorageError> {
    let row = ActiveModel {
        tenant_id: Set(tenant_id.to_owned()),
        idempotency_key: Set(key.to_owned()),
        request_fingerprint: Set(fingerprint.to_owned()),
        status_code: Set(None),
        response_body: Set(None),
        created_at: Set(now),
    };
    let inserted = Entity::insert(row)
        .on_conflict_do_nothing_on([Column::TenantId, Column::IdempotencyKey])
        .exec_without_returning(tx.write()?)
        .await
        .map_err(StorageError::from_db)?;
    if matches!(inserted, TryInsertResult::Inserted(n) if n > 0) {
        return Ok(None);
    }
    Entity::find()
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::IdempotencyKey.eq(key))
        .one(&tx.conn())
        .await
        .map_err(StorageError::from_db)?
        .map(Some)
        .ok_or(StorageError::Corrupt {
            table: "idempotency_keys",
            problem: format!("key {key} neither claimed nor found"),
        })
}

/// Stores the response of a claimed key.
pub async fn complete(
    tx: &Tx,
    tenant_id: &str,
    key: &str,
    status_code: i32,
    response_body: String,
) -> Result<(), StorageError> {
    let row = Entity::find_by_id((tenant_id.to_owned(), key.to_owned()))
        .one(&tx.conn())
        .await
        .map_err(StorageError::from_db)?
        .ok_or(StorageError::Corrupt {
            table: "idempotency_keys",
            problem: format!("key {key} was not claimed"),
        })?;
    let mut active = row.into_active_model();
    active.status_code = Set(Some(status_code));
    active.response_body = Set(Some(response_body));
    active
        .update(tx.write()?)
        .await
        .map_err(StorageError::from_db)?;
    Ok(())
}
