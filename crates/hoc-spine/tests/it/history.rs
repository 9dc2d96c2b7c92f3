//! `as_of` travels in time: every read shows the state at that instant, and the same read at the same instant
//! gives the same bytes whatever is written later.

use hoc_spine::requests::{
    AcknowledgeIncident, CloseIncident, CreatePostmortemStub, GetArtifact, GetIncident,
    GetRecurrenceGroup, GroupForIncident, IncidentTimeline, ListArtifacts, ListAudit, ListEvents,
    ListIncidents, ReopenIncident, ResolveIncident, SaveArtifact,
};
use hoc_spine::{ErrorCode, IncidentState, OperationContext, Spine};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::{TestClock, create_request, ctx, spine};

/// A read's answer as the bytes a client would get (an error as its code).
fn bytes<T: serde::Serialize>(result: Result<T, hoc_spine::OperationError>) -> String {
    match result {
        Ok(value) => serde_json::to_string(&value).unwrap_or_default(),
        Err(e) => format!("error {}", e.code().as_str()),
    }
}

/// Every read of item 2 at `at`, as bytes.
async fn reads_at(spine: &Spine, at: OffsetDateTime, id: &str, signature: &str) -> Vec<String> {
    let c = ctx("t1").with_as_of(at);
    let open = ListIncidents {
        status: Some("open".into()),
        ..Default::default()
    };
    let group = GetRecurrenceGroup {
        signature: signature.into(),
        ..Default::default()
    };
    let incident_group = GroupForIncident {
        id: id.into(),
        ..Default::default()
    };
    vec![
        bytes(spine.call(&c, &GetIncident { id: id.into() }).await),
        bytes(spine.call(&c, &ListIncidents::default()).await),
        bytes(spine.call(&c, &open).await),
        bytes(spine.call(&c, &IncidentTimeline { id: id.into() }).await),
        bytes(spine.call(&c, &ListAudit::default()).await),
        bytes(spine.call(&c, &ListEvents::default()).await),
        bytes(spine.call(&c, &incident_group).await),
        bytes(spine.call(&c, &group).await),
    ]
}

hoc_drivers::storage_test!(
    reads_at_a_past_instant_show_that_instants_state_byte_for_byte,
    |db| {
        let clock = TestClock::at(datetime!(2026-11-26 09:00:00 UTC));
        let spine = clock.install(spine(&db));
        let incident = spine
            .call(&ctx("t1"), &create_request("Replica lag"))
            .await
            .expect("create");
        let signature = incident.recurrence_signature.clone().expect("signed");
        clock.set(datetime!(2026-11-26 09:10:00 UTC));
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
        let acked_at = datetime!(2026-11-26 09:10:00 UTC);
        clock.set(datetime!(2026-11-26 09:20:00 UTC));
        spine
            .call(
                &ctx("t1"),
                &ResolveIncident {
                    id: incident.id.clone(),
                    resolution_type: Some("rollback".into()),
                    resolution_summary: Some("rolled back".into()),
                    ..Default::default()
                },
            )
            .await
            .expect("resolve");

        // At 09:10 it was acknowledged, not resolved, and it was the group's one open member.
        let then = ctx("t1").with_as_of(acked_at);
        let at_ack = spine
            .call(
                &then,
                &GetIncident {
                    id: incident.id.clone(),
                },
            )
            .await
            .expect("get");
        assert_eq!(at_ack.status, IncidentState::Acknowledged);
        assert_eq!((at_ack.resolution_type, at_ack.version), (None, 2));
        assert_eq!(at_ack.as_of, acked_at, "echoes the as_of it read at");
        let open_then = spine
            .call(
                &then,
                &ListIncidents {
                    status: Some("acknowledged".into()),
                    ..Default::default()
                },
            )
            .await
            .expect("list");
        assert_eq!(open_then.items.len(), 1);
        let group = spine
            .call(
                &then,
                &GroupForIncident {
                    id: incident.id.clone(),
                    ..Default::default()
                },
            )
            .await
            .expect("group");
        assert_eq!((group.count, group.open_count), (1, 1));
        let timeline = spine
            .call(
                &then,
                &IncidentTimeline {
                    id: incident.id.clone(),
                },
            )
            .await
            .expect("t");
        assert_eq!(timeline.items.len(), 2);
        let events = spine
            .call(&then, &ListEvents::default())
            .await
            .expect("events");
        assert_eq!(events.items.len(), 2);
        // Now it is resolved, and the group has no open member.
        let now = spine
            .call(
                &ctx("t1"),
                &GetIncident {
                    id: incident.id.clone(),
                },
            )
            .await
            .expect("get");
        assert_eq!(now.status, IncidentState::Resolved);
        let group_now = spine
            .call(
                &ctx("t1"),
                &GroupForIncident {
                    id: incident.id.clone(),
                    ..Default::default()
                },
            )
            .await
            .expect("group");
        assert_eq!((group_now.count, group_now.open_count), (1, 0));
        // Before it existed: not found.
        let before = ctx("t1").with_as_of(datetime!(2026-11-26 08:59:59 UTC));
        let err = spine
            .call(
                &before,
                &GetIncident {
                    id: incident.id.clone(),
                },
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::NotFound);

        // Every read at 09:10, recorded now, then again after later writes: the same bytes.
        let recorded = reads_at(&spine, acked_at, &incident.id, &signature).await;
        clock.set(datetime!(2026-11-26 09:30:00 UTC));
        spine
            .call(
                &ctx("t1"),
                &ReopenIncident {
                    id: incident.id.clone(),
                    reason: Some("again".into()),
                },
            )
            .await
            .expect("reopen");
        spine
            .call(
                &ctx("t1"),
                &CreatePostmortemStub {
                    incident_id: incident.id.clone(),
                    title: None,
                },
            )
            .await
            .expect("postmortem");
        spine
            .call(&ctx("t1"), &create_request("Replica lag"))
            .await
            .expect("a new group member");
        spine
            .call(
                &ctx("t1"),
                &CloseIncident {
                    id: incident.id.clone(),
                    reason: Some("dup".into()),
                },
            )
            .await
            .expect("close");
        assert_eq!(
            reads_at(&spine, acked_at, &incident.id, &signature).await,
            recorded
        );
    }
);

hoc_drivers::storage_test!(
    a_read_without_as_of_repeats_at_the_instant_it_echoes,
    |db| {
        let spine = spine(&db);
        let empty = spine
            .call(&ctx("t1"), &ListIncidents::default())
            .await
            .expect("list");
        assert_eq!(
            empty.as_of,
            OffsetDateTime::UNIX_EPOCH,
            "a tenant that never wrote"
        );
        let incident = spine
            .call(&ctx("t1"), &create_request("Cache miss storm"))
            .await
            .expect("c");
        let page = spine
            .call(&ctx("t1"), &ListIncidents::default())
            .await
            .expect("list");
        assert_eq!(page.as_of, incident.created_at, "the tenant's last change");
        let bytes = serde_json::to_string(&page).expect("json");
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
        let again = spine
            .call(&ctx("t1").with_as_of(page.as_of), &ListIncidents::default())
            .await
            .expect("list again");
        assert_eq!(serde_json::to_string(&again).expect("json"), bytes);
    }
);

hoc_drivers::storage_test!(reads_while_writers_commit_repeat_at_their_instant, |db| {
    let spine = spine(&db);
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(
            spine
                .call(&ctx("t1"), &create_request(&format!("load {i}")))
                .await
                .expect("c")
                .id,
        );
    }
    let writers: Vec<_> = ids
        .iter()
        .map(|id| {
            let (spine, id) = (spine.clone(), id.clone());
            tokio::spawn(async move {
                for step in 0..3 {
                    let c: OperationContext = ctx("t1");
                    let _ = match step {
                        0 => {
                            spine
                                .call(
                                    &c,
                                    &AcknowledgeIncident {
                                        id: id.clone(),
                                        reason: None,
                                    },
                                )
                                .await
                        }
                        1 => {
                            spine
                                .call(
                                    &c,
                                    &ResolveIncident {
                                        id: id.clone(),
                                        resolution_type: Some("hotfix".into()),
                                        ..Default::default()
                                    },
                                )
                                .await
                        }
                        _ => {
                            spine
                                .call(
                                    &c,
                                    &ReopenIncident {
                                        id: id.clone(),
                                        reason: None,
                                    },
                                )
                                .await
                        }
                    };
                }
            })
        })
        .collect();
    let mut seen = Vec::new();
    for _ in 0..12 {
        let page = spine
            .call(&ctx("t1"), &ListIncidents::default())
            .await
            .expect("list");
        seen.push((page.as_of, serde_json::to_string(&page).expect("json")));
        tokio::task::yield_now().await;
    }
    for writer in writers {
        writer.await.expect("writer");
    }
    for (as_of, bytes) in seen {
        let again = spine
            .call(&ctx("t1").with_as_of(as_of), &ListIncidents::default())
            .await
            .expect("list again");
        assert_eq!(
            serde_json::to_string(&again).expect("json"),
            bytes,
            "at {as_of}"
        );
    }
});

hoc_drivers::storage_test!(
    an_artifact_read_echoes_its_instant_and_repeats_at_it_byte_for_byte,
    |db| {
        let clock = TestClock::at(datetime!(2026-11-26 09:00:00 UTC));
        let spine = clock.install(spine(&db));
        let save = |version: &str, data_as_of: &str| SaveArtifact {
            dataset_id: "revenue".into(),
            dataset_version: version.into(),
            input_window_hash: Some("a".repeat(64)),
            as_of: Some(data_as_of.into()),
            compute_code_version: Some("git:4f2a9c1".into()),
            ..SaveArtifact::default()
        };
        spine
            .call(&ctx("t1"), &save("v1", "2026-11-01T00:00:00Z"))
            .await
            .expect("v1");
        let latest = GetArtifact {
            dataset_id: "revenue".into(),
            ..Default::default()
        };
        let first = spine.call(&ctx("t1"), &latest).await.expect("latest");
        assert_eq!(first.dataset_version, "v1");
        assert_eq!(
            first.read_as_of,
            datetime!(2026-11-26 09:00:00 UTC),
            "a read without as_of echoes the tenant's last committed instant"
        );
        let first_list = spine
            .call(&ctx("t1"), &ListArtifacts::default())
            .await
            .expect("list");

        // A later artifact of the same dataset: it becomes the latest only for reads at or after the instant it
        // was recorded, whatever its data's own `as_of`.
        clock.set(datetime!(2026-11-26 10:00:00 UTC));
        spine
            .call(&ctx("t1"), &save("v2", "2026-11-02T00:00:00Z"))
            .await
            .expect("v2");
        let then = ctx("t1").with_as_of(first.read_as_of);
        assert_eq!(
            bytes(spine.call(&then, &latest).await),
            bytes(Ok::<_, hoc_spine::OperationError>(first.clone()))
        );
        assert_eq!(
            bytes(spine.call(&then, &ListArtifacts::default()).await),
            bytes(Ok::<_, hoc_spine::OperationError>(first_list))
        );
        let v2_by_name = GetArtifact {
            dataset_id: "revenue".into(),
            version: Some("v2".into()),
            ..Default::default()
        };
        assert_eq!(
            spine
                .call(&then, &v2_by_name)
                .await
                .map(|a| a.artifact.dataset_version)
                .map_err(|e| e.code()),
            Err(ErrorCode::NotFound),
            "at the first read's instant v2 did not exist yet"
        );
        let now = spine.call(&ctx("t1"), &latest).await.expect("latest now");
        assert_eq!(
            (now.dataset_version.as_str(), now.read_as_of),
            ("v2", datetime!(2026-11-26 10:00:00 UTC))
        );
    }
);
