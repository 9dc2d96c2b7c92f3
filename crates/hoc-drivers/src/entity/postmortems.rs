//! `postmortems`: at most one per incident (unique on tenant + incident).
use crate::DbTime;
use sea_orm::entity::prelude::*;

/// A postmortem row.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "postmortems")]
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
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub title: String,
    #[sea_orm(column_type = "String(StringLen::N(16))")]
    pub status: String,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub created_by: String,
    pub created_at: DbTime,
}

impl ActiveModelBehavior for ActiveModel {}
