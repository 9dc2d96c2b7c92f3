//! What an operation costs in round trips: a read runs on the pool without a transaction (one statement per query,
//! no BEGIN/COMMIT), a write runs in one transaction with a pinned number of statements, and a write cannot go
//! through a reader.

use hoc_drivers::{Counters, Database, StorageError};
use hoc_spine::requests::{
    AcknowledgeIncident, GetIncident, IncidentTimeline, ListIncidents, ResolveIncident,
};
use hoc_spine::{OperationError, Spine};

use crate::{create_request, ctx, spine};

/// Runs `call` and returns what it cost on `db`.
async fn cost<T>(
    db: &Database,
    call: impl std::future::Future<Output = Result<T, OperationError>>,
) -> (T, Counters) {
    let before = db.counters();
    let out = call.await.expect("call succeeds");
    (out, db.counters() - before)
}

fn counters(transactions: u64, statements: u64) -> Counters {
    Counters {
        statements,
        transactions,
    }
}

async fn walk(db: &Database, spine: &Spine) {
    let c = ctx("t1");
    let (created, create) = cost(db, spine.call(&c, &create_request("disk full"))).await;
    // tick the tenant clock, read the tenant's grouping configuration (none: then its first incident's signature
    // version), the incident (its version by trigger), timeline, audit, event sequence, outbox.
    assert_eq!(create, counters(1, 8), "create");

    let (_, ack) = cost(
        db,
        spine.call(
            &c,
            &AcknowledgeIncident {
                id: created.id.clone(),
                reason: None,
            },
        ),
    )
    .await;
    // tick, read the row, compare-and-set, timeline, audit, event sequence, outbox.
    assert_eq!(ack, counters(1, 7), "acknowledge");

    let (acked, get) = cost(
        db,
        spine.call(
            &c,
            &GetIncident {
                id: created.id.clone(),
            },
        ),
    )
    .await;
    // The tenant's last committed instant, then the incident at it; no transaction.
    assert_eq!(get, counters(0, 2), "get");
    assert_eq!(acked.incident.status.as_str(), "acknowledged");

    let past = ctx("t1").with_as_of(created.created_at);
    let (then, get_at) = cost(
        db,
        spine.call(
            &past,
            &GetIncident {
                id: created.id.clone(),
            },
        ),
    )
    .await;
    // The caller named the instant: one statement.
    assert_eq!(get_at, counters(0, 1), "get at as_of");
    assert_eq!(then.incident.status.as_str(), "open");

    let (page, list) = cost(db, spine.call(&c, &ListIncidents::default())).await;
    assert_eq!(list, counters(0, 2), "list");
    assert_eq!(page.items.len(), 1);

    let (timeline, read) = cost(
        db,
        spine.call(
            &c,
            &IncidentTimeline {
                id: created.id.clone(),
            },
        ),
    )
    .await;
    // Several statements, no transaction: each is bounded by the same instant.
    assert_eq!(read, counters(0, 3), "timeline");
    assert_eq!(timeline.items.len(), 2);

    let (_, resolve) = cost(
        db,
        spine.call(
            &c,
            &ResolveIncident {
                id: created.id.clone(),
                resolution_type: Some("hotfix".into()),
                ..Default::default()
            },
        ),
    )
    .await;
    assert_eq!(resolve.transactions, 1, "resolve");
}

hoc_drivers::storage_test!(reads_run_without_a_transaction_and_writes_in_one, |db| {
    walk(&db, &spine(&db)).await;
});

hoc_drivers::storage_test!(a_reader_refuses_writes_and_writes_nothing, |db| {
    let spine = spine(&db);
    let created = crate::create(&spine, "t1", "one").await;
    let before = hoc_drivers::testing::row_counts(&db).await;
    let reader = hoc_ledger::begin_read(&db);
    let mut row = hoc_drivers::incidents::find(&reader, "t1", &created.id)
        .await
        .expect("a reader reads")
        .expect("the incident");
    row.id = "inc_other".to_owned();
    let err = hoc_drivers::incidents::insert(&reader, row)
        .await
        .expect_err("a reader must refuse a write");
    assert!(matches!(err, StorageError::ReadOnly), "{err:?}");
    let err = hoc_ledger::clock::tick(&reader, "t1", time::OffsetDateTime::now_utc())
        .await
        .expect_err("the ledger refuses a reader too");
    assert!(matches!(err, StorageError::ReadOnly), "{err:?}");
    assert_eq!(hoc_drivers::testing::row_counts(&db).await, before);
});
