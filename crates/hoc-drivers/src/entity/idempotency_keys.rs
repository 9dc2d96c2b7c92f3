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
    pub tenant_id: String,
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(128))"
    )]
    pub idempotency_key: String,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub request_fingerprint: String,
    pub status_code: Option<i32>,
    #[sea_orm(column_type = "Text", nullable)]
    pub response_body: Option<String>,
    pub created_at: DbTime,
}

impl ActiveModelBehavior for ActiveModel {}
