//! Incident metrics (issue 26) on a small history whose figures are computed by hand below: acknowledgement, a
//! reopen after a resolution and one after a manual close, a duplicate, an auto-resolution, a severity changed
//! before and one after `as_of`, an acknowledgement after `as_of`, incidents outside the window and one created
//! after `as_of`. Then the recording, its result byte for byte, its verification, and a verification that fails
//! after a superuser edits an incident version.

use hoc_spine::{ErrorCode, Spine};
use serde_json::{Value, json};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::{TestClock, ctx};

const TENANT: &str = "t_metrics";
const T0: OffsetDateTime = datetime!(2026-11-01 00:00:00 UTC);
/// The instant the figures describe: four hours into the window.
const AS_OF: &str = "2026-11-01T04:00:00Z";
const WINDOW: (&str, &str) = ("2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z");

fn at(minutes: i64) -> OffsetDateTime {
    T0 + Duration::minutes(minutes)
}

struct History {
    spine: Spine,
    clock: TestClock,
}

impl History {
    async fn run(&self, minutes: i64, operation: &str, method: &str, payload: Value) -> Value {
        self.clock.set(at(minutes));
        self.spine
            .execute(&ctx(TENANT), operation, method, payload.clone())
            .await
            .unwrap_or_else(|e| panic!("{operation}.{method} {payload}: {e}"))
    }

    async fn open(
        &self,
        minutes: i64,
        title: &str,
        severity: &str,
        service: Option<&str>,
    ) -> String {
        // The error code keeps the three kinds of incident in three recurrence groups.
        let mut body = json!({
            "title": title, "severity": severity, "category": "checkout", "error_code": title,
        });
        if let Some(service) = service {
            body["service"] = json!(service);
        }
        self.run(minutes, "incidents.write", "create", body).await["id"]
            .as_str()
            .expect("id")
            .to_owned()
    }

    async fn act(&self, minutes: i64, method: &str, id: &str, extra: Value) {
        let mut body = json!({ "id": id });
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        let operation = if method == "mark_duplicate" {
            "incidents.links"
        } else {
            "incidents.write"
        };
        self.run(minutes, operation, method, body).await;
    }
}

/// Ids of A..F (in the window, existing at `AS_OF`).
struct Ids {
    a: String,
    c: String,
}

/// The history (minutes after T0), written in time order (the tenant clock keeps instants in commit order):
/// - A  0' api high "checkout latency"; acknowledged 12' (tta 720 s); resolved 60' (ttr 3600 s); severity critical
///   at 270' (after as_of: high at as_of).
/// - B  5' api critical "checkout latency"; acknowledged 35' (tta 1800 s); resolved 45' (ttr 2400 s); reopened
///   120'; acknowledged 130'; resolved 180' (the first acknowledgement and resolution count).
/// - C 10' db high "db connections exhausted"; acknowledged 300' (after as_of: unacknowledged at as_of).
/// - F 15' no service, medium "cache stampede"; closed 25'; reopened 55' (open at as_of); severity low 61'.
/// - D 20' db low "db connections exhausted"; resolved `auto` 50' without acknowledgement (ttr 1800 s).
/// - E 30' api high "checkout latency"; marked a duplicate of A 40' (closed, not resolved).
/// - G the hour before the window, I at 360' (after as_of), H at the window's end (excluded: half-open).
async fn seed(spine: &Spine) -> (History, Ids) {
    let clock = TestClock::at(T0);
    let h = History {
        spine: clock.install(spine.clone()),
        clock,
    };
    h.open(-60, "checkout latency", "high", Some("api")).await;
    let a = h.open(0, "checkout latency", "high", Some("api")).await;
    let b = h.open(5, "checkout latency", "critical", Some("api")).await;
    let c = h
        .open(10, "db connections exhausted", "high", Some("db"))
        .await;
    h.act(12, "acknowledge", &a, json!({})).await;
    let f = h.open(15, "cache stampede", "medium", None).await;
    let d = h
        .open(20, "db connections exhausted", "low", Some("db"))
        .await;
    h.act(25, "close", &f, json!({"reason": "noise"})).await;
    let e = h.open(30, "checkout latency", "high", Some("api")).await;
    h.act(35, "acknowledge", &b, json!({})).await;
    h.act(40, "mark_duplicate", &e, json!({"target_id": a}))
        .await;
    h.act(45, "resolve", &b, json!({"resolution_type": "hotfix"}))
        .await;
    h.act(50, "resolve", &d, json!({"resolution_type": "auto"}))
        .await;
    h.act(55, "reopen", &f, json!({"reason": "again"})).await;
    h.act(60, "resolve", &a, json!({"resolution_type": "rollback"}))
        .await;
    let minor = json!({"severity": "low", "reason": "minor"});
    h.act(61, "change_severity", &f, minor).await;
    h.act(120, "reopen", &b, json!({"reason": "back"})).await;
    h.act(130, "acknowledge", &b, json!({})).await;
    h.act(180, "resolve", &b, json!({"resolution_type": "hotfix"}))
        .await;
    // After as_of.
    let worse = json!({"severity": "critical", "reason": "worse"});
    h.act(270, "change_severity", &a, worse).await;
    h.act(300, "acknowledge", &c, json!({})).await;
    h.open(360, "checkout latency", "high", Some("api")).await;
    h.open(24 * 60, "checkout latency", "high", Some("api"))
        .await;
    (h, Ids { a, c })
}

async fn metrics(spine: &Spine, group_by: &str, as_of: &str) -> Value {
    spine
        .execute(
            &ctx(TENANT).with_as_of(hoc_spine::time_format::parse_utc(as_of).expect("as_of")),
            "analytics.metrics",
            "get",
            json!({"window_start": WINDOW.0, "window_end": WINDOW.1, "group_by": group_by}),
        )
        .await
        .expect("metrics")
}

fn durations(samples: u64, p50: f64, p90: f64, mean: f64, max: f64) -> Value {
    json!({"samples": samples, "p50": p50, "p90": p90, "mean": mean, "max": max})
}

fn none() -> Value {
    json!({"samples": 0, "p50": null, "p90": null, "mean": null, "max": null})
}

async fn signature(spine: &Spine, id: &str) -> (String, String) {
    let incident = spine
        .execute(&ctx(TENANT), "incidents.query", "get", json!({"id": id}))
        .await
        .expect("incident");
    (
        incident["signature_version"]
            .as_str()
            .expect("version")
            .to_owned(),
        incident["recurrence_signature"]
            .as_str()
            .expect("signature")
            .to_owned(),
    )
}

hoc_drivers::storage_test!(
    metrics_at_an_instant_match_the_hand_computed_figures,
    |db| {
        let spine = crate::spine(&db);
        let (h, ids) = seed(&spine).await;
        let total = metrics(&spine, "none", AS_OF).await;
        assert_eq!(total["count"], json!(6));
        assert_eq!(
            total["groups"],
            json!([{
                "key": null, "count": 6, "acknowledged": 2, "resolved": 3, "reopened": 2, "auto_resolved": 1,
                "duplicates": 1, "open": 2,
                "tta": durations(2, 720.0, 1800.0, 1260.0, 1800.0),
                "ttr": durations(3, 2400.0, 3600.0, 2600.0, 3600.0),
                "reopen_rate": 2.0 / 6.0,
            }])
        );
        let (checkout_v, checkout) = signature(&spine, &ids.a).await;
        let (db_v, db_sig) = signature(&spine, &ids.c).await;
        let top = total["top_groups"].as_array().expect("top groups");
        assert_eq!(top.len(), 3, "{top:?}");
        assert_eq!(
            top[0],
            json!({"recurrence_signature": checkout, "signature_version": checkout_v, "new_members": 3,
               "open_members": 0, "first_seen": "2026-11-01T00:00:00.000000Z",
               "last_seen": "2026-11-01T00:30:00.000000Z"})
        );
        assert_eq!(
            (
                &top[1]["recurrence_signature"],
                &top[1]["signature_version"]
            ),
            (&json!(db_sig), &json!(db_v))
        );
        assert_eq!(
            (&top[1]["new_members"], &top[1]["open_members"]),
            (&json!(2), &json!(1))
        );
        assert_eq!(
            (&top[2]["new_members"], &top[2]["open_members"]),
            (&json!(1), &json!(1))
        );

        let by_service = metrics(&spine, "service", AS_OF).await;
        assert_eq!(
            by_service["groups"],
            json!([
                {"key": "api", "count": 3, "acknowledged": 2, "resolved": 2, "reopened": 1, "auto_resolved": 0,
                 "duplicates": 1, "open": 0,
                 "tta": durations(2, 720.0, 1800.0, 1260.0, 1800.0),
                 "ttr": durations(2, 2400.0, 3600.0, 3000.0, 3600.0),
                 "reopen_rate": 1.0 / 3.0},
                {"key": "db", "count": 2, "acknowledged": 0, "resolved": 1, "reopened": 0, "auto_resolved": 1,
                 "duplicates": 0, "open": 1,
                 "tta": none(),
                 "ttr": durations(1, 1800.0, 1800.0, 1800.0, 1800.0),
                 "reopen_rate": 0.0},
                {"key": null, "count": 1, "acknowledged": 0, "resolved": 0, "reopened": 1, "auto_resolved": 0,
                 "duplicates": 0, "open": 1, "tta": none(), "ttr": none(), "reopen_rate": 1.0},
            ])
        );
        // Severity at as_of: A is still high (raised after), F already low; severities by rank.
        let by_severity = metrics(&spine, "severity", AS_OF).await;
        let keyed = fields(&by_severity["groups"], &["key", "count"]);
        assert_eq!(
            keyed,
            [
                json!(["critical", 1]),
                json!(["high", 3]),
                json!(["low", 2])
            ]
        );
        // Acknowledging assigns: A and B to alice by as_of; C only after it.
        let by_assignee = metrics(&spine, "assignee", AS_OF).await;
        let keyed = fields(&by_assignee["groups"], &["key", "count", "acknowledged"]);
        assert_eq!(keyed, [json!(["alice", 2, 2]), json!([null, 4, 0])]);
        let by_source = metrics(&spine, "source", AS_OF).await;
        assert_eq!(by_source["groups"][0]["key"], json!("api"));
        assert_eq!(by_source["groups"][0]["count"], json!(6));

        // Later: C's late acknowledgement and I exist now, not at as_of.
        let now = metrics(&spine, "none", "2026-11-01T12:00:00Z").await;
        assert_eq!(now["count"], json!(7));
        assert_eq!(now["groups"][0]["acknowledged"], json!(3));
        assert_eq!(
            now["groups"][0]["tta"],
            durations(3, 1800.0, 17_400.0, 6640.0, 17_400.0)
        );
        assert_ne!(now["input_window_hash"], total["input_window_hash"]);
        // The same read at as_of gives the same bytes after those writes.
        assert_eq!(
            metrics(&spine, "none", AS_OF).await.to_string(),
            total.to_string()
        );
        drop(h);
    }
);

hoc_drivers::storage_test!(
    a_recording_reproduces_until_history_is_edited_behind_the_core,
    |db| {
        let spine = crate::spine(&db);
        let (h, ids) = seed(&spine).await;
        h.clock.set(at(8 * 60));
        let recorded = h
        .spine
        .execute(
            &ctx(TENANT),
            "analytics.metrics",
            "record",
            json!({"window_start": WINDOW.0, "window_end": WINDOW.1, "group_by": "service", "as_of": AS_OF}),
        )
        .await
        .expect("record");
        let artifact = &recorded["artifact"];
        assert_eq!(artifact["dataset_id"], json!("incident-metrics/service"));
        let version = artifact["dataset_version"]
            .as_str()
            .expect("version")
            .to_owned();
        assert!(version.starts_with("20261101T040000.000000Z-"), "{version}");
        assert_eq!(
            artifact["input_window_hash"],
            recorded["metrics"]["input_window_hash"]
        );
        assert_eq!(artifact["as_of"], json!("2026-11-01T04:00:00.000000Z"));
        assert_eq!(
            artifact["compute_code_version"],
            json!("incident-metrics-v1")
        );
        // The recorded metrics are the read's, byte for byte.
        let read = metrics(&spine, "service", AS_OF).await;
        assert_eq!(recorded["metrics"].to_string(), read.to_string());
        let result = spine
            .execute(
                &ctx(TENANT),
                "analytics.artifacts",
                "result",
                json!({"dataset_id": "incident-metrics/service", "dataset_version": version}),
            )
            .await
            .expect("result");
        assert_eq!(result.to_string(), read.to_string());
        // One ArtifactRecorded event; a repeat records nothing more.
        let recorded_events = |log: Vec<(i64, String)>| {
            log.into_iter()
                .filter(|(_, t)| t == "analytics.ArtifactRecorded")
                .count()
        };
        assert_eq!(recorded_events(crate::event_log(&spine, TENANT).await), 1);
        let again = h
        .spine
        .execute(
            &ctx(TENANT),
            "analytics.metrics",
            "record",
            json!({"window_start": WINDOW.0, "window_end": WINDOW.1, "group_by": "service", "as_of": AS_OF}),
        )
        .await
        .expect("repeat");
        assert_eq!(again["artifact"], recorded["artifact"]);
        assert_eq!(recorded_events(crate::event_log(&spine, TENANT).await), 1);

        let verify = |spine: Spine, version: String| async move {
            spine
                .call(
                    &ctx(TENANT),
                    &hoc_spine::requests::VerifyIncidentMetrics {
                        dataset_id: "incident-metrics/service".into(),
                        dataset_version: version,
                    },
                )
                .await
                .expect("verify")
        };
        // Later writes do not change what as_of shows.
        h.act(9 * 60, "reopen", &ids.a, json!({"reason": "later"}))
            .await;
        let fine = verify(spine.clone(), version.clone()).await;
        assert!(fine.matches, "{:?}", fine.differences);
        assert_eq!(
            fine.recomputed_input_window_hash,
            fine.recorded_input_window_hash
        );

        // A superuser moves A's acknowledgement in its stored version 2.
        let edited = hoc_drivers::testing::execute_raw(
        &db,
        &format!(
            "UPDATE incident_versions SET acknowledged_at = created_at WHERE tenant_id = '{TENANT}' \
             AND id = '{}' AND version = 2",
            ids.a
        ),
    )
    .await
    .expect("superuser edit");
        assert_eq!(edited, 1);
        let broken = verify(spine.clone(), version.clone()).await;
        assert!(!broken.matches);
        assert_eq!(broken.differences.len(), 2, "{:?}", broken.differences);
        assert!(
            broken.differences[0].starts_with("input_window_hash: recorded `"),
            "{:?}",
            broken.differences
        );
        assert!(
            broken.differences[0].contains("is not what was recorded"),
            "{:?}",
            broken.differences
        );
        assert_eq!(
            broken.differences[1],
            "result: differs from the recorded result in `groups`, `input_window_hash`"
        );
        // The recorded result itself is untouched.
        let stored = spine
            .execute(
                &ctx(TENANT),
                "analytics.artifacts",
                "result",
                json!({"dataset_id": "incident-metrics/service", "dataset_version": version}),
            )
            .await
            .expect("result");
        assert_eq!(stored.to_string(), read.to_string());
    }
);

hoc_drivers::storage_test!(
    bad_metrics_requests_name_every_field_and_write_nothing,
    |db| {
        let spine = crate::spine(&db);
        crate::create(&spine, TENANT, "one").await;
        let err = spine
            .execute(
                &ctx(TENANT),
                "analytics.metrics",
                "get",
                json!({"window_start": "yesterday", "group_by": "team"}),
            )
            .await
            .expect_err("invalid");
        assert_eq!(err.code(), ErrorCode::InvalidInput);
        assert_eq!(
            err.to_string(),
            "invalid input: window_start: must be an RFC 3339 timestamp; window_end: is required; group_by: `team` \
         is not one of service, severity, category, assignee, source, none"
        );
        let err = spine
            .execute(
                &ctx(TENANT),
                "analytics.metrics",
                "get",
                json!({"window_start": WINDOW.1, "window_end": WINDOW.0}),
            )
            .await
            .expect_err("reversed");
        assert_eq!(
            err.to_string(),
            "invalid input: window_end: must be after the window's start (the window is [start, end))"
        );
        let err = refused_without_writes!(
        db,
        ErrorCode::InvalidInput,
        spine.execute(
            &ctx(TENANT),
            "analytics.metrics",
            "record",
            json!({"window_start": WINDOW.1, "window_end": WINDOW.0, "as_of": "2999-01-01T00:00:00Z"}),
        )
    );
        let text = err.to_string();
        assert!(
            text.contains("window_end: must be after the window's start"),
            "{text}"
        );
        assert!(
            text.contains("as_of: must not be after the recording's instant"),
            "{text}"
        );
        let err = spine
            .execute(
                &ctx(TENANT),
                "analytics.metrics",
                "series",
                json!({"start": "2026-01-01T00:00:00Z", "end": "2027-06-01T00:00:00Z"}),
            )
            .await
            .expect_err("too many points");
        assert_eq!(
            err.to_string(),
            "invalid input: end: is 516 days after start; a series has at most 366 windows"
        );
    }
);

hoc_drivers::storage_test!(a_series_is_the_metrics_of_each_window, |db| {
    let spine = crate::spine(&db);
    let (_h, _ids) = seed(&spine).await;
    let as_of = hoc_spine::time_format::parse_utc(AS_OF).expect("as_of");
    let series = spine
        .execute(
            &ctx(TENANT).with_as_of(as_of),
            "analytics.metrics",
            "series",
            json!({"start": "2026-10-31T00:00:00Z", "end": "2026-11-02T12:00:00Z", "step": "day"}),
        )
        .await
        .expect("series");
    let points = series["points"].as_array().expect("points");
    let windows = fields(&series["points"], &["window_start", "window_end", "count"]);
    assert_eq!(
        windows,
        [
            json!([
                "2026-10-31T00:00:00.000000Z",
                "2026-11-01T00:00:00.000000Z",
                1
            ]),
            json!([
                "2026-11-01T00:00:00.000000Z",
                "2026-11-02T00:00:00.000000Z",
                6
            ]),
            // The last window ends at `end`; H, created at its start, is after as_of.
            json!([
                "2026-11-02T00:00:00.000000Z",
                "2026-11-02T12:00:00.000000Z",
                0
            ]),
        ]
    );
    // Each point is the metrics of its window, byte for byte.
    assert_eq!(
        points[1].to_string(),
        metrics(&spine, "none", AS_OF).await.to_string()
    );
});

/// The named fields of every item of the array `items`, each item as a JSON array of them.
fn fields(items: &Value, names: &[&str]) -> Vec<Value> {
    items
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| Value::Array(names.iter().map(|n| item[*n].clone()).collect()))
                .collect()
        })
        .unwrap_or_default()
}

// A window with more versions than a statement may read is read in slices of time, halved until each holds few
// enough: the same incidents, in the same order, with the same facts, as one statement gives.
hoc_drivers::storage_test!(a_window_read_in_slices_gives_the_same_facts, |db| {
    use hoc_drivers::{DbTime, Tx, metrics::incident_facts_within};
    let spine = crate::spine(&db);
    let (_h, _ids) = seed(&spine).await;
    let instant = |text: &str| DbTime::new(hoc_spine::time_format::parse_utc(text).expect(text));
    let window = (
        instant("2026-10-31T00:00:00Z"),
        instant("2026-11-03T00:00:00Z"),
    );
    let as_of = instant("2026-11-01T05:00:00Z");
    let tx = Tx::reader(&db);
    let before = db.counters().statements;
    let whole = incident_facts_within(&tx, TENANT, window, as_of, i64::MAX)
        .await
        .expect("one statement");
    let one = db.counters().statements - before;
    let before = db.counters().statements;
    let sliced = incident_facts_within(&tx, TENANT, window, as_of, 2)
        .await
        .expect("slices");
    let many = db.counters().statements - before;
    // Nine incidents in the window, two of them created after as_of.
    assert_eq!(whole.len(), 7, "{whole:#?}");
    assert_eq!(sliced, whole);
    // One count and one read for the whole window (on PostgreSQL, for each of the four slices a reader runs side
    // by side). The nine incidents have more than twenty versions between them, so at most two a statement takes
    // more than ten reads, each after its count.
    let slices = match db.backend() {
        hoc_drivers::Backend::Postgres => 4,
        hoc_drivers::Backend::Sqlite => 1,
    };
    assert_eq!(one, 2 * slices);
    assert!(many > 20, "{many} statements");
    let mut order: Vec<_> = whole.iter().map(|f| (f.created_at, f.id.clone())).collect();
    order.sort();
    assert_eq!(
        order,
        whole
            .iter()
            .map(|f| (f.created_at, f.id.clone()))
            .collect::<Vec<_>>()
    );
});
