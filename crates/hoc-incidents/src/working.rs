//! Working an incident without moving it through its lifecycle (issue 22): change its severity, edit its title
//! and description. Each is a compare-and-set on the incident's version with its timeline row, audit draft and
//! event, in any state; asking for what the incident already has changes nothing.

use std::collections::BTreeMap;

use hoc_contracts::DomainEvent;
use hoc_contracts::input::{
    FreeText, JsonInt, Labels, Patch, Severity, Slug, Text, TimelineKind, Vocabulary, labels_column,
};
use hoc_drivers::{IncidentRow, Stored, Tx};

use crate::limits::{ACTOR_ID_MAX_CHARS, TITLE_MAX_CHARS};
use crate::model::Service;
use crate::procedures::{Change, MAX_ATTEMPTS, find, write_change};
use crate::{Caller, Incident, IncidentError, IncidentId, IncidentState, Outcome, Reason};

hoc_contracts::request! {
    /// Raise or lower an incident's severity, saying why; allowed in every state (a closed incident's severity
    /// may be corrected for its postmortem).
    pub struct ChangeSeverity => SeverityChange {
        /// The incident.
        id: String => required IncidentId,
        /// The new severity: `critical`, `high`, `medium`, `low` or `info`.
        severity: Option<String> => required Severity,
        /// Why (required).
        reason: Option<String> => required Reason,
    }
}

/// An incident's version as a caller expects it (its first version is 1).
pub type IncidentVersion = hoc_contracts::input::Version<1>;

hoc_contracts::request! {
    /// Edit an incident's title or description, in any state. `expected_version` must be the incident's current
    /// version (else 409 `stale_version`, nothing written); the recurrence signature does not change (a regroup
    /// recomputes it).
    pub struct EditIncident => Edit {
        /// The incident.
        id: String => required IncidentId,
        /// The version the edit was made against (the incident's `version` as the caller read it).
        expected_version: Option<JsonInt> => required IncidentVersion,
        /// The new title (1–255 characters).
        title: Option<String> => optional Text<{ TITLE_MAX_CHARS }>,
        /// The new description; `null` clears it.
        description: Patch<String> => clearable Reason,
        /// The service it affects (1–64 of `[a-z0-9._-]`); `null` clears it.
        service: Patch<String> => clearable Service,
        /// Its labels, replacing the ones it has (at most 32); `null` or `{}` removes them all.
        labels: Patch<BTreeMap<String, String>> => clearable Labels,
    }
}

/// An actor id as callers name an assignee.
pub type AssigneeId = Text<{ ACTOR_ID_MAX_CHARS }>;

hoc_contracts::request! {
    /// Hand an incident to an actor, to another one, or to nobody (`assignee: null`), in any state.
    pub struct AssignIncident => Assignment {
        /// The incident.
        id: String => required IncidentId,
        /// The actor who owns it from now on (an actor id as the keys name them); `null` unassigns it.
        assignee: Option<String> => optional AssigneeId,
        /// Why (optional).
        reason: Option<String> => optional Reason,
    }
}

/// [`write_change`] in any state: a change that is not a transition.
async fn change(
    tx: &Tx,
    caller: &Caller<'_>,
    before: IncidentRow,
    after: IncidentRow,
    kind: TimelineKind,
    description: String,
) -> Result<Option<Change>, IncidentError> {
    write_change(
        tx,
        caller,
        IncidentState::ALL,
        before,
        after,
        kind,
        description,
    )
    .await
}

fn unchanged(row: IncidentRow) -> Outcome {
    Outcome {
        response: Incident::from(row),
        audit: Vec::new(),
        events: Vec::new(),
    }
}

/// Changes an incident's severity (escalates towards `critical`, de-escalates towards `info`), in any state. The
/// timeline says which, from and to, and why; the event carries both. Asking for the severity it already has
/// changes nothing: no version, no timeline row, no audit entry, no event.
pub async fn change_severity(
    tx: &Tx,
    caller: &Caller<'_>,
    input: SeverityChange,
) -> Result<Outcome, IncidentError> {
    let tenant_id = caller.tenant_id;
    let (id, to, reason) = (
        input.id.into_string(),
        input.severity,
        input.reason.into_string(),
    );
    for _ in 0..MAX_ATTEMPTS {
        let before = find(tx, tenant_id, &id).await?;
        let from = before.severity.get();
        if from == to {
            return Ok(unchanged(before));
        }
        let mut after = before.clone();
        after.severity = Stored(to);
        // The vocabulary lists severities from the most severe down.
        let rank = |s: Severity| Severity::ALL.iter().position(|x| *x == s);
        let verb = if rank(to) < rank(from) {
            "escalated"
        } else {
            "de-escalated"
        };
        let description = format!("severity {verb} {from} → {to}: {reason}");
        let Some(change) = change(
            tx,
            caller,
            before,
            after,
            TimelineKind::SeverityChanged,
            description,
        )
        .await?
        else {
            continue;
        };
        return Ok(change.into_outcome(
            "incidents.write.change_severity",
            Some(reason),
            |incident| {
                DomainEvent::IncidentSeverityChanged(
                    hoc_contracts::events::IncidentSeverityChanged {
                        incident_id: incident.id.clone(),
                        incident_state: incident.status,
                        previous_severity: from,
                        severity: to,
                    },
                )
            },
        ));
    }
    Err(IncidentError::Contended { id })
}

/// Edits an incident's title and description against the version the caller read.
pub async fn edit(tx: &Tx, caller: &Caller<'_>, input: Edit) -> Result<Outcome, IncidentError> {
    let id = input.id.into_string();
    let title = input.title.map(Text::into_string);
    let description = input.description.map(|d| d.map(FreeText::into_string));
    let before = find(tx, caller.tenant_id, &id).await?;
    if before.version != input.expected_version {
        return Err(stale(&id, before.version, input.expected_version));
    }
    let mut after = before.clone();
    // What changed: (field, how the timeline says it).
    let mut edited: Vec<(&str, String)> = Vec::new();
    if let Some(title) = title
        && title != before.title
    {
        edited.push(("title", format!("title \"{}\" → \"{title}\"", before.title)));
        after.title = title;
    }
    if let Some(description) = description
        && description != before.description
    {
        let said = if description.is_some() {
            "description"
        } else {
            "description cleared"
        };
        edited.push(("description", said.to_owned()));
        after.description = description;
    }
    if let Some(service) = input.service.map(|s| s.map(Slug::into_string))
        && service != before.service
    {
        edited.push((
            "service",
            match &service {
                Some(service) => format!("service → {service}"),
                None => "service cleared".to_owned(),
            },
        ));
        after.service = service;
    }
    if let Some(labels) = input.labels.map(|l| l.as_ref().and_then(labels_column))
        && labels != before.labels
    {
        edited.push((
            "labels",
            match &labels {
                Some(labels) => format!("labels → {labels}"),
                None => "labels cleared".to_owned(),
            },
        ));
        after.labels = labels;
    }
    if edited.is_empty() {
        return Ok(unchanged(before));
    }
    let fields: Vec<&str> = edited.iter().map(|(field, _)| *field).collect();
    let said: Vec<&str> = edited.iter().map(|(_, said)| said.as_str()).collect();
    let expected = before.version;
    // The version was checked above; a concurrent writer in between makes the compare-and-set miss: stale.
    let Some(change) = change(
        tx,
        caller,
        before,
        after,
        TimelineKind::Edited,
        format!("edited {}", said.join(", ")),
    )
    .await?
    else {
        let now = find(tx, caller.tenant_id, &id).await?;
        return Err(stale(&id, now.version, expected));
    };
    Ok(
        change.into_outcome("incidents.write.edit", None, |incident| {
            DomainEvent::IncidentEdited(hoc_contracts::events::IncidentEdited {
                incident_id: incident.id.clone(),
                incident_state: incident.status,
                version: incident.version,
                edited_fields: fields.join(","),
            })
        }),
    )
}

fn stale(id: &str, current: i64, expected: i64) -> IncidentError {
    IncidentError::StaleVersion {
        message: format!("incident {id} is at version {current}, not {expected}"),
    }
}

/// Assigns, reassigns or unassigns an incident, in any state; the timeline says who handed it to whom. Asking for
/// the assignee it already has changes nothing.
pub async fn assign(
    tx: &Tx,
    caller: &Caller<'_>,
    input: Assignment,
) -> Result<Outcome, IncidentError> {
    let id = input.id.into_string();
    let to = input.assignee.map(Text::into_string);
    let reason = input.reason.map(FreeText::into_string);
    for _ in 0..MAX_ATTEMPTS {
        let before = find(tx, caller.tenant_id, &id).await?;
        let from = before.assignee.clone();
        if from == to {
            return Ok(unchanged(before));
        }
        let mut after = before.clone();
        after.assignee = to.clone();
        let by = &caller.actor.actor_id;
        let mut description = match (&from, &to) {
            (None, Some(to)) => format!("assigned to {to} by {by}"),
            (Some(from), Some(to)) => format!("reassigned from {from} to {to} by {by}"),
            (Some(from), None) => format!("unassigned from {from} by {by}"),
            (None, None) => String::new(),
        };
        if let Some(reason) = &reason {
            description.push_str(&format!(": {reason}"));
        }
        let Some(change) = change(
            tx,
            caller,
            before,
            after,
            TimelineKind::Assigned,
            description,
        )
        .await?
        else {
            continue;
        };
        return Ok(
            change.into_outcome("incidents.write.assign", reason, |incident| {
                match (&to, from) {
                    (Some(assignee), _) => {
                        DomainEvent::IncidentAssigned(hoc_contracts::events::IncidentAssigned {
                            incident_id: incident.id.clone(),
                            incident_state: incident.status,
                            assignee: assignee.clone(),
                        })
                    }
                    (None, previous) => {
                        DomainEvent::IncidentUnassigned(hoc_contracts::events::IncidentUnassigned {
                            incident_id: incident.id.clone(),
                            incident_state: incident.status,
                            previous_assignee: previous.unwrap_or_default(),
                        })
                    }
                }
            }),
        );
    }
    Err(IncidentError::Contended { id })
}
