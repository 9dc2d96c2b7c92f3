use hoc_contracts::{ActorType, EventEnvelope, FieldError};
use hoc_drivers::testing::row_counts;
use hoc_drivers::{audit, timeline};
use hoc_incidents::{CreateIncident, IncidentState};
use hoc_spine::requests::{AcknowledgeIncident, GetIncident, ListEvents};
use hoc_spine::{ErrorCode, OperationContext, OperationError};
use serde_json::json;

use crate::{create, create_request, ctx, spine};

async fn events(spine: &hoc_spine::Spine, tenant: &str) -> Vec<EventEnvelope> {
    spine
        .call(&ctx(tenant), &ListEvents::default())
        .await
        .expect("events")
        .items
}

hoc_drivers::storage_test!(create_writes_incident_timeline_audit_and_event, |db| {
    let spine = spine(&db);
    let incident = create(&spine, "t1", "Primary DB out of connections").await;
    assert_eq!(incident.status, IncidentState::Open);
    assert_eq!(incident.tenant_id, "t1");
    assert_eq!(incident.severity.as_str(), "high");
    assert_eq!(incident.error_code.as_deref(), Some("PG-53300"));
    assert_eq!(incident.version, 1);
    assert!(incident.id.starts_with("inc_"));
    assert_eq!(incident.created_at, incident.updated_at);

    let counts = row_counts(&db).await;
    assert_eq!(counts["incidents"], 1);
    assert_eq!(counts["incident_timeline"], 1);
    assert_eq!(counts["audit_ledger"], 1);
    assert_eq!(counts["event_outbox"], 1);

    let fetched = spine
        .call(
            &ctx("t1"),
            &GetIncident {
                id: incident.id.clone(),
            },
        )
        .await
        .expect("get");
    assert_eq!(fetched.incident, incident);
    assert_eq!(
        fetched.as_of, incident.created_at,
        "a get echoes the instant it read at"
    );

    let events = events(&spine, "t1").await;
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.event_type, "incidents.IncidentCreated");
    assert_eq!(event.sequence_no, 1);
    assert_eq!(
        (event.tenant_id.as_str(), event.project_id.as_str()),
        ("t1", "default")
    );
    assert_eq!(
        (event.actor_type, event.actor_id.as_str()),
        (ActorType::User, "alice")
    );
    assert_eq!(event.decision_owner, "incidents");
    assert_eq!(event.occurred_at, incident.created_at);
    assert_eq!(
        serde_json::Value::Object(event.data.clone()),
        json!({
            "incident_id": incident.id,
            "incident_state": "open",
            "severity": "high",
            "recurrence_signature": incident.recurrence_signature,
            "signature_version": "rsig-v3",
        })
    );
    event.validate().expect("stored event is valid");
});

hoc_drivers::storage_test!(
    acknowledge_moves_open_to_acknowledged_with_all_records,
    |db| {
        let spine = spine(&db);
        let incident = create(&spine, "t1", "Checkout latency").await;
        let bob = OperationContext::new("t1", ActorType::Sdk, "pager-bot")
            .expect("ctx")
            .with_request_id("req-ack-1")
            .expect("ctx");
        let acked = spine
            .call(
                &bob,
                &AcknowledgeIncident {
                    id: incident.id.clone(),
                    reason: Some("on it".into()),
                },
            )
            .await
            .expect("acknowledge");
        assert_eq!(acked.status, IncidentState::Acknowledged);
        assert_eq!(acked.acknowledged_by.as_deref(), Some("pager-bot"));
        assert_eq!(acked.acknowledged_at, Some(acked.updated_at));
        assert!(acked.updated_at >= incident.updated_at);
        assert_eq!(acked.version, 2);
        assert_eq!(
            spine
                .call(
                    &ctx("t1"),
                    &GetIncident {
                        id: incident.id.clone()
                    }
                )
                .await
                .expect("get")
                .incident,
            acked
        );

        // Timeline: exactly the two rows, in ordinal order.
        let page = crate::timeline_of(&spine, "t1", &incident.id).await;
        let rows: Vec<_> = page
            .items
            .iter()
            .map(|e| {
                (
                    e.ordinal,
                    e.event_type.as_str(),
                    e.from_state.map(|s| s.as_str()),
                    e.to_state.as_str(),
                    e.actor_id.as_str(),
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                (1, "created", None, "open", "alice"),
                (2, "acknowledged", Some("open"), "acknowledged", "pager-bot"),
            ]
        );
        // Acknowledging an unassigned incident takes it.
        assert_eq!(
            page.items[1].description,
            "open → acknowledged: on it (assigned to pager-bot)"
        );
        assert_eq!(page.items[1].actor_type.as_str(), "sdk");

        // Audit: the acknowledge row carries actor, reason, request id and before/after state.
        let tx = hoc_ledger::begin_read(&db);
        let audit_rows = audit::list_for_entity(&tx, "t1", &incident.id)
            .await
            .expect("audit");
        assert_eq!(
            timeline::list(&tx, "t1", &incident.id, None)
                .await
                .expect("timeline")
                .len(),
            2
        );
        drop(tx);
        assert_eq!(audit_rows.len(), 2);
        let ack = audit_rows
            .iter()
            .find(|r| r.action == "incidents.write.acknowledge")
            .expect("ack audit row");
        assert_eq!(
            (ack.actor_type.get().as_str(), ack.actor_id.as_str()),
            ("AGENT", "pager-bot")
        );
        assert_eq!(ack.reason.as_deref(), Some("on it"));
        assert_eq!(ack.request_id, "req-ack-1");
        let before: serde_json::Value =
            serde_json::from_str(ack.before_state.as_deref().expect("before")).expect("json");
        let after: serde_json::Value =
            serde_json::from_str(ack.after_state.as_deref().expect("after")).expect("json");
        assert_eq!(
            (before["status"].as_str(), before["version"].as_i64()),
            (Some("open"), Some(1))
        );
        assert_eq!(
            (after["status"].as_str(), after["version"].as_i64()),
            (Some("acknowledged"), Some(2))
        );
        assert_eq!(after["acknowledged_by"], "pager-bot");
        assert!(after.get("resolution_type").is_some());

        // Events: created then acknowledged, gapless.
        let events = events(&spine, "t1").await;
        let summary: Vec<_> = events
            .iter()
            .map(|e| (e.sequence_no, e.event_type.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                (1, "incidents.IncidentCreated"),
                (2, "incidents.IncidentAcknowledged")
            ]
        );
        assert_eq!(
            serde_json::Value::Object(events[1].data.clone()),
            json!({"incident_id": incident.id, "incident_state": "acknowledged"})
        );
        assert_eq!(
            (events[1].actor_type, events[1].actor_id.as_str()),
            (ActorType::Sdk, "pager-bot")
        );
    }
);

hoc_drivers::storage_test!(acknowledge_error_paths_write_nothing, |db| {
    let spine = spine(&db);
    let incident = create(&spine, "t1", "Queue backlog").await;

    let err = refused_without_writes!(
        db,
        ErrorCode::NotFound,
        spine.call(
            &ctx("t1"),
            &AcknowledgeIncident {
                id: "inc_missing".into(),
                reason: None
            }
        )
    );
    assert_eq!(err.to_string(), "incident inc_missing not found");

    // Another tenant's incident is indistinguishable from a missing one.
    let err = refused_without_writes!(
        db,
        ErrorCode::NotFound,
        spine.call(
            &ctx("t2"),
            &AcknowledgeIncident {
                id: incident.id.clone(),
                reason: None
            }
        )
    );
    assert_eq!(
        err.to_string(),
        format!("incident {} not found", incident.id)
    );

    spine
        .call(
            &ctx("t1"),
            &AcknowledgeIncident {
                id: incident.id.clone(),
                reason: None,
            },
        )
        .await
        .expect("first ack");
    let err = refused_without_writes!(
        db,
        ErrorCode::InvalidTransition,
        spine.call(
            &ctx("t1"),
            &AcknowledgeIncident {
                id: incident.id.clone(),
                reason: None
            }
        )
    );
    match err {
        OperationError::InvalidTransition { from, to } => assert_eq!(
            (from.as_str(), to.as_str()),
            ("acknowledged", "acknowledged")
        ),
        other => panic!("{other:?}"),
    }

    let err = refused_without_writes!(
        db,
        ErrorCode::InvalidInput,
        spine.execute(
            &ctx("t1"),
            "incidents.write",
            "acknowledge",
            json!({"id": "", "reason": "a\u{0}b"})
        )
    );
    match err {
        OperationError::InvalidInput { fields } => assert_eq!(
            fields,
            [
                FieldError::new("id", "is required"),
                FieldError::new(
                    "reason",
                    "must not contain control characters other than newline and tab"
                ),
            ]
        ),
        other => panic!("{other:?}"),
    }
    // A tenant in the payload is an unknown field, a number for the reason a wrong type: malformed.
    for payload in [
        json!({"id": incident.id, "tenant_id": "t2"}),
        json!({"id": incident.id, "reason": 3}),
    ] {
        refused_without_writes!(
            db,
            ErrorCode::MalformedRequest,
            spine.execute(&ctx("t1"), "incidents.write", "acknowledge", payload)
        );
    }
    // The foreign tenant sees none of t1's events, and t1's incident is unchanged by t2's attempt.
    assert!(events(&spine, "t2").await.is_empty());
    assert_eq!(events(&spine, "t1").await.len(), 2);
});

hoc_drivers::storage_test!(create_error_paths_write_nothing, |db| {
    let spine = spine(&db);
    let err = refused_without_writes!(
        db,
        ErrorCode::InvalidInput,
        spine.call(
            &ctx("t1"),
            &CreateIncident {
                severity: Some("meh".into()),
                ..create_request("")
            }
        )
    );
    match err {
        OperationError::InvalidInput { fields } => assert_eq!(
            fields,
            [
                FieldError::new("title", "must not be empty"),
                FieldError::new(
                    "severity",
                    "`meh` is not one of critical, high, medium, low, info"
                ),
            ]
        ),
        other => panic!("{other:?}"),
    }
    for payload in [json!("not an object"), json!(["Title", "high", "db"])] {
        refused_without_writes!(
            db,
            ErrorCode::MalformedRequest,
            spine.execute(&ctx("t1"), "incidents.write", "create", payload)
        );
    }
    refused_without_writes!(
        db,
        ErrorCode::NotFound,
        spine.call(
            &ctx("t1"),
            &GetIncident {
                id: "inc_nope".into()
            }
        )
    );
});

hoc_drivers::storage_test!(
    the_events_feed_pages_and_caps_its_limit_like_every_list,
    |db| {
        let spine = spine(&db);
        for i in 0..3 {
            create(&spine, "t1", &format!("feed {i}")).await;
        }
        let page = spine
            .call(
                &ctx("t1"),
                &ListEvents {
                    after: Some(1),
                    limit: Some(1),
                },
            )
            .await
            .expect("page");
        assert_eq!(
            (page.items.len(), page.items[0].sequence_no, page.next_after),
            (1, 2, 2)
        );
        let all = spine
            .call(
                &ctx("t1"),
                &ListEvents {
                    after: None,
                    limit: Some(500),
                },
            )
            .await
            .expect("largest page");
        assert_eq!(all.items.len(), 3);
        let err = spine
            .call(
                &ctx("t1"),
                &ListEvents {
                    after: None,
                    limit: Some(100_000),
                },
            )
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid input: limit: must be an integer from 1 to 500"
        );
        let err = spine
            .call(
                &ctx("t1"),
                &ListEvents {
                    after: Some(-1),
                    limit: None,
                },
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidInput);
        // After the end: empty, and next_after stays where it was.
        let end = spine
            .call(
                &ctx("t1"),
                &ListEvents {
                    after: Some(3),
                    limit: None,
                },
            )
            .await
            .expect("end");
        assert_eq!((end.items.len(), end.next_after), (0, 3));
    }
);
