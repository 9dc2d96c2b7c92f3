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
    /// Its id.
    pub id: String,
    /// The tenant it belongs to.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub tenant_id: String,
    /// The incident.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub incident_id: String,
    /// Its position in the timeline, from 1, without gaps.
    pub ordinal: i32,
    /// What happened (`created`, `acknowledged`, `resolved`, …).
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub event_type: crate::Stored<hoc_contracts::input::TimelineKind>,
    /// The state before (none for the creation).
    #[sea_orm(column_type = "String(StringLen::N(16))", nullable)]
    pub from_state: Option<crate::Stored<hoc_contracts::input::IncidentState>>,
    /// The state after.
    #[sea_orm(column_type = "String(StringLen::N(16))")]
    pub to_state: crate::Stored<hoc_contracts::input::IncidentState>,
    /// The kind of actor who did it.
    #[sea_orm(column_type = "String(StringLen::N(16))")]
    pub actor_type: crate::Stored<hoc_contracts::ActorType>,
    /// Who did it.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub actor_id: String,
    /// Free text.
    #[sea_orm(column_type = "Text")]
    pub description: String,
    /// When it was created.
    pub created_at: DbTime,
    /// The request that wrote it (none for rows written before requests were recorded).
    #[sea_orm(column_type = "String(StringLen::N(128))", nullable)]
    pub request_id: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}
