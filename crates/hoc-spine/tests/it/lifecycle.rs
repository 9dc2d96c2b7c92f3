//! resolve, close, reopen: happy paths with their exact records, error paths that write nothing, tenancy.

use hoc_contracts::FieldError;
use hoc_incidents::IncidentState;
use hoc_spine::requests::{
    AcknowledgeIncident, ChangeSeverity, CloseIncident, CreatePostmortemStub, GetIncident,
    IncidentAudit, IncidentTimeline, ListEvents, ReopenIncident, ResolveIncident,
};
use hoc_spine::{ErrorCode, OperationError};
use serde_json::json;

use crate::{create, ctx, event_log, spine};

fn resolve_req(id: &str, resolution_type: &str) -> ResolveIncident {
    ResolveIncident {
        id: id.to_owned(),
        resolution_type: Some(resolution_type.to_owned()),
        ..ResolveIncident::default()
    }
}

hoc_drivers::storage_test!(resolve_records_the_resolution_contract, |db| {
    let spine = spine(&db);
    let incident = create(&spine, "t1", "Payment webhooks failing").await;
    spine
        .call(
            &ctx("t1"),
            &AcknowledgeIncident {
                id: incident.id.clone(),
                reason: None,
            },
        )
        .await
        .expect("ack");
    let pm = spine
        .call(
            &ctx("t1"),
            &CreatePostmortemStub {
                incident_id: incident.id.clone(),
                title: None,
            },
        )
        .await
        .expect("postmortem");
    let resolved = spine
        .call(
            &ctx("t1"),
            &ResolveIncident {
                id: incident.id.clone(),
                resolution_type: Some("rollback".into()),
                resolution_summary: Some("rolled back release 2026.11.3".into()),
                postmortem_artifact_id: Some(pm.postmortem.id.clone()),
                reason: Some("error rate back to baseline".into()),
            },
        )
        .await
        .expect("resolve");
    assert_eq!(resolved.status, IncidentState::Resolved);
    assert_eq!(
        resolved.resolution_type.map(|t| t.as_str()),
        Some("rollback")
    );
    assert_eq!(
        resolved.resolution_summary.as_deref(),
        Some("rolled back release 2026.11.3")
    );
    assert_eq!(
        resolved.postmortem_artifact_id.as_deref(),
        Some(pm.postmortem.id.as_str())
    );
    assert_eq!(resolved.resolved_by.as_deref(), Some("alice"));
    assert_eq!(resolved.resolved_at, Some(resolved.updated_at));
    assert_eq!(resolved.resolution_method, None);
    assert_eq!(resolved.version, 4); // create, ack, postmortem link, resolve
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
        resolved
    );

    let timeline = crate::timeline_of(&spine, "t1", &incident.id).await;
    let last = timeline.items.last().expect("rows");
    assert_eq!(
        (
            last.ordinal,
            last.event_type.as_str(),
            last.from_state.map(|s| s.as_str()),
            last.to_state.as_str()
        ),
        (4, "resolved", Some("acknowledged"), "resolved")
    );
    assert_eq!(
        last.description,
        "acknowledged → resolved: error rate back to baseline"
    );

    let audit = crate::audit_of(&spine, "t1", &incident.id).await;
    let entry = audit
        .items
        .iter()
        .find(|e| e.action == "incidents.write.resolve")
        .expect("resolve audit row");
    let after = entry.after_state.as_ref().expect("after");
    assert_eq!(after["status"], "resolved");
    assert_eq!(after["resolution_type"], "rollback");
    assert_eq!(after["resolution_summary"], "rolled back release 2026.11.3");
    assert!(after.get("resolution_method").is_some());
    assert_eq!(
        entry.before_state.as_ref().expect("before")["status"],
        "acknowledged"
    );
    assert_eq!(entry.reason.as_deref(), Some("error rate back to baseline"));

    let events = spine
        .call(&ctx("t1"), &ListEvents::default())
        .await
        .expect("events")
        .items;
    let resolved_event = events.last().expect("events");
    assert_eq!(resolved_event.event_type, "incidents.IncidentResolved");
    assert_eq!(
        serde_json::Value::Object(resolved_event.data.clone()),
        json!({"incident_id": incident.id, "incident_state": "resolved", "resolution_type": "rollback"})
    );
    assert_eq!(
        event_log(&spine, "t1")
            .await
            .iter()
            .map(|(n, t)| (*n, t.as_str()))
            .collect::<Vec<_>>(),
        [
            (1, "incidents.IncidentCreated"),
            (2, "incidents.IncidentAcknowledged"),
            (3, "incidents.PostmortemCreated"),
            (4, "incidents.IncidentResolved"),
        ]
    );
});

hoc_drivers::storage_test!(resolve_straight_from_open_is_allowed, |db| {
    let spine = spine(&db);
    let incident = create(&spine, "t1", "Flaky health check").await;
    let resolved = spine
        .call(&ctx("t1"), &resolve_req(&incident.id, "false_positive"))
        .await
        .expect("resolve");
    assert_eq!(
        (resolved.status, resolved.acknowledged_at),
        (IncidentState::Resolved, None)
    );
});

hoc_drivers::storage_test!(
    resolve_contract_errors_are_all_listed_and_write_nothing,
    |db| {
        let spine = spine(&db);
        let incident = create(&spine, "t1", "Disk pressure").await;
        let foreign = create(&spine, "t2", "Other tenant").await;
        let foreign_pm = spine
            .call(
                &ctx("t2"),
                &CreatePostmortemStub {
                    incident_id: foreign.id.clone(),
                    title: None,
                },
            )
            .await
            .expect("t2 postmortem")
            .postmortem;

        let err = refused_without_writes!(
            db,
            ErrorCode::InvalidInput,
            spine.execute(
                &ctx("t1"),
                "incidents.write",
                "resolve",
                json!({
                    "id": incident.id,
                    "resolution_type": "prayed",
                    "resolution_summary": "  ",
                    "postmortem_artifact_id": "p".repeat(65),
                })
            )
        );
        let OperationError::InvalidInput { fields } = err else {
            panic!("{err:?}")
        };
        assert_eq!(
            fields,
            [
                FieldError::new(
                    "resolution_type",
                    "`prayed` is not one of manual, auto, rollback, hotfix, config_change, mitigated, duplicate, false_positive, other"
                ),
                FieldError::new("resolution_summary", "must not be empty"),
                FieldError::new(
                    "postmortem_artifact_id",
                    "must be at most 64 characters (got 65)"
                ),
            ]
        );
        // Wrong JSON types and unknown fields are the request's shape: malformed, and nothing runs.
        for payload in [
            json!({"id": incident.id, "resolution_type": "manual", "resolution_summary": 42}),
            json!({"id": incident.id, "resolution_type": "manual", "resolved_by": "mallory"}),
        ] {
            refused_without_writes!(
                db,
                ErrorCode::MalformedRequest,
                spine.execute(&ctx("t1"), "incidents.write", "resolve", payload)
            );
        }

        // Too long, and missing.
        let err = refused_without_writes!(
            db,
            ErrorCode::InvalidInput,
            spine.execute(
                &ctx("t1"),
                "incidents.write",
                "resolve",
                json!({
                    "id": incident.id, "resolution_type": "x".repeat(51),
                })
            )
        );
        assert!(
            err.to_string().contains(&format!(
                "resolution_type: `{}` is not one of manual",
                "x".repeat(51)
            )),
            "{err}"
        );
        let err = refused_without_writes!(
            db,
            ErrorCode::InvalidInput,
            spine.call(
                &ctx("t1"),
                &ResolveIncident {
                    id: incident.id.clone(),
                    ..ResolveIncident::default()
                }
            )
        );
        assert!(
            err.to_string().contains("resolution_type: is required"),
            "{err}"
        );

        // A postmortem of another tenant is as good as none: not found, and nothing changes.
        let err = refused_without_writes!(
            db,
            ErrorCode::NotFound,
            spine.call(
                &ctx("t1"),
                &ResolveIncident {
                    postmortem_artifact_id: Some(foreign_pm.id.clone()),
                    ..resolve_req(&incident.id, "hotfix")
                }
            )
        );
        assert_eq!(
            err.to_string(),
            format!("postmortem {} not found", foreign_pm.id)
        );
        // A postmortem of the same tenant but of another incident is refused, naming the field.
        let sibling = create(&spine, "t1", "Disk pressure, again").await;
        let sibling_pm = spine
            .call(
                &ctx("t1"),
                &CreatePostmortemStub {
                    incident_id: sibling.id.clone(),
                    title: None,
                },
            )
            .await
            .expect("sibling postmortem")
            .postmortem;
        let err = refused_without_writes!(
            db,
            ErrorCode::InvalidInput,
            spine.call(
                &ctx("t1"),
                &ResolveIncident {
                    postmortem_artifact_id: Some(sibling_pm.id.clone()),
                    ..resolve_req(&incident.id, "hotfix")
                }
            )
        );
        let OperationError::InvalidInput { fields } = err else {
            panic!("{err:?}")
        };
        assert_eq!(
            fields,
            [FieldError::new(
                "postmortem_artifact_id",
                format!(
                    "is the postmortem of incident {}, not of {}",
                    sibling.id, incident.id
                )
            )]
        );
        // A missing incident is not found, whatever postmortem comes with it.
        refused_without_writes!(
            db,
            ErrorCode::NotFound,
            spine.call(
                &ctx("t1"),
                &ResolveIncident {
                    postmortem_artifact_id: Some(sibling_pm.id.clone()),
                    ..resolve_req("inc_missing", "hotfix")
                }
            )
        );
        let after = spine
            .call(
                &ctx("t1"),
                &GetIncident {
                    id: incident.id.clone(),
                },
            )
            .await
            .expect("get");
        assert_eq!((after.status, after.version), (IncidentState::Open, 1));
    }
);

hoc_drivers::storage_test!(manual_close_records_method_reason_and_event, |db| {
    let spine = spine(&db);
    let incident = create(&spine, "t1", "Duplicate page").await;
    let closed = spine
        .call(
            &ctx("t1"),
            &CloseIncident {
                id: incident.id.clone(),
                reason: Some("duplicate of INC-7".into()),
            },
        )
        .await
        .expect("close");
    assert_eq!(closed.status, IncidentState::Closed);
    assert_eq!(
        closed.resolution_method.map(|m| m.as_str()),
        Some("manual_closure")
    );
    assert_eq!(closed.close_reason.as_deref(), Some("duplicate of INC-7"));
    assert_eq!(
        (closed.closed_by.as_deref(), closed.closed_at),
        (Some("alice"), Some(closed.updated_at))
    );

    let audit = crate::audit_of(&spine, "t1", &incident.id).await;
    let entry = audit.items.last().expect("audit rows");
    assert_eq!(entry.action, "incidents.write.close");
    assert_eq!(
        entry.after_state.as_ref().expect("after")["resolution_method"],
        "manual_closure"
    );
    assert_eq!(entry.reason.as_deref(), Some("duplicate of INC-7"));
    let events = spine
        .call(&ctx("t1"), &ListEvents::default())
        .await
        .expect("events")
        .items;
    assert_eq!(events[1].event_type, "incidents.IncidentManuallyClosed");
    assert_eq!(
        serde_json::Value::Object(events[1].data.clone()),
        json!({"incident_id": incident.id, "incident_state": "closed", "resolution_method": "manual_closure"})
    );

    // The reason is required.
    let fresh = create(&spine, "t1", "Another").await;
    let err = refused_without_writes!(
        db,
        ErrorCode::InvalidInput,
        spine.call(
            &ctx("t1"),
            &CloseIncident {
                id: fresh.id.clone(),
                reason: None
            }
        )
    );
    assert!(err.to_string().contains("reason: is required"), "{err}");
});

hoc_drivers::storage_test!(reopen_returns_to_open_and_keeps_history, |db| {
    let spine = spine(&db);
    for closing in ["resolve", "close"] {
        let incident = create(&spine, "t1", "Comes back").await;
        spine
            .call(
                &ctx("t1"),
                &AcknowledgeIncident {
                    id: incident.id.clone(),
                    reason: None,
                },
            )
            .await
            .expect("ack");
        let finished = if closing == "resolve" {
            spine
                .call(&ctx("t1"), &resolve_req(&incident.id, "hotfix"))
                .await
                .expect("resolve")
        } else {
            spine
                .call(
                    &ctx("t1"),
                    &CloseIncident {
                        id: incident.id.clone(),
                        reason: Some("noise".into()),
                    },
                )
                .await
                .expect("close")
        };
        let reopened = spine
            .call(
                &ctx("t1"),
                &ReopenIncident {
                    id: incident.id.clone(),
                    reason: Some("it recurred".into()),
                },
            )
            .await
            .expect("reopen");
        assert_eq!(reopened.status, IncidentState::Open);
        assert_eq!(reopened.version, 4);
        assert_eq!(
            (
                &reopened.resolution_type,
                &reopened.resolution_method,
                &reopened.close_reason,
                &reopened.resolved_at,
                &reopened.closed_at,
                &reopened.acknowledged_by
            ),
            (&None, &None, &None, &None, &None, &None)
        );
        let timeline = crate::timeline_of(&spine, "t1", &incident.id).await;
        let steps: Vec<(&str, &str)> = timeline
            .items
            .iter()
            .map(|e| (e.event_type.as_str(), e.to_state.as_str()))
            .collect();
        let closing_step = if closing == "resolve" {
            ("resolved", "resolved")
        } else {
            ("manually_closed", "closed")
        };
        assert_eq!(
            steps,
            [
                ("created", "open"),
                ("acknowledged", "acknowledged"),
                closing_step,
                ("reopened", "open")
            ]
        );
        // The cleared resolution survives in the audit ledger.
        let audit = crate::audit_of(&spine, "t1", &incident.id).await;
        let entry = audit.items.last().expect("rows");
        assert_eq!(entry.action, "incidents.write.reopen");
        let before = entry.before_state.as_ref().expect("before");
        assert_eq!(before["status"], finished.status.as_str());
        assert_eq!(before["resolution_type"], json!(finished.resolution_type));
        assert_eq!(
            before["resolution_method"],
            json!(finished.resolution_method)
        );
        // And it can go around again.
        spine
            .call(
                &ctx("t1"),
                &AcknowledgeIncident {
                    id: incident.id.clone(),
                    reason: None,
                },
            )
            .await
            .expect("ack again");
    }
    let log = event_log(&spine, "t1").await;
    let reopened: Vec<&(i64, String)> = log
        .iter()
        .filter(|(_, t)| t == "incidents.IncidentReopened")
        .collect();
    assert_eq!(reopened.len(), 2);
    let events = spine
        .call(
            &ctx("t1"),
            &ListEvents {
                after: Some(reopened[0].0 - 1),
                limit: Some(1),
            },
        )
        .await
        .expect("events")
        .items;
    assert_eq!(events[0].data["previous_state"], "resolved");
    assert_eq!(events[0].data["incident_state"], "open");
});

hoc_drivers::storage_test!(
    invalid_transitions_name_from_and_to_and_write_nothing,
    |db| {
        let spine = spine(&db);
        let incident = create(&spine, "t1", "State machine").await;
        let id = incident.id.clone();
        let expect = |err: OperationError, from: &str, to: &str| match err {
            OperationError::InvalidTransition { from: f, to: t } => {
                assert_eq!((f.as_str(), t.as_str()), (from, to))
            }
            other => panic!("{other:?}"),
        };
        // open: reopen is not allowed.
        expect(
            refused_without_writes!(
                db,
                ErrorCode::InvalidTransition,
                spine.call(
                    &ctx("t1"),
                    &ReopenIncident {
                        id: id.clone(),
                        reason: None
                    }
                )
            ),
            "open",
            "open",
        );
        spine
            .call(&ctx("t1"), &resolve_req(&id, "auto"))
            .await
            .expect("resolve");
        // resolved: acknowledge, resolve, close are not allowed.
        expect(
            refused_without_writes!(
                db,
                ErrorCode::InvalidTransition,
                spine.call(
                    &ctx("t1"),
                    &AcknowledgeIncident {
                        id: id.clone(),
                        reason: None
                    }
                )
            ),
            "resolved",
            "acknowledged",
        );
        expect(
            refused_without_writes!(
                db,
                ErrorCode::InvalidTransition,
                spine.call(&ctx("t1"), &resolve_req(&id, "auto"))
            ),
            "resolved",
            "resolved",
        );
        expect(
            refused_without_writes!(
                db,
                ErrorCode::InvalidTransition,
                spine.call(
                    &ctx("t1"),
                    &CloseIncident {
                        id: id.clone(),
                        reason: Some("r".into())
                    }
                )
            ),
            "resolved",
            "closed",
        );
        spine
            .call(
                &ctx("t1"),
                &ReopenIncident {
                    id: id.clone(),
                    reason: None,
                },
            )
            .await
            .expect("reopen");
        spine
            .call(
                &ctx("t1"),
                &CloseIncident {
                    id: id.clone(),
                    reason: Some("r".into()),
                },
            )
            .await
            .expect("close");
        // closed: everything but reopen is refused.
        expect(
            refused_without_writes!(
                db,
                ErrorCode::InvalidTransition,
                spine.call(
                    &ctx("t1"),
                    &AcknowledgeIncident {
                        id: id.clone(),
                        reason: None
                    }
                )
            ),
            "closed",
            "acknowledged",
        );
        expect(
            refused_without_writes!(
                db,
                ErrorCode::InvalidTransition,
                spine.call(&ctx("t1"), &resolve_req(&id, "auto"))
            ),
            "closed",
            "resolved",
        );
        expect(
            refused_without_writes!(
                db,
                ErrorCode::InvalidTransition,
                spine.call(
                    &ctx("t1"),
                    &CloseIncident {
                        id: id.clone(),
                        reason: Some("r".into())
                    }
                )
            ),
            "closed",
            "closed",
        );
    }
);

hoc_drivers::storage_test!(
    every_operation_on_another_tenants_incident_is_not_found,
    |db| {
        let spine = spine(&db);
        let theirs = create(&spine, "t1", "Tenant one's").await;
        let id = theirs.id.clone();
        let t2 = ctx("t2");
        refused_without_writes!(
            db,
            ErrorCode::NotFound,
            spine.call(
                &t2,
                &AcknowledgeIncident {
                    id: id.clone(),
                    reason: None
                }
            )
        );
        refused_without_writes!(
            db,
            ErrorCode::NotFound,
            spine.call(&t2, &resolve_req(&id, "manual"))
        );
        refused_without_writes!(
            db,
            ErrorCode::NotFound,
            spine.call(
                &t2,
                &CloseIncident {
                    id: id.clone(),
                    reason: Some("x".into())
                }
            )
        );
        refused_without_writes!(
            db,
            ErrorCode::NotFound,
            spine.call(
                &t2,
                &ReopenIncident {
                    id: id.clone(),
                    reason: None
                }
            )
        );
        refused_without_writes!(
            db,
            ErrorCode::NotFound,
            spine.call(
                &t2,
                &CreatePostmortemStub {
                    incident_id: id.clone(),
                    title: None
                }
            )
        );
        refused_without_writes!(
            db,
            ErrorCode::NotFound,
            spine.call(&t2, &GetIncident { id: id.clone() })
        );
        refused_without_writes!(
            db,
            ErrorCode::NotFound,
            spine.call(&t2, &IncidentTimeline { id: id.clone() })
        );
        refused_without_writes!(
            db,
            ErrorCode::NotFound,
            spine.call(
                &t2,
                &IncidentAudit {
                    id: id.clone(),
                    ..IncidentAudit::default()
                }
            )
        );
        refused_without_writes!(
            db,
            ErrorCode::NotFound,
            spine.call(
                &t2,
                &hoc_spine::requests::GroupForIncident {
                    id: id.clone(),
                    ..Default::default()
                }
            )
        );
        let signature = theirs.recurrence_signature.clone().expect("signed");
        refused_without_writes!(
            db,
            ErrorCode::NotFound,
            spine.call(
                &t2,
                &hoc_spine::requests::GetRecurrenceGroup {
                    signature,
                    ..Default::default()
                }
            )
        );
        let t2_list = spine
            .call(&t2, &hoc_spine::requests::ListIncidents::default())
            .await
            .expect("list");
        assert!(t2_list.items.is_empty());
        // Tenant one's incident is untouched.
        assert_eq!(
            spine
                .call(&ctx("t1"), &GetIncident { id })
                .await
                .expect("get")
                .incident,
            theirs
        );
    }
);

fn severity_req(id: &str, severity: &str, reason: &str) -> ChangeSeverity {
    ChangeSeverity {
        id: id.to_owned(),
        severity: Some(severity.to_owned()),
        reason: Some(reason.to_owned()),
    }
}

hoc_drivers::storage_test!(
    severity_changes_are_recorded_with_from_to_and_reason_in_any_state,
    |db| {
        let spine = spine(&db);
        let incident = create(&spine, "t1", "Checkout latency").await;
        assert_eq!(incident.severity.as_str(), "high");
        let escalated = spine
            .call(
                &ctx("t1"),
                &severity_req(
                    &incident.id,
                    "critical",
                    "checkout is failing for every EU customer",
                ),
            )
            .await
            .expect("escalate");
        assert_eq!(
            (
                escalated.severity.as_str(),
                escalated.status,
                escalated.version
            ),
            ("critical", IncidentState::Open, 2)
        );
        let before_fix = escalated.updated_at;

        // De-escalation on a closed incident: allowed (the record is corrected for its postmortem).
        spine
            .call(
                &ctx("t1"),
                &CloseIncident {
                    id: incident.id.clone(),
                    reason: Some("mitigated upstream".into()),
                },
            )
            .await
            .expect("close");
        let lowered = spine
            .call(
                &ctx("t1"),
                &severity_req(&incident.id, "low", "only one merchant was hit"),
            )
            .await
            .expect("de-escalate a closed incident");
        assert_eq!(
            (lowered.severity.as_str(), lowered.status, lowered.version),
            ("low", IncidentState::Closed, 4)
        );

        let timeline = crate::timeline_of(&spine, "t1", &incident.id).await.items;
        let changes: Vec<(i32, &str, &str)> = timeline
            .iter()
            .filter(|e| e.event_type.as_str() == "severity_changed")
            .map(|e| (e.ordinal, e.to_state.as_str(), e.description.as_str()))
            .collect();
        assert_eq!(
            changes,
            [
                (
                    2,
                    "open",
                    "severity escalated high → critical: checkout is failing for every EU customer"
                ),
                (
                    4,
                    "closed",
                    "severity de-escalated critical → low: only one merchant was hit"
                ),
            ]
        );

        let audit = crate::audit_of(&spine, "t1", &incident.id).await.items;
        let entry = audit.last().expect("audit rows");
        assert_eq!(entry.action, "incidents.write.change_severity");
        assert_eq!(entry.reason.as_deref(), Some("only one merchant was hit"));
        assert_eq!(
            (
                &entry.before_state.as_ref().expect("before")["severity"],
                &entry.after_state.as_ref().expect("after")["severity"]
            ),
            (&json!("critical"), &json!("low"))
        );

        let events = spine
            .call(&ctx("t1"), &ListEvents::default())
            .await
            .expect("events")
            .items;
        let severity_events: Vec<serde_json::Value> = events
            .iter()
            .filter(|e| e.event_type == "incidents.IncidentSeverityChanged")
            .map(|e| serde_json::Value::Object(e.data.clone()))
            .collect();
        assert_eq!(
            severity_events,
            [
                json!({"incident_id": incident.id, "incident_state": "open", "previous_severity": "high", "severity": "critical"}),
                json!({"incident_id": incident.id, "incident_state": "closed", "previous_severity": "critical", "severity": "low"}),
            ]
        );

        // Read at an instant before the second change: the severity as it was then.
        let then = spine
            .call(
                &ctx("t1").with_as_of(before_fix),
                &GetIncident {
                    id: incident.id.clone(),
                },
            )
            .await
            .expect("get as of");
        assert_eq!(then.incident.severity.as_str(), "critical");
    }
);

hoc_drivers::storage_test!(
    a_severity_change_needs_a_reason_and_a_known_severity_and_the_same_severity_changes_nothing,
    |db| {
        let spine = spine(&db);
        let incident = create(&spine, "t1", "Queue backlog").await;
        let err = refused_without_writes!(
            db,
            ErrorCode::InvalidInput,
            spine.execute(
                &ctx("t1"),
                "incidents.write",
                "change_severity",
                json!({"id": incident.id, "severity": "apocalyptic"})
            )
        );
        let OperationError::InvalidInput { fields } = err else {
            panic!("{err:?}")
        };
        assert_eq!(
            fields,
            [
                FieldError::new(
                    "severity",
                    "`apocalyptic` is not one of critical, high, medium, low, info"
                ),
                FieldError::new("reason", "is required"),
            ]
        );
        refused_without_writes!(
            db,
            ErrorCode::NotFound,
            spine.call(&ctx("t2"), &severity_req(&incident.id, "low", "not yours"))
        );
        // Already `high`: answered with the incident, and nothing is written.
        let before = hoc_drivers::testing::row_counts(&db).await;
        let same = spine
            .call(
                &ctx("t1"),
                &severity_req(&incident.id, "high", "still high"),
            )
            .await
            .expect("same severity");
        assert_eq!((same.version, same.severity.as_str()), (1, "high"));
        assert_eq!(hoc_drivers::testing::row_counts(&db).await, before);
    }
);
