//! L5 incident rules: the lifecycle state machine, input validation, and the create / transition procedures
//! that decide what to write and call the drivers with the spine's borrowed transaction.
//!
//! Decisions are pure functions ([`lifecycle::apply`], [`CreateIncident::parse`]); procedures never commit and
//! never write audit rows or events themselves: they return them in an [`Outcome`] for the spine to write in
//! the same transaction.

mod error;
pub mod lifecycle;
mod model;
mod procedures;
pub mod recurrence;

pub use crate::error::IncidentError;
pub use crate::lifecycle::{IncidentStatus, Transition};
pub use crate::model::{
    Actor, CreateIncident, Incident, MAX_TEXT_CHARS, NewIncident, TimelineEntry,
};
pub use crate::procedures::{Outcome, acknowledge, create, get, timeline};
