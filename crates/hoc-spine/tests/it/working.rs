//! Working an incident without moving it through its lifecycle: edits of title and description.

use hoc_contracts::FieldError;
use hoc_contracts::input::{JsonInt, Patch};
use hoc_spine::requests::{EditIncident, GetIncident, ListEvents};
use hoc_spine::{ErrorCode, OperationError};
use serde_json::json;

use crate::{create, ctx, spine};

fn edit(id: &str, expected: i64) -> EditIncident {
    EditIncident {
        id: id.to_owned(),
        expected_version: Some(JsonInt(expected)),
        ..EditIncident::default()
    }
}

hoc_drivers::storage_test!(
    an_edit_changes_title_and_description_keeps_the_signature_and_is_recorded,
    |db| {
        let spine = spine(&db);
        let incident = create(&spine, "t1", "Checkout slow").await;
        let edited = spine
            .call(
                &ctx("t1"),
                &EditIncident {
                    title: Some("Checkout down in eu-west-1".into()),
                    description: Patch::Value(
                        "Every payment times out after 30 s.\nSince 09:12.".into(),
                    ),
                    ..edit(&incident.id, 1)
                },
            )
            .await
            .expect("edit");
        assert_eq!(
            (
                edited.title.as_str(),
                edited.description.as_deref(),
                edited.version
            ),
            (
                "Checkout down in eu-west-1",
                Some("Every payment times out after 30 s.\nSince 09:12."),
                2
            )
        );
        assert_eq!(edited.recurrence_signature, incident.recurrence_signature);
        assert_eq!(edited.status, incident.status);

        // `null` clears the description; the title is left alone when absent.
        let cleared = spine
            .call(
                &ctx("t1"),
                &EditIncident {
                    description: Patch::Null,
                    ..edit(&incident.id, 2)
                },
            )
            .await
            .expect("clear");
        assert_eq!(
            (
                cleared.title.as_str(),
                cleared.description.as_deref(),
                cleared.version
            ),
            ("Checkout down in eu-west-1", None, 3)
        );

        let timeline = crate::timeline_of(&spine, "t1", &incident.id).await.items;
        let edits: Vec<(i32, &str)> = timeline
            .iter()
            .filter(|e| e.event_type.as_str() == "edited")
            .map(|e| (e.ordinal, e.description.as_str()))
            .collect();
        assert_eq!(
            edits,
            [
                (
                    2,
                    "edited title \"Checkout slow\" → \"Checkout down in eu-west-1\", description"
                ),
                (3, "edited description cleared"),
            ]
        );
        let audit = crate::audit_of(&spine, "t1", &incident.id).await.items;
        assert_eq!(
            audit.iter().map(|a| a.action.as_str()).collect::<Vec<_>>(),
            [
                "incidents.write.create",
                "incidents.write.edit",
                "incidents.write.edit"
            ]
        );
        let events: Vec<serde_json::Value> = spine
            .call(&ctx("t1"), &ListEvents::default())
            .await
            .expect("events")
            .items
            .into_iter()
            .filter(|e| e.event_type == "incidents.IncidentEdited")
            .map(|e| serde_json::Value::Object(e.data))
            .collect();
        assert_eq!(
            events,
            [
                json!({"incident_id": incident.id, "incident_state": "open", "version": 2, "edited_fields": "title,description"}),
                json!({"incident_id": incident.id, "incident_state": "open", "version": 3, "edited_fields": "description"}),
            ]
        );

        // At the instant of the first edit, the incident reads as it was then.
        let then = spine
            .call(
                &ctx("t1").with_as_of(edited.updated_at),
                &GetIncident {
                    id: incident.id.clone(),
                },
            )
            .await
            .expect("get as of");
        assert_eq!(
            then.incident.description.as_deref(),
            Some("Every payment times out after 30 s.\nSince 09:12.")
        );
        let before = spine
            .call(
                &ctx("t1").with_as_of(incident.created_at),
                &GetIncident {
                    id: incident.id.clone(),
                },
            )
            .await
            .expect("get as of creation");
        assert_eq!(before.incident.title, "Checkout slow");
    }
);

hoc_drivers::storage_test!(a_stale_or_bad_edit_is_refused_and_writes_nothing, |db| {
    let spine = spine(&db);
    let incident = create(&spine, "t1", "Queue backlog").await;
    spine
        .call(
            &ctx("t1"),
            &EditIncident {
                title: Some("Queue backlog on orders".into()),
                ..edit(&incident.id, 1)
            },
        )
        .await
        .expect("first edit");
    // Another responder edits against the version they read before: 409, nothing written.
    let err = refused_without_writes!(
        db,
        ErrorCode::StaleVersion,
        spine.call(
            &ctx("t1"),
            &EditIncident {
                title: Some("Queue backlog".into()),
                ..edit(&incident.id, 1)
            }
        )
    );
    assert_eq!(
        err.to_string(),
        format!(
            "stale version: incident {} is at version 2, not 1",
            incident.id
        )
    );
    // Every bad field at once.
    let err = refused_without_writes!(
            db,
            ErrorCode::InvalidInput,
            spine.execute(
                &ctx("t1"),
                "incidents.write",
                "edit",
                json!({"id": incident.id, "expected_version": 0, "title": "x".repeat(256), "description": ""})
            )
        );
    let OperationError::InvalidInput { fields } = err else {
        panic!("{err:?}")
    };
    assert_eq!(
        fields,
        [
            FieldError::new("expected_version", "must be 1 or more"),
            FieldError::new("title", "must be at most 255 characters (got 256)"),
            FieldError::new("description", "must not be empty (null clears it)"),
        ]
    );
    refused_without_writes!(
        db,
        ErrorCode::InvalidInput,
        spine.execute(
            &ctx("t1"),
            "incidents.write",
            "edit",
            json!({"id": incident.id})
        )
    );
    refused_without_writes!(
        db,
        ErrorCode::NotFound,
        spine.call(
            &ctx("t2"),
            &EditIncident {
                title: Some("mine now".into()),
                ..edit(&incident.id, 2)
            }
        )
    );
    // The same title again: answered with the incident, nothing written.
    let before = hoc_drivers::testing::row_counts(&db).await;
    let same = spine
        .call(
            &ctx("t1"),
            &EditIncident {
                title: Some("Queue backlog on orders".into()),
                ..edit(&incident.id, 2)
            },
        )
        .await
        .expect("same title");
    assert_eq!(same.version, 2);
    assert_eq!(hoc_drivers::testing::row_counts(&db).await, before);
});
