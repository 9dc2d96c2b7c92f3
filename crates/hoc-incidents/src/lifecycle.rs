//! The incident state machine, as pure data and functions.
//!
//! ```text
//! open ──acknowledge──▶ acknowledged ──resolve──▶ resolved
//!   │                       │                        │
//!   ├──────resolve──────────┼───────────────────────▶│ (resolve also from open)
//!   └──close──▶ closed ◀────┘ close                  │
//!              closed ──reopen──▶ open ◀──reopen─────┘
//! ```
//! The brief's edges: `open → acknowledged → resolved`, `open|acknowledged → closed` (manual close),
//! `resolved|closed → open` (reopen). Resolving straight from `open` is allowed as well (an incident can be fixed
//! before anybody acknowledged it); every other pair is an invalid transition naming from and to.

use crate::IncidentError;

/// The canonical state of an incident (the `status` column): one type from the request to the column and the
/// event, declared in `hoc-contracts`.
pub use hoc_contracts::input::IncidentState;

/// A lifecycle operation on an existing incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transition {
    /// Somebody takes it.
    Acknowledge,
    /// It is fixed.
    Resolve,
    /// Closed by hand.
    Close,
    /// It came back.
    Reopen,
}

impl Transition {
    /// Every operation.
    pub const ALL: [Transition; 4] = [Self::Acknowledge, Self::Resolve, Self::Close, Self::Reopen];

    /// The state the operation leads to.
    pub fn target(self) -> IncidentState {
        match self {
            Self::Acknowledge => IncidentState::Acknowledged,
            Self::Resolve => IncidentState::Resolved,
            Self::Close => IncidentState::Closed,
            Self::Reopen => IncidentState::Open,
        }
    }

    /// The states the operation may start from.
    pub fn allowed_from(self) -> &'static [IncidentState] {
        use IncidentState::*;
        match self {
            Self::Acknowledge => &[Open],
            Self::Resolve => &[Open, Acknowledged],
            Self::Close => &[Open, Acknowledged],
            Self::Reopen => &[Resolved, Closed],
        }
    }

    /// The timeline's name for the change.
    pub fn timeline_event(self) -> hoc_contracts::input::TimelineKind {
        use hoc_contracts::input::TimelineKind;
        match self {
            Self::Acknowledge => TimelineKind::Acknowledged,
            Self::Resolve => TimelineKind::Resolved,
            Self::Close => TimelineKind::ManuallyClosed,
            Self::Reopen => TimelineKind::Reopened,
        }
    }
}

/// Decides a transition: the new state, or `invalid_transition` naming from and to.
pub fn apply(from: IncidentState, transition: Transition) -> Result<IncidentState, IncidentError> {
    if transition.allowed_from().contains(&from) {
        Ok(transition.target())
    } else {
        Err(IncidentError::InvalidTransition {
            from,
            to: transition.target(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use IncidentState::*;
    use Transition::*;

    /// Renders the whole matrix: one line per (state, operation).
    fn matrix() -> String {
        let mut out = String::new();
        for &from in <IncidentState as hoc_contracts::input::Vocabulary>::ALL {
            for op in Transition::ALL {
                let verdict = match apply(from, op) {
                    Ok(to) => format!("-> {to}"),
                    Err(err) => format!("error: {err}"),
                };
                out.push_str(&format!("{from:<13}{:<12} {verdict}\n", format!("{op:?}")));
            }
        }
        out
    }

    #[test]
    fn full_transition_matrix() {
        let expected = "\
open         Acknowledge  -> acknowledged
open         Resolve      -> resolved
open         Close        -> closed
open         Reopen       error: invalid transition from open to open
acknowledged Acknowledge  error: invalid transition from acknowledged to acknowledged
acknowledged Resolve      -> resolved
acknowledged Close        -> closed
acknowledged Reopen       error: invalid transition from acknowledged to open
resolved     Acknowledge  error: invalid transition from resolved to acknowledged
resolved     Resolve      error: invalid transition from resolved to resolved
resolved     Close        error: invalid transition from resolved to closed
resolved     Reopen       -> open
closed       Acknowledge  error: invalid transition from closed to acknowledged
closed       Resolve      error: invalid transition from closed to resolved
closed       Close        error: invalid transition from closed to closed
closed       Reopen       -> open
";
        assert_eq!(matrix(), expected);
    }

    #[test]
    fn invalid_transition_names_from_and_to() {
        match apply(Resolved, Acknowledge) {
            Err(IncidentError::InvalidTransition { from, to }) => {
                assert_eq!((from, to), (Resolved, Acknowledged));
            }
            other => panic!("expected invalid transition, got {other:?}"),
        }
    }
}
