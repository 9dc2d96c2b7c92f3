//! Procedures: read, decide (pure), write through the drivers with the borrowed transaction, and hand the
//! audit drafts and domain events back to the spine. Nothing here commits.

use hoc_contracts::DomainEvent;
use hoc_contracts::input::FieldReader;
use hoc_drivers::audit::AuditDraft;
use hoc_drivers::{IncidentRow, TimelineRow, Tx, incidents, timeline as timeline_driver};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::lifecycle::{self, Transition};
use crate::model::parse_reason;
use crate::{Actor, CreateIncident, Incident, IncidentError, IncidentStatus, TimelineEntry};

/// What a procedure did: the resulting incident, and the audit entries and events the spine must write in the
/// same transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The incident after the change.
    pub incident: Incident,
    /// Audit entries to append.
    pub audit: Vec<AuditDraft>,
    /// Domain events to put in the outbox.
    pub events: Vec<DomainEvent>,
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7())
}

/// Creates an incident in state `open` from an untrusted payload.
pub async fn create(
    tx: &Tx,
    tenant_id: &str,
    actor: &Actor,
    now: OffsetDateTime,
    payload: &Value,
) -> Result<Outcome, IncidentError> {
    let input = CreateIncident::parse(payload)?;
    let row = IncidentRow {
        id: new_id("inc"),
        tenant_id: tenant_id.to_owned(),
        title: input.title,
        severity: input.severity.to_owned(),
        category: input.category,
        status: IncidentStatus::Open.as_str().to_owned(),
        trigger_type: input.trigger_type,
        source_type: input.source_type,
        source_ref: input.source_ref,
        error_code: input.error_code,
        error_message: input.error_message,
        description: input.description,
        recurrence_signature: None,
        signature_version: None,
        signature_inputs: None,
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
        created_at: now.into(),
        updated_at: now.into(),
        version: 1,
    };
    incidents::insert(tx, row.clone()).await?;
    append_timeline(
        tx,
        &row,
        None,
        "created",
        actor,
        now,
        "incident opened".to_owned(),
    )
    .await?;
    let incident = Incident::try_from(row)?;
    Ok(Outcome {
        audit: vec![AuditDraft {
            entity_type: "incident",
            entity_id: incident.id.clone(),
            action: "incidents.write.create",
            reason: None,
            before_state: None,
            after_state: Some(audit_state(&incident)),
        }],
        events: vec![DomainEvent::IncidentCreated {
            incident_id: incident.id.clone(),
            incident_state: incident.status.as_str().to_owned(),
            severity: incident.severity.clone(),
        }],
        incident,
    })
}

/// Acknowledges an open incident. Payload: `{"id", "reason"?}`.
pub async fn acknowledge(
    tx: &Tx,
    tenant_id: &str,
    actor: &Actor,
    now: OffsetDateTime,
    payload: &Value,
) -> Result<Outcome, IncidentError> {
    let mut r = FieldReader::new(payload);
    let id = r.required_str("id", 64);
    let reason = parse_reason(&mut r);
    r.finish()
        .map_err(|fields| IncidentError::InvalidInput { fields })?;
    let id = id.unwrap_or_default();

    let (before, mut after) = load_for(tx, tenant_id, &id, Transition::Acknowledge).await?;
    after.acknowledged_at = Some(now.into());
    after.acknowledged_by = Some(actor.actor_id.clone());
    let after = commit_transition(
        tx,
        &before,
        after,
        Transition::Acknowledge,
        actor,
        now,
        reason.clone(),
    )
    .await?;
    let incident = Incident::try_from(after)?;
    let before = Incident::try_from(before)?;
    Ok(Outcome {
        audit: vec![AuditDraft {
            entity_type: "incident",
            entity_id: incident.id.clone(),
            action: "incidents.write.acknowledge",
            reason,
            before_state: Some(audit_state(&before)),
            after_state: Some(audit_state(&incident)),
        }],
        events: vec![DomainEvent::IncidentAcknowledged {
            incident_id: incident.id.clone(),
            incident_state: incident.status.as_str().to_owned(),
        }],
        incident,
    })
}

/// The incident's timeline in ordinal order (`not_found` for a missing or foreign incident).
pub async fn timeline(
    tx: &Tx,
    tenant_id: &str,
    id: &str,
) -> Result<Vec<TimelineEntry>, IncidentError> {
    if incidents::find(tx, tenant_id, id).await?.is_none() {
        return Err(IncidentError::NotFound { id: id.to_owned() });
    }
    Ok(timeline_driver::list(tx, tenant_id, id)
        .await?
        .into_iter()
        .map(TimelineEntry::from)
        .collect())
}

/// Loads the incident and decides the transition; returns the row before and a copy moved to the new state
/// (with `updated_at`, `version` still to be set by [`commit_transition`]).
async fn load_for(
    tx: &Tx,
    tenant_id: &str,
    id: &str,
    transition: Transition,
) -> Result<(IncidentRow, IncidentRow), IncidentError> {
    let before = incidents::find(tx, tenant_id, id)
        .await?
        .ok_or_else(|| IncidentError::NotFound { id: id.to_owned() })?;
    let from = Incident::try_from(before.clone())?.status;
    let to = lifecycle::apply(from, transition)?;
    let mut after = before.clone();
    after.status = to.as_str().to_owned();
    Ok((before, after))
}

/// Writes the transition with compare-and-set on (id, tenant, allowed from-states, version), then its
/// timeline row. A concurrent writer that got there first turns this call into `invalid_transition` from the
/// state it left behind.
async fn commit_transition(
    tx: &Tx,
    before: &IncidentRow,
    mut after: IncidentRow,
    transition: Transition,
    actor: &Actor,
    now: OffsetDateTime,
    reason: Option<String>,
) -> Result<IncidentRow, IncidentError> {
    after.updated_at = now.into();
    after.version = before.version + 1;
    let allowed: Vec<&str> = transition
        .allowed_from()
        .iter()
        .map(|s| s.as_str())
        .collect();
    if !incidents::compare_and_set(tx, &allowed, before.version, &after).await? {
        let current = incidents::find(tx, &before.tenant_id, &before.id)
            .await?
            .ok_or_else(|| IncidentError::NotFound {
                id: before.id.clone(),
            })?;
        let from = Incident::try_from(current)?.status;
        return Err(IncidentError::InvalidTransition {
            from,
            to: transition.target(),
        });
    }
    let description = match reason {
        Some(reason) => format!("{} → {}: {reason}", before.status, after.status),
        None => format!("{} → {}", before.status, after.status),
    };
    append_timeline(
        tx,
        &after,
        Some(before.status.clone()),
        transition.timeline_event(),
        actor,
        now,
        description,
    )
    .await?;
    Ok(after)
}

async fn append_timeline(
    tx: &Tx,
    incident: &IncidentRow,
    from_state: Option<String>,
    event_type: &str,
    actor: &Actor,
    now: OffsetDateTime,
    description: String,
) -> Result<(), IncidentError> {
    let ordinal = timeline_driver::next_ordinal(tx, &incident.tenant_id, &incident.id).await?;
    timeline_driver::insert(
        tx,
        TimelineRow {
            id: new_id("tl"),
            tenant_id: incident.tenant_id.clone(),
            incident_id: incident.id.clone(),
            ordinal,
            event_type: event_type.to_owned(),
            from_state,
            to_state: incident.status.clone(),
            actor_type: actor.actor_type.as_str().to_owned(),
            actor_id: actor.actor_id.clone(),
            description,
            created_at: now.into(),
        },
    )
    .await?;
    Ok(())
}

/// The part of an incident the audit ledger records before and after a change.
fn audit_state(incident: &Incident) -> Value {
    json!({
        "status": incident.status,
        "version": incident.version,
        "severity": incident.severity,
        "acknowledged_by": incident.acknowledged_by,
        "resolution_type": incident.resolution_type,
        "resolution_method": incident.resolution_method,
        "postmortem_artifact_id": incident.postmortem_artifact_id,
    })
}

/// One incident of the tenant (`not_found` for a missing or foreign one).
pub async fn get(tx: &Tx, tenant_id: &str, id: &str) -> Result<Incident, IncidentError> {
    let row = incidents::find(tx, tenant_id, id)
        .await?
        .ok_or_else(|| IncidentError::NotFound { id: id.to_owned() })?;
    Ok(Incident::try_from(row)?)
}
