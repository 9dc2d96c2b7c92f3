//! Write procedures: read, decide (pure), write through the drivers with the borrowed transaction, and hand the
//! audit drafts and domain events back to the spine. Nothing here commits.

use hoc_contracts::input::{
    FreeText, PostmortemStatus, ResolutionMethod, ResolutionType, Slug, Text, TimelineKind,
    labels_column,
};
use hoc_contracts::outcome::AuditDraft;
use hoc_contracts::{DomainEvent, FieldError};
use hoc_drivers::{
    IncidentRow, PostmortemRow, Stored, TimelineRow, Tx, incidents, postmortems,
    timeline as timeline_driver,
};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::grouping::{Grouping, GroupingFields};
use crate::lifecycle::{self, Transition};
use crate::limits::{INCIDENT_ID_MAX_CHARS, POSTMORTEM_ID_MAX_CHARS, TITLE_MAX_CHARS};
use crate::{
    Actor, Incident, IncidentError, IncidentState, MAX_TEXT_CHARS, NewIncident, Postmortem,
    PostmortemStub,
};

/// How often a transition re-reads and re-decides after losing a compare-and-set race before giving up.
pub(crate) const MAX_ATTEMPTS: usize = 16;
/// Who calls a procedure, and when: everything a write stamps on the rows it writes.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    /// The tenant, from the authenticated context.
    pub tenant_id: &'a str,
    /// Who acts.
    pub actor: &'a Actor,
    /// The request, written on every timeline row (and, by the spine, audit row and event) of the call.
    pub request_id: &'a str,
    /// The time of the call (one value for the whole operation).
    pub now: OffsetDateTime,
}

/// An incident id as callers send it.
pub type IncidentId = Text<{ INCIDENT_ID_MAX_CHARS }>;
/// A reason, a summary: free text.
pub type Reason = FreeText<{ MAX_TEXT_CHARS }>;

hoc_contracts::request! {
    /// Acknowledge an open incident: someone is on it.
    pub struct AcknowledgeIncident => Acknowledge {
        /// The incident.
        id: String => required IncidentId,
        /// Why (optional).
        reason: Option<String> => optional Reason,
    }
}

hoc_contracts::request! {
    /// Resolve an open or acknowledged incident with its resolution record.
    pub struct ResolveIncident => Resolve {
        /// The incident.
        id: String => required IncidentId,
        /// How it was resolved: `manual`, `auto`, `rollback`, `hotfix`, `config_change`, `mitigated`,
        /// `duplicate`, `false_positive` or `other`.
        resolution_type: Option<String> => required ResolutionType,
        /// What was done.
        resolution_summary: Option<String> => optional Reason,
        /// The incident's own postmortem (from `create_postmortem_stub`).
        postmortem_artifact_id: Option<String> => optional Text<{ POSTMORTEM_ID_MAX_CHARS }>,
        /// Why.
        reason: Option<String> => optional Reason,
    }
}

hoc_contracts::request! {
    /// Close an open or acknowledged incident by hand, without a fix (`resolution_method` = `manual_closure`).
    pub struct CloseIncident => Close {
        /// The incident.
        id: String => required IncidentId,
        /// Why it is closed (required).
        reason: Option<String> => required Reason,
    }
}

hoc_contracts::request! {
    /// Return a resolved or closed incident to open.
    pub struct ReopenIncident => Reopen {
        /// The incident.
        id: String => required IncidentId,
        /// Why.
        reason: Option<String> => optional Reason,
    }
}

hoc_contracts::request! {
    /// Create the incident's postmortem stub, or get the one it has.
    pub struct CreatePostmortemStub => NewPostmortem {
        /// The incident.
        incident_id: String => required IncidentId,
        /// The title (default: "Postmortem: <incident title>").
        title: Option<String> => optional Text<{ TITLE_MAX_CHARS }>,
    }
}

/// What a procedure did (the incident after the change, for lifecycle procedures).
pub type Outcome<T = Incident> = hoc_contracts::outcome::Outcome<T>;

pub(crate) fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7())
}

/// Creates an incident in state `open`, with its recurrence signature.
pub async fn create(
    tx: &Tx,
    caller: &Caller<'_>,
    input: NewIncident,
) -> Result<Outcome, IncidentError> {
    Ok(create_row(tx, caller, input, None, None).await?.0)
}

/// [`create`], with the row it wrote (for a caller that goes on writing to the incident in the same transaction:
/// nobody else sees the row before the commit, so it needs no lock or read), signed by `grouping` when the caller
/// loaded the tenant's configuration already (and knows it is still the current one). With `timeline`, the
/// incident's first timeline row is pushed there for the caller to insert with its own rows (before any other row of
/// the incident), instead of being inserted here.
pub(crate) async fn create_row(
    tx: &Tx,
    caller: &Caller<'_>,
    input: NewIncident,
    grouping: Option<&Grouping>,
    timeline: Option<&mut Vec<TimelineRow>>,
) -> Result<(Outcome, IncidentRow), IncidentError> {
    let (tenant_id, now) = (caller.tenant_id, caller.now);
    let text = |t: Option<Text<64>>| t.map(Text::into_string);
    let input_error_message = input.error_message.map(FreeText::into_string);
    let (trigger_type, source_type, error_code) = (
        text(input.trigger_type),
        text(input.source_type),
        text(input.error_code),
    );
    let category = input.category.into_string();
    let source_ref = input.source_ref.map(Text::into_string);
    // The tenant's grouping configuration decides the signature (one statement; one more during a transition).
    let loaded;
    let grouping = match grouping {
        Some(grouping) => grouping,
        None => {
            loaded = Grouping::load(tx, tenant_id).await?;
            &loaded
        }
    };
    let signature = grouping
        .assign(
            tx,
            tenant_id,
            &GroupingFields {
                category: &category,
                severity: input.severity.as_str(),
                title: input.title.as_str(),
                error_code: error_code.as_deref(),
                error_message: input_error_message.as_deref(),
                trigger_type: trigger_type.as_deref(),
                source_type: source_type.as_deref(),
                source_ref: source_ref.as_deref(),
            },
            input.fingerprint.as_deref(),
        )
        .await?;
    let signature_inputs = serde_json::to_string(&signature.inputs).map_err(|e| {
        IncidentError::Storage(hoc_drivers::StorageError::Corrupt {
            table: "incidents",
            problem: format!("signature inputs do not serialize: {e}"),
        })
    })?;
    let row = IncidentRow {
        id: new_id("inc"),
        tenant_id: tenant_id.to_owned(),
        title: input.title.into_string(),
        severity: Stored(input.severity),
        category,
        status: Stored(IncidentState::Open),
        trigger_type,
        source_type,
        source_ref,
        error_code,
        error_message: input_error_message,
        description: input.description.map(FreeText::into_string),
        recurrence_signature: Some(signature.signature),
        signature_version: Some(signature.version.to_owned()),
        signature_inputs: Some(signature_inputs),
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
        service: input.service.map(Slug::into_string),
        labels: input.labels.as_ref().and_then(labels_column),
        assignee: None,
        duplicate_of: None,
        duplicates: None,
    };
    incidents::insert(tx, row.clone()).await?;
    let opened = timeline_row(
        &row,
        None,
        TimelineKind::Created,
        caller,
        "incident opened".to_owned(),
    );
    match timeline {
        Some(pending) => pending.push(opened),
        None => {
            timeline_driver::insert(tx, opened).await?;
        }
    }
    let incident = Incident::from(row.clone());
    let outcome = Outcome {
        audit: vec![AuditDraft {
            entity_type: "incident",
            entity_id: incident.id.clone(),
            action: "incidents.write.create",
            reason: None,
            before_state: None,
            after_state: Some(audit_state(&incident)),
        }],
        events: vec![DomainEvent::IncidentCreated(
            hoc_contracts::events::IncidentCreated {
                incident_id: incident.id.clone(),
                incident_state: incident.status,
                severity: incident.severity,
                recurrence_signature: incident.recurrence_signature.clone().unwrap_or_default(),
                signature_version: incident.signature_version.clone().unwrap_or_default(),
            },
        )],
        response: incident,
    };
    Ok((outcome, row))
}

/// Acknowledges an open incident.
pub async fn acknowledge(
    tx: &Tx,
    caller: &Caller<'_>,
    input: Acknowledge,
) -> Result<Outcome, IncidentError> {
    let (actor, now) = (caller.actor, caller.now);
    let (id, reason) = (
        input.id.into_string(),
        input.reason.map(FreeText::into_string),
    );
    let change = transition(
        tx,
        caller,
        &id,
        Transition::Acknowledge,
        reason.as_deref(),
        |row| {
            row.acknowledged_at = Some(now.into());
            row.acknowledged_by = Some(actor.actor_id.clone());
            // Acknowledging an unassigned incident takes it.
            if row.assignee.is_none() {
                row.assignee = Some(actor.actor_id.clone());
            }
        },
    )
    .await?;
    // Taking an unassigned incident is part of the acknowledgement: its event (the seed's fields) says who acted
    // in the envelope's `actor_id`, the timeline row says it was assigned.
    Ok(
        change.into_outcome("incidents.write.acknowledge", reason, |incident| {
            DomainEvent::IncidentAcknowledged(hoc_contracts::events::IncidentAcknowledged {
                incident_id: incident.id.clone(),
                incident_state: incident.status,
            })
        }),
    )
}

/// Resolves an open or acknowledged incident with its resolution record; the postmortem must belong to the same
/// tenant.
pub async fn resolve(
    tx: &Tx,
    caller: &Caller<'_>,
    input: Resolve,
) -> Result<Outcome, IncidentError> {
    let (tenant_id, actor, now) = (caller.tenant_id, caller.actor, caller.now);
    let id = input.id.into_string();
    let resolution_type = input.resolution_type;
    let resolution_summary = input.resolution_summary.map(FreeText::into_string);
    let postmortem_id = input.postmortem_artifact_id.map(Text::into_string);
    let reason = input.reason.map(FreeText::into_string);
    if let Some(pm) = &postmortem_id {
        // A missing incident is not found before its postmortem can be the wrong one.
        find(tx, tenant_id, &id).await?;
        match postmortems::find(tx, tenant_id, pm).await? {
            None => {
                return Err(IncidentError::NotFound {
                    entity: "postmortem",
                    id: pm.clone(),
                });
            }
            Some(found) if found.incident_id != id => {
                return Err(IncidentError::InvalidInput {
                    fields: vec![FieldError::new(
                        "postmortem_artifact_id",
                        format!(
                            "is the postmortem of incident {}, not of {id}",
                            found.incident_id
                        ),
                    )],
                });
            }
            Some(_) => {}
        }
    }
    let change = transition(
        tx,
        caller,
        &id,
        Transition::Resolve,
        reason.as_deref(),
        |row| {
            row.resolved_at = Some(now.into());
            row.resolved_by = Some(actor.actor_id.clone());
            row.resolution_type = Some(Stored(resolution_type));
            row.resolution_summary = resolution_summary.clone();
            if let Some(pm) = &postmortem_id {
                row.postmortem_artifact_id = Some(pm.clone());
            }
        },
    )
    .await?;
    Ok(
        change.into_outcome("incidents.write.resolve", reason, |incident| {
            DomainEvent::IncidentResolved(hoc_contracts::events::IncidentResolved {
                incident_id: incident.id.clone(),
                incident_state: incident.status,
                resolution_type,
            })
        }),
    )
}

/// Closes an open or acknowledged incident by hand (the reason is required).
pub async fn close(tx: &Tx, caller: &Caller<'_>, input: Close) -> Result<Outcome, IncidentError> {
    let (actor, now) = (caller.actor, caller.now);
    let id = input.id.into_string();
    let reason = Some(input.reason.into_string());
    let change = transition(
        tx,
        caller,
        &id,
        Transition::Close,
        reason.as_deref(),
        |row| {
            row.closed_at = Some(now.into());
            row.closed_by = Some(actor.actor_id.clone());
            row.resolution_method = Some(Stored(ResolutionMethod::ManualClosure));
            row.close_reason = reason.clone();
        },
    )
    .await?;
    Ok(
        change.into_outcome("incidents.write.close", reason, |incident| {
            DomainEvent::IncidentManuallyClosed(hoc_contracts::events::IncidentManuallyClosed {
                incident_id: incident.id.clone(),
                incident_state: incident.status,
                resolution_method: ResolutionMethod::ManualClosure,
            })
        }),
    )
}

/// What a reopen clears: the resolution (type, summary, method, close reason, who and when), the acknowledgement
/// and a duplicate link, because they no longer describe the incident.
pub(crate) fn clear_resolution(row: &mut IncidentRow) {
    row.acknowledged_at = None;
    row.acknowledged_by = None;
    row.resolved_at = None;
    row.resolved_by = None;
    row.closed_at = None;
    row.closed_by = None;
    row.resolution_type = None;
    row.resolution_summary = None;
    row.resolution_method = None;
    row.close_reason = None;
    row.duplicate_of = None;
}

/// Creates the incident's postmortem stub, or returns the existing one (writing nothing and emitting nothing).
/// The incident's `postmortem_artifact_id` then names it.
pub async fn create_postmortem_stub(
    tx: &Tx,
    caller: &Caller<'_>,
    input: NewPostmortem,
) -> Result<Outcome<PostmortemStub>, IncidentError> {
    let (tenant_id, actor, now) = (caller.tenant_id, caller.actor, caller.now);
    let incident_id = input.incident_id.into_string();
    let title = input.title.map(Text::into_string);

    for _ in 0..MAX_ATTEMPTS {
        let before = find(tx, tenant_id, &incident_id).await?;
        if let Some(existing) = postmortems::find_for_incident(tx, tenant_id, &incident_id).await? {
            return Ok(Outcome {
                response: PostmortemStub {
                    postmortem: existing.into(),
                    created: false,
                },
                audit: vec![],
                events: vec![],
            });
        }
        let postmortem = PostmortemRow {
            id: new_id("pm"),
            tenant_id: tenant_id.to_owned(),
            incident_id: incident_id.clone(),
            title: title.clone().unwrap_or_else(|| {
                format!("Postmortem: {}", before.title)
                    .chars()
                    .take(crate::limits::TITLE_MAX_CHARS)
                    .collect()
            }),
            status: Stored(PostmortemStatus::Draft),
            created_by: actor.actor_id.clone(),
            created_at: now.into(),
        };
        let mut after = before.clone();
        after.postmortem_artifact_id = Some(postmortem.id.clone());
        after.updated_at = now.into();
        after.version = before.version + 1;
        // Locks the incident (and proves nobody changed it since we looked) before the postmortem is written,
        // so two concurrent stubs cannot both be created: the loser re-reads and finds the winner's.
        if !incidents::compare_and_set(tx, &[before.status.get()], &before, &after).await? {
            continue;
        }
        postmortems::insert(tx, postmortem.clone()).await?;
        let description = format!("postmortem {} created", postmortem.id);
        append_timeline(
            tx,
            &after,
            Some(before.status.get()),
            TimelineKind::PostmortemCreated,
            caller,
            description,
        )
        .await?;
        let before = Incident::from(before);
        let incident = Incident::from(after);
        let postmortem = Postmortem::from(postmortem);
        return Ok(Outcome {
            audit: vec![AuditDraft {
                entity_type: "incident",
                entity_id: incident.id.clone(),
                action: "incidents.recurrence.create_postmortem_stub",
                reason: None,
                before_state: Some(audit_state(&before)),
                after_state: Some(audit_state(&incident)),
            }],
            events: vec![DomainEvent::PostmortemCreated(
                hoc_contracts::events::PostmortemCreated {
                    incident_id: incident.id.clone(),
                    postmortem_artifact_id: postmortem.id.clone(),
                },
            )],
            response: PostmortemStub {
                postmortem,
                created: true,
            },
        });
    }
    Err(IncidentError::Contended { id: incident_id })
}

pub(crate) async fn find(tx: &Tx, tenant_id: &str, id: &str) -> Result<IncidentRow, IncidentError> {
    incidents::find(tx, tenant_id, id)
        .await?
        .ok_or_else(|| IncidentError::NotFound {
            entity: "incident",
            id: id.to_owned(),
        })
}

/// A change that was applied: the incident before and after.
pub(crate) struct Change {
    pub(crate) before: Incident,
    pub(crate) after: Incident,
}

impl Change {
    pub(crate) fn into_outcome(
        self,
        action: &'static str,
        reason: Option<String>,
        event: impl FnOnce(&Incident) -> DomainEvent,
    ) -> Outcome {
        Outcome {
            audit: vec![AuditDraft {
                entity_type: "incident",
                entity_id: self.after.id.clone(),
                action,
                reason,
                before_state: Some(audit_state(&self.before)),
                after_state: Some(audit_state(&self.after)),
            }],
            events: vec![event(&self.after)],
            response: self.after,
        }
    }
}

/// Applies a lifecycle transition with compare-and-set on (id, tenant, allowed from-states, version), then writes
/// its timeline row. Losing the race to a concurrent writer means: read the incident again and decide again, so a
/// loser either applies cleanly on the new state or gets `invalid_transition` from the state the winner left.
pub(crate) async fn transition(
    tx: &Tx,
    caller: &Caller<'_>,
    id: &str,
    transition: Transition,
    reason: Option<&str>,
    apply: impl Fn(&mut IncidentRow),
) -> Result<Change, IncidentError> {
    let tenant_id = caller.tenant_id;
    let allowed = transition.allowed_from();
    for _ in 0..MAX_ATTEMPTS {
        let before = find(tx, tenant_id, id).await?;
        let from = before.status.get();
        let to = lifecycle::apply(from, transition)?;
        let mut after = before.clone();
        after.status = Stored(to);
        apply(&mut after);
        let mut description = match reason {
            Some(reason) => format!("{from} → {to}: {reason}"),
            None => format!("{from} → {to}"),
        };
        if before.assignee.is_none()
            && let Some(assignee) = &after.assignee
        {
            description.push_str(&format!(" (assigned to {assignee})"));
        }
        let kind = transition.timeline_event();
        if let Some(change) =
            write_change(tx, caller, allowed, before, after, kind, description).await?
        {
            return Ok(change);
        }
    }
    Err(IncidentError::Contended { id: id.to_owned() })
}

/// Writes `after` over `before` as the incident's next version — compare-and-set on (id, tenant, one of
/// `allowed`, version) — with its timeline row of `kind`; `None` when a concurrent writer changed the incident
/// first (the caller re-reads and decides again, or answers `stale_version`).
pub(crate) async fn write_change(
    tx: &Tx,
    caller: &Caller<'_>,
    allowed: &[IncidentState],
    before: IncidentRow,
    mut after: IncidentRow,
    kind: TimelineKind,
    description: String,
) -> Result<Option<Change>, IncidentError> {
    after.updated_at = caller.now.into();
    after.version = before.version + 1;
    if !incidents::compare_and_set(tx, allowed, &before, &after).await? {
        return Ok(None);
    }
    append_timeline(
        tx,
        &after,
        Some(before.status.get()),
        kind,
        caller,
        description,
    )
    .await?;
    Ok(Some(Change {
        before: Incident::from(before),
        after: Incident::from(after),
    }))
}

pub(crate) async fn append_timeline(
    tx: &Tx,
    incident: &IncidentRow,
    from_state: Option<IncidentState>,
    event_type: TimelineKind,
    caller: &Caller<'_>,
    description: String,
) -> Result<(), IncidentError> {
    // Every change of an incident makes one new version and one timeline row; a note or the target side of a
    // duplicate link adds a row without a version. The driver numbers the row one past the incident's last.
    let row = timeline_row(incident, from_state, event_type, caller, description);
    timeline_driver::insert(tx, row).await?;
    Ok(())
}

/// The timeline row [`append_timeline`] appends (unnumbered: the driver numbers it).
pub(crate) fn timeline_row(
    incident: &IncidentRow,
    from_state: Option<IncidentState>,
    event_type: TimelineKind,
    caller: &Caller<'_>,
    description: String,
) -> TimelineRow {
    let (actor, now) = (caller.actor, caller.now);
    TimelineRow {
        id: new_id("tl"),
        tenant_id: incident.tenant_id.clone(),
        incident_id: incident.id.clone(),
        ordinal: 0,
        event_type: Stored(event_type),
        from_state: from_state.map(Stored),
        to_state: incident.status,
        actor_type: Stored(actor.actor_type),
        actor_id: actor.actor_id.clone(),
        description,
        created_at: now.into(),
        request_id: Some(caller.request_id.to_owned()),
    }
}

/// The part of an incident the audit ledger records before and after a change: its state and its whole
/// resolution record, so a reopen never loses the resolution it cleared.
pub(crate) fn audit_state(incident: &Incident) -> Value {
    let time = |t: Option<OffsetDateTime>| t.map(hoc_contracts::time_format::format_utc);
    json!({
        "status": incident.status,
        "version": incident.version,
        "severity": incident.severity,
        "acknowledged_by": incident.acknowledged_by,
        "acknowledged_at": time(incident.acknowledged_at),
        "resolution_type": incident.resolution_type,
        "resolution_summary": incident.resolution_summary,
        "resolution_method": incident.resolution_method,
        "close_reason": incident.close_reason,
        "resolved_by": incident.resolved_by,
        "resolved_at": time(incident.resolved_at),
        "closed_by": incident.closed_by,
        "closed_at": time(incident.closed_at),
        "postmortem_artifact_id": incident.postmortem_artifact_id,
        "assignee": incident.assignee,
        "service": incident.service,
        "labels": incident.labels,
        "duplicate_of": incident.duplicate_of,
    })
}
