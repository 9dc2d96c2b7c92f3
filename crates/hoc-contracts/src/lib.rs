//! The event contract: the envelope every domain event travels in, the registry of event types and their
//! extension fields, fail-closed payload validation, and the CloudEvents 1.0 rendering.
//!
//! This crate depends on no other workspace crate and never touches storage.

#![warn(missing_docs)]

pub mod audit;
pub mod cloudevents;
mod error;
pub mod events;
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
pub use crate::events::DomainEvent;

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
/// `incidents.IncidentRegrouped` and `incidents.GroupingConfigChanged`; 1.3.0 added `incidents.IncidentSeverityChanged`
/// and `incidents.IncidentEdited` (the first of the types of working an incident); 1.4.0 added the rest of them
/// (assignment, notes, duplicate links) and the resolution method `duplicate`; 1.5.0 added `incidents.AlertFired`,
/// `incidents.AlertResolved` and `incidents.IngestPolicyChanged` (alerts in).
pub const SCHEMA_VERSION: &str = "1.5.0";

/// Every schema version a consumer still accepts: events written before an upgrade stay readable (a field added
/// in a later version is required only of events that carry that version, see [`registry::FIELDS_SINCE`]).
pub const SUPPORTED_SCHEMA_VERSIONS: &[&str] =
    &["1.1.0", "1.2.0", "1.3.0", "1.4.0", SCHEMA_VERSION];

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

crate::vocabulary!(
    /// Who caused an event, in the envelope's vocabulary.
    ActorType {
        /// A person using the product.
        User = "user",
        /// The system itself (schedulers, automation).
        System = "system",
        /// A service calling through an SDK or API key.
        Sdk = "sdk",
        /// The founder / owner acting out of band.
        Founder = "founder",
    }
);

crate::vocabulary!(
    /// Who caused a change, in the audit ledger's vocabulary (part of each row's hash).
    AuditActor {
        /// A person: a user or the founder.
        Human = "HUMAN",
        /// The system itself.
        System = "SYSTEM",
        /// A service or agent calling through an SDK or API key.
        Agent = "AGENT",
    }
);

impl From<ActorType> for AuditActor {
    fn from(actor_type: ActorType) -> Self {
        match actor_type {
            ActorType::User | ActorType::Founder => Self::Human,
            ActorType::System => Self::System,
            ActorType::Sdk => Self::Agent,
        }
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
