//! Every event type, declared once.
//!
//! Each event type is one [`domain_events!`] entry: its wire name, its typed payload (one field per extension
//! field, a closed vocabulary as its enum) and one example. From that entry come the payload struct, the
//! [`DomainEvent`] variant, its `data` rendering, the registry entry in [`EVENT_TYPES`] (each field's rule from the
//! field's type, see [`EventField`]), the catalog and the examples the fixtures and verifiers use. Adding an event
//! type is one entry here (at the end: the snapshots number each example by its place), the code that emits it,
//! and its blessed fixture.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::input::{IncidentState, ResolutionMethod, ResolutionType, Severity, Vocabulary};

/// The value rule of one extension field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FieldType {
    /// A string with at least one non-blank character (ids, versions).
    NonEmptyString,
    /// One of a closed vocabulary.
    OneOf {
        /// The allowed values.
        values: &'static [&'static str],
    },
    /// An RFC 3339 timestamp in UTC (`Z` or `+00:00`).
    UtcTimestamp,
    /// Exactly 64 lowercase hexadecimal characters (a SHA-256 digest).
    Sha256Hex,
    /// A JSON integer ≥ 0.
    Count,
}

/// One registered event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct EventTypeSpec {
    /// `<domain>.<PascalCaseName>`.
    pub name: &'static str,
    /// Required extension fields (carried in `data`), in documentation order.
    pub fields: &'static [(&'static str, FieldType)],
}

/// The rule a payload field's type implies for the validator of stored and incoming envelopes.
pub trait EventField {
    /// The rule.
    const RULE: FieldType;
}

impl EventField for String {
    const RULE: FieldType = FieldType::NonEmptyString;
}

impl EventField for i64 {
    const RULE: FieldType = FieldType::Count;
}

impl EventField for OffsetDateTime {
    const RULE: FieldType = FieldType::UtcTimestamp;
}

impl<V: Vocabulary> EventField for V {
    const RULE: FieldType = FieldType::OneOf { values: V::WIRE };
}

/// A field rule that is not implied by the Rust type (e.g. a digest carried as a `String`).
macro_rules! field_rule {
    ($ty:ty) => {
        <$ty as EventField>::RULE
    };
    ($ty:ty, $rule:expr) => {
        $rule
    };
}

/// Declares every event type: per entry, a payload struct named like the event, its variant of [`DomainEvent`],
/// its registry entry and its example.
macro_rules! domain_events {
    ($(
        $(#[$doc:meta])*
        $event:ident = $name:literal {
            $( $(#[$fattr:meta])* $field:ident : $ty:ty $(=> $rule:expr)? ),* $(,)?
        }
        example $example:expr;
    )*) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
            pub struct $event {
                $( $(#[$fattr])* pub $field: $ty, )*
            }

            impl $event {
                /// The registered event type name.
                pub const NAME: &'static str = $name;
                /// The registry entry: each extension field with its rule, in declaration order.
                pub const SPEC: EventTypeSpec = EventTypeSpec {
                    name: $name,
                    fields: &[$( (stringify!($field), field_rule!($ty $(, $rule)?)), )*],
                };
            }

            impl From<$event> for DomainEvent {
                fn from(payload: $event) -> Self {
                    Self::$event(payload)
                }
            }
        )*

        /// A domain event before it is put in an envelope: one variant per registered event type, each with its
        /// typed payload. This is the only way the code emits events.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum DomainEvent {
            $( $(#[$doc])* $event($event), )*
        }

        impl DomainEvent {
            /// The registered event type name.
            pub fn event_type(&self) -> &'static str {
                match self {
                    $( Self::$event(_) => $name, )*
                }
            }

            /// The extension fields, as they travel in `data`.
            pub fn data(&self) -> Map<String, Value> {
                match self {
                    $( Self::$event(payload) => to_data(payload), )*
                }
            }

            /// One fixed example of every event type, in registry order (fixtures, snapshots, verifiers).
            pub fn examples() -> Vec<DomainEvent> {
                vec![$( DomainEvent::$event($example), )*]
            }
        }

        /// Every registered event type, in declaration order.
        pub static EVENT_TYPES: &[EventTypeSpec] = &[$( $event::SPEC, )*];
    };
}

/// A payload as its `data` object. Invariant: every payload is a struct of strings, integers, vocabulary values
/// and timestamps, whose JSON rendering cannot fail and is an object (a test renders every example).
fn to_data(payload: &impl Serialize) -> Map<String, Value> {
    match serde_json::to_value(payload) {
        Ok(Value::Object(data)) => data,
        _ => Map::new(),
    }
}

const INCIDENT_ID: &str = "inc_0190a3c2-0000-7000-8000-000000000001";
const SIGNATURE_V1: &str = "14d93a150ec2d1aaca7a3771edf636d47e7a3993ee8a78e92185e0687156db58";

domain_events! {
    /// `incidents.IncidentCreated`
    IncidentCreated = "incidents.IncidentCreated" {
        /// The new incident.
        incident_id: String,
        /// Always `open` at creation.
        incident_state: IncidentState,
        /// The incident's severity.
        severity: Severity,
        /// The recurrence signature it was grouped under (since 1.2.0).
        recurrence_signature: String,
        /// The algorithm of that signature (since 1.2.0); an open set (`rsig-v1`, `rsig-v2`, …) a consumer must
        /// accept new members of.
        signature_version: String,
    }
    example IncidentCreated {
        incident_id: INCIDENT_ID.into(),
        incident_state: IncidentState::Open,
        severity: Severity::High,
        recurrence_signature: SIGNATURE_V1.into(),
        signature_version: "rsig-v1".into(),
    };

    /// `incidents.IncidentAcknowledged`
    IncidentAcknowledged = "incidents.IncidentAcknowledged" {
        /// The incident.
        incident_id: String,
        /// The state after the transition.
        incident_state: IncidentState,
    }
    example IncidentAcknowledged {
        incident_id: INCIDENT_ID.into(),
        incident_state: IncidentState::Acknowledged,
    };

    /// `incidents.IncidentResolved`
    IncidentResolved = "incidents.IncidentResolved" {
        /// The incident.
        incident_id: String,
        /// The state after the transition.
        incident_state: IncidentState,
        /// The resolution classification.
        resolution_type: ResolutionType,
    }
    example IncidentResolved {
        incident_id: INCIDENT_ID.into(),
        incident_state: IncidentState::Resolved,
        resolution_type: ResolutionType::Rollback,
    };

    /// `incidents.IncidentManuallyClosed`
    IncidentManuallyClosed = "incidents.IncidentManuallyClosed" {
        /// The incident.
        incident_id: String,
        /// The state after the transition.
        incident_state: IncidentState,
        /// Always `manual_closure`.
        resolution_method: ResolutionMethod,
    }
    example IncidentManuallyClosed {
        incident_id: INCIDENT_ID.into(),
        incident_state: IncidentState::Closed,
        resolution_method: ResolutionMethod::ManualClosure,
    };

    /// `incidents.IncidentReopened`
    IncidentReopened = "incidents.IncidentReopened" {
        /// The incident.
        incident_id: String,
        /// The state after the transition (`open`).
        incident_state: IncidentState,
        /// The state it was reopened from.
        previous_state: IncidentState,
    }
    example IncidentReopened {
        incident_id: INCIDENT_ID.into(),
        incident_state: IncidentState::Open,
        previous_state: IncidentState::Resolved,
    };

    /// `incidents.PostmortemCreated`
    PostmortemCreated = "incidents.PostmortemCreated" {
        /// The incident.
        incident_id: String,
        /// The new postmortem's id.
        postmortem_artifact_id: String,
    }
    example PostmortemCreated {
        incident_id: INCIDENT_ID.into(),
        postmortem_artifact_id: "pm_0190a3c2-0000-7000-8000-000000000002".into(),
    };

    /// `analytics.ArtifactRecorded`
    ArtifactRecorded = "analytics.ArtifactRecorded" {
        /// The dataset.
        dataset_id: String,
        /// Its version.
        dataset_version: String,
        /// SHA-256 of the input window, lowercase hex.
        input_window_hash: String => FieldType::Sha256Hex,
        /// The point in time the result describes.
        #[serde(with = "crate::time_format::utc")]
        as_of: OffsetDateTime,
        /// The code version that computed it.
        compute_code_version: String,
    }
    example ArtifactRecorded {
        dataset_id: "daily_revenue".into(),
        dataset_version: "2026-11-25".into(),
        input_window_hash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
        as_of: time::macros::datetime!(2026-11-25 00:00:00 UTC),
        compute_code_version: "git:4f2a9c1".into(),
    };

    /// `incidents.IncidentRegrouped`: a regroup moved the incident to another recurrence group.
    IncidentRegrouped = "incidents.IncidentRegrouped" {
        /// The incident.
        incident_id: String,
        /// The signature it had.
        previous_signature: String,
        /// The algorithm of the signature it had.
        previous_signature_version: String,
        /// The signature it has now.
        recurrence_signature: String,
        /// The algorithm of the signature it has now.
        signature_version: String,
    }
    example IncidentRegrouped {
        incident_id: INCIDENT_ID.into(),
        previous_signature: SIGNATURE_V1.into(),
        previous_signature_version: "rsig-v1".into(),
        recurrence_signature: "30023349c883f53729a227a95453a22f8f80532e180dbfe7121dd206d0882a90".into(),
        signature_version: "rsig-v2".into(),
    };

    /// `incidents.GroupingConfigChanged`: the tenant's grouping configuration has a new version.
    GroupingConfigChanged = "incidents.GroupingConfigChanged" {
        /// The new configuration's version (1, 2, …).
        config_version: i64,
        /// The algorithm new incidents are signed with.
        primary_version: String,
        /// The algorithm also computed during a transition, or `none`.
        secondary_version: String,
        /// How many fingerprint rules it has.
        rule_count: i64,
    }
    example GroupingConfigChanged {
        config_version: 2,
        primary_version: "rsig-v2".into(),
        secondary_version: "rsig-v1".into(),
        rule_count: 1,
    };

    /// `incidents.IncidentSeverityChanged`: the severity was raised or lowered (the state is unchanged).
    IncidentSeverityChanged = "incidents.IncidentSeverityChanged" {
        /// The incident.
        incident_id: String,
        /// Its state (unchanged by the change).
        incident_state: IncidentState,
        /// The severity it had.
        previous_severity: Severity,
        /// The severity it has now.
        severity: Severity,
    }
    example IncidentSeverityChanged {
        incident_id: INCIDENT_ID.into(),
        incident_state: IncidentState::Acknowledged,
        previous_severity: Severity::High,
        severity: Severity::Critical,
    };

    /// `incidents.IncidentEdited`: its title or description was edited (state and signature unchanged).
    IncidentEdited = "incidents.IncidentEdited" {
        /// The incident.
        incident_id: String,
        /// Its state (unchanged by the edit).
        incident_state: IncidentState,
        /// Its version after the edit.
        version: i64,
        /// What was edited: `title`, `description` or `title,description`.
        edited_fields: String,
    }
    example IncidentEdited {
        incident_id: INCIDENT_ID.into(),
        incident_state: IncidentState::Open,
        version: 2,
        edited_fields: "title".into(),
    };

    /// `incidents.IncidentAssigned`: it was assigned or reassigned (acknowledging an unassigned incident assigns it
    /// to the acknowledger).
    IncidentAssigned = "incidents.IncidentAssigned" {
        /// The incident.
        incident_id: String,
        /// Its state.
        incident_state: IncidentState,
        /// The actor who owns it now.
        assignee: String,
    }
    example IncidentAssigned {
        incident_id: INCIDENT_ID.into(),
        incident_state: IncidentState::Acknowledged,
        assignee: "alice".into(),
    };

    /// `incidents.IncidentUnassigned`: nobody owns it any more.
    IncidentUnassigned = "incidents.IncidentUnassigned" {
        /// The incident.
        incident_id: String,
        /// Its state.
        incident_state: IncidentState,
        /// Who owned it.
        previous_assignee: String,
    }
    example IncidentUnassigned {
        incident_id: INCIDENT_ID.into(),
        incident_state: IncidentState::Open,
        previous_assignee: "alice".into(),
    };

    /// `incidents.IncidentNoteAdded`: a note was written on it (never a state change).
    IncidentNoteAdded = "incidents.IncidentNoteAdded" {
        /// The incident.
        incident_id: String,
        /// The note.
        note_id: String,
        /// The note's version (1).
        note_version: i64,
    }
    example IncidentNoteAdded {
        incident_id: INCIDENT_ID.into(),
        note_id: "note_0192f0c4-7a60-7000-8000-000000000001".into(),
        note_version: 1,
    };

    /// `incidents.IncidentNoteEdited`: its author edited a note (the earlier text stays in history).
    IncidentNoteEdited = "incidents.IncidentNoteEdited" {
        /// The incident.
        incident_id: String,
        /// The note.
        note_id: String,
        /// The note's version after the edit.
        note_version: i64,
    }
    example IncidentNoteEdited {
        incident_id: INCIDENT_ID.into(),
        note_id: "note_0192f0c4-7a60-7000-8000-000000000001".into(),
        note_version: 2,
    };

    /// `incidents.IncidentNoteDeleted`: its author deleted a note (its text stays in history).
    IncidentNoteDeleted = "incidents.IncidentNoteDeleted" {
        /// The incident.
        incident_id: String,
        /// The note.
        note_id: String,
        /// The note's version that deleted it.
        note_version: i64,
    }
    example IncidentNoteDeleted {
        incident_id: INCIDENT_ID.into(),
        note_id: "note_0192f0c4-7a60-7000-8000-000000000001".into(),
        note_version: 3,
    };

    /// `incidents.IncidentMarkedDuplicate`: it was closed as a duplicate of another open incident.
    IncidentMarkedDuplicate = "incidents.IncidentMarkedDuplicate" {
        /// The incident (the duplicate).
        incident_id: String,
        /// Its state (`closed`).
        incident_state: IncidentState,
        /// The incident it duplicates.
        duplicate_of: String,
        /// Always `duplicate`.
        resolution_method: ResolutionMethod,
    }
    example IncidentMarkedDuplicate {
        incident_id: INCIDENT_ID.into(),
        incident_state: IncidentState::Closed,
        duplicate_of: "inc_0192f0c4-7a60-7000-8000-0000000000aa".into(),
        resolution_method: ResolutionMethod::Duplicate,
    };

    /// `incidents.IncidentDuplicateRemoved`: a duplicate link was undone and the duplicate reopened.
    IncidentDuplicateRemoved = "incidents.IncidentDuplicateRemoved" {
        /// The incident (the former duplicate).
        incident_id: String,
        /// Its state (`open`).
        incident_state: IncidentState,
        /// The incident it was a duplicate of.
        previous_duplicate_of: String,
    }
    example IncidentDuplicateRemoved {
        incident_id: INCIDENT_ID.into(),
        incident_state: IncidentState::Open,
        previous_duplicate_of: "inc_0192f0c4-7a60-7000-8000-0000000000aa".into(),
    };

    /// `incidents.AlertFired`: an alert that feeds the incident fired (first, or again: one more occurrence).
    AlertFired = "incidents.AlertFired" {
        /// The incident it feeds.
        incident_id: String,
        /// The alert.
        alert_id: String,
        /// Who sent it (`alertmanager`).
        source: String,
        /// The sender's key, verbatim.
        dedup_key: String,
        /// The alert's version this firing wrote.
        alert_version: i64,
        /// Its distinct firings so far.
        occurrences: i64,
    }
    example AlertFired {
        incident_id: INCIDENT_ID.into(),
        alert_id: "alr_0192f0c4-7a60-7000-8000-000000000001".into(),
        source: "alertmanager".into(),
        dedup_key: "5ef77f1f8a3ecfa9".into(),
        alert_version: 2,
        occurrences: 2,
    };

    /// `incidents.AlertResolved`: an alert that feeds the incident resolved.
    AlertResolved = "incidents.AlertResolved" {
        /// The incident it feeds.
        incident_id: String,
        /// The alert.
        alert_id: String,
        /// Who sent it (`alertmanager`).
        source: String,
        /// The sender's key, verbatim.
        dedup_key: String,
        /// The alert's version the resolution wrote.
        alert_version: i64,
    }
    example AlertResolved {
        incident_id: INCIDENT_ID.into(),
        alert_id: "alr_0192f0c4-7a60-7000-8000-000000000001".into(),
        source: "alertmanager".into(),
        dedup_key: "5ef77f1f8a3ecfa9".into(),
        alert_version: 3,
    };

    /// `incidents.IngestPolicyChanged`: the tenant's ingest policy has a new version.
    IngestPolicyChanged = "incidents.IngestPolicyChanged" {
        /// The new version.
        policy_version: i64,
        /// Which alerts share an incident (`group` or `alert`).
        incident_per: String,
        /// When alerts resolve their incident (`all`, `first` or `never`).
        resolve_on: String,
    }
    example IngestPolicyChanged {
        policy_version: 2,
        incident_per: "group".into(),
        resolve_on: "all".into(),
    };
}

impl DomainEvent {
    /// The domain that owns the decision the event records (the part of the name before the dot).
    pub fn domain(&self) -> &'static str {
        let name = self.event_type();
        name.split_once('.').map_or(name, |(domain, _)| domain)
    }
}
