//! `audit_ledger`: append-only (database triggers refuse UPDATE and DELETE).
use crate::DbTime;
use sea_orm::entity::prelude::*;

/// An audit row. `before_state` / `after_state` hold JSON text.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_ledger")]
pub struct Model {
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(64))"
    )]
    pub id: String,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub tenant_id: String,
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub entity_type: String,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub entity_id: String,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub action: String,
    #[sea_orm(column_type = "String(StringLen::N(16))")]
    pub actor_type: String,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub actor_id: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub reason: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub before_state: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub after_state: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(128))")]
    pub request_id: String,
    pub created_at: DbTime,
}

impl ActiveModelBehavior for ActiveModel {}
