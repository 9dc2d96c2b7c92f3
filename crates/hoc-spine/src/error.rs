use hoc_analytics::ArtifactError;
use hoc_contracts::FieldError;
use hoc_drivers::StorageError;
use hoc_incidents::IncidentError;

/// The stable codes every caller (library, HTTP, CLI) sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// No operation or method of that name is registered.
    UnknownOperation,
    /// The request does not have the request's shape (not an object, an unknown field, a wrong JSON type).
    MalformedRequest,
    /// The input broke a rule; every bad field is listed.
    InvalidInput,
    /// No such resource in the caller's tenant.
    NotFound,
    /// The lifecycle does not allow the change.
    InvalidTransition,
    /// The write collides with existing state.
    Conflict,
    /// An analytics artifact key already holds a different definition.
    ReproducibilityConflict,
    /// The same idempotency key came with a different request.
    IdempotencyKeyReused,
    /// The write named the version it expected, and the resource is at another (someone changed it since).
    StaleVersion,
    /// The caller may not do this.
    Forbidden,
    /// The read reaches into history that retention removed (the events feed after pruning).
    HistoryPruned,
    /// Storage is down or busy; safe to retry.
    Unavailable,
    /// A bug.
    Internal,
}

impl ErrorCode {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownOperation => "unknown_operation",
            Self::MalformedRequest => "malformed_request",
            Self::InvalidInput => "invalid_input",
            Self::NotFound => "not_found",
            Self::InvalidTransition => "invalid_transition",
            Self::Conflict => "conflict",
            Self::ReproducibilityConflict => "reproducibility_conflict",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::StaleVersion => "stale_version",
            Self::Forbidden => "forbidden",
            Self::HistoryPruned => "history_pruned",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }
}

/// The error of the spine: every failure of an operation, translated to a stable code.
#[derive(Debug, thiserror::Error)]
pub enum OperationError {
    /// No operation or method of that name is registered.
    #[error("unknown operation `{name}`")]
    UnknownOperation {
        /// `operation` or `operation.method`.
        name: String,
    },
    /// The request does not have the request's shape; nothing was run.
    #[error("malformed request: {message}")]
    MalformedRequest {
        /// What is wrong, naming the field.
        message: String,
    },
    /// The input broke a rule.
    #[error("invalid input: {}", fields.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    InvalidInput {
        /// Every bad field.
        fields: Vec<FieldError>,
    },
    /// No such resource in the caller's tenant (another tenant's resource is not found too).
    #[error("{entity} {id} not found")]
    NotFound {
        /// What kind of resource.
        entity: &'static str,
        /// The id asked for.
        id: String,
    },
    /// The lifecycle does not allow the change.
    #[error("invalid transition from {from} to {to}")]
    InvalidTransition {
        /// The current state.
        from: String,
        /// The requested state.
        to: String,
    },
    /// The write collides with existing state.
    #[error("conflict: {message}")]
    Conflict {
        /// What collided.
        message: String,
    },
    /// The write expected another version of the resource; nothing was changed.
    #[error("stale version: {message}")]
    StaleVersion {
        /// Which version it is at and which was expected.
        message: String,
    },
    /// An analytics artifact key already holds a different definition; nothing was changed.
    #[error("reproducibility conflict: {dataset_id}@{dataset_version} is already recorded with different {}", fields.join(", "))]
    ReproducibilityConflict {
        /// The dataset.
        dataset_id: String,
        /// Its version.
        dataset_version: String,
        /// The fields that differ from the recorded definition.
        fields: Vec<String>,
    },
    /// The same idempotency key came with a different request.
    #[error("idempotency key `{key}` was already used for a different request")]
    IdempotencyKeyReused {
        /// The key.
        key: String,
    },
    /// The caller may not do this.
    #[error("forbidden: {message}")]
    Forbidden {
        /// Why.
        message: String,
    },
    /// The read reaches into events that retention pruned: answering would present a shorter list as complete.
    #[error(
        "events of project {project_id} through sequence_no {pruned_through} were pruned (published events are \
         kept {} hours: --event-retention-hours); read from after={pruned_through}",
        retention_seconds / 3600
    )]
    HistoryPruned {
        /// The project whose feed was pruned.
        project_id: String,
        /// The highest `sequence_no` pruned: a read from `after` at or above it is complete.
        pruned_through: i64,
        /// The retention pruning ran with, in seconds.
        retention_seconds: i64,
    },
    /// Storage is down or busy, or the resource is too contended right now; safe to retry.
    #[error("unavailable, retry later: {message}")]
    Unavailable {
        /// What was unavailable (for logs).
        message: String,
    },
    /// Storage cut the operation off before it could commit (connection lost, server shutting the session down,
    /// serialization failure, deadlock); nothing was kept. The spine re-runs such a call a few times before it
    /// lets this out; the code is `unavailable`.
    #[error("interrupted, retry: {message}")]
    Interrupted {
        /// What cut it off (for logs).
        message: String,
    },
    /// A bug. The message is for logs; callers get the code and their request id.
    #[error("internal error: {message}")]
    Internal {
        /// What went wrong.
        message: String,
    },
}

impl OperationError {
    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::UnknownOperation { .. } => ErrorCode::UnknownOperation,
            Self::MalformedRequest { .. } => ErrorCode::MalformedRequest,
            Self::InvalidInput { .. } => ErrorCode::InvalidInput,
            Self::NotFound { .. } => ErrorCode::NotFound,
            Self::InvalidTransition { .. } => ErrorCode::InvalidTransition,
            Self::Conflict { .. } => ErrorCode::Conflict,
            Self::ReproducibilityConflict { .. } => ErrorCode::ReproducibilityConflict,
            Self::IdempotencyKeyReused { .. } => ErrorCode::IdempotencyKeyReused,
            Self::StaleVersion { .. } => ErrorCode::StaleVersion,
            Self::Forbidden { .. } => ErrorCode::Forbidden,
            Self::HistoryPruned { .. } => ErrorCode::HistoryPruned,
            Self::Unavailable { .. } | Self::Interrupted { .. } => ErrorCode::Unavailable,
            Self::Internal { .. } => ErrorCode::Internal,
        }
    }

    /// Every bad field of a parsed request.
    pub fn invalid(fields: Vec<FieldError>) -> Self {
        Self::InvalidInput { fields }
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::Internal {
            message: message.into(),
        }
    }
}

impl From<StorageError> for OperationError {
    fn from(err: StorageError) -> Self {
        match err {
            err if err.is_interrupted() => Self::Interrupted {
                message: error_chain(&err),
            },
            err if err.is_retryable() => Self::Unavailable {
                message: error_chain(&err),
            },
            StorageError::Conflict { constraint } => Self::Conflict {
                message: constraint,
            },
            other => Self::Internal {
                message: error_chain(&other),
            },
        }
    }
}

impl From<IncidentError> for OperationError {
    fn from(err: IncidentError) -> Self {
        match err {
            IncidentError::InvalidInput { fields } => Self::InvalidInput { fields },
            IncidentError::NotFound { entity, id } => Self::NotFound { entity, id },
            err @ IncidentError::Contended { .. } => Self::Unavailable {
                message: err.to_string(),
            },
            IncidentError::InvalidTransition { from, to } => Self::InvalidTransition {
                from: from.to_string(),
                to: to.to_string(),
            },
            IncidentError::StaleVersion { message } => Self::StaleVersion { message },
            IncidentError::Forbidden { message } => Self::Forbidden { message },
            IncidentError::NoteTransition { from, to, .. } => Self::InvalidTransition {
                from: from.to_owned(),
                to: to.to_owned(),
            },
            IncidentError::Storage(err) => err.into(),
        }
    }
}

impl From<ArtifactError> for OperationError {
    fn from(err: ArtifactError) -> Self {
        match err {
            ArtifactError::InvalidInput { fields } => Self::InvalidInput { fields },
            ArtifactError::NotFound { id } => Self::NotFound {
                entity: "artifact",
                id,
            },
            ArtifactError::ReproducibilityConflict {
                dataset_id,
                dataset_version,
                fields,
            } => Self::ReproducibilityConflict {
                dataset_id,
                dataset_version,
                fields,
            },
            ArtifactError::Encoding(err) => Self::internal(format!("result encoding: {err}")),
            ArtifactError::Storage(err) => err.into(),
        }
    }
}

/// `err` and its sources, joined, for logs.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(err) = source {
        out.push_str(": ");
        out.push_str(&err.to_string());
        source = err.source();
    }
    out
}
