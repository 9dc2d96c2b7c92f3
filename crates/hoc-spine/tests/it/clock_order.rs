//! A delivery's statements that need no instant run before the tenant clock, and a policy changed while it waited
//! for the clock runs it again (PostgreSQL, where a tenant's writers queue on the clock's row lock; SQLite writes
//! one transaction at a time, so there is nothing to interleave there).

use std::time::{Duration, Instant};

use hoc_drivers::testing::{TestDatabase, execute_in, scalar};
use hoc_spine::requests::{AlertmanagerWebhook, GetIngestPolicy, PutIngestPolicy};
use serde_json::json;

use crate::spine;

fn two_alerts_of_one_group() -> AlertmanagerWebhook {
    let alert = |fingerprint: &str, instance: &str| {
        json!({
            "status": "firing",
            "labels": { "alertname": "DiskFull", "instance": instance },
            "annotations": { "summary": "Disk full" },
            "startsAt": "2026-12-07T09:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "",
            "fingerprint": fingerprint,
        })
    };
    serde_json::from_value(json!({
        "version": "4",
        "groupKey": "{}:{alertname=\"DiskFull\"}",
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "hocd",
        "groupLabels": { "alertname": "DiskFull" },
        "commonLabels": { "alertname": "DiskFull" },
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": [alert("aaaa0001", "db-1"), alert("aaaa0002", "db-2")],
    }))
    .expect("a webhook body")
}

/// A fresh PostgreSQL database, or `None` (said on stderr) when `HOC_TEST_DATABASE_URL` is not set.
async fn postgres() -> Option<TestDatabase> {
    let found = TestDatabase::postgres().await;
    if found.is_none() {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("HOC_TEST_DATABASE_URL not set: PostgreSQL test not run");
        }
    }
    found
}

/// Holds tenant t1's clock as another write would: a transaction that ticked it to `micros` and has not
/// committed.
async fn hold_clock(db: &hoc_drivers::Database, micros: i64) -> hoc_drivers::Tx {
    let holder = db.begin_transaction(true).await.unwrap();
    let held = execute_in(
        &holder,
        &format!("UPDATE tenant_clocks SET last_micros = {micros} WHERE tenant_id = 't1'"),
    )
    .await
    .unwrap();
    assert_eq!(held, 1);
    holder
}

/// Sends [`two_alerts_of_one_group`] as tenant t1's Alertmanager, in a task.
fn send(
    spine: &hoc_spine::Spine,
) -> tokio::task::JoinHandle<Result<hoc_incidents::alerts::IngestReport, hoc_spine::OperationError>>
{
    let spine = spine.clone();
    tokio::spawn(async move {
        let monitor = hoc_spine::OperationContext::new(
            "t1",
            hoc_contracts::ActorType::System,
            "alertmanager",
        )
        .unwrap();
        spine.call(&monitor, &two_alerts_of_one_group()).await
    })
}

/// The clock's last instant, in µs.
async fn clock(db: &hoc_drivers::Database) -> i64 {
    scalar(
        db,
        "SELECT last_micros AS n FROM tenant_clocks WHERE tenant_id = 't1'",
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_delivery_locks_and_looks_up_before_the_clock_and_runs_again_when_the_policy_changed_meanwhile()
 {
    let Some(test_db) = postgres().await else {
        return;
    };
    let db = test_db.db().clone();
    let spine = spine(&db);
    let operator = crate::ctx("t1");
    let policy = spine
        .call(
            &operator,
            &PutIngestPolicy {
                incident_per: Some("group".into()),
                ..PutIngestPolicy::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(policy.version, 1);

    // Another write of the tenant holds the clock: it ticked and has not committed.
    let ticked = clock(&db).await + 1;
    let holder = hold_clock(&db, ticked).await;

    // A delivery starts and waits for the clock, holding its key's lock: it locked and looked up first.
    let delivery = send(&spine);
    let started = Instant::now();
    while scalar(
        &db,
        "SELECT count(*) AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted AND a.wait_event_type = 'Lock' \
         AND a.datname = current_database()",
    )
    .await
    .unwrap()
        != 1
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no delivery waits for the clock holding its key's lock"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Meanwhile the clock's holder writes a new policy: one incident per alert.
    let written = execute_in(
        &holder,
        &format!(
            "INSERT INTO ingest_policies (tenant_id, version, policy, created_at, created_by) \
             SELECT tenant_id, version + 1, replace(policy, '\"group\"', '\"alert\"'), \
                    TIMESTAMPTZ 'epoch' + {ticked} * INTERVAL '1 microsecond', created_by \
             FROM ingest_policies WHERE tenant_id = 't1' AND version = 1"
        ),
    )
    .await
    .unwrap();
    assert_eq!(written, 1);
    holder.commit().await.unwrap();

    // The delivery's keys were the old policy's: it ran again under the new one, one incident per alert.
    let report = delivery.await.unwrap().expect("delivery applied");
    let now = spine
        .call(&operator, &GetIngestPolicy::default())
        .await
        .unwrap();
    assert_eq!((now.version, now.incident_per.as_str()), (2, "alert"));
    assert_eq!(report.incidents.len(), 2, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_copies_of_a_delivery_queued_behind_the_clock_apply_once_the_second_answered_from_the_first()
 {
    let Some(test_db) = postgres().await else {
        return;
    };
    let db = test_db.db().clone();
    let spine = spine(&db);
    // The tenant's first write makes its clock row.
    spine
        .call(&crate::ctx("t1"), &crate::create_request("first"))
        .await
        .unwrap();
    let holder = hold_clock(&db, clock(&db).await + 1).await;

    // Two copies (an HA pair of Alertmanagers): the first waits for the clock holding the key, the second for the key.
    let first = send(&spine);
    let waiting = "SELECT count(*) AS n FROM pg_stat_activity \
                   WHERE wait_event_type = 'Lock' AND datname = current_database()";
    let started = Instant::now();
    while scalar(&db, waiting).await.unwrap() != 1 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the first copy never waited"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let second = send(&spine);
    while scalar(&db, waiting).await.unwrap() != 2 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the second copy never waited"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    holder.rollback().await.unwrap();

    let first = first.await.unwrap().expect("first copy");
    let second = second.await.unwrap().expect("second copy");
    let outcome = |report: &hoc_incidents::alerts::IngestReport| {
        report
            .incidents
            .iter()
            .map(|t| (t.id.clone(), serde_json::to_value(t.outcome).unwrap()))
            .collect::<Vec<_>>()
    };
    let (first, second) = (outcome(&first), outcome(&second));
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].1, json!("created"));
    assert_eq!(second, vec![(first[0].0.clone(), json!("unchanged"))]);
    let incidents = scalar(
        &db,
        "SELECT count(*) AS n FROM incidents WHERE tenant_id = 't1'",
    )
    .await
    .unwrap();
    assert_eq!(incidents, 2, "the first incident and the delivery's one");
    let alerts = scalar(
        &db,
        "SELECT count(*) AS n FROM incident_alerts WHERE tenant_id = 't1'",
    )
    .await
    .unwrap();
    assert_eq!(alerts, 2, "one version of each alert");
}
