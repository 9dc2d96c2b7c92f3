//! The event contract: the envelope every domain event travels in, the registry of event types and their
//! extension fields, fail-closed payload validation, and the CloudEvents 1.0 rendering.
//!
//! This crate depends on no other workspace crate and never touches storage.

#![warn(missing_docs)]

pub mod cloudevents;
mod error;
pub mod input;
pub mod outcome;
pub mod paging;
pub mod registry;
pub mod time_format;
mod validate;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

pub use crate::cloudevents::{from_cloudevent, to_cloudevent};

/// What the exported macros name; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use schemars;
    pub use serde_json::Value;
}
pub use crate::error::{ContractError, FieldProblem, ProblemKind};
pub use crate::validate::{is_valid, validate_event_payload};

/// The envelope schema version every event carries. 1.1.0 added `request_id` (additive: a minor bump); 1.2.0
/// added `recurrence_signature` and `signature_version` to `incidents.IncidentCreated` and the types
/// `incidents.IncidentRegrouped` and `incidents.GroupingConfigChanged`.
pub const SCHEMA_VERSION: &str = "1.2.0";

/// Every schema version a consumer still accepts: events written before an upgrade stay readable (a field added
/// in a later version is required only of events that carry that version, see [`registry::FIELDS_SINCE`]).
pub const SUPPORTED_SCHEMA_VERSIONS: &[&str] = &["1.1.0", SCHEMA_VERSION];

/// The eleven envelope fields, in wire order.
pub const ENVELOPE_FIELDS: [&str; 11] = [
    "event_id",
    "event_type",
    "tenant_id",
    "project_id",
    "actor_type",
    "actor_id",
    "decision_owner",
    "sequence_no",
    "schema_version",
    "occurred_at",
    "request_id",
];

/// Who caused an event, in the envelope's vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ActorType {
    /// A person using the product.
    User,
    /// The system itself (schedulers, automation).
    System,
    /// A service calling through an SDK or API key.
    Sdk,
    /// The founder / owner acting out of band.
    Founder,
}

impl ActorType {
    /// Every actor type.
    pub const ALL: [ActorType; 4] = [Self::User, Self::System, Self::Sdk, Self::Founder];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::System => "system",
            Self::Sdk => "sdk",
            Self::Founder => "founder",
        }
    }

    /// Parses the wire name; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// A domain event before it is put in an envelope. Every variant names a registered event type; this is the
/// only way the code emits events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainEvent {
    /// `incidents.IncidentCreated`
    IncidentCreated {
        /// The new incident.
        incident_id: String,
        /// Always `open` at creation.
        incident_state: String,
        /// The incident's severity.
        severity: String,
        /// The recurrence signature it was grouped under (since 1.2.0).
        recurrence_signature: String,
        /// The algorithm of that signature (since 1.2.0).
        signature_version: String,
    },
    /// `incidents.IncidentAcknowledged`
    IncidentAcknowledged {
        /// The incident.
        incident_id: String,
        /// The state after the transition.
        incident_state: String,
    },
    /// `incidents.IncidentResolved`
    IncidentResolved {
        /// The incident.
        incident_id: String,
        /// The state after the transition.
        incident_state: String,
        /// The resolution classification.
        resolution_type: String,
    },
    /// `incidents.IncidentManuallyClosed`
    IncidentManuallyClosed {
        /// The incident.
        incident_id: String,
        /// The state after the transition.
        incident_state: String,
        /// Always `manual_closure`.
        resolution_method: String,
    },
    /// `incidents.IncidentReopened`
    IncidentReopened {
        /// The incident.
        incident_id: String,
        /// The state after the transition (`open`).
        incident_state: String,
        /// The state it was reopened from.
        previous_state: String,
    },
    /// `incidents.PostmortemCreated`
    PostmortemCreated {
        /// The incident.
        incident_id: String,
        /// The new postmortem's id.
        postmortem_artifact_id: String,
    },
    /// `incidents.IncidentRegrouped`: a regroup moved the incident to another recurrence group.
    IncidentRegrouped {
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
    },
    /// `incidents.GroupingConfigChanged`: the tenant's grouping configuration has a new version.
    GroupingConfigChanged {
        /// The new configuration's version (1, 2, …).
        config_version: i64,
        /// The algorithm new incidents are signed with.
        primary_version: String,
        /// The algorithm also computed during a transition, or `none`.
        secondary_version: String,
        /// How many fingerprint rules it has.
        rule_count: i64,
    },
    /// `analytics.ArtifactRecorded`
    ArtifactRecorded {
        /// The dataset.
        dataset_id: String,
        /// Its version.
        dataset_version: String,
        /// SHA-256 of the input window, lowercase hex.
        input_window_hash: String,
        /// The point in time the result describes.
        as_of: OffsetDateTime,
        /// The code version that computed it.
        compute_code_version: String,
    },
}

impl DomainEvent {
    /// The registered event type name.
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::IncidentCreated { .. } => "incidents.IncidentCreated",
            Self::IncidentAcknowledged { .. } => "incidents.IncidentAcknowledged",
            Self::IncidentResolved { .. } => "incidents.IncidentResolved",
            Self::IncidentManuallyClosed { .. } => "incidents.IncidentManuallyClosed",
            Self::IncidentReopened { .. } => "incidents.IncidentReopened",
            Self::PostmortemCreated { .. } => "incidents.PostmortemCreated",
            Self::IncidentRegrouped { .. } => "incidents.IncidentRegrouped",
            Self::GroupingConfigChanged { .. } => "incidents.GroupingConfigChanged",
            Self::ArtifactRecorded { .. } => "analytics.ArtifactRecorded",
        }
    }

    /// How many variants [`DomainEvent`] has. [`DomainEvent::variant_index`] is an exhaustive match, so adding
    /// a variant does not compile until it is numbered; the event-contract verifier then requires an example of
    /// every index below this count, and every example to be registered.
    pub const VARIANT_COUNT: usize = 9;

    /// The variant's position, `0..VARIANT_COUNT`.
    pub fn variant_index(&self) -> usize {
        match self {
            Self::IncidentCreated { .. } => 0,
            Self::IncidentAcknowledged { .. } => 1,
            Self::IncidentResolved { .. } => 2,
            Self::IncidentManuallyClosed { .. } => 3,
            Self::IncidentReopened { .. } => 4,
            Self::PostmortemCreated { .. } => 5,
            Self::ArtifactRecorded { .. } => 6,
            Self::IncidentRegrouped { .. } => 7,
            Self::GroupingConfigChanged { .. } => 8,
        }
    }

    /// The domain that owns the decision the event records (the part of the name before the dot).
    pub fn domain(&self) -> &'static str {
        let name = self.event_type();
        name.split_once('.').map_or(name, |(domain, _)| domain)
    }

    /// The extension fields, as they travel in `data`.
    pub fn data(&self) -> Map<String, Value> {
        let s = |v: &str| Value::String(v.to_owned());
        let pairs: Vec<(&str, Value)> = match self {
            Self::IncidentCreated {
                incident_id,
                incident_state,
                severity,
                recurrence_signature,
                signature_version,
            } => vec![
                ("incident_id", s(incident_id)),
                ("incident_state", s(incident_state)),
                ("severity", s(severity)),
                ("recurrence_signature", s(recurrence_signature)),
                ("signature_version", s(signature_version)),
            ],
            Self::IncidentRegrouped {
                incident_id,
                previous_signature,
                previous_signature_version,
                recurrence_signature,
                signature_version,
            } => vec![
                ("incident_id", s(incident_id)),
                ("previous_signature", s(previous_signature)),
                ("previous_signature_version", s(previous_signature_version)),
                ("recurrence_signature", s(recurrence_signature)),
                ("signature_version", s(signature_version)),
            ],
            Self::GroupingConfigChanged {
                config_version,
                primary_version,
                secondary_version,
                rule_count,
            } => vec![
                ("config_version", Value::from(*config_version)),
                ("primary_version", s(primary_version)),
                ("secondary_version", s(secondary_version)),
                ("rule_count", Value::from(*rule_count)),
            ],
            Self::IncidentAcknowledged {
                incident_id,
                incident_state,
            } => vec![
                ("incident_id", s(incident_id)),
                ("incident_state", s(incident_state)),
            ],
            Self::IncidentResolved {
                incident_id,
                incident_state,
                resolution_type,
            } => vec![
                ("incident_id", s(incident_id)),
                ("incident_state", s(incident_state)),
                ("resolution_type", s(resolution_type)),
            ],
            Self::IncidentManuallyClosed {
                incident_id,
                incident_state,
                resolution_method,
            } => vec![
                ("incident_id", s(incident_id)),
                ("incident_state", s(incident_state)),
                ("resolution_method", s(resolution_method)),
            ],
            Self::IncidentReopened {
                incident_id,
                incident_state,
                previous_state,
            } => vec![
                ("incident_id", s(incident_id)),
                ("incident_state", s(incident_state)),
                ("previous_state", s(previous_state)),
            ],
            Self::PostmortemCreated {
                incident_id,
                postmortem_artifact_id,
            } => vec![
                ("incident_id", s(incident_id)),
                ("postmortem_artifact_id", s(postmortem_artifact_id)),
            ],
            Self::ArtifactRecorded {
                dataset_id,
                dataset_version,
                input_window_hash,
                as_of,
                compute_code_version,
            } => vec![
                ("dataset_id", s(dataset_id)),
                ("dataset_version", s(dataset_version)),
                ("input_window_hash", s(input_window_hash)),
                ("as_of", Value::String(time_format::format_utc(*as_of))),
                ("compute_code_version", s(compute_code_version)),
            ],
        };
        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }

    /// One fixed example of every variant, in registry order (fixtures, snapshots, verifiers).
    pub fn examples() -> Vec<DomainEvent> {
        let id = || "inc_0190a3c2-0000-7000-8000-000000000001".to_owned();
        let sig_v1 =
            || "14d93a150ec2d1aaca7a3771edf636d47e7a3993ee8a78e92185e0687156db58".to_owned();
        vec![
            Self::IncidentCreated {
                incident_id: id(),
                incident_state: "open".into(),
                severity: "high".into(),
                recurrence_signature: sig_v1(),
                signature_version: "rsig-v1".into(),
            },
            Self::IncidentAcknowledged {
                incident_id: id(),
                incident_state: "acknowledged".into(),
            },
            Self::IncidentResolved {
                incident_id: id(),
                incident_state: "resolved".into(),
                resolution_type: "rollback".into(),
            },
            Self::IncidentManuallyClosed {
                incident_id: id(),
                incident_state: "closed".into(),
                resolution_method: "manual_closure".into(),
            },
            Self::IncidentReopened {
                incident_id: id(),
                incident_state: "open".into(),
                previous_state: "resolved".into(),
            },
            Self::PostmortemCreated {
                incident_id: id(),
                postmortem_artifact_id: "pm_0190a3c2-0000-7000-8000-000000000002".into(),
            },
            Self::ArtifactRecorded {
                dataset_id: "daily_revenue".into(),
                dataset_version: "2026-11-25".into(),
                input_window_hash:
                    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
                as_of: time::macros::datetime!(2026-11-25 00:00:00 UTC),
                compute_code_version: "git:4f2a9c1".into(),
            },
            Self::IncidentRegrouped {
                incident_id: id(),
                previous_signature: sig_v1(),
                previous_signature_version: "rsig-v1".into(),
                recurrence_signature:
                    "30023349c883f53729a227a95453a22f8f80532e180dbfe7121dd206d0882a90".into(),
                signature_version: "rsig-v2".into(),
            },
            Self::GroupingConfigChanged {
                config_version: 2,
                primary_version: "rsig-v2".into(),
                secondary_version: "rsig-v1".into(),
                rule_count: 1,
            },
        ]
    }
}

/// The envelope fields that do not come from the event itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeHeader {
    /// Unique id of this event.
    pub event_id: String,
    /// The tenant the event belongs to.
    pub tenant_id: String,
    /// The project within the tenant.
    pub project_id: String,
    /// Who caused it.
    pub actor_type: ActorType,
    /// Their id.
    pub actor_id: String,
    /// When it happened (UTC).
    pub occurred_at: OffsetDateTime,
    /// The request that caused it (its audit entries and timeline rows carry the same).
    pub request_id: String,
}

/// A domain event in its envelope: the unit written to the outbox and published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EventEnvelope {
    /// Unique id of this event.
    pub event_id: String,
    /// A registered event type.
    pub event_type: String,
    /// The tenant the event belongs to.
    pub tenant_id: String,
    /// The project within the tenant.
    pub project_id: String,
    /// Who caused it.
    pub actor_type: ActorType,
    /// Their id.
    pub actor_id: String,
    /// The domain that owns the decision.
    pub decision_owner: String,
    /// Monotonic and gapless per (tenant, project), assigned in the writing transaction.
    pub sequence_no: i64,
    /// Always [`SCHEMA_VERSION`] for events built here.
    pub schema_version: String,
    /// When it happened (UTC, RFC 3339).
    #[serde(with = "time_format::utc")]
    #[schemars(with = "time_format::UtcTimestamp")]
    pub occurred_at: OffsetDateTime,
    /// The request that caused it: its audit entries and timeline rows carry the same (schema 1.1.0; empty in
    /// events recorded under 1.0.0).
    #[serde(default)]
    pub request_id: String,
    /// The extension fields of the event type.
    pub data: Map<String, Value>,
}

impl EventEnvelope {
    /// Puts `event` in an envelope with the given header and sequence number.
    pub fn new(header: EnvelopeHeader, sequence_no: i64, event: &DomainEvent) -> Self {
        Self {
            event_id: header.event_id,
            event_type: event.event_type().to_owned(),
            tenant_id: header.tenant_id,
            project_id: header.project_id,
            actor_type: header.actor_type,
            actor_id: header.actor_id,
            decision_owner: event.domain().to_owned(),
            sequence_no,
            schema_version: SCHEMA_VERSION.to_owned(),
            occurred_at: header.occurred_at,
            request_id: header.request_id,
            data: event.data(),
        }
    }

    /// The JSON payload form (what [`validate_event_payload`] checks and the outbox stores).
    pub fn to_json(&self) -> Value {
        let mut object = Map::new();
        let s = |v: &str| Value::String(v.to_owned());
        object.insert("event_id".into(), s(&self.event_id));
        object.insert("event_type".into(), s(&self.event_type));
        object.insert("tenant_id".into(), s(&self.tenant_id));
        object.insert("project_id".into(), s(&self.project_id));
        object.insert("actor_type".into(), s(self.actor_type.as_str()));
        object.insert("actor_id".into(), s(&self.actor_id));
        object.insert("decision_owner".into(), s(&self.decision_owner));
        object.insert("sequence_no".into(), Value::from(self.sequence_no));
        object.insert("schema_version".into(), s(&self.schema_version));
        object.insert(
            "occurred_at".into(),
            Value::String(time_format::format_utc(self.occurred_at)),
        );
        object.insert("request_id".into(), s(&self.request_id));
        object.insert("data".into(), Value::Object(self.data.clone()));
        Value::Object(object)
    }

    /// Validates this envelope against the contract.
    pub fn validate(&self) -> Result<(), ContractError> {
        validate_event_payload(&self.to_json())
    }
}

/// One bad field of untrusted input, as every layer reports it: every bad field at once, never the first only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The field's name as the caller spelled it.
    pub field: String,
    /// What is wrong, in lowercase words.
    pub problem: String,
}

impl FieldError {
    /// A new field error.
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
