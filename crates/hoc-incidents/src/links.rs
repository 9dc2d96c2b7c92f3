//! Duplicate links (issue 22): an incident marked a duplicate of another open incident of the same tenant is
//! closed with `resolution_method` = `duplicate` and `duplicate_of` naming the target; the target lists it in its
//! `duplicates`. Both incidents change — each gets its next version, timeline row, audit entry and event (the
//! target's is `IncidentEdited` of `duplicates`) — so a read at an instant shows the link as it was. Undoing the
//! link reopens the duplicate and takes it off the target's list. A link to itself or to an incident that is not
//! open (which also rules out every cycle: a duplicate is closed) is `invalid_transition`.

use hoc_contracts::DomainEvent;
use hoc_contracts::input::{FreeText, ResolutionMethod, TimelineKind, Vocabulary};
use hoc_drivers::{DbTime, IncidentRow, Stored, Tx};

use crate::lifecycle::{self, Transition};
use crate::procedures::{Change, Reopen, clear_resolution, find, transition, write_change};
use crate::{Caller, IncidentError, IncidentId, IncidentState, Outcome, Reason};

hoc_contracts::request! {
    /// Close an open or acknowledged incident as a duplicate of another open incident of the tenant.
    pub struct MarkDuplicate => DuplicateLink {
        /// The incident that duplicates another.
        id: String => required IncidentId,
        /// The incident it duplicates (open or acknowledged).
        target_id: Option<String> => required IncidentId,
        /// Why (optional).
        reason: Option<String> => optional Reason,
    }
}

hoc_contracts::request! {
    /// Undo a duplicate link: the duplicate is reopened.
    pub struct RemoveDuplicate => DuplicateUnlink {
        /// The incident marked a duplicate.
        id: String => required IncidentId,
        /// Why (optional).
        reason: Option<String> => optional Reason,
    }
}

const OPEN: &[IncidentState] = &[IncidentState::Open, IncidentState::Acknowledged];

/// The ids a `duplicates` column holds.
fn duplicates_of(row: &IncidentRow) -> Vec<String> {
    row.duplicates
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or_default()
}

/// The `duplicates` column of `ids` (sorted, `None` when empty).
fn duplicates_column(mut ids: Vec<String>) -> Option<String> {
    ids.sort();
    ids.dedup();
    (!ids.is_empty()).then(|| serde_json::Value::from(ids).to_string())
}

/// One side of a link to write: the change and who must still be in one of `allowed`.
struct Side {
    allowed: &'static [IncidentState],
    before: IncidentRow,
    after: IncidentRow,
    kind: TimelineKind,
    description: String,
}

/// Writes both sides, in id order (two links made at once in opposite directions take their locks in one order);
/// a side that changed since it was read makes the whole call contended (the transaction is rolled back).
async fn write_both(
    tx: &Tx,
    caller: &Caller<'_>,
    source: Side,
    target: Side,
) -> Result<(Change, Change), IncidentError> {
    let source_first = source.before.id < target.before.id;
    let (first, second) = if source_first {
        (source, target)
    } else {
        (target, source)
    };
    let first = write_side(tx, caller, first).await?;
    let second = write_side(tx, caller, second).await?;
    Ok(if source_first {
        (first, second)
    } else {
        (second, first)
    })
}

async fn write_side(tx: &Tx, caller: &Caller<'_>, side: Side) -> Result<Change, IncidentError> {
    let id = side.before.id.clone();
    write_change(
        tx,
        caller,
        side.allowed,
        side.before,
        side.after,
        side.kind,
        side.description,
    )
    .await?
    .ok_or(IncidentError::Contended { id })
}

fn with_reason(mut description: String, reason: Option<&str>) -> String {
    if let Some(reason) = reason {
        description.push_str(": ");
        description.push_str(reason);
    }
    description
}

/// The target's event: its `duplicates` changed.
fn target_event(incident: &crate::Incident) -> DomainEvent {
    DomainEvent::IncidentEdited(hoc_contracts::events::IncidentEdited {
        incident_id: incident.id.clone(),
        incident_state: incident.status,
        version: incident.version,
        edited_fields: "duplicates".to_owned(),
    })
}

/// Marks `id` a duplicate of `target_id`: closes it with the link and adds it to the target's duplicates.
pub async fn mark_duplicate(
    tx: &Tx,
    caller: &Caller<'_>,
    input: DuplicateLink,
) -> Result<Outcome, IncidentError> {
    let (id, target_id) = (input.id.into_string(), input.target_id.into_string());
    let reason = input.reason.map(FreeText::into_string);
    // Not found (in this tenant) comes before any rule, for either incident.
    let before = find(tx, caller.tenant_id, &id).await?;
    let target = find(tx, caller.tenant_id, &target_id).await?;
    let from = before.status.get();
    let to = lifecycle::apply(from, Transition::Close)?;
    if id == target_id {
        return Err(IncidentError::InvalidTransition { from, to });
    }
    if !OPEN.contains(&target.status.get()) {
        // A target that is resolved or closed (a duplicate is closed, so no link can close a cycle).
        return Err(IncidentError::InvalidTransition {
            from: target.status.get(),
            to,
        });
    }
    let mut after = before.clone();
    after.status = Stored(to);
    after.closed_at = Some(DbTime::from(caller.now));
    after.closed_by = Some(caller.actor.actor_id.clone());
    after.resolution_method = Some(Stored(ResolutionMethod::Duplicate));
    after.close_reason = reason.clone();
    after.duplicate_of = Some(target_id.clone());
    let mut target_after = target.clone();
    let mut listed = duplicates_of(&target);
    listed.push(id.clone());
    target_after.duplicates = duplicates_column(listed);
    let (source, target) = write_both(
        tx,
        caller,
        Side {
            allowed: Transition::Close.allowed_from(),
            before,
            after,
            kind: TimelineKind::DuplicateMarked,
            description: with_reason(
                format!("{from} → {to}: duplicate of {target_id}"),
                reason.as_deref(),
            ),
        },
        Side {
            allowed: OPEN,
            description: format!("{id} marked a duplicate of this incident"),
            before: target,
            after: target_after,
            kind: TimelineKind::DuplicateMarked,
        },
    )
    .await?;
    let target = target.into_outcome("incidents.links.target_marked", None, target_event);
    let mut outcome = source.into_outcome("incidents.links.mark_duplicate", reason, |incident| {
        DomainEvent::IncidentMarkedDuplicate(hoc_contracts::events::IncidentMarkedDuplicate {
            incident_id: incident.id.clone(),
            incident_state: incident.status,
            duplicate_of: target_id.clone(),
            resolution_method: ResolutionMethod::Duplicate,
        })
    });
    outcome.audit.extend(target.audit);
    outcome.events.extend(target.events);
    Ok(outcome)
}

/// Undoes the duplicate link of `id`: reopens it (clearing its closure and the link) and takes it off the target's
/// duplicates, whatever state the target is in. An incident that is not a duplicate is `invalid_transition`.
pub async fn remove_duplicate(
    tx: &Tx,
    caller: &Caller<'_>,
    input: DuplicateUnlink,
) -> Result<Outcome, IncidentError> {
    let id = input.id.into_string();
    let reason = input.reason.map(FreeText::into_string);
    unlink(tx, caller, find(tx, caller.tenant_id, &id).await?, reason).await
}

/// Returns a resolved or closed incident to `open`.
///
/// The incident's current resolution (type, summary, method, close reason, who and when) and acknowledgement are
/// cleared, because they no longer describe it; the timeline and the audit ledger (whose `before_state` holds
/// them) keep the history. The postmortem link stays. Reopening a duplicate is the undoing of its link (it lives here,
/// beside the links, for that reason).
pub async fn reopen(tx: &Tx, caller: &Caller<'_>, input: Reopen) -> Result<Outcome, IncidentError> {
    let (id, reason) = (
        input.id.into_string(),
        input.reason.map(FreeText::into_string),
    );
    // Reopening a duplicate undoes its link (the target's list must not keep an open incident).
    let found = find(tx, caller.tenant_id, &id).await?;
    if found.duplicate_of.is_some() {
        return unlink(tx, caller, found, reason).await;
    }
    let change = transition(
        tx,
        caller,
        &id,
        Transition::Reopen,
        reason.as_deref(),
        clear_resolution,
    )
    .await?;
    let previous_state = change.before.status;
    Ok(
        change.into_outcome("incidents.write.reopen", reason, |incident| {
            DomainEvent::IncidentReopened(hoc_contracts::events::IncidentReopened {
                incident_id: incident.id.clone(),
                incident_state: incident.status,
                previous_state,
            })
        }),
    )
}

/// [`remove_duplicate`] of a row already read (a reopen of a duplicate is its undoing).
async fn unlink(
    tx: &Tx,
    caller: &Caller<'_>,
    before: IncidentRow,
    reason: Option<String>,
) -> Result<Outcome, IncidentError> {
    let from = before.status.get();
    let Some(target_id) = before.duplicate_of.clone() else {
        return Err(IncidentError::InvalidTransition {
            from,
            to: IncidentState::Open,
        });
    };
    let to = lifecycle::apply(from, Transition::Reopen)?;
    let target = find(tx, caller.tenant_id, &target_id).await?;
    let mut after = before.clone();
    after.status = Stored(to);
    clear_resolution(&mut after);
    let mut target_after = target.clone();
    let id = before.id.clone();
    target_after.duplicates = duplicates_column(
        duplicates_of(&target)
            .into_iter()
            .filter(|d| *d != id)
            .collect(),
    );
    let (source, target) = write_both(
        tx,
        caller,
        Side {
            allowed: &[IncidentState::Closed],
            before,
            after,
            kind: TimelineKind::DuplicateRemoved,
            description: with_reason(
                format!("{from} → {to}: no longer a duplicate of {target_id}"),
                reason.as_deref(),
            ),
        },
        Side {
            allowed: IncidentState::ALL,
            description: format!("{id} is no longer a duplicate of this incident"),
            before: target,
            after: target_after,
            kind: TimelineKind::DuplicateRemoved,
        },
    )
    .await?;
    let target = target.into_outcome("incidents.links.target_unmarked", None, target_event);
    let mut outcome = source.into_outcome("incidents.links.remove_duplicate", reason, |incident| {
        DomainEvent::IncidentDuplicateRemoved(hoc_contracts::events::IncidentDuplicateRemoved {
            incident_id: incident.id.clone(),
            incident_state: incident.status,
            previous_duplicate_of: target_id.clone(),
        })
    });
    outcome.audit.extend(target.audit);
    outcome.events.extend(target.events);
    Ok(outcome)
}
