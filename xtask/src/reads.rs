//! Deterministic reads: for every list/group/timeline read the spine offers, insert rows with identical
//! timestamps in shuffled order, read all pages twice, and require identical results that form one total order;
//! `as_of` hides later rows and is echoed. Then time travel: record every read (and a get) at `as_of`, apply later
//! transitions (acknowledge, resolve, reopen, close, a postmortem, a new group member), the work of issue 22 (an
//! assignment, a label edit that a filtered listing sees, a note edited, one deleted, one added) and of issue 23 (a
//! delivery that resolves one alert and fires another again, an ingest policy change), replay the reads at `as_of`
//! — the incident metrics of issue 26 among them — and require identical bytes.

use std::sync::Arc;

use hoc_drivers::{
    ArtifactRow, AuditRow, Database, IncidentRow, TimelineRow, artifacts, incidents, timeline,
};
use hoc_spine::{ActorType, OperationContext, Spine};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::report::Outcome;

mod seed;

pub(crate) use seed::incident;
use seed::seed;

const NAME: &str = "reads";
const TENANT: &str = "t_reads";
const T: OffsetDateTime = datetime!(2026-06-01 12:00:00 UTC);
const LATER: OffsetDateTime = datetime!(2026-06-01 13:00:00 UTC);
const AS_OF: OffsetDateTime = datetime!(2026-06-01 12:30:00 UTC);

/// The ids of the rows, in a fixed shuffled insertion order.
const SHUFFLED: [&str; 9] = ["r5", "r1", "r8", "r3", "r0", "r7", "r2", "r6", "r4"];
/// The one-member groups beside `sig_reads`, in a shuffled insertion order.
const GROUPS: [&str; 4] = ["g3", "g1", "g4", "g2"];

/// Which way a listing is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    /// (created_at desc, id desc)
    NewestFirst,
    /// (created_at asc, id asc)
    OldestFirst,
    /// A strictly increasing integer key (ordinal, sequence_no).
    Increasing,
}

/// Whether `keys` (timestamp text, id) form one strict total order.
pub(crate) fn total_order_problem(keys: &[(String, String)], order: Order) -> Option<String> {
    for pair in keys.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let ok = match order {
            Order::NewestFirst => a > b,
            Order::OldestFirst => a < b,
            Order::Increasing => a.0.parse::<i64>().ok() < b.0.parse::<i64>().ok(),
        };
        if !ok {
            return Some(format!("{a:?} then {b:?} breaks the order"));
        }
    }
    None
}

struct Listing {
    operation: &'static str,
    method: &'static str,
    payload: Value,
    order: Order,
    /// Field holding the ordering timestamp (or integer key) of an item.
    key: &'static str,
    /// Items the listing must show at AS_OF (rows created later are extra).
    expected: usize,
    paged: bool,
}

fn key_of(item: &Value, key: &str) -> (String, String) {
    let k = match &item[key] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let id = item["id"]
        .as_str()
        .or(item["note_id"].as_str())
        .or(item["event_id"].as_str())
        .or(item["alert_id"].as_str())
        .or(item["recurrence_signature"].as_str())
        .unwrap_or_default()
        .to_owned();
    (k, id)
}

/// The context of the verifier's reads at `AS_OF`.
fn reader() -> Option<OperationContext> {
    Some(
        OperationContext::new(TENANT, ActorType::System, "xtask")
            .ok()?
            .with_as_of(AS_OF),
    )
}

/// Every listing and a get of `inc_r0`, read at `AS_OF` through `ctx`, as bytes.
async fn snapshot(spine: &Spine, ctx: &OperationContext, listings: &[Listing]) -> Vec<String> {
    let mut out = Vec::new();
    for listing in listings {
        out.push(match read_all(spine, ctx, listing).await {
            Ok((items, as_of)) => format!("{} {:?}", Value::Array(items), as_of),
            Err(e) => format!("error {e}"),
        });
    }
    out.push(
        match spine
            .execute(ctx, "incidents.query", "get", json!({"id": "inc_r0"}))
            .await
        {
            Ok(incident) => incident.to_string(),
            Err(e) => format!("error {e}"),
        },
    );
    for (operation, method) in [
        ("incidents.alerts", "get_policy"),
        ("incidents.query", "counts"),
    ] {
        out.push(
            match spine.execute(ctx, operation, method, json!({})).await {
                Ok(answer) => answer.to_string(),
                Err(e) => format!("error {e}"),
            },
        );
    }
    // Incident analytics (issue 26): the metrics of the seeded day, grouped, and a daily series around it.
    for (method, payload) in [
        (
            "get",
            json!({"window_start": "2026-06-01T00:00:00Z", "window_end": "2026-06-02T00:00:00Z",
                   "group_by": "service"}),
        ),
        (
            "series",
            json!({"start": "2026-05-31T00:00:00Z", "end": "2026-06-03T00:00:00Z", "group_by": "severity"}),
        ),
    ] {
        out.push(
            match spine
                .execute(ctx, "analytics.metrics", method, payload)
                .await
            {
                Ok(metrics) => metrics.to_string(),
                Err(e) => format!("error {e}"),
            },
        );
    }
    out
}

/// Changes after `AS_OF`: every transition of `inc_r0`, a postmortem of `inc_r1`, a new member of the group.
async fn later_changes(spine: &Spine, db: &Database) -> Result<(), String> {
    let ctx =
        OperationContext::new(TENANT, ActorType::System, "xtask").map_err(|e| e.to_string())?;
    let steps = [
        // Alerts in: one of inc_r0's firing alerts resolves, another fires again, the ingest policy changes.
        (
            "incidents.alerts",
            "alertmanager",
            json!({
                "version": "4", "groupKey": "{}:{alertname=\"Reads\"}", "status": "firing", "receiver": "hocd",
                "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am",
                "alerts": [
                    {"status": "resolved", "labels": {"alertname": "Reads", "instance": "r0"}, "annotations": {},
                     "startsAt": "2026-06-01T12:00:00Z", "endsAt": "2026-06-01T13:00:00Z", "fingerprint": "fp_r0"},
                    {"status": "firing", "labels": {"alertname": "Reads", "instance": "r2", "again": "yes"},
                     "annotations": {}, "startsAt": "2026-06-01T12:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
                     "fingerprint": "fp_r2"},
                ],
            }),
        ),
        (
            "incidents.alerts",
            "put_policy",
            json!({"resolve_on": "never", "reopen_window_seconds": 60}),
        ),
        ("incidents.write", "acknowledge", json!({"id": "inc_r0"})),
        (
            "incidents.write",
            "resolve",
            json!({"id": "inc_r0", "resolution_type": "hotfix"}),
        ),
        (
            "incidents.write",
            "reopen",
            json!({"id": "inc_r0", "reason": "again"}),
        ),
        (
            "incidents.write",
            "close",
            json!({"id": "inc_r0", "reason": "duplicate"}),
        ),
        (
            "incidents.recurrence",
            "create_postmortem_stub",
            json!({"incident_id": "inc_r1"}),
        ),
        // Working an incident: its owner, its labels, its notes.
        (
            "incidents.write",
            "assign",
            json!({"id": "inc_r1", "assignee": "carol"}),
        ),
        (
            "incidents.write",
            "edit",
            json!({"id": "inc_r2", "expected_version": 1, "service": null, "labels": {}}),
        ),
        (
            "incidents.notes",
            "edit",
            json!({"id": "inc_r0", "note_id": "note_r3", "body": "rewritten later", "expected_version": 1}),
        ),
        (
            "incidents.notes",
            "delete",
            json!({"id": "inc_r0", "note_id": "note_r5"}),
        ),
        (
            "incidents.notes",
            "add",
            json!({"id": "inc_r0", "body": "written later"}),
        ),
    ];
    for (operation, method, payload) in steps {
        spine
            .execute(&ctx, operation, method, payload)
            .await
            .map_err(|e| format!("{operation}.{method}: {e}"))?;
    }
    let tx = hoc_ledger::begin_write(db)
        .await
        .map_err(|e| e.to_string())?;
    incidents::insert(&tx, incident("r_new", LATER + time::Duration::hours(2)))
        .await
        .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())
}

/// Records every read at `AS_OF`, applies `changes`, replays: one problem per read whose bytes changed.
async fn replay_problems(
    spine: &Spine,
    ctx: &OperationContext,
    listings: &[Listing],
    changes: impl std::future::Future<Output = Result<(), String>>,
) -> Result<Vec<Option<String>>, String> {
    let before = snapshot(spine, ctx, listings).await;
    changes.await?;
    let after = snapshot(spine, ctx, listings).await;
    Ok(before
        .iter()
        .zip(&after)
        .map(|(b, a)| {
            if b.starts_with("error ") {
                Some(format!("the read failed: {b}"))
            } else {
                (b != a).then(|| format!("the read at as_of changed after later writes: {b} → {a}"))
            }
        })
        .collect())
}

async fn read_all(
    spine: &Spine,
    ctx: &OperationContext,
    listing: &Listing,
) -> Result<(Vec<Value>, Option<String>), String> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let mut payload = listing.payload.clone();
        if listing.paged {
            payload["limit"] = json!(2);
            if let Some(c) = &cursor {
                payload["cursor"] = json!(c);
            }
        }
        let page = spine
            .execute(ctx, listing.operation, listing.method, payload)
            .await
            .map_err(|e| e.to_string())?;
        items.extend(page["items"].as_array().cloned().unwrap_or_default());
        cursor = page["next_cursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            return Ok((items, page["as_of"].as_str().map(str::to_owned)));
        }
    }
    Err("more than 100 pages".to_owned())
}

async fn check_listing(spine: &Spine, listing: &Listing) -> Option<String> {
    let ctx = OperationContext::new(TENANT, ActorType::System, "xtask")
        .ok()?
        .with_as_of(AS_OF);
    let first = match read_all(spine, &ctx, listing).await {
        Ok(r) => r,
        Err(e) => return Some(e),
    };
    let second = match read_all(spine, &ctx, listing).await {
        Ok(r) => r,
        Err(e) => return Some(e),
    };
    if first != second {
        return Some("two reads of the same pages differ".to_owned());
    }
    let keys: Vec<(String, String)> = first.0.iter().map(|i| key_of(i, listing.key)).collect();
    if let Some(problem) = total_order_problem(&keys, listing.order) {
        return Some(problem);
    }
    if first.0.len() != listing.expected {
        return Some(format!(
            "{} items at as_of, expected {} (later rows must be hidden)",
            first.0.len(),
            listing.expected
        ));
    }
    if listing.order != Order::Increasing
        && first.1.as_deref() != Some("2026-06-01T12:30:00.000000Z")
    {
        return Some(format!("as_of echoed as {:?}", first.1));
    }
    None
}

fn listings() -> Vec<Listing> {
    let l = |operation, method, payload, order, key, expected, paged| Listing {
        operation,
        method,
        payload,
        order,
        key,
        expected,
        paged,
    };
    vec![
        l(
            "incidents.query",
            "list",
            json!({}),
            Order::NewestFirst,
            "created_at",
            13,
            true,
        ),
        // The rows of SHUFFLED and "later" at positions 0, 2, 4, 6, 8 are labelled; "later" (position 9) is not,
        // and is hidden at as_of anyway.
        l(
            "incidents.query",
            "list",
            json!({"service": "checkout", "label": ["team:a"]}),
            Order::NewestFirst,
            "created_at",
            5,
            true,
        ),
        l(
            "incidents.notes",
            "list",
            json!({"id": "inc_r0"}),
            Order::OldestFirst,
            "created_at",
            9,
            false,
        ),
        l(
            "incidents.recurrence",
            "list_groups",
            json!({}),
            Order::NewestFirst,
            "last_seen",
            5,
            true,
        ),
        l(
            "incidents.recurrence",
            "list_groups",
            json!({"order": "count"}),
            Order::NewestFirst,
            "count",
            5,
            true,
        ),
        l(
            "incidents.recurrence",
            "get_recurrence_group",
            json!({"signature": "sig_reads"}),
            Order::NewestFirst,
            "created_at",
            9,
            true,
        ),
        l(
            "incidents.recurrence",
            "group_for_incident",
            json!({"id": "inc_r0"}),
            Order::NewestFirst,
            "created_at",
            9,
            true,
        ),
        l(
            "incidents.query",
            "audit",
            json!({"id": "inc_r0"}),
            Order::OldestFirst,
            "created_at",
            9,
            true,
        ),
        l(
            "audit.query",
            "list",
            json!({}),
            Order::OldestFirst,
            "created_at",
            9,
            true,
        ),
        l(
            "analytics.artifacts",
            "list",
            json!({}),
            Order::NewestFirst,
            "created_at",
            9,
            true,
        ),
        l(
            "incidents.alerts",
            "list",
            json!({"id": "inc_r0"}),
            Order::OldestFirst,
            "first_received_at",
            9,
            false,
        ),
        l(
            "incidents.alerts",
            "list_tenant",
            json!({}),
            Order::NewestFirst,
            "first_received_at",
            9,
            true,
        ),
        l(
            "incidents.alerts",
            "list_tenant",
            json!({"status": "firing"}),
            Order::NewestFirst,
            "first_received_at",
            5,
            true,
        ),
        l(
            "incidents.query",
            "timeline",
            json!({"id": "inc_r0"}),
            Order::Increasing,
            "ordinal",
            9,
            false,
        ),
    ]
}

async fn verify_backend(backend: &str, db: &Database) -> Vec<Outcome> {
    db.record_statements();
    if let Err(e) = seed(db).await {
        return vec![Outcome::fail(
            NAME,
            format!("seed {backend}"),
            "xtask/src/reads.rs",
            format!("could not insert fixtures: {e}"),
        )];
    }
    let spine = match Spine::new(db.clone()) {
        Ok(s) => s.with_clock(Arc::new(|| LATER + time::Duration::hours(1))),
        Err(e) => {
            return vec![Outcome::fail(
                NAME,
                "spine",
                "crates/hoc-spine",
                e.to_string(),
            )];
        }
    };
    let mut out = Vec::new();
    for listing in listings() {
        let problem = check_listing(&spine, &listing).await;
        out.push(Outcome::from_problem(
            NAME,
            format!("{}.{} {backend}", listing.operation, listing.method),
            "crates/hoc-incidents/src/queries.rs, crates/hoc-analytics, crates/hoc-spine/src/ops",
            problem,
            "order by the documented keys ending in the id, page with keyset cursors, filter created_at <= as_of",
        ));
    }
    // The events feed: sequence order, gapless, read twice.
    let ctx = OperationContext::new(TENANT, ActorType::System, "xtask");
    let events_problem = match ctx {
        Err(e) => Some(e.to_string()),
        Ok(ctx) => {
            for i in 0..5 {
                let _ = spine
                    .execute(&ctx, "incidents.write", "create", json!({"title": format!("feed {i}"), "severity": "low", "category": "verify"}))
                    .await;
            }
            let read = || {
                spine.execute(
                    &ctx,
                    "events.feed",
                    "list",
                    json!({"after": 0, "limit": 500}),
                )
            };
            match (read().await, read().await) {
                (Ok(a), Ok(b)) if a == b => {
                    let seqs: Vec<i64> = a["items"]
                        .as_array()
                        .map(|i| i.iter().filter_map(|e| e["sequence_no"].as_i64()).collect())
                        .unwrap_or_default();
                    (seqs != (1..=5).collect::<Vec<_>>())
                        .then(|| format!("sequence numbers {seqs:?}, expected 1..=5"))
                }
                (Ok(_), Ok(_)) => Some("two reads differ".to_owned()),
                (Err(e), _) | (_, Err(e)) => Some(e.to_string()),
            }
        }
    };
    out.push(Outcome::from_problem(
        NAME,
        format!("events.feed.list {backend}"),
        "crates/hoc-drivers/src/outbox.rs",
        events_problem,
        "number events gaplessly per (tenant, project) and list them by sequence_no",
    ));
    out.extend(replay_outcomes(backend, &spine, db).await);
    out.push(crate::tenancy::outcome(backend, db).await);
    out
}

/// One outcome per read: its bytes at `AS_OF` before and after later changes are the same.
async fn replay_outcomes(backend: &str, spine: &Spine, db: &Database) -> Vec<Outcome> {
    let listings = listings();
    let mut names: Vec<String> = listings
        .iter()
        .map(|l| format!("{}.{}", l.operation, l.method))
        .collect();
    names.push("incidents.query.get".to_owned());
    names.push("incidents.alerts.get_policy".to_owned());
    names.push("incidents.query.counts".to_owned());
    names.push("analytics.metrics.get".to_owned());
    names.push("analytics.metrics.series".to_owned());
    let Some(ctx) = reader() else {
        return vec![Outcome::fail(
            NAME,
            format!("replay {backend}"),
            "xtask",
            "no context",
        )];
    };
    match replay_problems(spine, &ctx, &listings, later_changes(spine, db)).await {
        Err(e) => vec![Outcome::fail(
            NAME,
            format!("replay {backend}"),
            "xtask/src/reads.rs later_changes",
            e,
        )],
        Ok(problems) => names
            .into_iter()
            .zip(problems)
            .map(|(name, problem)| {
                Outcome::from_problem(
                    NAME,
                    format!("replay at as_of {name} {backend}"),
                    "crates/hoc-drivers/src/incidents.rs (versions), crates/hoc-incidents/src/queries.rs, \
                     crates/hoc-drivers/src/metrics.rs",
                    problem,
                    "read each incident's version valid at as_of (incident_versions), never the current row",
                )
            })
            .collect(),
    }
}

pub(crate) async fn verify() -> Vec<Outcome> {
    crate::on_each_backend(NAME, |backend, db| async move {
        verify_backend(backend, &db).await
    })
    .await
}

#[cfg(test)]
mod tests {
    use hoc_drivers::testing::TestDatabase;

    use super::*;
    use crate::report::Level;

    fn keys(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn a_reordered_read_is_caught() {
        let good = keys(&[
            ("2026-01-02", "b"),
            ("2026-01-02", "a"),
            ("2026-01-01", "c"),
        ]);
        assert_eq!(total_order_problem(&good, Order::NewestFirst), None);
        // Ties broken the wrong way.
        let tie_wrong = keys(&[("2026-01-02", "a"), ("2026-01-02", "b")]);
        assert!(total_order_problem(&tie_wrong, Order::NewestFirst).is_some());
        // A duplicate (pages overlapping) is not a strict order.
        let duplicate = keys(&[("2026-01-02", "a"), ("2026-01-02", "a")]);
        assert!(total_order_problem(&duplicate, Order::OldestFirst).is_some());
        assert!(
            total_order_problem(&keys(&[("2", "x"), ("10", "y")]), Order::Increasing).is_none()
        );
        assert!(
            total_order_problem(&keys(&[("10", "x"), ("2", "y")]), Order::Increasing).is_some()
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_read_that_shows_rows_from_after_as_of_is_caught() {
        let test_db = TestDatabase::sqlite().await;
        seed(test_db.db()).await.expect("seeded");
        let spine = Spine::new(test_db.db().clone()).expect("spine");
        let mut listing = listings().remove(0);
        // Pretend the later row should be visible: the verifier must notice the listing hides it.
        listing.expected = 14;
        let problem = check_listing(&spine, &listing).await.expect("a problem");
        assert_eq!(
            problem,
            "13 items at as_of, expected 14 (later rows must be hidden)"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_read_that_shows_current_state_is_caught() {
        let test_db = TestDatabase::sqlite().await;
        let db = test_db.db();
        seed(db).await.expect("seeded");
        let spine = Spine::new(db.clone())
            .expect("spine")
            .with_clock(Arc::new(|| LATER + time::Duration::hours(1)));
        // Seeded violation: a read that shows the current state whatever as_of says — modelled as reads at an
        // instant no change precedes, so each shows the latest state, which the later changes move.
        let current = OperationContext::new(TENANT, ActorType::System, "xtask")
            .expect("ctx")
            .with_as_of(datetime!(9999-01-01 00:00:00 UTC));
        let problems = replay_problems(&spine, &current, &listings(), later_changes(&spine, db))
            .await
            .expect("replayed");
        let caught = problems.iter().filter(|p| p.is_some()).count();
        assert!(caught >= 5, "{problems:#?}");
        // The last five reads: the get showed inc_r0 open, then closed; the ingest policy its default, then the
        // version put later; the counts by status none closed, then inc_r0 closed; the metrics and their series
        // the history before inc_r0's later transitions, then after them.
        let n = problems.len();
        assert!(
            problems[n - 5].as_ref().is_some_and(
                |p| p.contains("\"status\":\"open\"") && p.contains("\"status\":\"closed\"")
            ),
            "{problems:#?}"
        );
        assert!(
            problems[n - 4]
                .as_ref()
                .is_some_and(|p| p.contains("\"resolve_on\":\"all\"")
                    && p.contains("\"resolve_on\":\"never\"")),
            "{problems:#?}"
        );
        assert!(
            problems[n - 3]
                .as_ref()
                .is_some_and(|p| p.contains("\"closed\":0") && p.contains("\"closed\":1")),
            "{problems:#?}"
        );
        for metrics in &problems[n - 2..] {
            assert!(
                metrics
                    .as_ref()
                    .is_some_and(|p| p.contains("\"input_window_hash\"")),
                "{problems:#?}"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn every_read_is_deterministic_on_sqlite() {
        let test_db = TestDatabase::sqlite().await;
        let outcomes = verify_backend("sqlite", test_db.db()).await;
        let failing: Vec<&Outcome> = outcomes.iter().filter(|o| o.level != Level::Pass).collect();
        assert!(failing.is_empty(), "{failing:#?}");
        assert_eq!(outcomes.len(), 35);
    }
}
