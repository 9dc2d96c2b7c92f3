//! `event_outbox`: every domain event, written in the transaction of the change it announces.
use crate::DbTime;
use sea_orm::entity::prelude::*;

/// An outbox row; `payload` is the validated envelope JSON.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "event_outbox")]
pub struct Model {
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(64))"
    )]
    pub event_id: String,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub tenant_id: String,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub project_id: String,
    pub sequence_no: i64,
    #[sea_orm(column_type = "String(StringLen::N(128))")]
    pub event_type: String,
    #[sea_orm(column_type = "String(StringLen::N(16))")]
    pub schema_version: String,
    pub occurred_at: DbTime,
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    pub published_at: Option<DbTime>,
}

impl ActiveModelBehavior for ActiveModel {}
