//! Who owns an incident and what it affects: assignment (and acknowledging an unassigned incident), service and
//! labels, and the list filters on them.

use std::collections::BTreeMap;

use hoc_contracts::ActorType;
use hoc_contracts::input::{JsonInt, Patch};
use hoc_spine::requests::{
    AcknowledgeIncident, AssignIncident, EditIncident, GetIncident, ListEvents, ListIncidents,
};
use hoc_spine::{ErrorCode, OperationContext, OperationError, Spine};
use serde_json::json;

use crate::{create_request, ctx, spine};

fn as_bob(tenant: &str) -> OperationContext {
    OperationContext::new(tenant, ActorType::User, "bob").expect("valid context")
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

async fn assign(spine: &Spine, id: &str, to: Option<&str>) -> hoc_spine::Incident {
    spine
        .call(
            &ctx("t1"),
            &AssignIncident {
                id: id.to_owned(),
                assignee: to.map(str::to_owned),
                reason: None,
            },
        )
        .await
        .expect("assign")
}

hoc_drivers::storage_test!(assignment_is_handed_over_and_recorded, |db| {
    let spine = spine(&db);
    let incident = spine
        .call(&ctx("t1"), &create_request("Checkout slow"))
        .await
        .expect("create");
    assert_eq!(incident.assignee, None);
    // Acknowledging an unassigned incident takes it.
    let acked = spine
        .call(
            &as_bob("t1"),
            &AcknowledgeIncident {
                id: incident.id.clone(),
                reason: None,
            },
        )
        .await
        .expect("ack");
    assert_eq!(acked.assignee.as_deref(), Some("bob"));
    let handed = assign(&spine, &incident.id, Some("carol")).await;
    assert_eq!(
        (handed.assignee.as_deref(), handed.version),
        (Some("carol"), 3)
    );
    // The same assignee again changes nothing.
    let before = hoc_drivers::testing::row_counts(&db).await;
    assert_eq!(assign(&spine, &incident.id, Some("carol")).await.version, 3);
    assert_eq!(hoc_drivers::testing::row_counts(&db).await, before);
    let dropped = assign(&spine, &incident.id, None).await;
    assert_eq!(dropped.assignee, None);

    let timeline = crate::timeline_of(&spine, "t1", &incident.id).await.items;
    let said: Vec<&str> = timeline
        .iter()
        .skip(1)
        .map(|e| e.description.as_str())
        .collect();
    assert_eq!(
        said,
        [
            "open → acknowledged (assigned to bob)",
            "reassigned from bob to carol by alice",
            "unassigned from carol by alice",
        ]
    );
    assert_eq!(timeline[2].event_type.as_str(), "assigned");
    let events: Vec<serde_json::Value> = spine
        .call(&ctx("t1"), &ListEvents::default())
        .await
        .expect("events")
        .items
        .into_iter()
        .skip(1)
        .map(|e| json!({"type": e.event_type, "data": e.data}))
        .collect();
    assert_eq!(
        events,
        [
            json!({"type": "incidents.IncidentAcknowledged", "data": {"incident_id": incident.id, "incident_state": "acknowledged"}}),
            json!({"type": "incidents.IncidentAssigned", "data": {"incident_id": incident.id, "incident_state": "acknowledged", "assignee": "carol"}}),
            json!({"type": "incidents.IncidentUnassigned", "data": {"incident_id": incident.id, "incident_state": "acknowledged", "previous_assignee": "carol"}}),
        ]
    );
    // At the instant of the handover to carol, it was hers; before the acknowledgement, nobody's.
    let at = |t| ctx("t1").with_as_of(t);
    let then = spine
        .call(
            &at(handed.updated_at),
            &GetIncident {
                id: incident.id.clone(),
            },
        )
        .await
        .expect("get");
    assert_eq!(then.assignee.as_deref(), Some("carol"));
    let first = spine
        .call(
            &at(incident.created_at),
            &GetIncident {
                id: incident.id.clone(),
            },
        )
        .await
        .expect("get");
    assert_eq!(first.assignee, None);

    // Refusals write nothing: another tenant, a bad actor id.
    refused_without_writes!(
        db,
        ErrorCode::NotFound,
        spine.call(
            &ctx("t2"),
            &AssignIncident {
                id: incident.id.clone(),
                assignee: Some("eve".into()),
                reason: None
            }
        )
    );
    let err = refused_without_writes!(
        db,
        ErrorCode::InvalidInput,
        spine.execute(
            &ctx("t1"),
            "incidents.write",
            "assign",
            json!({"id": incident.id, "assignee": "x".repeat(65)})
        )
    );
    let OperationError::InvalidInput { fields } = err else {
        panic!("{err:?}")
    };
    assert_eq!(fields[0].field, "assignee");
});

hoc_drivers::storage_test!(an_acknowledgement_keeps_an_existing_owner, |db| {
    let spine = spine(&db);
    let incident = spine
        .call(&ctx("t1"), &create_request("Checkout slow"))
        .await
        .expect("create");
    assign(&spine, &incident.id, Some("carol")).await;
    let acked = spine
        .call(
            &as_bob("t1"),
            &AcknowledgeIncident {
                id: incident.id.clone(),
                reason: None,
            },
        )
        .await
        .expect("ack");
    assert_eq!(
        (acked.assignee.as_deref(), acked.acknowledged_by.as_deref()),
        (Some("carol"), Some("bob"))
    );
    let timeline = crate::timeline_of(&spine, "t1", &incident.id).await.items;
    assert_eq!(timeline[2].description, "open → acknowledged");
});

hoc_drivers::storage_test!(service_and_labels_are_set_changed_and_filtered, |db| {
    let spine = spine(&db);
    let checkout = spine
        .call(
            &ctx("t1"),
            &hoc_spine::requests::CreateIncident {
                service: Some("checkout-api".into()),
                labels: Some(labels(&[("region", "eu-west-1"), ("team", "payments")])),
                ..create_request("Checkout slow")
            },
        )
        .await
        .expect("create");
    assert_eq!(checkout.service.as_deref(), Some("checkout-api"));
    assert_eq!(
        checkout.labels,
        labels(&[("region", "eu-west-1"), ("team", "payments")])
    );
    let search = spine
        .call(
            &ctx("t1"),
            &hoc_spine::requests::CreateIncident {
                service: Some("search".into()),
                labels: Some(labels(&[
                    ("region", "eu-west-1"),
                    ("note", "team:payments"),
                ])),
                ..create_request("Search slow")
            },
        )
        .await
        .expect("create");
    let bare = spine
        .call(&ctx("t1"), &create_request("Unlabelled"))
        .await
        .expect("create");
    assert!(bare.labels.is_empty() && bare.service.is_none());

    let list = |query: ListIncidents| {
        let spine = spine.clone();
        async move {
            spine
                .call(&ctx("t1"), &query)
                .await
                .expect("list")
                .items
                .into_iter()
                .map(|i| i.title)
                .collect::<Vec<_>>()
        }
    };
    let by_label = |l: &[&str]| ListIncidents {
        label: Some(l.iter().map(|s| (*s).to_owned()).collect()),
        ..ListIncidents::default()
    };
    assert_eq!(
        list(by_label(&["region:eu-west-1"])).await,
        ["Search slow", "Checkout slow"]
    );
    assert_eq!(
        list(by_label(&["region:eu-west-1", "team:payments"])).await,
        ["Checkout slow"]
    );
    // A value that contains another label's text does not match it; values are case-sensitive.
    assert_eq!(
        list(by_label(&["team:Payments"])).await,
        Vec::<String>::new()
    );
    assert_eq!(
        list(by_label(&["note:team:payments"])).await,
        ["Search slow"]
    );
    assert_eq!(
        list(ListIncidents {
            service: Some("search".into()),
            ..ListIncidents::default()
        })
        .await,
        ["Search slow"]
    );

    // Changed later, with the version read; `{}` removes every label, `null` clears the service.
    let edited = spine
        .call(
            &ctx("t1"),
            &EditIncident {
                id: checkout.id.clone(),
                expected_version: Some(JsonInt(1)),
                service: Patch::Null,
                labels: Patch::Value(BTreeMap::new()),
                ..EditIncident::default()
            },
        )
        .await
        .expect("edit");
    assert_eq!(
        (edited.service.clone(), edited.labels.len(), edited.version),
        (None, 0, 2)
    );
    assert_eq!(
        list(by_label(&["team:payments"])).await,
        Vec::<String>::new()
    );
    // At the instant before the edit, the filter sees the labels as they were.
    let then = spine
        .call(
            &ctx("t1").with_as_of(search.created_at),
            &by_label(&["team:payments"]),
        )
        .await
        .expect("list then");
    assert_eq!(then.items.len(), 1);
    let timeline = crate::timeline_of(&spine, "t1", &checkout.id).await.items;
    assert_eq!(
        timeline[1].description,
        "edited service cleared, labels cleared"
    );

    // Every bad field at once: a service with capitals, a key with a space, a value with a newline, too many.
    let many: serde_json::Map<String, serde_json::Value> =
        (0..33).map(|i| (format!("k{i}"), json!("v"))).collect();
    let err = refused_without_writes!(
        db,
        ErrorCode::InvalidInput,
        spine.execute(
            &ctx("t1"),
            "incidents.write",
            "create",
            json!({"title": "t", "severity": "low", "category": "c", "service": "Checkout API",
                   "labels": {"bad key": "v", "ok": "line\nbreak"}})
        )
    );
    let OperationError::InvalidInput { fields } = err else {
        panic!("{err:?}")
    };
    assert_eq!(
        fields
            .iter()
            .map(|f| (f.field.as_str(), f.problem.as_str()))
            .collect::<Vec<_>>(),
        [
            ("service", "must use only a-z, 0-9 and `._-` (found 'C')"),
            (
                "labels",
                "key \"bad key\" must use only a-z, 0-9 and `._-/` (found ' ')"
            ),
            (
                "labels",
                "value of \"ok\" must not contain control characters"
            ),
        ]
    );
    refused_without_writes!(
        db,
        ErrorCode::InvalidInput,
        spine.execute(
            &ctx("t1"),
            "incidents.write",
            "create",
            json!({"title": "t", "severity": "low", "category": "c", "labels": many})
        )
    );
    let err = spine
        .call(&ctx("t1"), &by_label(&["no-colon"]))
        .await
        .expect_err("a label filter without a value");
    assert_eq!(err.code(), ErrorCode::InvalidInput);
});
