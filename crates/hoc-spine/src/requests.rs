//! Typed requests: each names its operation and method and the type of its response. They serialize to the
//! same JSON the dynamic door takes, so both doors share one path through the registry.

use hoc_analytics::{Artifact, ArtifactPage, SaveOutcome};
use hoc_contracts::EventEnvelope;
use hoc_incidents::{AuditEntry, CreateIncident, Incident, Page, PostmortemStub, RecurrenceGroup};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A typed request to a registered operation.
pub trait OperationRequest: Serialize {
    /// The operation, e.g. `incidents.write`.
    const OPERATION: &'static str;
    /// The method, e.g. `create`.
    const METHOD: &'static str;
    /// What it returns.
    type Response: DeserializeOwned;
}

impl OperationRequest for CreateIncident {
    const OPERATION: &'static str = "incidents.write";
    const METHOD: &'static str = "create";
    type Response = Incident;
}

/// Acknowledge an open incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcknowledgeIncident {
    /// The incident.
    pub id: String,
    /// Why (optional).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl OperationRequest for AcknowledgeIncident {
    const OPERATION: &'static str = "incidents.write";
    const METHOD: &'static str = "acknowledge";
    type Response = Incident;
}

/// Get one incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetIncident {
    /// The incident.
    pub id: String,
}

impl OperationRequest for GetIncident {
    const OPERATION: &'static str = "incidents.query";
    const METHOD: &'static str = "get";
    type Response = Incident;
}

/// An incident's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentTimeline {
    /// The incident.
    pub id: String,
}

/// The timeline in ordinal order, with the `as_of` it shows.
pub type TimelinePage = hoc_incidents::queries::Timeline;

impl OperationRequest for IncidentTimeline {
    const OPERATION: &'static str = "incidents.query";
    const METHOD: &'static str = "timeline";
    type Response = TimelinePage;
}

/// The context's tenant and project events with `sequence_no > after`, ascending.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListEvents {
    /// Exclusive lower bound (0 for the start).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<i64>,
    /// Page size (default 50, max 500).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

/// A page of events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventsPage {
    /// The envelopes in sequence order.
    pub items: Vec<EventEnvelope>,
    /// Pass as `after` for the next page.
    pub next_after: i64,
}

impl OperationRequest for ListEvents {
    const OPERATION: &'static str = "events.feed";
    const METHOD: &'static str = "list";
    type Response = EventsPage;
}

/// Declares a typed request struct with optional fields skipped when `None`.
macro_rules! request {
    ($(#[$doc:meta])* $name:ident => $op:literal . $method:literal -> $response:ty {
        $($(#[$fdoc:meta])* $field:ident : $ty:ty),* $(,)?
    }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
        pub struct $name {
            $(
                $(#[$fdoc])*
                #[serde(skip_serializing_if = "is_unset")]
                pub $field: $ty,
            )*
        }

        impl OperationRequest for $name {
            const OPERATION: &'static str = $op;
            const METHOD: &'static str = $method;
            type Response = $response;
        }
    };
}

/// Whether a request field is left out of the payload.
trait Unset {
    fn unset(&self) -> bool;
}

impl<T> Unset for Option<T> {
    fn unset(&self) -> bool {
        self.is_none()
    }
}

impl Unset for String {
    fn unset(&self) -> bool {
        false
    }
}

fn is_unset<T: Unset>(value: &T) -> bool {
    value.unset()
}

request! {
    /// Resolve an open or acknowledged incident with its resolution record.
    ResolveIncident => "incidents.write"."resolve" -> Incident {
        /// The incident.
        id: String,
        /// One of the closed vocabulary (`rollback`, `hotfix`, …).
        resolution_type: Option<String>,
        /// Free text.
        resolution_summary: Option<String>,
        /// A postmortem of the same tenant.
        postmortem_artifact_id: Option<String>,
        /// Why.
        reason: Option<String>,
    }
}

request! {
    /// Close an open or acknowledged incident by hand.
    CloseIncident => "incidents.write"."close" -> Incident {
        /// The incident.
        id: String,
        /// Why (required).
        reason: Option<String>,
    }
}

request! {
    /// Return a resolved or closed incident to open.
    ReopenIncident => "incidents.write"."reopen" -> Incident {
        /// The incident.
        id: String,
        /// Why.
        reason: Option<String>,
    }
}

request! {
    /// The tenant's incidents, newest first.
    ListIncidents => "incidents.query"."list" -> Page<Incident> {
        /// Only this status.
        status: Option<String>,
        /// Only this severity.
        severity: Option<String>,
        /// Page size (default 50, capped at 500).
        limit: Option<i64>,
        /// From a previous page's `next_cursor`.
        cursor: Option<String>,
    }
}

request! {
    /// An incident's audit entries, oldest first.
    IncidentAudit => "incidents.query"."audit" -> Page<AuditEntry> {
        /// The incident.
        id: String,
        /// Page size.
        limit: Option<i64>,
        /// From a previous page.
        cursor: Option<String>,
    }
}

request! {
    /// A recurrence group by signature.
    GetRecurrenceGroup => "incidents.recurrence"."get_recurrence_group" -> RecurrenceGroup {
        /// The signature.
        signature: String,
        /// The algorithm version (default: current).
        version: Option<String>,
        /// Page size.
        limit: Option<i64>,
        /// From a previous page.
        cursor: Option<String>,
    }
}

request! {
    /// The recurrence group of one incident, with the signature inputs.
    GroupForIncident => "incidents.recurrence"."group_for_incident" -> RecurrenceGroup {
        /// The incident.
        id: String,
        /// Page size.
        limit: Option<i64>,
        /// From a previous page.
        cursor: Option<String>,
    }
}

request! {
    /// Create (or fetch) the incident's postmortem stub.
    CreatePostmortemStub => "incidents.recurrence"."create_postmortem_stub" -> PostmortemStub {
        /// The incident.
        incident_id: String,
        /// The title (default: "Postmortem: <incident title>").
        title: Option<String>,
    }
}

request! {
    /// Record an analytics artifact (created, unchanged, or a reproducibility conflict).
    SaveArtifact => "analytics.artifacts"."save" -> SaveOutcome {
        /// The dataset.
        dataset_id: String,
        /// Its version.
        dataset_version: String,
        /// SHA-256 of the input window, 64 lowercase hex characters.
        input_window_hash: Option<String>,
        /// The point in time the result describes (RFC 3339 UTC).
        as_of: Option<String>,
        /// The code version that computed it.
        compute_code_version: Option<String>,
        /// Start of the half-open input window.
        window_start: Option<String>,
        /// End of the half-open input window.
        window_end: Option<String>,
        /// Whether the code had uncommitted changes.
        code_dirty: Option<bool>,
        /// Ordered input references; with the window, the library checks the hash against them.
        inputs: Option<Vec<String>>,
    }
}

request! {
    /// One artifact of a dataset: a version, or the latest (at a point in time).
    GetArtifact => "analytics.artifacts"."get" -> Artifact {
        /// The dataset.
        dataset_id: String,
        /// A version (default: the latest).
        version: Option<String>,
        /// Point in time: only artifacts whose `as_of` is at or before it (RFC 3339 UTC).
        as_of: Option<String>,
    }
}

request! {
    /// The tenant's artifacts, newest first.
    ListArtifacts => "analytics.artifacts"."list" -> ArtifactPage {
        /// Only this dataset.
        dataset_id: Option<String>,
        /// Page size.
        limit: Option<i64>,
        /// From a previous page.
        cursor: Option<String>,
    }
}
