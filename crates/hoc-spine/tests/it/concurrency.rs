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
