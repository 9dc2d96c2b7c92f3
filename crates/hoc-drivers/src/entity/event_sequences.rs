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
    /// The tenant it belongs to.
    pub tenant_id: String,
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(64))"
    )]
    /// The project within the tenant.
    pub project_id: String,
    /// The last number handed out.
    pub last_sequence_no: i64,
}

impl ActiveModelBehavior for ActiveModel {}
