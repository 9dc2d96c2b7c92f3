//! `api_keys`: keys of the HTTP host; only a SHA-256 of each secret is stored.
use sea_orm::entity::prelude::*;

use crate::DbTime;

/// An API key row.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(64))"
    )]
    pub id: String,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub tenant_id: String,
    #[sea_orm(column_type = "String(StringLen::N(16))")]
    pub actor_type: String,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub actor_id: String,
    #[sea_orm(column_type = "String(StringLen::N(8))")]
    pub scope: String,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub secret_hash: String,
    pub created_at: DbTime,
    pub revoked_at: Option<DbTime>,
}

impl ActiveModelBehavior for ActiveModel {}
