//! `incident_timeline`: one row per state change of an incident, numbered by `ordinal` from 1.
use crate::DbTime;
use sea_orm::entity::prelude::*;

/// A timeline row.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "incident_timeline")]
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
    pub incident_id: String,
    pub ordinal: i32,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub event_type: String,
    #[sea_orm(column_type = "String(StringLen::N(16))", nullable)]
    pub from_state: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(16))")]
    pub to_state: String,
    #[sea_orm(column_type = "String(StringLen::N(16))")]
    pub actor_type: String,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub actor_id: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub created_at: DbTime,
}

impl ActiveModelBehavior for ActiveModel {}
