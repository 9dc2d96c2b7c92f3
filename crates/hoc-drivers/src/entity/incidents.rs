//! `incidents`: one row per incident; `status` is the one canonical state column.
use crate::DbTime;
use sea_orm::entity::prelude::*;

/// An incident row.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "incidents")]
pub struct Model {
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(64))"
    )]
    pub id: String,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub tenant_id: String,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub title: String,
    #[sea_orm(column_type = "String(StringLen::N(16))")]
    pub severity: String,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub category: String,
    #[sea_orm(column_type = "String(StringLen::N(16))")]
    pub status: String,
    #[sea_orm(column_type = "String(StringLen::N(64))", nullable)]
    pub trigger_type: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(64))", nullable)]
    pub source_type: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(255))", nullable)]
    pub source_ref: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(64))", nullable)]
    pub error_code: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub error_message: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(128))", nullable)]
    pub recurrence_signature: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(20))", nullable)]
    pub signature_version: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub signature_inputs: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(50))", nullable)]
    pub resolution_type: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub resolution_summary: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(32))", nullable)]
    pub resolution_method: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub close_reason: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(64))", nullable)]
    pub postmortem_artifact_id: Option<String>,
    pub acknowledged_at: Option<DbTime>,
    #[sea_orm(column_type = "String(StringLen::N(64))", nullable)]
    pub acknowledged_by: Option<String>,
    pub resolved_at: Option<DbTime>,
    #[sea_orm(column_type = "String(StringLen::N(64))", nullable)]
    pub resolved_by: Option<String>,
    pub closed_at: Option<DbTime>,
    #[sea_orm(column_type = "String(StringLen::N(64))", nullable)]
    pub closed_by: Option<String>,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub version: i64,
}

impl ActiveModelBehavior for ActiveModel {}
