//! Regrouping a tenant's incidents under another signature algorithm: a preview (dry run), then an apply in
//! bounded batches, each its own transaction through the spine (so every move is audited and announced like any
//! change), resumable and idempotent.

use hoc_incidents::grouping::{
    IncidentMove, PreviewRegroup, RegroupBatch, RegroupReport, moves_digest,
};

use crate::{OperationContext, OperationError, Spine};

/// What an apply did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RegroupApplied {
    /// Batches run (transactions committed).
    pub batches: u64,
    /// Incidents moved by this run.
    pub moved: u64,
    /// The digest of this run's moves (see [`RegroupReport::moves_digest`]).
    pub moves_digest: String,
    /// Whether this run's moves are exactly the preview's (false after a resumed run that moved only the rest).
    pub matches_preview: bool,
    /// Where to resume when the run stopped early (`max_batches`); none when it reached the end.
    pub resume_cursor: Option<String>,
    /// Every move of this run (not printed: the digest stands for them).
    #[serde(skip)]
    pub moves: Vec<IncidentMove>,
}

/// A regroup's preview and, for an apply, what it did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RegroupRun {
    /// The dry run's report, read before anything was written.
    pub preview: RegroupReport,
    /// What the apply did; none for a dry run.
    pub applied: Option<RegroupApplied>,
}

/// How to run a regroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegroupOptions {
    /// The target algorithm (`rsig-v2`).
    pub to: String,
    /// Write (otherwise only the preview).
    pub apply: bool,
    /// Incidents per batch (1 to 500).
    pub batch_size: i64,
    /// Start after this cursor (a previous run's `resume_cursor`); none starts at the oldest incident.
    pub resume_after: Option<String>,
    /// Stop after this many batches (none: run to the end).
    pub max_batches: Option<u64>,
}

impl Spine {
    /// Previews a regroup of `ctx`'s tenant and, with `options.apply`, applies it batch by batch. An interrupted
    /// apply is resumed by running it again (from the start or from `resume_cursor`): incidents already in their
    /// target group are not touched again, so a second complete apply moves nothing.
    pub async fn regroup(
        &self,
        ctx: &OperationContext,
        options: &RegroupOptions,
    ) -> Result<RegroupRun, OperationError> {
        let preview = self
            .call(
                ctx,
                &PreviewRegroup {
                    to: Some(options.to.clone()),
                },
            )
            .await?;
        if !options.apply {
            return Ok(RegroupRun {
                preview,
                applied: None,
            });
        }
        let mut cursor = options.resume_after.clone();
        let mut moves: Vec<IncidentMove> = Vec::new();
        let mut batches = 0_u64;
        loop {
            if options.max_batches.is_some_and(|max| batches >= max) {
                break;
            }
            let batch = self
                .call(
                    ctx,
                    &RegroupBatch {
                        to: Some(options.to.clone()),
                        limit: Some(options.batch_size),
                        cursor: cursor.clone(),
                    },
                )
                .await?;
            batches += 1;
            tracing::info!(
                batch = batches,
                incidents = batch.incidents,
                moved = batch.moved.len(),
                "regroup batch committed"
            );
            moves.extend(batch.moved);
            cursor = batch.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
        let digest = moves_digest(&moves);
        Ok(RegroupRun {
            applied: Some(RegroupApplied {
                batches,
                moved: moves.len() as u64,
                matches_preview: digest == preview.moves_digest,
                moves_digest: digest,
                resume_cursor: cursor,
                moves,
            }),
            preview,
        })
    }
}
