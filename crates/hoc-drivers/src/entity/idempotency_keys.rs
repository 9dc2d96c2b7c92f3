//! `idempotency_keys`: the first response to each (tenant, Idempotency-Key) write.
use sea_orm::entity::prelude::*;

use crate::DbTime;

/// An idempotency record; status and body are set in the transaction that claimed the key.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(64))"
    )]
    /// The tenant it belongs to.
    pub tenant_id: String,
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(128))"
    )]
    /// The caller's key.
    pub idempotency_key: String,
    /// Digest of the request the key first came with.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub request_fingerprint: String,
    /// The stored response status (none while the first call runs).
    pub status_code: Option<i32>,
    /// The stored response body.
    #[sea_orm(column_type = "Text", nullable)]
    pub response_body: Option<String>,
    /// When it was created.
    pub created_at: DbTime,
}

impl ActiveModelBehavior for ActiveModel {}
