//! `event_outbox`: every domain event, written in the transaction of the change it announces.
use crate::DbTime;
use sea_orm::entity::prelude::*;

/// An outbox row; `payload` is the validated envelope JSON.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "event_outbox")]
pub struct Model {
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(64))"
    )]
    /// The event's id (unique).
    pub event_id: String,
    /// The tenant it belongs to.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub tenant_id: String,
    /// The project within the tenant.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub project_id: String,
    /// Gapless and increasing per (tenant, project).
    pub sequence_no: i64,
    /// What happened (`created`, `acknowledged`, `resolved`, …).
    #[sea_orm(column_type = "String(StringLen::N(128))")]
    pub event_type: String,
    /// The envelope schema version.
    #[sea_orm(column_type = "String(StringLen::N(16))")]
    pub schema_version: String,
    /// When it happened.
    pub occurred_at: DbTime,
    /// The whole envelope as JSON.
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    /// When the relay published it (none yet).
    pub published_at: Option<DbTime>,
}

impl ActiveModelBehavior for ActiveModel {}
