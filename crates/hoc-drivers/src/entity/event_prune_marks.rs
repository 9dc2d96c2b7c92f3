//! `event_prune_marks`: per (tenant, project), the sequence number through which published events were pruned,
//! so a read reaching into the pruned range is refused rather than answered short.
use crate::DbTime;
use sea_orm::entity::prelude::*;

/// How far a partition's events were pruned.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "event_prune_marks")]
pub struct Model {
    /// The tenant.
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(64))"
    )]
    pub tenant_id: String,
    /// The project within the tenant.
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(64))"
    )]
    pub project_id: String,
    /// The last pruned sequence number.
    pub pruned_through: i64,
    /// The retention the pruning applied.
    pub retention_seconds: i64,
    /// When it was pruned last.
    pub pruned_at: DbTime,
}

impl ActiveModelBehavior for ActiveModel {}
