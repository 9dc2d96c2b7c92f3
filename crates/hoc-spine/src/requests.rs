//! Typed requests: each names its operation and method and the type of its response. They serialize to the
//! same JSON the dynamic door takes, so both doors share one path through the registry.

use hoc_contracts::EventEnvelope;
use hoc_incidents::{CreateIncident, Incident, TimelineEntry};
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

/// The timeline in ordinal order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelinePage {
    /// The entries.
    pub items: Vec<TimelineEntry>,
}

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
