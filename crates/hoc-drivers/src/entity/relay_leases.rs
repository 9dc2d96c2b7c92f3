//! `relay_leases`: which relay instance publishes which (tenant, project) partition, until when.
use sea_orm::entity::prelude::*;

/// A partition's lease.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "relay_leases")]
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
    /// The relay instance holding it.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub holder: String,
    /// When it lapses, microseconds since the epoch.
    pub expires_micros: i64,
}

impl ActiveModelBehavior for ActiveModel {}
