use std::collections::BTreeSet;

use hoc_drivers::testing::row_counts;
use hoc_spine::ErrorCode;
use hoc_spine::requests::{AcknowledgeIncident, ListEvents};

use crate::{create, create_request, ctx, spine};

hoc_drivers::storage_test!(
    sequence_numbers_stay_gapless_under_16_concurrent_creates,
    |db| {
        let spine = spine(&db);
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let spine = spine.clone();
                tokio::spawn(async move {
                    spine
                        .call(&ctx("t1"), &create_request(&format!("burst {i}")))
                        .await
                })
            })
            .collect();
        for task in tasks {
            task.await
                .expect("task joins")
                .expect("every create succeeds");
        }
        let page = spine
            .call(
                &ctx("t1"),
                &ListEvents {
                    after: None,
                    limit: Some(100),
                },
            )
            .await
            .expect("events");
        let seqs: Vec<i64> = page.items.iter().map(|e| e.sequence_no).collect();
        assert_eq!(seqs, (1..=16).collect::<Vec<i64>>());
        let ids: BTreeSet<&str> = page.items.iter().map(|e| e.event_id.as_str()).collect();
        assert_eq!(ids.len(), 16);
        assert_eq!(page.next_after, 16);
        assert_eq!(row_counts(&db).await["incidents"], 16);
    }
);

hoc_drivers::storage_test!(concurrent_acknowledges_apply_exactly_once, |db| {
    let spine = spine(&db);
    let incident = create(&spine, "t1", "Contended").await;
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let spine = spine.clone();
            let id = incident.id.clone();
            tokio::spawn(async move {
                spine
                    .call(&ctx("t1"), &AcknowledgeIncident { id, reason: None })
                    .await
            })
        })
        .collect();
    let mut applied = 0;
    for task in tasks {
        match task.await.expect("task joins") {
            Ok(_) => applied += 1,
            Err(err) => assert_eq!(err.code(), ErrorCode::InvalidTransition, "{err}"),
        }
    }
    assert_eq!(applied, 1);
    let counts = row_counts(&db).await;
    assert_eq!(
        (
            counts["incident_timeline"],
            counts["audit_ledger"],
            counts["event_outbox"]
        ),
        (2, 2, 2)
    );
});

hoc_drivers::storage_test!(
    thirty_two_conflicting_transitions_apply_one_per_reachable_step,
    |db| {
        use hoc_incidents::IncidentState;
        use hoc_spine::requests::{CloseIncident, IncidentTimeline, ResolveIncident};

        let spine = spine(&db);
        for round in 0..3 {
            let incident = create(&spine, "t1", &format!("Contended {round}")).await;
            let base = row_counts(&db).await;
            let tasks: Vec<_> = (0..32)
                .map(|i| {
                    let spine = spine.clone();
                    let id = incident.id.clone();
                    tokio::spawn(async move {
                        let ctx = ctx("t1");
                        let outcome = match (i + round) % 3 {
                            0 => {
                                spine
                                    .call(&ctx, &AcknowledgeIncident { id, reason: None })
                                    .await
                            }
                            1 => {
                                spine
                                    .call(
                                        &ctx,
                                        &ResolveIncident {
                                            id,
                                            resolution_type: Some("hotfix".into()),
                                            ..Default::default()
                                        },
                                    )
                                    .await
                            }
                            _ => {
                                spine
                                    .call(
                                        &ctx,
                                        &CloseIncident {
                                            id,
                                            reason: Some(format!("closer {i}")),
                                        },
                                    )
                                    .await
                            }
                        };
                        outcome.map(|incident| incident.status)
                    })
                })
                .collect();
            let mut applied = Vec::new();
            for task in tasks {
                match task.await.expect("task joins") {
                    Ok(status) => applied.push(status),
                    Err(err) => assert_eq!(err.code(), ErrorCode::InvalidTransition, "{err}"),
                }
            }
            // Exactly one transition per reachable step: open → (acknowledged →)? resolved|closed.
            applied.sort_by_key(|s| s.as_str());
            let ends_terminal = applied
                .iter()
                .filter(|s| matches!(s, IncidentState::Resolved | IncidentState::Closed))
                .count();
            let acks = applied
                .iter()
                .filter(|s| **s == IncidentState::Acknowledged)
                .count();
            assert_eq!(ends_terminal, 1, "round {round}: {applied:?}");
            assert!(acks <= 1, "round {round}: {applied:?}");
            let timeline = spine
                .call(
                    &ctx("t1"),
                    &IncidentTimeline {
                        id: incident.id.clone(),
                    },
                )
                .await
                .expect("timeline");
            assert_eq!(timeline.items.len(), 1 + applied.len());
            assert_eq!(
                timeline.items.iter().map(|e| e.ordinal).collect::<Vec<_>>(),
                (1..=1 + applied.len() as i32).collect::<Vec<_>>()
            );
            let counts = row_counts(&db).await;
            let n = applied.len() as i64;
            assert_eq!(counts["incident_timeline"] - base["incident_timeline"], n);
            assert_eq!(counts["audit_ledger"] - base["audit_ledger"], n);
            assert_eq!(counts["event_outbox"] - base["event_outbox"], n);
        }
        // The feed is still gapless after all the contention.
        let seqs: Vec<i64> = crate::event_log(&spine, "t1")
            .await
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
    }
);

hoc_drivers::storage_test!(concurrent_postmortem_stubs_create_exactly_one, |db| {
    use hoc_spine::requests::CreatePostmortemStub;
    let spine = spine(&db);
    let incident = create(&spine, "t1", "Needs a postmortem").await;
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let spine = spine.clone();
            let incident_id = incident.id.clone();
            tokio::spawn(async move {
                spine
                    .call(
                        &ctx("t1"),
                        &CreatePostmortemStub {
                            incident_id,
                            title: None,
                        },
                    )
                    .await
            })
        })
        .collect();
    let mut stubs = Vec::new();
    for task in tasks {
        stubs.push(
            task.await
                .expect("joins")
                .expect("every caller gets the postmortem"),
        );
    }
    assert_eq!(stubs.iter().filter(|s| s.created).count(), 1);
    let ids: BTreeSet<&str> = stubs.iter().map(|s| s.postmortem.id.as_str()).collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(row_counts(&db).await["postmortems"], 1);
});
