//! `grouping_configs`: every version of a tenant's grouping configuration (the newest applies).
use crate::DbTime;
use sea_orm::entity::prelude::*;

/// One version of a tenant's grouping configuration.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "grouping_configs")]
pub struct Model {
    /// The tenant.
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(64))"
    )]
    pub tenant_id: String,
    /// Its version (1, 2, …).
    #[sea_orm(primary_key, auto_increment = false)]
    pub version: i64,
    /// The algorithm new incidents are signed with.
    #[sea_orm(column_type = "String(StringLen::N(20))")]
    pub primary_version: String,
    /// The algorithm also computed during a transition.
    #[sea_orm(column_type = "String(StringLen::N(20))", nullable)]
    pub secondary_version: Option<String>,
    /// The fingerprint rules, as JSON.
    #[sea_orm(column_type = "Text")]
    pub rules: String,
    /// When it was written.
    pub created_at: DbTime,
    /// Who wrote it.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub created_by: String,
    /// The configuration version whose learned templates are in force (none: no learned templates).
    #[sea_orm(nullable)]
    pub templates_version: Option<i64>,
    /// How many learned templates are in force.
    pub template_count: i64,
}

impl ActiveModelBehavior for ActiveModel {}
