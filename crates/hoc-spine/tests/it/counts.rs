//! Incident counts by status: after every change, now and at every earlier instant, they equal what the list shows
//! with each status filter at that instant; other tenants never count; the replay a bulk load runs gives the same
//! counts as the triggers kept.

use hoc_drivers::Backend;
use hoc_drivers::testing::{execute_raw, scalar_text};
use hoc_spine::requests::{
    AcknowledgeIncident, AssignIncident, ChangeSeverity, CloseIncident, CountIncidents,
    IncidentCounts, ListIncidents, ReopenIncident, ResolveIncident,
};
use hoc_spine::{OperationContext, Spine};
use time::OffsetDateTime;

use crate::{create, ctx, spine};

/// The counts at `at` as the list shows them: one page per status filter.
async fn listed(spine: &Spine, c: &OperationContext, at: OffsetDateTime) -> [i64; 4] {
    let mut counts = [0; 4];
    for (n, status) in ["open", "acknowledged", "resolved", "closed"]
        .iter()
        .enumerate()
    {
        let page = spine
            .call(
                &c.clone().with_as_of(at),
                &ListIncidents {
                    status: Some((*status).to_owned()),
                    limit: Some(500),
                    ..ListIncidents::default()
                },
            )
            .await
            .expect("list");
        counts[n] = i64::try_from(page.items.len()).unwrap();
    }
    counts
}

async fn counted(spine: &Spine, c: &OperationContext, at: OffsetDateTime) -> IncidentCounts {
    spine
        .call(&c.clone().with_as_of(at), &CountIncidents::default())
        .await
        .expect("counts")
}

hoc_drivers::storage_test!(
    counts_by_status_follow_every_change_and_hold_at_every_instant,
    |db| {
        let spine = spine(&db);
        let c = ctx("t1");
        let mut instants = Vec::new();
        let mut ids = Vec::new();
        for i in 0..5 {
            let incident = create(&spine, "t1", &format!("counted {i}")).await;
            instants.push(incident.updated_at);
            ids.push(incident.id);
        }
        create(&spine, "t2", "another tenant's").await;
        for id in &ids[..2] {
            let acked = spine
                .call(
                    &c,
                    &AcknowledgeIncident {
                        id: id.clone(),
                        reason: None,
                    },
                )
                .await
                .expect("acknowledge");
            instants.push(acked.updated_at);
        }
        for id in [&ids[0], &ids[2]] {
            let resolved = spine
                .call(
                    &c,
                    &ResolveIncident {
                        id: id.clone(),
                        resolution_type: Some("hotfix".into()),
                        ..ResolveIncident::default()
                    },
                )
                .await
                .expect("resolve");
            instants.push(resolved.updated_at);
        }
        let closed = spine
            .call(
                &c,
                &CloseIncident {
                    id: ids[1].clone(),
                    reason: Some("duplicate of the first".into()),
                },
            )
            .await
            .expect("close");
        instants.push(closed.updated_at);
        let reopened = spine
            .call(
                &c,
                &ReopenIncident {
                    id: ids[2].clone(),
                    reason: Some("it came back".into()),
                },
            )
            .await
            .expect("reopen");
        instants.push(reopened.updated_at);

        // Hand-counted at the end: 0 resolved, 1 closed (acknowledged first), the reopened one and two untouched
        // ones open.
        let now = spine
            .call(&c, &CountIncidents::default())
            .await
            .expect("counts now");
        assert_eq!(
            (
                now.open,
                now.acknowledged,
                now.resolved,
                now.closed,
                now.total
            ),
            (3, 0, 1, 1, 5),
            "{now:?}"
        );
        // Before the first incident: nothing.
        let before = counted(&spine, &c, instants[0] - time::Duration::microseconds(1)).await;
        assert_eq!(before.total, 0);
        // At every instant (and just before each), the list's figures.
        let mut expected = Vec::new();
        for &at in &instants {
            for at in [at - time::Duration::microseconds(1), at] {
                let counts = counted(&spine, &c, at).await;
                let list = listed(&spine, &c, at).await;
                assert_eq!(
                    [
                        counts.open,
                        counts.acknowledged,
                        counts.resolved,
                        counts.closed
                    ],
                    list,
                    "at {at}"
                );
                assert_eq!(counts.total, list.iter().sum::<i64>());
                assert_eq!(counts.as_of, at);
                expected.push(counts);
            }
        }

        // The replay a bulk load runs (from the recorded history) gives the rows the triggers kept.
        hoc_drivers::testing::replay_derived_state(&db)
            .await
            .expect("replay");
        let mut replayed = Vec::new();
        for &at in &instants {
            for at in [at - time::Duration::microseconds(1), at] {
                replayed.push(counted(&spine, &c, at).await);
            }
        }
        assert_eq!(replayed, expected);
        // And the triggers are back: one more incident counts.
        create(&spine, "t1", "after the replay").await;
        let after = spine
            .call(&c, &CountIncidents::default())
            .await
            .expect("counts");
        assert_eq!((after.open, after.total), (4, 6));
    }
);

hoc_drivers::storage_test!(
    a_change_that_keeps_the_status_never_enters_the_count_trigger,
    |db| {
        let spine = spine(&db);
        let c = ctx("t1");
        let incident = create(&spine, "t1", "watched").await;
        // The count trigger's work is replaced by a refusal, under the real triggers' own conditions: on
        // PostgreSQL the function both triggers call, on SQLite the body of the update trigger (its header kept).
        match db.backend() {
            Backend::Postgres => execute_raw(
                &db,
                "CREATE OR REPLACE FUNCTION incidents_count_status() RETURNS trigger AS $$ \
                 BEGIN RAISE EXCEPTION 'count trigger entered'; END; $$ LANGUAGE plpgsql",
            )
            .await
            .expect("replace the function"),
            Backend::Sqlite => {
                let sql = scalar_text(
                    &db,
                    "SELECT sql AS n FROM sqlite_master \
                     WHERE type = 'trigger' AND name = 'incidents_status_count_update'",
                )
                .await
                .expect("the update trigger");
                let head = &sql[..sql.find(" BEGIN ").expect("a trigger body")];
                execute_raw(&db, "DROP TRIGGER incidents_status_count_update")
                    .await
                    .expect("drop");
                execute_raw(
                    &db,
                    &format!("{head} BEGIN SELECT RAISE(ABORT, 'count trigger entered'); END"),
                )
                .await
                .expect("recreate")
            }
        };
        // Changes that keep the status never reach it.
        spine
            .call(
                &c,
                &AssignIncident {
                    id: incident.id.clone(),
                    assignee: Some("bob".into()),
                    reason: None,
                },
            )
            .await
            .expect("assign");
        let changed = spine
            .call(
                &c,
                &ChangeSeverity {
                    id: incident.id.clone(),
                    severity: Some("critical".into()),
                    reason: Some("spreading".into()),
                },
            )
            .await
            .expect("change severity");
        assert_eq!(changed.version, 3);
        // A status change does, so the refusal is in force; it writes nothing.
        spine
            .call(
                &c,
                &AcknowledgeIncident {
                    id: incident.id.clone(),
                    reason: None,
                },
            )
            .await
            .expect_err("the count trigger refuses");
        let counts = spine
            .call(&c, &CountIncidents::default())
            .await
            .expect("counts");
        assert_eq!((counts.open, counts.acknowledged), (1, 0), "{counts:?}");
    }
);
