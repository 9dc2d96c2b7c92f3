//! The incident as callers see it, and the parsed input of create.

use hoc_contracts::ActorType;
use std::collections::BTreeMap;

use hoc_contracts::input::{
    FreeText, Labels, PostmortemStatus, ResolutionMethod, ResolutionType, Severity, Slug, Text,
    TextList, labels_from_column,
};
use hoc_contracts::time_format::{UtcTimestamp, utc};
use hoc_drivers::{DbTime, IncidentRow, PostmortemRow, Stored, TimelineRow};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::IncidentState;
use crate::limits::{SHORT_TEXT_MAX_CHARS, SOURCE_REF_MAX_CHARS, TITLE_MAX_CHARS};
use crate::recurrence::SignatureInputs;

/// Who performs an operation (from the authenticated context, never from the payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The envelope vocabulary: user, system, sdk, founder.
    pub actor_type: ActorType,
    /// Their id.
    pub actor_id: String,
}

/// An incident (the HTTP API's incident object).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Incident {
    /// Its id.
    pub id: String,
    /// The tenant it belongs to.
    pub tenant_id: String,
    /// A one-line summary.
    pub title: String,
    /// `critical`, `high`, `medium`, `low` or `info`.
    pub severity: Severity,
    /// What kind of failure it is.
    pub category: String,
    /// Its current state.
    pub status: IncidentState,
    /// What raised it.
    pub trigger_type: Option<String>,
    /// What kind of source reported it.
    pub source_type: Option<String>,
    /// A reference into the source.
    pub source_ref: Option<String>,
    /// A machine error code.
    pub error_code: Option<String>,
    /// The error message.
    pub error_message: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// The recurrence signature that groups it with its recurrences.
    pub recurrence_signature: Option<String>,
    /// The algorithm that computed the signature (e.g. `rsig-v1`).
    pub signature_version: Option<String>,
    /// How it was resolved (set by resolve, cleared by reopen).
    pub resolution_type: Option<ResolutionType>,
    /// What was done to resolve it.
    pub resolution_summary: Option<String>,
    /// `manual_closure` when closed by hand.
    pub resolution_method: Option<ResolutionMethod>,
    /// The reason given for a manual close.
    pub close_reason: Option<String>,
    /// Its postmortem, once one was created.
    pub postmortem_artifact_id: Option<String>,
    /// When it was acknowledged.
    #[serde(with = "utc::option")]
    #[schemars(with = "Option<UtcTimestamp>")]
    pub acknowledged_at: Option<OffsetDateTime>,
    /// Who acknowledged it.
    pub acknowledged_by: Option<String>,
    /// When it was resolved.
    #[serde(with = "utc::option")]
    #[schemars(with = "Option<UtcTimestamp>")]
    pub resolved_at: Option<OffsetDateTime>,
    /// Who resolved it.
    pub resolved_by: Option<String>,
    /// When it was closed by hand.
    #[serde(with = "utc::option")]
    #[schemars(with = "Option<UtcTimestamp>")]
    pub closed_at: Option<OffsetDateTime>,
    /// Who closed it.
    pub closed_by: Option<String>,
    /// When it was created.
    #[serde(with = "utc")]
    #[schemars(with = "UtcTimestamp")]
    pub created_at: OffsetDateTime,
    /// When it last changed.
    #[serde(with = "utc")]
    #[schemars(with = "UtcTimestamp")]
    pub updated_at: OffsetDateTime,
    /// Bumped by every change (compare-and-set).
    pub version: i64,
    /// The service it affects.
    pub service: Option<String>,
    /// Its `key: value` labels (empty when it has none).
    pub labels: BTreeMap<String, String>,
    /// The actor who owns it.
    pub assignee: Option<String>,
    /// The incident it was closed as a duplicate of.
    pub duplicate_of: Option<String>,
    /// The incidents closed as duplicates of it (by id).
    pub duplicates: Vec<String>,
    /// In a text search's hits only: how well it matches (higher is better; comparable within one search).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<i64>,
}

/// An incident as it was at an instant, with that instant: what a single-incident read answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct IncidentAt {
    /// The incident, in its version valid at `as_of`.
    #[serde(flatten)]
    pub incident: Incident,
    /// The instant the read shows (the caller's `as_of`, or the tenant's last committed change).
    #[serde(with = "utc")]
    #[schemars(with = "UtcTimestamp")]
    pub as_of: OffsetDateTime,
}

impl std::ops::Deref for IncidentAt {
    type Target = Incident;

    fn deref(&self) -> &Incident {
        &self.incident
    }
}

impl From<IncidentRow> for Incident {
    fn from(row: IncidentRow) -> Self {
        Self {
            id: row.id,
            tenant_id: row.tenant_id,
            title: row.title,
            severity: row.severity.get(),
            category: row.category,
            status: row.status.get(),
            trigger_type: row.trigger_type,
            source_type: row.source_type,
            source_ref: row.source_ref,
            error_code: row.error_code,
            error_message: row.error_message,
            description: row.description,
            recurrence_signature: row.recurrence_signature,
            signature_version: row.signature_version,
            resolution_type: row.resolution_type.map(Stored::get),
            resolution_summary: row.resolution_summary,
            resolution_method: row.resolution_method.map(Stored::get),
            close_reason: row.close_reason,
            postmortem_artifact_id: row.postmortem_artifact_id,
            acknowledged_at: row.acknowledged_at.map(DbTime::get),
            acknowledged_by: row.acknowledged_by,
            resolved_at: row.resolved_at.map(DbTime::get),
            resolved_by: row.resolved_by,
            closed_at: row.closed_at.map(DbTime::get),
            closed_by: row.closed_by,
            created_at: row.created_at.get(),
            updated_at: row.updated_at.get(),
            version: row.version,
            service: row.service,
            labels: labels_from_column(row.labels.as_deref()),
            assignee: row.assignee,
            duplicate_of: row.duplicate_of,
            duplicates: row
                .duplicates
                .and_then(|d| serde_json::from_str(&d).ok())
                .unwrap_or_default(),
            rank: None,
        }
    }
}

/// One timeline entry (the HTTP API's timeline item).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TimelineEntry {
    /// Its position in the timeline, from 1, without gaps.
    pub ordinal: i32,
    /// What happened (`created`, `acknowledged`, `resolved`, …).
    pub event_type: hoc_contracts::input::TimelineKind,
    /// The state before (none for the creation).
    pub from_state: Option<IncidentState>,
    /// The state after.
    pub to_state: IncidentState,
    /// The kind of actor who did it.
    pub actor_type: ActorType,
    /// Who did it.
    pub actor_id: String,
    /// Free text.
    pub description: String,
    /// When it was created.
    #[serde(with = "utc")]
    #[schemars(with = "UtcTimestamp")]
    pub created_at: OffsetDateTime,
    /// The request that wrote it: the same as its audit entry's and its event's (none for rows written before
    /// requests were recorded).
    pub request_id: Option<String>,
}

impl From<TimelineRow> for TimelineEntry {
    fn from(row: TimelineRow) -> Self {
        Self {
            ordinal: row.ordinal,
            event_type: row.event_type.get(),
            from_state: row.from_state.map(Stored::get),
            to_state: row.to_state.get(),
            actor_type: row.actor_type.get(),
            actor_id: row.actor_id,
            description: row.description,
            created_at: row.created_at.get(),
            request_id: row.request_id,
        }
    }
}

/// A service's name.
pub type Service = Slug<{ crate::limits::SERVICE_MAX_CHARS }>;

/// Upper bound for free-text fields (messages, descriptions, reasons).
pub const MAX_TEXT_CHARS: usize = 10_000;
/// Most items a fingerprint may have.
pub const FINGERPRINT_MAX_ITEMS: usize = 16;
/// Longest fingerprint item.
pub const FINGERPRINT_ITEM_MAX_CHARS: usize = 256;

hoc_contracts::request! {
    /// Open an incident. Tenant and actor come from the caller's context, never from the request.
    pub struct CreateIncident => NewIncident {
        /// A one-line summary.
        title: Option<String> => required Text<{ TITLE_MAX_CHARS }>,
        /// `critical`, `high`, `medium`, `low` or `info`.
        severity: Option<String> => required Severity,
        /// What kind of failure (e.g. `availability`); part of the default recurrence signature.
        category: Option<String> => required Text<{ SHORT_TEXT_MAX_CHARS }>,
        /// What raised it (e.g. `alert`, `manual`).
        trigger_type: Option<String> => optional Text<{ SHORT_TEXT_MAX_CHARS }>,
        /// What kind of source reported it (e.g. `prometheus`).
        source_type: Option<String> => optional Text<{ SHORT_TEXT_MAX_CHARS }>,
        /// A reference into the source (an alert id, a URL).
        source_ref: Option<String> => optional Text<{ SOURCE_REF_MAX_CHARS }>,
        /// A machine error code (e.g. `HTTP-503`); part of the default recurrence signature.
        error_code: Option<String> => optional Text<{ SHORT_TEXT_MAX_CHARS }>,
        /// The error message; normalised into the default recurrence signature.
        error_message: Option<String> => optional FreeText<{ MAX_TEXT_CHARS }>,
        /// Free text.
        description: Option<String> => optional FreeText<{ MAX_TEXT_CHARS }>,
        /// A list of strings that replaces the default signature inputs.
        fingerprint: Option<Vec<String>> => optional TextList<{ FINGERPRINT_MAX_ITEMS }, { FINGERPRINT_ITEM_MAX_CHARS }>,
        /// The service it affects: 1–64 of `[a-z0-9._-]`.
        service: Option<String> => optional Service,
        /// Up to 32 `key: value` labels (keys 1–63 of `[a-z0-9._/-]`, values up to 255 characters).
        labels: Option<BTreeMap<String, String>> => optional Labels,
    }
}

/// A postmortem (one per incident).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Postmortem {
    /// Its id.
    pub id: String,
    /// The tenant it belongs to.
    pub tenant_id: String,
    /// The incident.
    pub incident_id: String,
    /// A one-line summary.
    pub title: String,
    /// Its current state.
    pub status: PostmortemStatus,
    /// Who created it.
    pub created_by: String,
    /// When it was created.
    #[serde(with = "utc")]
    #[schemars(with = "UtcTimestamp")]
    pub created_at: OffsetDateTime,
}

impl From<PostmortemRow> for Postmortem {
    fn from(row: PostmortemRow) -> Self {
        Self {
            id: row.id,
            tenant_id: row.tenant_id,
            incident_id: row.incident_id,
            title: row.title,
            status: row.status.get(),
            created_by: row.created_by,
            created_at: row.created_at.get(),
        }
    }
}

/// The answer to "create a postmortem stub": the postmortem, and whether this call created it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PostmortemStub {
    /// The postmortem.
    pub postmortem: Postmortem,
    /// Whether this call created it (false: it existed already).
    pub created: bool,
}

/// A page of a list, newest first (incidents) or oldest first (audit), with the `as_of` it was read at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Page<T> {
    /// The page, in the list's order.
    pub items: Vec<T>,
    /// Pass back as `cursor` for the next page; none after the last.
    pub next_cursor: Option<String>,
    /// The point in time the read shows.
    #[serde(with = "utc")]
    #[schemars(with = "UtcTimestamp")]
    pub as_of: OffsetDateTime,
}

/// A recurrence group: summary and one page of members, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RecurrenceGroup {
    /// The recurrence signature that groups it with its recurrences.
    pub recurrence_signature: String,
    /// The algorithm that computed the signature (e.g. `rsig-v1`).
    pub signature_version: String,
    /// How many incidents share the signature.
    pub count: u64,
    /// Members not yet resolved or closed.
    pub open_count: u64,
    /// When the first of them was created.
    #[serde(with = "utc::option")]
    #[schemars(with = "Option<UtcTimestamp>")]
    pub first_seen: Option<OffsetDateTime>,
    /// When the latest of them was created.
    #[serde(with = "utc::option")]
    #[schemars(with = "Option<UtcTimestamp>")]
    pub last_seen: Option<OffsetDateTime>,
    /// The page, in the list's order.
    pub items: Vec<Incident>,
    /// Pass back as `cursor` for the next page; none after the last.
    pub next_cursor: Option<String>,
    /// The point in time the read shows.
    #[serde(with = "utc")]
    #[schemars(with = "UtcTimestamp")]
    pub as_of: OffsetDateTime,
    /// For `group_for_incident`: the canonical inputs that produced the signature ("why grouped").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_inputs: Option<SignatureInputs>,
}
