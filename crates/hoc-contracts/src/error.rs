use std::fmt;

/// Whether a field was absent (or `null`) or present with a bad value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// Absent or `null`.
    Missing,
    /// Present, but of the wrong type or value.
    Invalid,
}

/// One bad field of an event payload.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldProblem {
    /// The field's path: an envelope field name, or `data.<extension>`.
    pub field: String,
    /// Missing or invalid.
    pub kind: ProblemKind,
    /// What is wrong, in lowercase words.
    pub problem: String,
}

impl FieldProblem {
    pub(crate) fn missing(field: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            kind: ProblemKind::Missing,
            problem: "is required".to_owned(),
        }
    }

    pub(crate) fn invalid(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            kind: ProblemKind::Invalid,
            problem: problem.into(),
        }
    }
}

impl fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ProblemKind::Missing => write!(f, "missing `{}`", self.field),
            ProblemKind::Invalid => write!(f, "invalid `{}`: {}", self.field, self.problem),
        }
    }
}

/// The error of the contracts layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContractError {
    /// The payload broke the event contract; every problem is listed.
    #[error("invalid event: {}", join(problems))]
    InvalidEvent {
        /// Every missing and invalid field, in a stable order.
        problems: Vec<FieldProblem>,
    },
}

impl ContractError {
    /// The problems of an [`ContractError::InvalidEvent`].
    pub fn problems(&self) -> &[FieldProblem] {
        match self {
            Self::InvalidEvent { problems } => problems,
        }
    }
}

fn join(problems: &[FieldProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
