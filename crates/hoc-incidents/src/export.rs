//! Export (issue 22): one incident as it was at an instant — its object, its whole timeline (notes included), its
//! notes, its alerts, its audit entries and its events — as one JSON document, and as a Markdown postmortem draft.

use hoc_contracts::EventEnvelope;
use hoc_contracts::time_format::{UtcTimestamp, format_utc, utc};
use hoc_drivers::{DbTime, Tx, audit, notes as notes_driver, outbox, timeline as timeline_driver};
use time::OffsetDateTime;

use crate::queries::{self, ReadAt};
use crate::{AuditEntry, Incident, IncidentError, IncidentId, Note, TimelineEntry};

hoc_contracts::request! {
    /// Export an incident: the JSON document, or a Markdown postmortem draft with `Accept: text/markdown`.
    pub struct ExportIncident => ExportQuery {
        /// The incident.
        id: String => required IncidentId,
    }
}

/// An alert that opened or joined the incident (none until alerts arrive: issue 23).
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct AlertRef {
    /// The alert.
    pub alert_id: String,
}

/// Everything known about one incident at an instant.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct IncidentExport {
    /// The incident as it was.
    pub incident: Incident,
    /// Its timeline, ordinal order.
    pub timeline: Vec<TimelineEntry>,
    /// Its notes as they were, oldest first.
    pub notes: Vec<Note>,
    /// The alerts that opened or joined it.
    pub alerts: Vec<AlertRef>,
    /// Its audit entries and its notes', oldest first by (created_at, id).
    pub audit: Vec<AuditEntry>,
    /// Its events (its notes' too) the outbox holds, by sequence number.
    pub events: Vec<EventEnvelope>,
    /// The instant the export shows.
    #[serde(with = "utc")]
    #[schemars(with = "UtcTimestamp")]
    pub as_of: OffsetDateTime,
}

/// The export of incident `id` at the read's instant (not found when it did not exist then).
pub async fn export(
    tx: &Tx,
    tenant_id: &str,
    query: ExportQuery,
    at: ReadAt,
) -> Result<IncidentExport, IncidentError> {
    let id = query.id.into_string();
    let incident = queries::get(tx, tenant_id, &id, at).await?.incident;
    let as_of = at.instant();
    let until = DbTime::new(as_of);
    // The incident was found above: its rows are read directly (queries::timeline would look it up again).
    let timeline: Vec<TimelineEntry> = timeline_driver::list(tx, tenant_id, &id, Some(until))
        .await?
        .into_iter()
        .map(TimelineEntry::from)
        .collect();
    let notes: Vec<Note> = notes_driver::list(tx, tenant_id, &id, until)
        .await?
        .into_iter()
        .map(Note::from)
        .collect();
    let mut audit_rows = audit::list_for_entity(tx, tenant_id, &id).await?;
    for note in &notes {
        audit_rows.extend(audit::list_for_entity(tx, tenant_id, &note.note_id).await?);
    }
    let mut audit = audit_rows
        .into_iter()
        .filter(|row| row.created_at <= until)
        .map(|row| AuditEntry::try_from(row).map_err(IncidentError::from))
        .collect::<Result<Vec<_>, _>>()?;
    audit.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    let events = outbox::for_incident(tx, tenant_id, &id, until).await?;
    Ok(IncidentExport {
        incident,
        timeline,
        notes,
        alerts: Vec::new(),
        audit,
        events,
        as_of,
    })
}

/// A table cell: one line, pipes escaped.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', "<br>")
}

fn when(t: Option<OffsetDateTime>) -> String {
    t.map_or_else(|| "—".to_owned(), format_utc)
}

impl IncidentExport {
    /// A postmortem draft in Markdown: the facts, the resolution, the timeline, the notes, and the questions a
    /// postmortem answers, left for its authors.
    pub fn markdown(&self) -> String {
        let i = &self.incident;
        let mut out = format!("# Postmortem draft: {}\n\n", i.title);
        let labels = i
            .labels
            .iter()
            .map(|(k, v)| format!("`{k}={v}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let by = |who: &Option<String>| {
            who.as_deref()
                .map(|w| format!(" by {w}"))
                .unwrap_or_default()
        };
        let facts = [
            ("Incident", format!("`{}`", i.id)),
            ("Status", i.status.to_string()),
            ("Severity", i.severity.to_string()),
            ("Category", i.category.clone()),
            ("Service", i.service.clone().unwrap_or_else(|| "—".into())),
            (
                "Labels",
                if labels.is_empty() {
                    "—".into()
                } else {
                    labels
                },
            ),
            ("Assignee", i.assignee.clone().unwrap_or_else(|| "—".into())),
            ("Opened", format_utc(i.created_at)),
            (
                "Acknowledged",
                format!("{}{}", when(i.acknowledged_at), by(&i.acknowledged_by)),
            ),
            (
                "Resolved",
                format!("{}{}", when(i.resolved_at), by(&i.resolved_by)),
            ),
            (
                "Closed",
                format!("{}{}", when(i.closed_at), by(&i.closed_by)),
            ),
            (
                "Recurrence signature",
                i.recurrence_signature
                    .clone()
                    .map_or_else(|| "—".into(), |s| format!("`{s}`")),
            ),
            ("Exported as of", format_utc(self.as_of)),
        ];
        for (name, value) in facts {
            out.push_str(&format!("- **{name}:** {value}\n"));
        }
        if let Some(target) = &i.duplicate_of {
            out.push_str(&format!("- **Duplicate of:** `{target}`\n"));
        }
        if !i.duplicates.is_empty() {
            let list: Vec<String> = i.duplicates.iter().map(|d| format!("`{d}`")).collect();
            out.push_str(&format!("- **Duplicates:** {}\n", list.join(", ")));
        }
        out.push_str("\n## Summary\n\n");
        out.push_str(i.description.as_deref().unwrap_or("_No description._"));
        out.push_str("\n\n");
        if let Some(message) = &i.error_message {
            out.push_str(&format!("```\n{message}\n```\n\n"));
        }
        out.push_str("## Resolution\n\n");
        match (i.resolution_type, &i.resolution_summary, &i.close_reason) {
            (Some(kind), summary, _) => out.push_str(&format!(
                "**{kind}**: {}\n\n",
                summary.as_deref().unwrap_or("_no summary_")
            )),
            (None, _, Some(reason)) => out.push_str(&format!("Closed: {reason}\n\n")),
            _ => out.push_str("_Not resolved._\n\n"),
        }
        out.push_str("## Timeline\n\n| # | When (UTC) | Who | What |\n|---|---|---|---|\n");
        for e in &self.timeline {
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                e.ordinal,
                format_utc(e.created_at),
                cell(&e.actor_id),
                cell(&format!("{}: {}", e.event_type, e.description))
            ));
        }
        out.push_str("\n## Notes\n\n");
        let live: Vec<&Note> = self.notes.iter().filter(|n| !n.deleted).collect();
        if live.is_empty() {
            out.push_str("_No notes._\n\n");
        }
        for n in live {
            let edited = if n.version > 1 {
                format!(" (edited {})", format_utc(n.updated_at))
            } else {
                String::new()
            };
            out.push_str(&format!(
                "### {}, {}{edited}\n\n{}\n\n",
                n.author,
                format_utc(n.created_at),
                n.body
            ));
        }
        out.push_str(
            "## Analysis\n\n_What happened, and why? What made it worse or better?_\n\n\
             ## Follow-ups\n\n- [ ] _Action, owner, due date_\n",
        );
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::collections::BTreeMap;

    use hoc_contracts::ActorType;
    use hoc_contracts::input::{IncidentState, ResolutionType, Severity, TimelineKind};
    use time::macros::datetime;

    use super::*;

    fn entry(ordinal: i32, kind: TimelineKind, minute: i64, description: &str) -> TimelineEntry {
        TimelineEntry {
            ordinal,
            event_type: kind,
            from_state: None,
            to_state: IncidentState::Resolved,
            actor_type: ActorType::User,
            actor_id: "alice".into(),
            description: description.into(),
            created_at: datetime!(2026-12-01 09:00 UTC) + time::Duration::minutes(minute),
            request_id: None,
        }
    }

    /// The draft a person reviews, from a fixed export.
    #[test]
    fn markdown_draft_snapshot() {
        let at = |minute: i64| datetime!(2026-12-01 09:00 UTC) + time::Duration::minutes(minute);
        let incident = Incident {
            id: "inc_1".into(),
            tenant_id: "acme".into(),
            title: "Checkout down in eu-west-1".into(),
            severity: Severity::Critical,
            category: "availability".into(),
            status: IncidentState::Resolved,
            trigger_type: None,
            source_type: None,
            source_ref: None,
            error_code: Some("HTTP-503".into()),
            error_message: Some("upstream connect error".into()),
            description: Some("Every payment failed for 20 minutes.".into()),
            recurrence_signature: Some("9f2c".into()),
            signature_version: Some("rsig-v2".into()),
            resolution_type: Some(ResolutionType::ConfigChange),
            resolution_summary: Some("max_connections 100 → 400".into()),
            resolution_method: None,
            close_reason: None,
            postmortem_artifact_id: None,
            acknowledged_at: Some(at(5)),
            acknowledged_by: Some("bob".into()),
            resolved_at: Some(at(25)),
            resolved_by: Some("alice".into()),
            closed_at: None,
            closed_by: None,
            created_at: at(0),
            updated_at: at(25),
            version: 3,
            service: Some("checkout-api".into()),
            labels: BTreeMap::from([("region".to_owned(), "eu-west-1".to_owned())]),
            assignee: Some("bob".into()),
            duplicate_of: None,
            duplicates: vec!["inc_2".into()],
            rank: None,
        };
        let export = IncidentExport {
            incident,
            timeline: vec![
                entry(1, TimelineKind::Created, 0, "incident opened"),
                entry(
                    2,
                    TimelineKind::Acknowledged,
                    5,
                    "open → acknowledged | paging db (assigned to bob)",
                ),
                entry(3, TimelineKind::NoteAdded, 10, "note note_1 added"),
                entry(4, TimelineKind::Resolved, 25, "acknowledged → resolved"),
            ],
            notes: vec![Note {
                note_id: "note_1".into(),
                incident_id: "inc_1".into(),
                author: "bob".into(),
                body: "pool exhausted on db-2\nraised max_connections".into(),
                created_at: at(10),
                updated_at: at(12),
                version: 2,
                deleted: false,
            }],
            alerts: Vec::new(),
            audit: Vec::new(),
            events: Vec::new(),
            as_of: at(30),
        };
        insta::assert_snapshot!(export.markdown());
    }
}
