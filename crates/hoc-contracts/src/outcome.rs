//! What an operation decided: its response, and the audit entries and domain events that must be written in the
//! same transaction. Engines return it, the spine writes its audit drafts and events and answers its response; it
//! lives here, below both, so that neither the storage crate nor the spine is where engines' decisions are typed.

use serde_json::Value;

use crate::DomainEvent;

/// What an engine asks to have audited. The spine adds the actor, the request id and the time, and appends it
/// in the operation's transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditDraft {
    /// `incident`, `postmortem`, `artifact`, …
    pub entity_type: &'static str,
    /// The entity's id.
    pub entity_id: String,
    /// The operation and method, e.g. `incidents.write.acknowledge`.
    pub action: &'static str,
    /// The caller's reason, if given.
    pub reason: Option<String>,
    /// The relevant state before the change (`None` for a creation).
    pub before_state: Option<Value>,
    /// The relevant state after the change.
    pub after_state: Option<Value>,
}

/// What an operation did: its response, and the audit entries and events the spine writes before commit.
/// Engines never write audit rows or events themselves.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome<T> {
    /// The response.
    pub response: T,
    /// Audit entries to append (writes only).
    pub audit: Vec<AuditDraft>,
    /// Domain events to put in the outbox (writes only).
    pub events: Vec<DomainEvent>,
}

impl<T> Outcome<T> {
    /// A response with no audit entries or events (reads).
    pub fn read(response: T) -> Self {
        Self {
            response,
            audit: Vec::new(),
            events: Vec::new(),
        }
    }
}
