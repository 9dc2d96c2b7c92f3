//! Duplicate links: a duplicate is closed with the link, both timelines show it, the target lists its duplicates,
//! and undoing the link reopens the duplicate.

use hoc_spine::requests::{
    GetIncident, ListEvents, MarkDuplicate, RemoveDuplicate, ResolveIncident,
};
use hoc_spine::{ErrorCode, OperationError, Spine};
use serde_json::json;

use crate::{create, ctx, spine};

fn mark(id: &str, target: &str) -> MarkDuplicate {
    MarkDuplicate {
        id: id.to_owned(),
        target_id: Some(target.to_owned()),
        reason: Some("same outage".into()),
    }
}

async fn get(spine: &Spine, ctx: &hoc_spine::OperationContext, id: &str) -> hoc_spine::Incident {
    spine
        .call(ctx, &GetIncident { id: id.to_owned() })
        .await
        .expect("get")
        .incident
}

hoc_drivers::storage_test!(
    a_duplicate_is_closed_linked_listed_and_reopened_when_undone,
    |db| {
        let spine = spine(&db);
        let target = create(&spine, "t1", "Checkout down").await;
        let first = create(&spine, "t1", "Payments failing").await;
        let second = create(&spine, "t1", "Cart errors").await;
        let closed = spine
            .call(&ctx("t1"), &mark(&first.id, &target.id))
            .await
            .expect("mark");
        assert_eq!(
            (
                closed.status.as_str(),
                closed.resolution_method.map(|m| m.as_str()),
                closed.duplicate_of.as_deref()
            ),
            ("closed", Some("duplicate"), Some(target.id.as_str()))
        );
        spine
            .call(&ctx("t1"), &mark(&second.id, &target.id))
            .await
            .expect("mark");
        let mut expected = vec![first.id.clone(), second.id.clone()];
        expected.sort();
        let now = get(&spine, &ctx("t1"), &target.id).await;
        assert_eq!(now.duplicates, expected);
        assert_eq!(now.version, 3, "each link is a change of the target too");
        // In the list too; at the instant of the first link, only the first.
        let listed = spine
            .call(&ctx("t1"), &hoc_spine::requests::ListIncidents::default())
            .await
            .expect("list")
            .items;
        let in_list = listed
            .iter()
            .find(|i| i.id == target.id)
            .expect("target listed");
        assert_eq!(in_list.duplicates, expected);
        let then = get(&spine, &ctx("t1").with_as_of(closed.updated_at), &target.id).await;
        assert_eq!(then.duplicates, std::slice::from_ref(&first.id));

        // Both timelines show the link.
        let source_rows = crate::timeline_of(&spine, "t1", &first.id).await.items;
        let last = source_rows.last().expect("row");
        assert_eq!(
            (last.event_type.as_str(), last.description.as_str()),
            (
                "duplicate_marked",
                format!("open → closed: duplicate of {}: same outage", target.id).as_str()
            )
        );
        let target_rows = crate::timeline_of(&spine, "t1", &target.id).await.items;
        assert_eq!(
            target_rows
                .iter()
                .map(|e| (e.ordinal, e.event_type.as_str()))
                .collect::<Vec<_>>(),
            [
                (1, "created"),
                (2, "duplicate_marked"),
                (3, "duplicate_marked")
            ]
        );
        assert_eq!(
            target_rows[1].description,
            format!("{} marked a duplicate of this incident", first.id)
        );

        // Undo: the duplicate reopens, the link is gone, the target lists the other one; the past still shows both.
        let reopened = spine
            .call(
                &ctx("t1"),
                &RemoveDuplicate {
                    id: first.id.clone(),
                    reason: None,
                },
            )
            .await
            .expect("undo");
        assert_eq!(
            (
                reopened.status.as_str(),
                reopened.duplicate_of.clone(),
                reopened.resolution_method,
                reopened.closed_at
            ),
            ("open", None, None, None)
        );
        assert_eq!(
            get(&spine, &ctx("t1"), &target.id).await.duplicates,
            std::slice::from_ref(&second.id)
        );
        let target_rows = crate::timeline_of(&spine, "t1", &target.id).await.items;
        assert_eq!(
            target_rows.last().map(|e| e.event_type.as_str()),
            Some("duplicate_removed")
        );

        let events: Vec<serde_json::Value> = spine
            .call(&ctx("t1"), &ListEvents::default())
            .await
            .expect("events")
            .items
            .into_iter()
            .filter(|e| e.event_type.contains("Duplicate") || e.event_type.contains("Edited"))
            .map(|e| json!({"type": e.event_type, "data": e.data}))
            .collect();
        assert_eq!(
            events[0],
            json!({"type": "incidents.IncidentMarkedDuplicate", "data": {"incident_id": first.id, "incident_state": "closed", "duplicate_of": target.id, "resolution_method": "duplicate"}})
        );
        assert_eq!(
            events[1],
            json!({"type": "incidents.IncidentEdited", "data": {"incident_id": target.id, "incident_state": "open", "version": 2, "edited_fields": "duplicates"}})
        );
        assert_eq!(
            events[4],
            json!({"type": "incidents.IncidentDuplicateRemoved", "data": {"incident_id": first.id, "incident_state": "open", "previous_duplicate_of": target.id}})
        );
        let target_audit = crate::audit_of(&spine, "t1", &target.id).await.items;
        assert_eq!(
            target_audit
                .iter()
                .map(|a| a.action.as_str())
                .collect::<Vec<_>>(),
            [
                "incidents.write.create",
                "incidents.links.target_marked",
                "incidents.links.target_marked",
                "incidents.links.target_unmarked"
            ]
        );
    }
);

hoc_drivers::storage_test!(bad_links_are_refused_and_write_nothing, |db| {
    let spine = spine(&db);
    let target = create(&spine, "t1", "Checkout down").await;
    let dup = create(&spine, "t1", "Payments failing").await;
    let elsewhere = create(&spine, "t2", "Other tenant").await;
    // Itself.
    let err = refused_without_writes!(
        db,
        ErrorCode::InvalidTransition,
        spine.call(&ctx("t1"), &mark(&dup.id, &dup.id))
    );
    assert!(matches!(err, OperationError::InvalidTransition { .. }));
    // Another tenant's target, either way round: not found.
    refused_without_writes!(
        db,
        ErrorCode::NotFound,
        spine.call(&ctx("t1"), &mark(&dup.id, &elsewhere.id))
    );
    refused_without_writes!(
        db,
        ErrorCode::NotFound,
        spine.call(&ctx("t2"), &mark(&elsewhere.id, &dup.id))
    );
    // A cycle: once dup → target, target → dup is refused (dup is closed, not open).
    spine
        .call(&ctx("t1"), &mark(&dup.id, &target.id))
        .await
        .expect("mark");
    let err = refused_without_writes!(
        db,
        ErrorCode::InvalidTransition,
        spine.call(&ctx("t1"), &mark(&target.id, &dup.id))
    );
    assert_eq!(err.to_string(), "invalid transition from closed to closed");
    // A target that is resolved.
    let resolved = create(&spine, "t1", "Old one").await;
    spine
        .call(
            &ctx("t1"),
            &ResolveIncident {
                id: resolved.id.clone(),
                resolution_type: Some("hotfix".into()),
                ..ResolveIncident::default()
            },
        )
        .await
        .expect("resolve");
    let fresh = create(&spine, "t1", "Fresh").await;
    refused_without_writes!(
        db,
        ErrorCode::InvalidTransition,
        spine.call(&ctx("t1"), &mark(&fresh.id, &resolved.id))
    );
    // A duplicate cannot be marked again; an incident that is not a duplicate cannot be unlinked.
    refused_without_writes!(
        db,
        ErrorCode::InvalidTransition,
        spine.call(&ctx("t1"), &mark(&dup.id, &fresh.id))
    );
    refused_without_writes!(
        db,
        ErrorCode::InvalidTransition,
        spine.call(
            &ctx("t1"),
            &RemoveDuplicate {
                id: fresh.id.clone(),
                reason: None
            }
        )
    );
    refused_without_writes!(
        db,
        ErrorCode::NotFound,
        spine.call(
            &ctx("t2"),
            &RemoveDuplicate {
                id: dup.id.clone(),
                reason: None
            }
        )
    );
    // A missing target id is a field error.
    refused_without_writes!(
        db,
        ErrorCode::InvalidInput,
        spine.execute(
            &ctx("t1"),
            "incidents.links",
            "mark_duplicate",
            json!({"id": fresh.id})
        )
    );
    // A plain reopen of a duplicate drops the link too.
    spine
        .call(
            &ctx("t1"),
            &hoc_spine::requests::ReopenIncident {
                id: dup.id.clone(),
                reason: None,
            },
        )
        .await
        .expect("reopen");
    assert!(
        get(&spine, &ctx("t1"), &target.id)
            .await
            .duplicates
            .is_empty()
    );
    assert_eq!(get(&spine, &ctx("t1"), &dup.id).await.duplicate_of, None);
});
