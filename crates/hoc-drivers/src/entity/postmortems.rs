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
    /// Its id.
    pub id: String,
    /// The tenant it belongs to.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub tenant_id: String,
    /// The incident.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub incident_id: String,
    /// A one-line summary.
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub title: String,
    /// Its current state.
    #[sea_orm(column_type = "String(StringLen::N(16))")]
    pub status: crate::Stored<hoc_contracts::input::PostmortemStatus>,
    /// Who created it.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub created_by: String,
    /// When it was created.
    pub created_at: DbTime,
}

impl ActiveModelBehavior for ActiveModel {}
