//! The incident as callers see it, and the parsed input of create.

use hoc_contracts::input::FieldReader;
use hoc_contracts::registry::SEVERITIES;
use hoc_contracts::time_format::utc;
use hoc_contracts::{ActorType, FieldError};
use hoc_drivers::{DbTime, IncidentRow, PostmortemRow, StorageError, TimelineRow};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::limits::{SHORT_TEXT_MAX_CHARS, SOURCE_REF_MAX_CHARS, TITLE_MAX_CHARS};
use crate::recurrence::SignatureInputs;
use crate::{IncidentError, IncidentStatus};

/// Who performs an operation (from the authenticated context, never from the payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The envelope vocabulary: user, system, sdk, founder.
    pub actor_type: ActorType,
    /// Their id.
    pub actor_id: String,
}

/// An incident (the HTTP API's incident object).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    pub id: String,
    pub tenant_id: String,
    pub title: String,
    pub severity: String,
    pub category: String,
    pub status: IncidentStatus,
    pub trigger_type: Option<String>,
    pub source_type: Option<String>,
    pub source_ref: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub description: Option<String>,
    pub recurrence_signature: Option<String>,
    pub signature_version: Option<String>,
    pub resolution_type: Option<String>,
    pub resolution_summary: Option<String>,
    pub resolution_method: Option<String>,
    /// The reason given for a manual close.
    pub close_reason: Option<String>,
    pub postmortem_artifact_id: Option<String>,
    #[serde(with = "utc::option")]
    pub acknowledged_at: Option<OffsetDateTime>,
    pub acknowledged_by: Option<String>,
    #[serde(with = "utc::option")]
    pub resolved_at: Option<OffsetDateTime>,
    pub resolved_by: Option<String>,
    #[serde(with = "utc::option")]
    pub closed_at: Option<OffsetDateTime>,
    pub closed_by: Option<String>,
    #[serde(with = "utc")]
    pub created_at: OffsetDateTime,
    #[serde(with = "utc")]
    pub updated_at: OffsetDateTime,
    pub version: i64,
}

/// The stored status of a row; an unknown one is corrupt storage.
pub(crate) fn status_of(row: &IncidentRow) -> Result<IncidentStatus, StorageError> {
    IncidentStatus::parse(&row.status).ok_or_else(|| StorageError::Corrupt {
        table: "incidents",
        problem: format!("incident {} has unknown status `{}`", row.id, row.status),
    })
}

impl TryFrom<IncidentRow> for Incident {
    type Error = StorageError;

    fn try_from(row: IncidentRow) -> Result<Self, StorageError> {
        let status = status_of(&row)?;
        Ok(Self {
            id: row.id,
            tenant_id: row.tenant_id,
            title: row.title,
            severity: row.severity,
            category: row.category,
            status,
            trigger_type: row.trigger_type,
            source_type: row.source_type,
            source_ref: row.source_ref,
            error_code: row.error_code,
            error_message: row.error_message,
            description: row.description,
            recurrence_signature: row.recurrence_signature,
            signature_version: row.signature_version,
            resolution_type: row.resolution_type,
            resolution_summary: row.resolution_summary,
            resolution_method: row.resolution_method,
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
        })
    }
}

/// One timeline entry (the HTTP API's timeline item).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub ordinal: i32,
    pub event_type: String,
    pub from_state: Option<String>,
    pub to_state: String,
    pub actor_type: String,
    pub actor_id: String,
    pub description: String,
    #[serde(with = "utc")]
    pub created_at: OffsetDateTime,
}

impl From<TimelineRow> for TimelineEntry {
    fn from(row: TimelineRow) -> Self {
        Self {
            ordinal: row.ordinal,
            event_type: row.event_type,
            from_state: row.from_state,
            to_state: row.to_state,
            actor_type: row.actor_type,
            actor_id: row.actor_id,
            description: row.description,
            created_at: row.created_at.get(),
        }
    }
}

/// The create request as a caller sends it: untrusted, every field optional until parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateIncident {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trigger_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ref: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A list of strings that replaces the default signature inputs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<Vec<String>>,
}

/// Upper bound for free-text fields (messages, descriptions, reasons).
pub const MAX_TEXT_CHARS: usize = 10_000;

/// A create request that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIncident {
    pub title: String,
    pub severity: &'static str,
    pub category: String,
    pub trigger_type: Option<String>,
    pub source_type: Option<String>,
    pub source_ref: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub description: Option<String>,
    pub fingerprint: Option<Vec<String>>,
}

/// Most items a fingerprint may have.
pub const FINGERPRINT_MAX_ITEMS: usize = 16;
/// Longest fingerprint item.
pub const FINGERPRINT_ITEM_MAX_CHARS: usize = 256;

impl CreateIncident {
    /// Parses a create payload, reporting every bad field at once.
    pub fn parse(payload: &Value) -> Result<NewIncident, IncidentError> {
        let mut r = FieldReader::new(payload);
        let title = r.required_str("title", TITLE_MAX_CHARS);
        let severity = r.required_one_of("severity", SEVERITIES);
        let category = r.required_str("category", SHORT_TEXT_MAX_CHARS);
        let trigger_type = r.optional_str("trigger_type", SHORT_TEXT_MAX_CHARS);
        let source_type = r.optional_str("source_type", SHORT_TEXT_MAX_CHARS);
        let source_ref = r.optional_str("source_ref", SOURCE_REF_MAX_CHARS);
        let error_code = r.optional_str("error_code", SHORT_TEXT_MAX_CHARS);
        let error_message = r.optional_str("error_message", MAX_TEXT_CHARS);
        let description = r.optional_str("description", MAX_TEXT_CHARS);
        let fingerprint = r.optional_str_list(
            "fingerprint",
            FINGERPRINT_MAX_ITEMS,
            FINGERPRINT_ITEM_MAX_CHARS,
        );
        r.finish()
            .map_err(|fields| IncidentError::InvalidInput { fields })?;
        match (title, severity, category) {
            (Some(title), Some(severity), Some(category)) => Ok(NewIncident {
                title,
                severity,
                category,
                trigger_type,
                source_type,
                source_ref,
                error_code,
                error_message,
                description,
                fingerprint,
            }),
            // finish() returned Ok, so every required field was read; keep the compiler honest anyway.
            _ => Err(IncidentError::InvalidInput {
                fields: vec![FieldError::new("$", "required fields are missing")],
            }),
        }
    }
}

/// A postmortem (one per incident).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Postmortem {
    pub id: String,
    pub tenant_id: String,
    pub incident_id: String,
    pub title: String,
    pub status: String,
    pub created_by: String,
    #[serde(with = "utc")]
    pub created_at: OffsetDateTime,
}

impl From<PostmortemRow> for Postmortem {
    fn from(row: PostmortemRow) -> Self {
        Self {
            id: row.id,
            tenant_id: row.tenant_id,
            incident_id: row.incident_id,
            title: row.title,
            status: row.status,
            created_by: row.created_by,
            created_at: row.created_at.get(),
        }
    }
}

/// The answer to "create a postmortem stub": the postmortem, and whether this call created it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostmortemStub {
    pub postmortem: Postmortem,
    pub created: bool,
}

/// A page of a list, newest first (incidents) or oldest first (audit), with the `as_of` it was read at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
    #[serde(with = "utc")]
    pub as_of: OffsetDateTime,
}

/// A recurrence group: summary and one page of members, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecurrenceGroup {
    pub recurrence_signature: String,
    pub signature_version: String,
    pub count: u64,
    /// Members not yet resolved or closed.
    pub open_count: u64,
    #[serde(with = "utc::option")]
    pub first_seen: Option<OffsetDateTime>,
    #[serde(with = "utc::option")]
    pub last_seen: Option<OffsetDateTime>,
    pub items: Vec<Incident>,
    pub next_cursor: Option<String>,
    #[serde(with = "utc")]
    pub as_of: OffsetDateTime,
    /// For `group_for_incident`: the canonical inputs that produced the signature ("why grouped").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_inputs: Option<SignatureInputs>,
}

/// Parses the optional `reason` of a transition.
pub(crate) fn parse_reason(r: &mut FieldReader<'_>) -> Option<String> {
    r.optional_str("reason", MAX_TEXT_CHARS)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn problems(payload: Value) -> Vec<String> {
        match CreateIncident::parse(&payload) {
            Err(IncidentError::InvalidInput { fields }) => {
                fields.iter().map(ToString::to_string).collect()
            }
            other => panic!("expected invalid input, got {other:?}"),
        }
    }

    #[test]
    fn minimal_create_parses() {
        let parsed = CreateIncident::parse(
            &json!({"title": " DB down ", "severity": "high", "category": "db"}),
        )
        .expect("valid");
        assert_eq!(parsed.title, "DB down");
        assert_eq!(parsed.severity, "high");
        assert_eq!(parsed.trigger_type, None);
    }

    #[test]
    fn every_bad_field_is_listed_at_once() {
        assert_eq!(
            problems(json!({
                "title": "x".repeat(256),
                "severity": "urgent",
                "trigger_type": "t".repeat(65),
                "source_ref": 5,
                "tenant_id": "other",
            })),
            [
                "title: must be at most 255 characters (got 256)",
                "severity: `urgent` is not one of critical, high, medium, low, info",
                "category: is required",
                "trigger_type: must be at most 64 characters (got 65)",
                "source_ref: must be a string",
                "tenant_id: unknown field",
            ]
        );
        assert_eq!(
            problems(json!({})),
            [
                "title: is required",
                "severity: is required",
                "category: is required"
            ]
        );
    }

    #[test]
    fn typed_request_serializes_to_what_parse_accepts() {
        let request = CreateIncident {
            title: Some("t".into()),
            severity: Some("low".into()),
            category: Some("c".into()),
            error_code: Some("E1".into()),
            ..CreateIncident::default()
        };
        let parsed = CreateIncident::parse(&serde_json::to_value(&request).expect("serializes"))
            .expect("valid");
        assert_eq!(parsed.error_code.as_deref(), Some("E1"));
    }
}
