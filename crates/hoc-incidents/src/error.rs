use hoc_contracts::FieldError;
use hoc_drivers::StorageError;

use crate::IncidentState;

/// The error of the incidents engine.
#[derive(Debug, thiserror::Error)]
pub enum IncidentError {
    /// The input broke a rule; every bad field is listed.
    #[error("invalid input: {}", fields.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    InvalidInput {
        /// Every bad field.
        fields: Vec<FieldError>,
    },
    /// No such resource in this tenant.
    #[error("{entity} {id} not found")]
    NotFound {
        /// What kind of resource (`incident`, `recurrence group`, …).
        entity: &'static str,
        /// The id asked for.
        id: String,
    },
    /// Concurrent writers kept changing the incident; retrying the whole operation is safe.
    #[error("incident {id} is changing too fast, retry")]
    Contended {
        /// The incident.
        id: String,
    },
    /// The lifecycle does not allow this change from the incident's current state.
    #[error("invalid transition from {from} to {to}")]
    InvalidTransition {
        /// The incident's state.
        from: IncidentState,
        /// The state the operation leads to.
        to: IncidentState,
    },
    /// The write expected another version than the current one.
    #[error("stale version: {message}")]
    StaleVersion {
        /// What does not hold.
        message: String,
    },
    /// The caller may not do this to this resource (a note that somebody else wrote).
    #[error("forbidden: {message}")]
    Forbidden {
        /// Why.
        message: String,
    },
    /// A note's state does not allow the change (a deleted note cannot be edited).
    #[error("invalid transition of note {note_id} from {from} to {to}")]
    NoteTransition {
        /// The note.
        note_id: String,
        /// Its state (`deleted`).
        from: &'static str,
        /// What was asked (`edited`).
        to: &'static str,
    },
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}
