//! Save, get and list: read, decide (pure), write through the drivers with the borrowed transaction.

use hoc_contracts::DomainEvent;
use hoc_contracts::input::{Limit, Text};
use hoc_contracts::outcome::AuditDraft;
pub use hoc_contracts::paging::ReadAt;
use hoc_drivers::paging::{PageRequest, paginate};
use hoc_drivers::{ArtifactRow, DbTime, Tx, artifacts};
use serde_json::json;
use time::OffsetDateTime;

use crate::model::{ArtifactListQuery, ArtifactQuery};
use crate::{
    Artifact, ArtifactAt, ArtifactDefinition, ArtifactError, ArtifactPage, SaveOutcome, SaveStatus,
};

/// What a procedure did.
pub type Outcome<T> = hoc_contracts::outcome::Outcome<T>;

/// Records an artifact. A new key is created (with `analytics.ArtifactRecorded` and an audit entry); an identical
/// replay is `unchanged` and writes nothing; a different definition under an existing key is
/// `reproducibility_conflict` naming the differing fields, and nothing changes. Concurrent saves of one new key
/// create it once: the others wait for it and then see `unchanged` or a conflict.
pub async fn save(
    tx: &Tx,
    tenant_id: &str,
    now: OffsetDateTime,
    def: ArtifactDefinition,
) -> Result<Outcome<SaveOutcome>, ArtifactError> {
    let row = ArtifactRow {
        id: format!("art_{}", uuid::Uuid::now_v7()),
        tenant_id: tenant_id.to_owned(),
        dataset_id: def.dataset_id.clone(),
        dataset_version: def.dataset_version.clone(),
        input_window_hash: def.input_window_hash.clone(),
        as_of: def.as_of.into(),
        compute_code_version: def.compute_code_version.clone(),
        window_start: def.window_start.map(DbTime::new),
        window_end: def.window_end.map(DbTime::new),
        code_dirty: def.code_dirty,
        created_at: now.into(),
        result: def.result.clone(),
    };
    if artifacts::insert_if_absent(tx, row.clone()).await? {
        let artifact = Artifact::from(row);
        return Ok(Outcome {
            audit: vec![AuditDraft {
                entity_type: "artifact",
                entity_id: artifact.id.clone(),
                action: "analytics.artifacts.save",
                reason: None,
                before_state: None,
                after_state: Some(json!(artifact)),
            }],
            events: vec![DomainEvent::ArtifactRecorded(
                hoc_contracts::events::ArtifactRecorded {
                    dataset_id: artifact.dataset_id.clone(),
                    dataset_version: artifact.dataset_version.clone(),
                    input_window_hash: artifact.input_window_hash.clone(),
                    as_of: artifact.as_of,
                    compute_code_version: artifact.compute_code_version.clone(),
                },
            )],
            response: SaveOutcome {
                status: SaveStatus::Created,
                artifact,
            },
        });
    }
    let recorded = artifacts::find_by_key(tx, tenant_id, &def.dataset_id, &def.dataset_version)
        .await?
        .ok_or_else(|| {
            ArtifactError::Storage(hoc_drivers::StorageError::Corrupt {
                table: "analytics_artifacts",
                problem: format!(
                    "{}@{} neither inserted nor found",
                    def.dataset_id, def.dataset_version
                ),
            })
        })?;
    let recorded_result = recorded.result.clone();
    let recorded = Artifact::from(recorded);
    let differences = def.differences(&recorded, recorded_result.as_deref());
    if !differences.is_empty() {
        return Err(ArtifactError::ReproducibilityConflict {
            dataset_id: def.dataset_id,
            dataset_version: def.dataset_version,
            fields: differences,
        });
    }
    Ok(Outcome {
        response: SaveOutcome {
            status: SaveStatus::Unchanged,
            artifact: recorded,
        },
        audit: vec![],
        events: vec![],
    })
}

/// One artifact of a dataset. With `version`, that version;
/// without, the latest by (as_of, created_at, id); with `as_of` (point in time), only artifacts whose own `as_of`
/// is at or before it count. Artifacts created after the read's `as_of` are invisible either way.
pub async fn get(
    tx: &Tx,
    tenant_id: &str,
    query: ArtifactQuery,
    at: ReadAt,
) -> Result<ArtifactAt, ArtifactError> {
    let dataset_id = query.dataset_id.into_string();
    let version = query.version.map(Text::into_string);
    let point_in_time = query.as_of;
    let read_as_of = at.instant();
    let visible_until = DbTime::new(read_as_of);
    let found = match &version {
        Some(version) => artifacts::find_by_key(tx, tenant_id, &dataset_id, version)
            .await?
            .filter(|row| row.created_at <= visible_until)
            .filter(|row| point_in_time.is_none_or(|t| row.as_of <= DbTime::new(t))),
        None => {
            artifacts::latest(
                tx,
                tenant_id,
                &dataset_id,
                point_in_time.map(DbTime::new),
                visible_until,
            )
            .await?
        }
    };
    found
        .map(|row| ArtifactAt {
            artifact: Artifact::from(row),
            read_as_of,
        })
        .ok_or_else(|| ArtifactError::NotFound {
            id: match version {
                Some(version) => format!("{dataset_id}@{version}"),
                None => dataset_id,
            },
        })
}

/// The tenant's artifacts newest first by (created_at desc, id desc).
pub async fn list(
    tx: &Tx,
    tenant_id: &str,
    query: ArtifactListQuery,
    at: ReadAt,
) -> Result<ArtifactPage, ArtifactError> {
    let dataset_id = query.dataset_id.map(Text::into_string);
    let limit = Limit::or_default(query.limit);
    let cursor = query.cursor;
    let (request, as_of) = PageRequest::resolve(limit, cursor.as_ref(), at);
    let rows = artifacts::list(tx, tenant_id, dataset_id.as_deref(), &request).await?;
    let artifacts: Vec<Artifact> = rows.into_iter().map(Artifact::from).collect();
    let (items, next_cursor) = paginate(artifacts, limit, as_of, |a| (a.created_at, a.id.clone()));
    Ok(ArtifactPage {
        items,
        next_cursor,
        as_of,
    })
}
