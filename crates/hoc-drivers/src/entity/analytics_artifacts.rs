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
    /// Its id.
    pub id: String,
    /// The tenant it belongs to.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub tenant_id: String,
    /// The dataset.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub dataset_id: String,
    /// Its version.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub dataset_version: String,
    /// SHA-256 of the input window (64 lowercase hex characters).
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub input_window_hash: String,
    /// The point in time the read shows.
    pub as_of: DbTime,
    /// The code version that computed it.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub compute_code_version: String,
    /// Start of the half-open input window.
    pub window_start: Option<DbTime>,
    /// End of the half-open input window.
    pub window_end: Option<DbTime>,
    /// Whether the code had uncommitted changes.
    pub code_dirty: Option<bool>,
    /// When it was created.
    pub created_at: DbTime,
    /// The result it recorded, byte for byte (the incident metrics' JSON); `None` for an artifact saved with a
    /// hash and no result.
    #[sea_orm(column_type = "Text", nullable)]
    pub result: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}
