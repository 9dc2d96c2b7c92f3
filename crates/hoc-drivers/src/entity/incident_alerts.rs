//! `incident_alerts`: one row per version of an alert — its first firing (version 1), each firing again, its
//! resolution — never updated, so the alert at an instant is its highest version written at or before it.
use crate::DbTime;
use sea_orm::entity::prelude::*;

/// One version of an alert.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "incident_alerts")]
pub struct Model {
    /// The tenant.
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(64))"
    )]
    pub tenant_id: String,
    /// The alert.
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(64))"
    )]
    pub alert_id: String,
    /// This version of it, from 1.
    #[sea_orm(primary_key, auto_increment = false)]
    pub version: i64,
    /// The incident it feeds.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub incident_id: String,
    /// Who sent it: `alertmanager` or `pagerduty`.
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub source: String,
    /// The sender's key, verbatim (Alertmanager's `fingerprint`, PagerDuty's `dedup_key`).
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub dedup_key: String,
    /// The digest of the key the ingest policy opens incidents by (the group key, or the alert's own key).
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub incident_key: String,
    /// `firing` or `resolved`.
    #[sea_orm(column_type = "String(StringLen::N(16))")]
    pub status: String,
    /// Its labels as sent (a JSON object of strings).
    #[sea_orm(column_type = "Text")]
    pub labels: String,
    /// Its annotations as sent (a JSON object of strings).
    #[sea_orm(column_type = "Text")]
    pub annotations: String,
    /// When it started firing, by the sender.
    pub starts_at: DbTime,
    /// When it ended, by the sender (none while firing).
    pub ends_at: Option<DbTime>,
    /// When a delivery last named it.
    pub last_received_at: DbTime,
    /// How many distinct firings it had, from 1.
    pub occurrences: i64,
    /// When it first arrived (the same in every version).
    pub created_at: DbTime,
    /// When this version was written.
    pub updated_at: DbTime,
    /// The request that wrote this version.
    #[sea_orm(column_type = "String(StringLen::N(128))", nullable)]
    pub request_id: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}
