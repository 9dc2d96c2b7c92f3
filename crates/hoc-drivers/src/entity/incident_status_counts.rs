//! `incident_status_counts`: how many incidents a tenant had in each status, from each instant the count changed
//! (kept by triggers on `incidents`; read at an instant by [`crate::incidents::status_counts_at`]).
use crate::DbTime;
use sea_orm::entity::prelude::*;

/// The count of one status of one tenant, from `valid_from` until the next row of the same status.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "incident_status_counts")]
pub struct Model {
    /// The tenant.
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(64))"
    )]
    pub tenant_id: String,
    /// The status.
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(16))"
    )]
    pub status: String,
    /// From when this count holds.
    #[sea_orm(primary_key, auto_increment = false)]
    pub valid_from: DbTime,
    /// How many of the tenant's incidents had the status.
    pub incident_count: i64,
}

impl ActiveModelBehavior for ActiveModel {}
