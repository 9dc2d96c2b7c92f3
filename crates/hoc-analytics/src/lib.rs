//! L5 analytics rules: reproducibility artifacts that record exactly how a result was computed, and can never be
//! silently redefined.
//!
//! Decisions are pure: [`SaveArtifact::definition`] validates a save, [`ArtifactDefinition::differences`]
//! decides replay versus conflict, [`InputWindow::hash`] computes the window hash. [`save`], [`get`] and [`list`]
//! call the drivers with the spine's borrowed transaction and never commit.

#![warn(missing_docs)]

mod error;
pub mod incident_metrics;
pub mod metrics;
mod model;
mod procedures;
pub mod window;

pub use crate::error::ArtifactError;
pub use crate::incident_metrics::{
    ArtifactResult, GetArtifactResult, GetIncidentMetrics, GetIncidentMetricsSeries, MetricsSeries,
    MetricsVerification, RecordIncidentMetrics, RecordedMetrics, SeriesStep, VerifyIncidentMetrics,
};
pub use crate::metrics::{IncidentMetrics, MetricsGroupBy};
pub use crate::model::{
    Artifact, ArtifactAt, ArtifactDefinition, ArtifactListQuery, ArtifactPage, ArtifactQuery,
    GetArtifact, HASH_CHARS, KEY_MAX_CHARS, LENGTH_LIMITS, ListArtifacts, SaveArtifact,
    SaveArtifactInput, SaveOutcome, SaveStatus,
};
pub use crate::procedures::{Outcome, ReadAt, get, list, save};
pub use crate::window::{InputWindow, WindowHasher};
