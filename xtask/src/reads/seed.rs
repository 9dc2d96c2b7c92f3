//! The rows the reads verifier reads: incidents, notes, alerts, groups, audit, timeline and artifacts, written
//! at one instant in a shuffled order.

use super::*;

pub(crate) fn incident(id: &str, at: OffsetDateTime) -> IncidentRow {
    IncidentRow {
        id: format!("inc_{id}"),
        tenant_id: TENANT.into(),
        title: format!("reads {id}"),
        severity: hoc_drivers::Stored(hoc_contracts::input::Severity::Low),
        category: "verify".into(),
        status: hoc_drivers::Stored(hoc_contracts::input::IncidentState::Open),
        trigger_type: None,
        source_type: None,
        source_ref: None,
        error_code: None,
        error_message: None,
        description: None,
        recurrence_signature: Some("sig_reads".into()),
        signature_version: Some("rsig-v1".into()),
        signature_inputs: Some(
            r#"{"version":"rsig-v1","mode":"fingerprint","fields":[["fingerprint","reads"]]}"#
                .into(),
        ),
        resolution_type: None,
        resolution_summary: None,
        resolution_method: None,
        close_reason: None,
        postmortem_artifact_id: None,
        acknowledged_at: None,
        acknowledged_by: None,
        resolved_at: None,
        resolved_by: None,
        closed_at: None,
        closed_by: None,
        created_at: at.into(),
        updated_at: at.into(),
        version: 1,
        service: None,
        labels: None,
        assignee: None,
        duplicate_of: None,
        duplicates: None,
    }
}

/// Version 1 of alert `alr_{id}` of `inc_r0`, first received at `T`.
fn alert_row(id: &str, resolved: bool) -> hoc_drivers::AlertRow {
    hoc_drivers::AlertRow {
        tenant_id: TENANT.into(),
        alert_id: format!("alr_{id}"),
        version: 1,
        incident_id: "inc_r0".into(),
        source: "alertmanager".into(),
        dedup_key: format!("fp_{id}"),
        incident_key: "{}:{alertname=\"Reads\"}".into(),
        status: if resolved { "resolved" } else { "firing" }.into(),
        labels: format!(r#"{{"alertname":"Reads","instance":"{id}"}}"#),
        annotations: "{}".into(),
        starts_at: T.into(),
        ends_at: resolved.then(|| T.into()),
        last_received_at: T.into(),
        occurrences: 1,
        created_at: T.into(),
        updated_at: T.into(),
        request_id: Some("verify".into()),
    }
}

pub(super) async fn seed(db: &Database) -> Result<(), String> {
    let tx = hoc_ledger::begin_write(db)
        .await
        .map_err(|e| e.to_string())?;
    let err = |e: hoc_drivers::StorageError| e.to_string();
    let rows = || {
        SHUFFLED
            .iter()
            .chain(["later"].iter())
            .map(|id| (*id, if *id == "later" { LATER } else { T }))
    };
    for (n, (id, at)) in rows().enumerate() {
        let mut row = incident(id, at);
        if id == "r0" {
            // inc_r0 gets the ten timeline rows below (the driver numbers them in insertion order).
            row.version = 10;
        }
        // Every other one is labelled (the filtered listing shows those at as_of).
        row.service = Some("checkout".into());
        if n % 2 == 0 {
            row.labels = Some(r#"{"team":"a"}"#.into());
        }
        incidents::insert(&tx, row).await.map_err(err)?;
    }
    // Nine notes on inc_r0 written at one instant, in a shuffled order; then `later_changes` edits, deletes, adds.
    for id in SHUFFLED {
        hoc_drivers::notes::insert(
            &tx,
            hoc_drivers::NoteRow {
                tenant_id: TENANT.into(),
                note_id: format!("note_{id}"),
                version: 1,
                incident_id: "inc_r0".into(),
                author: "xtask".into(),
                body: format!("note {id}"),
                deleted: false,
                created_at: T.into(),
                updated_at: T.into(),
                request_id: Some("verify".into()),
            },
        )
        .await
        .map_err(err)?;
    }
    // Nine alerts feeding inc_r0, first received at one instant, in a shuffled order; every other one resolved
    // then. `later_changes` resolves one more through a delivery and fires a new one.
    let alerts = SHUFFLED
        .iter()
        .enumerate()
        .map(|(n, id)| alert_row(id, n % 2 == 1))
        .collect();
    hoc_drivers::alerts::insert_all(&tx, alerts)
        .await
        .map_err(err)?;
    // Four more recurrence groups of one member each, last seen at the same instant as `sig_reads`: the group
    // list must break the tie by signature.
    for g in GROUPS {
        let mut row = incident(&format!("grp_{g}"), T);
        row.recurrence_signature = Some(format!("sig_reads_{g}"));
        incidents::insert(&tx, row).await.map_err(err)?;
    }
    for (n, (id, at)) in rows().enumerate() {
        hoc_ledger::audit::append(
            &tx,
            AuditRow {
                id: format!("aud_{id}"),
                tenant_id: TENANT.into(),
                entity_type: "incident".into(),
                entity_id: "inc_r0".into(),
                action: "verify".into(),
                actor_type: hoc_drivers::Stored(hoc_contracts::AuditActor::System),
                actor_id: "xtask".into(),
                reason: None,
                before_state: None,
                after_state: None,
                request_id: "verify".into(),
                created_at: at.into(),
                chain_seq: None,
                prev_hash: None,
                row_hash: None,
            },
        )
        .await
        .map_err(err)?;
        timeline::insert(
            &tx,
            TimelineRow {
                id: format!("tl_{id}"),
                tenant_id: TENANT.into(),
                incident_id: "inc_r0".into(),
                ordinal: [5, 1, 8, 3, 9, 7, 2, 6, 4, 10][n],
                event_type: hoc_drivers::Stored(hoc_contracts::input::TimelineKind::Created),
                from_state: None,
                to_state: hoc_drivers::Stored(hoc_contracts::input::IncidentState::Open),
                actor_type: hoc_drivers::Stored(hoc_contracts::ActorType::System),
                actor_id: "xtask".into(),
                description: "verify".into(),
                created_at: at.into(),
                request_id: Some("verify".into()),
            },
        )
        .await
        .map_err(err)?;
        artifacts::insert_if_absent(
            &tx,
            ArtifactRow {
                id: format!("art_{id}"),
                tenant_id: TENANT.into(),
                dataset_id: "ds".into(),
                dataset_version: id.into(),
                input_window_hash: "0".repeat(64),
                as_of: T.into(),
                compute_code_version: "v".into(),
                window_start: None,
                window_end: None,
                code_dirty: None,
                created_at: at.into(),
                result: None,
            },
        )
        .await
        .map_err(err)?;
    }
    tx.commit().await.map_err(|e| e.to_string())
}
