//! L5 incident rules: the lifecycle state machine, input validation, recurrence signatures, and the procedures
//! that decide what to write and call the drivers with the spine's borrowed transaction.
//!
//! Decisions are pure functions ([`lifecycle::apply`], [`CreateIncident::parse`], [`recurrence`]); procedures
//! never commit and never write audit rows or events themselves: they return them in an [`Outcome`] for the
//! spine to write in the same transaction.

#![warn(missing_docs)]

pub mod alerts;
pub mod counts;
mod error;
pub mod export;
pub mod grouping;
pub mod learn;
pub mod lifecycle;
pub mod limits;
mod links;
mod model;
mod notes;
mod procedures;
pub mod queries;
pub mod recurrence;
pub mod template;
pub mod template_v3;
mod working;

pub use crate::error::IncidentError;
pub use crate::lifecycle::{IncidentState, Transition};
pub use crate::limits::{
    INCIDENT_ID_MAX_CHARS, POSTMORTEM_ID_MAX_CHARS, RESOLUTION_TYPE_MAX_CHARS,
};
pub use crate::model::{
    Actor, CreateIncident, FINGERPRINT_ITEM_MAX_CHARS, FINGERPRINT_MAX_ITEMS, Incident, IncidentAt,
    MAX_TEXT_CHARS, NewIncident, Page, Postmortem, PostmortemStub, RecurrenceGroup, Service,
    TimelineEntry,
};
// Every request, its parsed form and its procedure: a new write is declared in `procedures.rs` alone.
pub use crate::links::*;
pub use crate::notes::*;
pub use crate::procedures::*;
pub use crate::working::*;
pub use hoc_drivers::audit::AuditEntry;
