//! `event_sequences`: the last sequence number handed out per (tenant, project).
use sea_orm::entity::prelude::*;

/// A counter row.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "event_sequences")]
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
        column_type = "String(StringLen::N(64))"
    )]
    pub project_id: String,
    pub last_sequence_no: i64,
}

impl ActiveModelBehavior for ActiveModel {}
