use hoc_contracts::FieldError;
use hoc_drivers::StorageError;

/// The error of the analytics engine.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// The input broke a rule; every bad field is listed.
    #[error("invalid input: {}", fields.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    InvalidInput {
        /// Every bad field.
        fields: Vec<FieldError>,
    },
    /// No such artifact in this tenant.
    #[error("artifact {id} not found")]
    NotFound {
        /// What was asked for (`dataset_id` or `dataset_id@version`).
        id: String,
    },
    /// The key already holds a different definition; nothing was changed.
    #[error("reproducibility conflict: {dataset_id}@{dataset_version} is already recorded with different {}", fields.join(", "))]
    ReproducibilityConflict {
        /// The dataset.
        dataset_id: String,
        /// Its version.
        dataset_version: String,
        /// The fields whose values differ from the recorded definition.
        fields: Vec<String>,
    },
    /// A result could not be encoded or a recorded one decoded.
    #[error("result encoding: {0}")]
    Encoding(#[from] serde_json::Error),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}
