//! `incident_search`: one row per version of an incident's searchable text (title, description, error message,
//! the bodies of its notes), valid from the change that made it until the next; written by the database's
//! triggers only (migration 11), read by the text search.
use crate::DbTime;
use sea_orm::entity::prelude::*;

/// One version of an incident's searchable text.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "incident_search")]
pub struct Model {
    /// The tenant.
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(64))"
    )]
    pub tenant_id: String,
    /// The incident.
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(64))"
    )]
    pub incident_id: String,
    /// This version of the text, from 1.
    #[sea_orm(primary_key, auto_increment = false)]
    pub version: i64,
    /// When the incident was created.
    pub created_at: DbTime,
    /// When this text became the incident's.
    pub valid_from: DbTime,
    /// When the next one replaced it (none: current).
    pub valid_to: Option<DbTime>,
    /// The text: title, description, error message and note bodies, one per line.
    #[sea_orm(column_type = "Text")]
    pub document: String,
}

impl ActiveModelBehavior for ActiveModel {}
