//! `analytics_artifacts`: one reproducibility record per (tenant, dataset, version).
use crate::DbTime;
use sea_orm::entity::prelude::*;

/// An artifact row.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "analytics_artifacts")]
pub struct Model {
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(64))"
    )]
    pub id: String,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub tenant_id: String,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub dataset_id: String,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub dataset_version: String,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub input_window_hash: String,
    pub as_of: DbTime,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub compute_code_version: String,
    pub window_start: Option<DbTime>,
    pub window_end: Option<DbTime>,
    pub code_dirty: Option<bool>,
    pub created_at: DbTime,
}

impl ActiveModelBehavior for ActiveModel {}
