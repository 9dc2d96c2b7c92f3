//! Export: an incident with its timeline, notes, audit and events as one document, at an instant; and its
//! Markdown postmortem draft.

use hoc_spine::requests::{AcknowledgeIncident, AddNote, ExportIncident, ResolveIncident};

use crate::{TestClock, create, ctx, spine};

hoc_drivers::storage_test!(an_export_holds_the_whole_incident_at_an_instant, |db| {
    let clock = TestClock::at(time::macros::datetime!(2026-12-01 09:00 UTC));
    let spine = clock.install(spine(&db));
    let c = ctx("t1");
    let incident = create(&spine, "t1", "Checkout | down").await;
    clock.set(time::macros::datetime!(2026-12-01 09:05 UTC));
    spine
        .call(
            &c,
            &AcknowledgeIncident {
                id: incident.id.clone(),
                reason: Some("on it | paging the db team".into()),
            },
        )
        .await
        .expect("ack");
    clock.set(time::macros::datetime!(2026-12-01 09:10 UTC));
    let note = spine
        .call(
            &c,
            &AddNote {
                id: incident.id.clone(),
                body: Some("pool exhausted\nraised the limit".into()),
            },
        )
        .await
        .expect("note");
    clock.set(time::macros::datetime!(2026-12-01 09:20 UTC));
    spine
        .call(
            &c,
            &ResolveIncident {
                id: incident.id.clone(),
                resolution_type: Some("config_change".into()),
                resolution_summary: Some("max_connections 100 → 400".into()),
                ..ResolveIncident::default()
            },
        )
        .await
        .expect("resolve");
    // Another incident's rows never appear.
    create(&spine, "t1", "Unrelated").await;

    let export = spine
        .call(
            &c,
            &ExportIncident {
                id: incident.id.clone(),
            },
        )
        .await
        .expect("export");
    assert_eq!(export.incident.status.as_str(), "resolved");
    assert_eq!(
        export
            .timeline
            .iter()
            .map(|e| e.event_type.as_str())
            .collect::<Vec<_>>(),
        ["created", "acknowledged", "note_added", "resolved"]
    );
    assert_eq!(export.notes.len(), 1);
    assert_eq!(
        export
            .audit
            .iter()
            .map(|a| a.action.as_str())
            .collect::<Vec<_>>(),
        [
            "incidents.write.create",
            "incidents.write.acknowledge",
            "incidents.notes.add",
            "incidents.write.resolve"
        ]
    );
    assert_eq!(
        export
            .events
            .iter()
            .map(|e| e.event_type.as_str())
            .collect::<Vec<_>>(),
        [
            "incidents.IncidentCreated",
            "incidents.IncidentAcknowledged",
            "incidents.IncidentNoteAdded",
            "incidents.IncidentResolved"
        ]
    );
    assert!(export.alerts.is_empty());

    // At the instant of the note: no resolution yet, nothing written after it.
    let then = spine
        .call(
            &c.clone().with_as_of(note.created_at),
            &ExportIncident {
                id: incident.id.clone(),
            },
        )
        .await
        .expect("export then");
    assert_eq!(then.incident.status.as_str(), "acknowledged");
    assert_eq!(
        (then.timeline.len(), then.audit.len(), then.events.len()),
        (3, 3, 3)
    );

    let markdown = export.markdown();
    assert!(
        markdown.starts_with("# Postmortem draft: Checkout | down\n"),
        "{markdown}"
    );
    for expected in [
        "- **Status:** resolved",
        "- **Assignee:** alice",
        "**config_change**: max_connections 100 → 400",
        "| 3 | 2026-12-01T09:10:00.000000Z | alice | note_added: note ",
        "### alice, 2026-12-01T09:10:00.000000Z\n\npool exhausted\nraised the limit",
        "## Follow-ups",
    ] {
        assert!(
            markdown.contains(expected),
            "{expected:?} missing from:\n{markdown}"
        );
    }
    // A pipe in a table cell is escaped.
    assert!(
        markdown.contains("on it \\| paging the db team"),
        "{markdown}"
    );

    let err = spine
        .call(
            &ctx("t2"),
            &ExportIncident {
                id: incident.id.clone(),
            },
        )
        .await
        .expect_err("another tenant's");
    assert_eq!(err.code(), hoc_spine::ErrorCode::NotFound);
});
