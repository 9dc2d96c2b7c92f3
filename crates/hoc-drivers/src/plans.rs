//! Every keyset read, asked of SQLite's planner: a page after a cursor must seek to the cursor through the index
//! (the row comparison is the index bound), never walk the index from `as_of` and filter every row before the
//! cursor. A page at depth d then costs what the first page costs, not O(d). (PostgreSQL takes the row comparison
//! as its index bound either way; SQLite takes one bound and filters the other.)

use sea_orm::{ConnectionTrait, DbBackend, QueryTrait, Statement};
use time::macros::datetime;

use crate::audit::{AuditFilter, list_page_query};
use crate::incidents::{IncidentFilter, list_statement};
use crate::paging::PageRequest;
use crate::testing::TestDatabase;
use crate::{DbTime, artifacts, outbox};

/// The plan's lines (`detail`), one per table it reads.
async fn plan(db: &TestDatabase, statement: Statement) -> Vec<String> {
    let explain = Statement::from_sql_and_values(
        DbBackend::Sqlite,
        format!("EXPLAIN QUERY PLAN {}", statement.sql),
        statement.values.map(|v| v.0).unwrap_or_default(),
    );
    db.db()
        .read_pool()
        .query_all_raw(explain)
        .await
        .unwrap_or_else(|e| panic!("EXPLAIN QUERY PLAN failed: {e}"))
        .iter()
        .map(|row| row.try_get::<String>("", "detail").unwrap_or_default())
        .collect()
}

/// The plan line that reads `table` (as `SEARCH <table> USING …`).
fn search<'a>(plan: &'a [String], table: &str) -> &'a str {
    plan.iter()
        .find(|line| line.starts_with(&format!("SEARCH {table} ")))
        .map_or_else(
            || panic!("no SEARCH of {table} in {plan:#?}"),
            String::as_str,
        )
}

/// A page request as a client following `next_cursor` makes it: the cursor's row is before the listing's
/// `as_of`, which the cursor carries.
fn deep_page() -> PageRequest {
    PageRequest {
        as_of: DbTime::new(datetime!(2026-12-01 12:00 UTC)),
        after: Some((
            DbTime::new(datetime!(2026-11-30 08:00 UTC)),
            "inc_cursor".to_owned(),
        )),
        limit: 51,
    }
}

fn first_page() -> PageRequest {
    PageRequest {
        after: None,
        ..deep_page()
    }
}

#[tokio::test]
async fn deep_incident_pages_seek_to_the_cursor() {
    let db = TestDatabase::sqlite().await;
    for filter in [
        IncidentFilter::default(),
        IncidentFilter {
            status: Some(hoc_contracts::input::IncidentState::Open),
            ..IncidentFilter::default()
        },
        IncidentFilter {
            recurrence: Some(("rsig-v2", "sig")),
            ..IncidentFilter::default()
        },
    ] {
        let deep = plan(
            &db,
            list_statement(DbBackend::Sqlite, "acme", filter, &deep_page()),
        )
        .await;
        let line = search(&deep, "v");
        assert!(
            line.contains("(created_at,id)<(?,?)"),
            "{filter:?}: the cursor is not the index bound: {line}"
        );
        let first = plan(
            &db,
            list_statement(DbBackend::Sqlite, "acme", filter, &first_page()),
        )
        .await;
        let line = search(&first, "v");
        assert!(
            line.contains("created_at<?"),
            "{filter:?}: the first page does not start at as_of: {line}"
        );
    }
}

#[tokio::test]
async fn deep_artifact_and_audit_pages_seek_to_the_cursor() {
    let db = TestDatabase::sqlite().await;
    let artifacts = plan(
        &db,
        artifacts::list_query("acme", None, &deep_page()).build(DbBackend::Sqlite),
    )
    .await;
    let line = search(&artifacts, "analytics_artifacts");
    assert!(
        line.contains("(created_at,id)<(?,?)"),
        "artifacts: the cursor is not the index bound: {line}"
    );
    // Oldest first: the cursor is the lower bound, `as_of` the upper one; both bound the index range.
    let audit = plan(
        &db,
        list_page_query("acme", AuditFilter::default(), &deep_page()).build(DbBackend::Sqlite),
    )
    .await;
    let line = search(&audit, "audit_ledger");
    assert!(
        line.contains("(created_at,id)>(?,?)"),
        "audit: the cursor is not the index bound: {line}"
    );
}

#[tokio::test]
async fn the_events_feed_seeks_to_its_sequence_number() {
    let db = TestDatabase::sqlite().await;
    let events = plan(
        &db,
        outbox::list_after_query(
            "acme",
            Some("default"),
            24_000,
            DbTime::new(datetime!(2026-12-01 12:00 UTC)),
            51,
        )
        .build(DbBackend::Sqlite),
    )
    .await;
    let line = search(&events, "event_outbox");
    assert!(
        line.contains("sequence_no>?"),
        "events: the position is not the index bound: {line}"
    );
}

#[test]
fn newest_first_writes_one_upper_bound() {
    use crate::paging::Direction;
    // A cursor before `as_of` implies the `as_of` bound; a cursor after it (an older `as_of` asked with a newer
    // cursor) is implied by it; without a cursor `as_of` is the bound.
    let deep = deep_page();
    let bounds = deep.bounds(Direction::Descending);
    assert_eq!(bounds.created_at_most, None);
    assert!(bounds.beyond.is_some());
    let earlier = PageRequest {
        as_of: DbTime::new(datetime!(2026-11-01 00:00 UTC)),
        ..deep_page()
    };
    let bounds = earlier.bounds(Direction::Descending);
    assert_eq!(bounds.created_at_most, Some(earlier.as_of));
    assert_eq!(bounds.beyond, None);
    let bounds = deep.bounds(Direction::Ascending);
    assert_eq!(bounds.created_at_most, Some(deep.as_of));
    assert!(bounds.beyond.is_some());
}
