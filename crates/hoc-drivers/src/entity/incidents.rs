//! `incidents`: one row per incident; `status` is the one canonical state column.
use crate::{DbTime, Stored};
use hoc_contracts::input::{IncidentState, ResolutionMethod, ResolutionType, Severity};
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
    /// Its id.
    pub id: String,
    /// The tenant it belongs to.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub tenant_id: String,
    /// A one-line summary.
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub title: String,
    /// `critical`, `high`, `medium`, `low` or `info`.
    #[sea_orm(column_type = "String(StringLen::N(16))")]
    pub severity: Stored<Severity>,
    /// What kind of failure it is.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub category: String,
    /// Its current state.
    #[sea_orm(column_type = "String(StringLen::N(16))")]
    pub status: Stored<IncidentState>,
    /// What raised it.
    #[sea_orm(column_type = "String(StringLen::N(64))", nullable)]
    pub trigger_type: Option<String>,
    /// What kind of source reported it.
    #[sea_orm(column_type = "String(StringLen::N(64))", nullable)]
    pub source_type: Option<String>,
    /// A reference into the source.
    #[sea_orm(column_type = "String(StringLen::N(255))", nullable)]
    pub source_ref: Option<String>,
    /// A machine error code.
    #[sea_orm(column_type = "String(StringLen::N(64))", nullable)]
    pub error_code: Option<String>,
    /// The error message.
    #[sea_orm(column_type = "Text", nullable)]
    pub error_message: Option<String>,
    /// Free text.
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    /// The recurrence signature that groups it with its recurrences.
    #[sea_orm(column_type = "String(StringLen::N(128))", nullable)]
    pub recurrence_signature: Option<String>,
    /// The algorithm that computed the signature (e.g. `rsig-v1`).
    #[sea_orm(column_type = "String(StringLen::N(20))", nullable)]
    pub signature_version: Option<String>,
    /// The canonical signature inputs as JSON ("why grouped").
    #[sea_orm(column_type = "Text", nullable)]
    pub signature_inputs: Option<String>,
    /// How it was resolved (set by resolve, cleared by reopen).
    #[sea_orm(column_type = "String(StringLen::N(50))", nullable)]
    pub resolution_type: Option<Stored<ResolutionType>>,
    /// What was done to resolve it.
    #[sea_orm(column_type = "Text", nullable)]
    pub resolution_summary: Option<String>,
    /// `manual_closure` when closed by hand.
    #[sea_orm(column_type = "String(StringLen::N(32))", nullable)]
    pub resolution_method: Option<Stored<ResolutionMethod>>,
    /// The reason given for a manual close.
    #[sea_orm(column_type = "Text", nullable)]
    pub close_reason: Option<String>,
    /// Its postmortem, once one was created.
    #[sea_orm(column_type = "String(StringLen::N(64))", nullable)]
    pub postmortem_artifact_id: Option<String>,
    /// When it was acknowledged.
    pub acknowledged_at: Option<DbTime>,
    /// Who acknowledged it.
    #[sea_orm(column_type = "String(StringLen::N(64))", nullable)]
    pub acknowledged_by: Option<String>,
    /// When it was resolved.
    pub resolved_at: Option<DbTime>,
    /// Who resolved it.
    #[sea_orm(column_type = "String(StringLen::N(64))", nullable)]
    pub resolved_by: Option<String>,
    /// When it was closed by hand.
    pub closed_at: Option<DbTime>,
    /// Who closed it.
    #[sea_orm(column_type = "String(StringLen::N(64))", nullable)]
    pub closed_by: Option<String>,
    /// When it was created.
    pub created_at: DbTime,
    /// When it last changed.
    pub updated_at: DbTime,
    /// Bumped by every change (compare-and-set).
    pub version: i64,
    /// The service it affects (`[a-z0-9._-]`, 1–64).
    #[sea_orm(column_type = "String(StringLen::N(64))", nullable)]
    pub service: Option<String>,
    /// Its labels as a JSON object of strings, keys sorted, no whitespace (`None` when it has none): the canonical
    /// form a label filter matches by substring.
    #[sea_orm(column_type = "Text", nullable)]
    pub labels: Option<String>,
    /// The actor who owns it.
    #[sea_orm(column_type = "String(StringLen::N(64))", nullable)]
    pub assignee: Option<String>,
    /// The incident it was closed as a duplicate of.
    #[sea_orm(column_type = "String(StringLen::N(64))", nullable)]
    pub duplicate_of: Option<String>,
    /// The incidents closed as duplicates of it: a JSON array of ids, sorted (`None` when there are none).
    #[sea_orm(column_type = "Text", nullable)]
    pub duplicates: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}
