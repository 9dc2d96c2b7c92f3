//! `ingest_policies`: every version of a tenant's ingest policy (the newest applies).
use crate::DbTime;
use sea_orm::entity::prelude::*;

/// One version of a tenant's ingest policy.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ingest_policies")]
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
    /// The policy (its JSON object).
    #[sea_orm(column_type = "Text")]
    pub policy: String,
    /// When this version was written.
    pub created_at: DbTime,
    /// Who wrote it.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub created_by: String,
}

impl ActiveModelBehavior for ActiveModel {}
