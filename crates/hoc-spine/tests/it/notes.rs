//! Notes on an incident: written in any state, never a state change, edited and deleted by their author only,
//! every version kept for reads at an instant.

use hoc_contracts::ActorType;
use hoc_contracts::input::JsonInt;
use hoc_spine::requests::{
    AddNote, CloseIncident, DeleteNote, EditIncident, EditNote, GetIncident, ListEvents, ListNotes,
};
use hoc_spine::{ErrorCode, OperationContext, OperationError, Spine};
use serde_json::json;

use crate::{TestClock, create, ctx, spine};

fn as_bob(tenant: &str) -> OperationContext {
    OperationContext::new(tenant, ActorType::User, "bob").expect("valid context")
}

async fn add(
    spine: &Spine,
    ctx: &OperationContext,
    id: &str,
    body: &str,
) -> hoc_spine::requests::Note {
    spine
        .call(
            ctx,
            &AddNote {
                id: id.to_owned(),
                body: Some(body.to_owned()),
            },
        )
        .await
        .expect("add note")
}

async fn notes(
    spine: &Spine,
    ctx: &OperationContext,
    id: &str,
) -> Vec<(String, String, i64, bool)> {
    spine
        .call(ctx, &ListNotes { id: id.to_owned() })
        .await
        .expect("notes")
        .items
        .into_iter()
        .map(|n| (n.author, n.body, n.version, n.deleted))
        .collect()
}

hoc_drivers::storage_test!(
    notes_are_written_edited_and_deleted_with_their_history,
    |db| {
        let clock = TestClock::at(time::macros::datetime!(2026-12-01 09:00 UTC));
        let spine = clock.install(spine(&db));
        let incident = create(&spine, "t1", "Checkout slow").await;
        clock.set(time::macros::datetime!(2026-12-01 09:05 UTC));
        let first = add(
            &spine,
            &ctx("t1"),
            &incident.id,
            "  db-2 pool exhausted\n\nraising max_connections  ",
        )
        .await;
        assert_eq!(
            (
                first.author.as_str(),
                first.body.as_str(),
                first.version,
                first.deleted
            ),
            (
                "alice",
                "db-2 pool exhausted\n\nraising max_connections",
                1,
                false
            )
        );
        clock.set(time::macros::datetime!(2026-12-01 09:06 UTC));
        add(&spine, &as_bob("t1"), &incident.id, "customers in EU only").await;

        // A note is not a state change: the incident's version is unchanged, so an edit made against it stays current.
        let now = spine
            .call(
                &ctx("t1"),
                &GetIncident {
                    id: incident.id.clone(),
                },
            )
            .await
            .expect("get");
        assert_eq!(now.version, 1);
        spine
            .call(
                &ctx("t1"),
                &EditIncident {
                    id: incident.id.clone(),
                    expected_version: Some(JsonInt(1)),
                    title: Some("Checkout slow in EU".into()),
                    ..EditIncident::default()
                },
            )
            .await
            .expect("edit against the version read before the notes");

        clock.set(time::macros::datetime!(2026-12-01 09:10 UTC));
        let edited = spine
            .call(
                &ctx("t1"),
                &EditNote {
                    id: incident.id.clone(),
                    note_id: first.note_id.clone(),
                    body: Some("db-2 and db-3 pools exhausted".into()),
                    expected_version: Some(JsonInt(1)),
                },
            )
            .await
            .expect("edit note");
        assert_eq!(
            (edited.version, edited.created_at, edited.updated_at),
            (2, first.created_at, clock_at(9, 10))
        );
        clock.set(time::macros::datetime!(2026-12-01 09:20 UTC));
        let deleted = spine
            .call(
                &ctx("t1"),
                &DeleteNote {
                    id: incident.id.clone(),
                    note_id: first.note_id.clone(),
                },
            )
            .await
            .expect("delete note");
        assert_eq!(
            (deleted.version, deleted.deleted, deleted.body.as_str()),
            (3, true, "")
        );

        // Now: the deleted note stays in its place, without its text.
        assert_eq!(
            notes(&spine, &ctx("t1"), &incident.id).await,
            [
                ("alice".into(), String::new(), 3, true),
                ("bob".into(), "customers in EU only".into(), 1, false),
            ]
        );
        // At an instant, each note as it was then.
        let at = |t| ctx("t1").with_as_of(t);
        assert_eq!(
            notes(&spine, &at(clock_at(9, 5)), &incident.id).await,
            [(
                "alice".into(),
                "db-2 pool exhausted\n\nraising max_connections".into(),
                1,
                false
            )]
        );
        assert_eq!(
            notes(&spine, &at(clock_at(9, 15)), &incident.id).await,
            [
                (
                    "alice".into(),
                    "db-2 and db-3 pools exhausted".into(),
                    2,
                    false
                ),
                ("bob".into(), "customers in EU only".into(), 1, false),
            ]
        );

        // The timeline shows the work; ordinals stay 1..N without gaps.
        let timeline = crate::timeline_of(&spine, "t1", &incident.id).await.items;
        let rows: Vec<(i32, &str, &str)> = timeline
            .iter()
            .map(|e| (e.ordinal, e.event_type.as_str(), e.actor_id.as_str()))
            .collect();
        assert_eq!(
            rows,
            [
                (1, "created", "alice"),
                (2, "note_added", "alice"),
                (3, "note_added", "bob"),
                (4, "edited", "alice"),
                (5, "note_edited", "alice"),
                (6, "note_deleted", "alice"),
            ]
        );
        assert_eq!(
            timeline[1].description,
            format!("note {} added", first.note_id)
        );
        let events: Vec<serde_json::Value> = spine
            .call(&ctx("t1"), &ListEvents::default())
            .await
            .expect("events")
            .items
            .into_iter()
            .filter(|e| e.event_type.starts_with("incidents.IncidentNote"))
            .map(|e| json!({"type": e.event_type, "data": e.data}))
            .collect();
        assert_eq!(events.len(), 4);
        assert_eq!(
            events[3],
            json!({"type": "incidents.IncidentNoteDeleted", "data": {"incident_id": incident.id, "note_id": first.note_id, "note_version": 3}})
        );
        // Each version is audited on the note, with the text before and after.
        let audit = spine
            .call(
                &ctx("t1"),
                &hoc_spine::requests::ListAudit {
                    entity_id: Some(first.note_id.clone()),
                    ..Default::default()
                },
            )
            .await
            .expect("audit")
            .items;
        assert_eq!(
            audit.iter().map(|a| a.action.as_str()).collect::<Vec<_>>(),
            [
                "incidents.notes.add",
                "incidents.notes.edit",
                "incidents.notes.delete"
            ]
        );
        assert_eq!(
            audit[2].before_state.as_ref().and_then(|s| s.get("body")),
            Some(&json!("db-2 and db-3 pools exhausted"))
        );
    }
);

fn clock_at(hour: u8, minute: u8) -> time::OffsetDateTime {
    time::macros::datetime!(2026-12-01 00:00 UTC)
        + time::Duration::hours(hour.into())
        + time::Duration::minutes(minute.into())
}

hoc_drivers::storage_test!(a_closed_incident_takes_notes, |db| {
    let spine = spine(&db);
    let incident = create(&spine, "t1", "Queue backlog").await;
    spine
        .call(
            &ctx("t1"),
            &CloseIncident {
                id: incident.id.clone(),
                reason: Some("cleared by itself".into()),
            },
        )
        .await
        .expect("close");
    add(
        &spine,
        &ctx("t1"),
        &incident.id,
        "postmortem: the consumer was paused",
    )
    .await;
    assert_eq!(notes(&spine, &ctx("t1"), &incident.id).await.len(), 1);
});

hoc_drivers::storage_test!(bad_note_writes_are_refused_and_write_nothing, |db| {
    let spine = spine(&db);
    let incident = create(&spine, "t1", "Queue backlog").await;
    let note = add(&spine, &ctx("t1"), &incident.id, "first look").await;
    // Another tenant: not found, for the incident and for the note.
    refused_without_writes!(
        db,
        ErrorCode::NotFound,
        spine.call(
            &ctx("t2"),
            &AddNote {
                id: incident.id.clone(),
                body: Some("mine".into())
            }
        )
    );
    refused_without_writes!(
        db,
        ErrorCode::NotFound,
        spine.call(
            &ctx("t2"),
            &DeleteNote {
                id: incident.id.clone(),
                note_id: note.note_id.clone()
            }
        )
    );
    refused_without_writes!(
        db,
        ErrorCode::NotFound,
        spine.call(
            &ctx("t2"),
            &ListNotes {
                id: incident.id.clone()
            }
        )
    );
    // Somebody else's note: forbidden.
    let err = refused_without_writes!(
        db,
        ErrorCode::Forbidden,
        spine.call(
            &as_bob("t1"),
            &DeleteNote {
                id: incident.id.clone(),
                note_id: note.note_id.clone()
            }
        )
    );
    assert!(err.to_string().contains("only its author"), "{err}");
    refused_without_writes!(
        db,
        ErrorCode::Forbidden,
        spine.call(
            &as_bob("t1"),
            &EditNote {
                id: incident.id.clone(),
                note_id: note.note_id.clone(),
                body: Some("rewritten".into()),
                expected_version: Some(JsonInt(1)),
            }
        )
    );
    // A stale version.
    refused_without_writes!(
        db,
        ErrorCode::StaleVersion,
        spine.call(
            &ctx("t1"),
            &EditNote {
                id: incident.id.clone(),
                note_id: note.note_id.clone(),
                body: Some("rewritten".into()),
                expected_version: Some(JsonInt(2)),
            }
        )
    );
    // Every bad field at once: an empty body, a body over 10,000 characters, a version below 1.
    let err = refused_without_writes!(
        db,
        ErrorCode::InvalidInput,
        spine.execute(
            &ctx("t1"),
            "incidents.notes",
            "edit",
            json!({"id": incident.id, "note_id": note.note_id, "body": "x".repeat(10_001), "expected_version": 0})
        )
    );
    let OperationError::InvalidInput { fields } = err else {
        panic!("{err:?}")
    };
    assert_eq!(
        fields.iter().map(|f| f.field.as_str()).collect::<Vec<_>>(),
        ["body", "expected_version"]
    );
    refused_without_writes!(
        db,
        ErrorCode::InvalidInput,
        spine.execute(
            &ctx("t1"),
            "incidents.notes",
            "add",
            json!({"id": incident.id, "body": " \n "})
        )
    );
    // 10,000 characters is the bound, inclusive.
    add(&spine, &ctx("t1"), &incident.id, &"y".repeat(10_000)).await;
    // Deleting twice: the second answers the deleted note and writes nothing; editing it is an invalid transition
    // (409 over HTTP, from `deleted` to `edited`).
    spine
        .call(
            &ctx("t1"),
            &DeleteNote {
                id: incident.id.clone(),
                note_id: note.note_id.clone(),
            },
        )
        .await
        .expect("delete");
    let before = hoc_drivers::testing::row_counts(&db).await;
    let again = spine
        .call(
            &ctx("t1"),
            &DeleteNote {
                id: incident.id.clone(),
                note_id: note.note_id.clone(),
            },
        )
        .await
        .expect("delete again");
    assert_eq!((again.version, again.deleted), (2, true));
    assert_eq!(hoc_drivers::testing::row_counts(&db).await, before);
    refused_without_writes!(
        db,
        ErrorCode::InvalidTransition,
        spine.call(
            &ctx("t1"),
            &EditNote {
                id: incident.id.clone(),
                note_id: note.note_id.clone(),
                body: Some("back".into()),
                expected_version: Some(JsonInt(2)),
            }
        )
    );
});
