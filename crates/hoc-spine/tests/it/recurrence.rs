//! Recurrence signatures on create, recurrence groups, and postmortem stubs.

use hoc_drivers::testing::row_counts;
use hoc_incidents::CreateIncident;
use hoc_incidents::recurrence::{SignatureSource, sign_current};
use hoc_spine::ErrorCode;
use hoc_spine::requests::{
    CreatePostmortemStub, GetIncident, GetRecurrenceGroup, GroupForIncident, ResolveIncident,
};
use serde_json::json;

use crate::{ctx, event_log, spine};

fn db_incident(message: &str) -> CreateIncident {
    CreateIncident {
        title: Some(format!("DB: {message}")),
        severity: Some("high".into()),
        category: Some("Database".into()),
        error_code: Some("PG-53300".into()),
        error_message: Some(message.into()),
        ..CreateIncident::default()
    }
}

hoc_drivers::storage_test!(create_signs_incidents_and_groups_recurrences, |db| {
    let spine = spine(&db);
    // Tenants on rsig-v1 (the error message counts beside the code).
    for tenant in ["t1", "t2"] {
        spine
            .call(
                &ctx(tenant),
                &hoc_spine::requests::PutGroupingConfig {
                    primary_version: Some("rsig-v1".into()),
                    ..Default::default()
                },
            )
            .await
            .expect("v1");
    }
    let a = spine
        .call(&ctx("t1"), &db_incident("too many clients for user 4821"))
        .await
        .expect("a");
    let b = spine
        .call(&ctx("t1"), &db_incident("Too many clients for user 77"))
        .await
        .expect("b");
    let other = spine
        .call(&ctx("t1"), &db_incident("disk full on /dev/sda1"))
        .await
        .expect("other");
    let elsewhere = spine
        .call(&ctx("t2"), &db_incident("too many clients for user 1"))
        .await
        .expect("t2");

    let expected = sign_current(&SignatureSource {
        category: "Database",
        error_code: Some("PG-53300"),
        error_message: Some("too many clients for user 4821"),
        ..SignatureSource::default()
    });
    assert_eq!(
        a.recurrence_signature.as_deref(),
        Some(expected.signature.as_str())
    );
    assert_eq!(a.signature_version.as_deref(), Some("rsig-v1"));
    assert_eq!(b.recurrence_signature, a.recurrence_signature);
    assert_ne!(other.recurrence_signature, a.recurrence_signature);
    // Same signature in another tenant: never in this tenant's group.
    assert_eq!(elsewhere.recurrence_signature, a.recurrence_signature);

    let signature = a.recurrence_signature.clone().expect("signed");
    spine
        .call(
            &ctx("t1"),
            &ResolveIncident {
                id: a.id.clone(),
                resolution_type: Some("mitigated".into()),
                ..Default::default()
            },
        )
        .await
        .expect("resolve");
    let group = spine
        .call(
            &ctx("t1"),
            &GetRecurrenceGroup {
                signature: signature.clone(),
                ..Default::default()
            },
        )
        .await
        .expect("group");
    assert_eq!((group.count, group.open_count), (2, 1));
    assert_eq!(group.signature_version, "rsig-v1");
    assert_eq!(
        group
            .items
            .iter()
            .map(|i| i.id.as_str())
            .collect::<Vec<_>>(),
        [b.id.as_str(), a.id.as_str()]
    );
    assert_eq!(
        (group.first_seen, group.last_seen),
        (Some(a.created_at), Some(b.created_at))
    );
    assert_eq!(group.next_cursor, None);
    assert!(group.signature_inputs.is_none());

    // "Why were these grouped": the canonical inputs.
    let why = spine
        .call(
            &ctx("t1"),
            &GroupForIncident {
                id: b.id.clone(),
                ..Default::default()
            },
        )
        .await
        .expect("group for b");
    assert_eq!(why.recurrence_signature, signature);
    assert_eq!(why.count, 2);
    let inputs = why.signature_inputs.expect("inputs");
    assert_eq!(inputs.mode, "fields");
    assert_eq!(
        inputs.fields,
        [
            ("category".to_owned(), "database".to_owned()),
            ("error_code".to_owned(), "pg-53300".to_owned()),
            ("trigger_type".to_owned(), String::new()),
            ("source_type".to_owned(), String::new()),
            (
                "error_message".to_owned(),
                "too many clients for user <n>".to_owned()
            ),
        ]
    );
    // Unknown signature or version.
    let err = spine
        .call(
            &ctx("t1"),
            &GetRecurrenceGroup {
                signature: "0".repeat(64),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound);
    let err = spine
        .call(
            &ctx("t1"),
            &GetRecurrenceGroup {
                signature,
                version: Some("rsig-v9".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert!(
        err.to_string()
            .contains("version: `rsig-v9` is not one of rsig-v1"),
        "{err}"
    );
});

hoc_drivers::storage_test!(fingerprint_replaces_the_default_inputs, |db| {
    let spine = spine(&db);
    let with_fp = |title: &str, code: &str| CreateIncident {
        error_code: Some(code.into()),
        fingerprint: Some(vec!["checkout".into(), " eu-west ".into()]),
        ..db_incident(title)
    };
    let a = spine
        .call(&ctx("t1"), &with_fp("one", "E1"))
        .await
        .expect("a");
    let b = spine
        .call(&ctx("t1"), &with_fp("two", "E2"))
        .await
        .expect("b");
    assert_eq!(a.recurrence_signature, b.recurrence_signature);
    let why = spine
        .call(
            &ctx("t1"),
            &GroupForIncident {
                id: a.id.clone(),
                ..Default::default()
            },
        )
        .await
        .expect("why");
    let inputs = why.signature_inputs.expect("inputs");
    assert_eq!(inputs.mode, "fingerprint");
    assert_eq!(
        inputs.fields,
        [
            ("fingerprint".to_owned(), "checkout".to_owned()),
            ("fingerprint".to_owned(), "eu-west".to_owned())
        ]
    );
    let err = spine
        .execute(
            &ctx("t1"),
            "incidents.write",
            "create",
            json!({"title": "t", "severity": "low", "category": "c", "fingerprint": ["ok", ""]}),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid input: fingerprint[1]: must not be empty"
    );
});

hoc_drivers::storage_test!(postmortem_stub_is_created_once_and_linked, |db| {
    let spine = spine(&db);
    let incident = spine
        .call(&ctx("t1"), &db_incident("replication lag"))
        .await
        .expect("create");
    let first = spine
        .call(
            &ctx("t1"),
            &CreatePostmortemStub {
                incident_id: incident.id.clone(),
                title: None,
            },
        )
        .await
        .expect("stub");
    assert!(first.created);
    assert!(first.postmortem.id.starts_with("pm_"));
    assert_eq!(first.postmortem.incident_id, incident.id);
    assert_eq!(first.postmortem.title, "Postmortem: DB: replication lag");
    assert_eq!(
        (
            first.postmortem.status.as_str(),
            first.postmortem.created_by.as_str()
        ),
        ("draft", "alice")
    );
    let linked = spine
        .call(
            &ctx("t1"),
            &GetIncident {
                id: incident.id.clone(),
            },
        )
        .await
        .expect("get");
    assert_eq!(
        linked.postmortem_artifact_id.as_deref(),
        Some(first.postmortem.id.as_str())
    );
    assert_eq!((linked.status.as_str(), linked.version), ("open", 2));

    let timeline = crate::timeline_of(&spine, "t1", &incident.id).await;
    let last = timeline.items.last().expect("rows");
    assert_eq!(
        (
            last.ordinal,
            last.event_type.as_str(),
            last.from_state.map(|s| s.as_str()),
            last.to_state.as_str()
        ),
        (2, "postmortem_created", Some("open"), "open")
    );
    let log = event_log(&spine, "t1").await;
    assert_eq!(
        log.last().map(|(_, t)| t.as_str()),
        Some("incidents.PostmortemCreated")
    );
    let events = spine
        .call(&ctx("t1"), &hoc_spine::requests::ListEvents::default())
        .await
        .expect("events")
        .items;
    assert_eq!(
        serde_json::Value::Object(events[1].data.clone()),
        json!({"incident_id": incident.id, "postmortem_artifact_id": first.postmortem.id})
    );

    // A repeat returns the same postmortem and writes nothing.
    let before = row_counts(&db).await;
    let again = spine
        .call(
            &ctx("t1"),
            &CreatePostmortemStub {
                incident_id: incident.id.clone(),
                title: Some("other".into()),
            },
        )
        .await
        .expect("repeat");
    assert!(!again.created);
    assert_eq!(again.postmortem, first.postmortem);
    assert_eq!(row_counts(&db).await, before);

    // Missing incident.
    let err = spine
        .call(
            &ctx("t1"),
            &CreatePostmortemStub {
                incident_id: "inc_nope".into(),
                title: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound);
    assert_eq!(row_counts(&db).await, before);
});

hoc_drivers::storage_test!(
    group_summaries_replayed_from_history_equal_the_maintained_ones,
    |db| {
        use hoc_spine::requests::{AcknowledgeIncident, CloseIncident, ReopenIncident};
        let clock = crate::TestClock::at(time::macros::datetime!(2026-11-26 09:00:00 UTC));
        let spine = clock.install(spine(&db));
        let mut ids = Vec::new();
        let mut instants = Vec::new();
        let mut t = time::macros::datetime!(2026-11-26 09:00:00 UTC);
        for (minute, message) in ["user 1", "user 2", "user 3", "user 4"].iter().enumerate() {
            t += time::Duration::minutes(10);
            clock.set(t);
            let incident = spine
                .call(
                    &ctx("t1"),
                    &db_incident(&format!("too many clients for {message}")),
                )
                .await
                .expect("create");
            ids.push(incident.id.clone());
            instants.push(incident.created_at);
            let id = incident.id;
            t += time::Duration::minutes(1);
            clock.set(t);
            let changed = match minute {
                0 => spine
                    .call(&ctx("t1"), &AcknowledgeIncident { id, reason: None })
                    .await
                    .map(|i| i.updated_at),
                1 => spine
                    .call(
                        &ctx("t1"),
                        &ResolveIncident {
                            id,
                            resolution_type: Some("hotfix".into()),
                            ..Default::default()
                        },
                    )
                    .await
                    .map(|i| i.updated_at),
                _ => spine
                    .call(
                        &ctx("t1"),
                        &CloseIncident {
                            id,
                            reason: Some("duplicate".into()),
                        },
                    )
                    .await
                    .map(|i| i.updated_at),
            };
            instants.push(changed.expect("transition"));
        }
        clock.set(t + time::Duration::minutes(1));
        let reopened = spine
            .call(
                &ctx("t1"),
                &ReopenIncident {
                    id: ids[1].clone(),
                    reason: None,
                },
            )
            .await
            .expect("reopen");
        instants.push(reopened.updated_at);
        let signature = reopened.recurrence_signature.clone().expect("signed");
        let group = GetRecurrenceGroup {
            signature,
            ..Default::default()
        };
        let summaries = |spine: hoc_spine::Spine, instants: Vec<time::OffsetDateTime>| {
            let group = group.clone();
            async move {
                let mut out = Vec::new();
                for at in instants {
                    let found = spine
                        .call(&ctx("t1").with_as_of(at), &group)
                        .await
                        .expect("group");
                    let mut found = serde_json::to_value(&found).expect("json");
                    // The members as the summaries count them: a later migration's columns (an assignee, say) do
                    // not survive migrating down through it.
                    for item in found["items"].as_array_mut().expect("items") {
                        *item = serde_json::json!({
                            "id": item["id"], "status": item["status"], "version": item["version"],
                            "created_at": item["created_at"], "updated_at": item["updated_at"],
                        });
                    }
                    out.push(found);
                }
                out
            }
        };
        let maintained = summaries(spine.clone(), instants.clone()).await;
        assert_eq!(
            maintained
                .iter()
                .map(|g| (g["count"].as_u64(), g["open_count"].as_u64()))
                .collect::<Vec<_>>()
                .last(),
            Some(&(Some(4), Some(2))),
            "acknowledged and reopened members are open; the closed ones are not"
        );
        // Replays the history into the summary tables: the migration's backfill must agree with the triggers.
        db.migrate_down_through("m20261128_000005_performance")
            .await
            .expect("down");
        db.migrate().await.expect("up");
        assert_eq!(summaries(spine, instants).await, maintained);
    }
);
