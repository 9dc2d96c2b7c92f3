//! `incident_notes`: one row per version of a note — its creation (version 1), each edit, its deletion — never
//! updated, so the note at an instant is its highest version written at or before it.
use crate::DbTime;
use sea_orm::entity::prelude::*;

/// One version of a note.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "incident_notes")]
pub struct Model {
    /// The tenant.
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(64))"
    )]
    pub tenant_id: String,
    /// The note.
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(64))"
    )]
    pub note_id: String,
    /// This version of it, from 1.
    #[sea_orm(primary_key, auto_increment = false)]
    pub version: i64,
    /// The incident it is written on.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub incident_id: String,
    /// Who wrote it (the only actor who may edit or delete it).
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub author: String,
    /// Its text in this version (a deletion keeps the text it deleted).
    #[sea_orm(column_type = "Text")]
    pub body: String,
    /// Whether this version deleted it.
    pub deleted: bool,
    /// When the note was written (the same in every version).
    pub created_at: DbTime,
    /// When this version was written.
    pub updated_at: DbTime,
    /// The request that wrote this version.
    #[sea_orm(column_type = "String(StringLen::N(128))", nullable)]
    pub request_id: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}
