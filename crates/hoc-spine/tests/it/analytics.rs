//! Analytics artifacts: created / unchanged / conflict, concurrency, point-in-time reads, paging, tenancy.

use std::collections::BTreeSet;

use hoc_analytics::SaveStatus;
use hoc_drivers::testing::row_counts;
use hoc_spine::requests::{GetArtifact, ListArtifacts, SaveArtifact};
use hoc_spine::{ErrorCode, OperationError};
use time::macros::datetime;

use crate::{TestClock, ctx, event_log, spine};

const HASH_A: &str = "71fc1d32b74ed6c717862480b629f0750d039796e4b4742880b62490e17c1140";
const HASH_B: &str = "31b7fc4f9c2b814a49c10cab0fe5f02e25442b4aa3ab9157f83c42df82999675";

fn save(dataset: &str, version: &str, as_of: &str) -> SaveArtifact {
    SaveArtifact {
        dataset_id: dataset.into(),
        dataset_version: version.into(),
        input_window_hash: Some(HASH_A.into()),
        as_of: Some(as_of.into()),
        compute_code_version: Some("git:4f2a9c1".into()),
        ..SaveArtifact::default()
    }
}

hoc_drivers::storage_test!(created_then_unchanged_then_conflict, |db| {
    let spine = spine(&db);
    let request = SaveArtifact {
        window_start: Some("2026-11-01T00:00:00Z".into()),
        window_end: Some("2026-11-02T00:00:00Z".into()),
        inputs: Some(vec!["s3://raw/orders/2026-11-01.parquet".into()]),
        code_dirty: Some(false),
        ..save("daily_orders", "2026-11-01", "2026-11-02T00:00:00Z")
    };
    let created = spine.call(&ctx("t1"), &request).await.expect("created");
    assert_eq!(created.status, SaveStatus::Created);
    let artifact = created.artifact.clone();
    assert!(artifact.id.starts_with("art_"));
    assert_eq!(
        (
            artifact.dataset_id.as_str(),
            artifact.dataset_version.as_str()
        ),
        ("daily_orders", "2026-11-01")
    );
    assert_eq!(artifact.as_of, datetime!(2026-11-02 00:00:00 UTC));
    assert_eq!(
        artifact.window_start,
        Some(datetime!(2026-11-01 00:00:00 UTC))
    );
    assert_eq!(artifact.code_dirty, Some(false));
    let log = event_log(&spine, "t1").await;
    assert_eq!(log, [(1, "analytics.ArtifactRecorded".to_owned())]);
    let event = &spine
        .call(&ctx("t1"), &hoc_spine::requests::ListEvents::default())
        .await
        .expect("events")
        .items[0];
    assert_eq!(
        serde_json::Value::Object(event.data.clone()),
        serde_json::json!({
            "dataset_id": "daily_orders",
            "dataset_version": "2026-11-01",
            "input_window_hash": HASH_A,
            "as_of": "2026-11-02T00:00:00.000000Z",
            "compute_code_version": "git:4f2a9c1",
        })
    );
    assert_eq!(event.decision_owner, "analytics");
    let counts = row_counts(&db).await;
    assert_eq!(
        (
            counts["analytics_artifacts"],
            counts["audit_ledger"],
            counts["event_outbox"]
        ),
        (1, 1, 1)
    );

    // Identical replay: unchanged, the same artifact, no event, nothing written.
    let replay = spine.call(&ctx("t1"), &request).await.expect("replay");
    assert_eq!(
        (replay.status, &replay.artifact),
        (SaveStatus::Unchanged, &artifact)
    );
    assert_eq!(row_counts(&db).await, counts);

    // A different definition: conflict naming the differing fields; nothing overwritten.
    let err = spine
        .call(
            &ctx("t1"),
            &SaveArtifact {
                input_window_hash: Some(HASH_B.into()),
                compute_code_version: Some("git:deadbee".into()),
                inputs: None,
                code_dirty: None,
                ..request.clone()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::ReproducibilityConflict);
    match &err {
        OperationError::ReproducibilityConflict { fields, .. } => {
            assert_eq!(
                fields,
                &["input_window_hash", "compute_code_version", "code_dirty"]
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(row_counts(&db).await, counts);
    let stored = spine
        .call(
            &ctx("t1"),
            &GetArtifact {
                dataset_id: "daily_orders".into(),
                version: Some("2026-11-01".into()),
                ..Default::default()
            },
        )
        .await
        .expect("get");
    assert_eq!(stored.artifact, artifact);
});

hoc_drivers::storage_test!(invalid_saves_list_every_field_and_write_nothing, |db| {
    let spine = spine(&db);
    let before = row_counts(&db).await;
    let err = spine
        .call(
            &ctx("t1"),
            &SaveArtifact {
                input_window_hash: Some("abc".into()),
                as_of: Some("yesterday".into()),
                compute_code_version: None,
                window_start: Some("2026-11-02T00:00:00Z".into()),
                window_end: Some("2026-11-01T00:00:00Z".into()),
                ..save("", "v1", "")
            },
        )
        .await
        .unwrap_err();
    let OperationError::InvalidInput { fields } = err else {
        panic!("{err:?}")
    };
    let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(
        names,
        [
            "dataset_id",
            "input_window_hash",
            "as_of",
            "compute_code_version",
            "window_end"
        ]
    );
    // Inputs that do not hash to the given hash.
    let err = spine
        .call(
            &ctx("t1"),
            &SaveArtifact {
                window_start: Some("2026-11-01T00:00:00Z".into()),
                window_end: Some("2026-11-02T00:00:00Z".into()),
                inputs: Some(vec!["s3://raw/orders/other.parquet".into()]),
                ..save("d", "v1", "2026-11-02T00:00:00Z")
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert!(
        err.to_string()
            .contains("input_window_hash: does not match the window and inputs given"),
        "{err}"
    );
    assert_eq!(row_counts(&db).await, before);
});

hoc_drivers::storage_test!(concurrent_saves_of_one_new_key_create_it_once, |db| {
    let spine = spine(&db);
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let spine = spine.clone();
            tokio::spawn(async move {
                let hash = if i % 2 == 0 { HASH_A } else { HASH_B };
                let request = SaveArtifact {
                    input_window_hash: Some(hash.into()),
                    ..save("contended", "v1", "2026-11-02T00:00:00Z")
                };
                (hash, spine.call(&ctx("t1"), &request).await)
            })
        })
        .collect();
    let mut created = Vec::new();
    let mut outcomes = Vec::new();
    for task in tasks {
        let (hash, outcome) = task.await.expect("joins");
        match outcome {
            Ok(saved) if saved.status == SaveStatus::Created => created.push(hash),
            Ok(saved) => outcomes.push((hash, "unchanged", saved.artifact.input_window_hash)),
            Err(err) => {
                assert_eq!(err.code(), ErrorCode::ReproducibilityConflict, "{err}");
                outcomes.push((hash, "conflict", String::new()));
            }
        }
    }
    assert_eq!(created.len(), 1, "{created:?}");
    let winner = created[0];
    for (hash, status, recorded) in outcomes {
        if hash == winner {
            assert_eq!((status, recorded.as_str()), ("unchanged", winner));
        } else {
            assert_eq!(status, "conflict");
        }
    }
    assert_eq!(event_log(&spine, "t1").await.len(), 1);
    assert_eq!(row_counts(&db).await["analytics_artifacts"], 1);
});

hoc_drivers::storage_test!(get_latest_and_point_in_time, |db| {
    let clock = TestClock::at(datetime!(2026-11-26 09:00:00 UTC));
    let spine = clock.install(spine(&db));
    spine
        .call(&ctx("t1"), &save("revenue", "v1", "2026-11-01T00:00:00Z"))
        .await
        .expect("v1");
    spine
        .call(&ctx("t1"), &save("revenue", "v3", "2026-11-03T00:00:00Z"))
        .await
        .expect("v3");
    // Saved later but describing an earlier point in time.
    clock.set(datetime!(2026-11-26 09:00:01 UTC));
    spine
        .call(&ctx("t1"), &save("revenue", "v2", "2026-11-02T00:00:00Z"))
        .await
        .expect("v2");
    // Same as_of as v3, created later: wins the tie on created_at.
    spine
        .call(&ctx("t1"), &save("revenue", "v3b", "2026-11-03T00:00:00Z"))
        .await
        .expect("v3b");
    clock.set(datetime!(2026-11-26 10:00:00 UTC));

    let get = |version: Option<&str>, as_of: Option<&str>| GetArtifact {
        dataset_id: "revenue".into(),
        version: version.map(Into::into),
        as_of: as_of.map(Into::into),
    };
    let latest = spine
        .call(&ctx("t1"), &get(None, None))
        .await
        .expect("latest");
    assert_eq!(latest.dataset_version, "v3b");
    let at_2nd = spine
        .call(&ctx("t1"), &get(None, Some("2026-11-02T12:00:00Z")))
        .await
        .expect("point in time");
    assert_eq!(at_2nd.dataset_version, "v2");
    let exact = spine
        .call(&ctx("t1"), &get(None, Some("2026-11-01T00:00:00Z")))
        .await
        .expect("boundary is inclusive");
    assert_eq!(exact.dataset_version, "v1");
    let err = spine
        .call(&ctx("t1"), &get(None, Some("2026-10-31T00:00:00Z")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound);
    assert_eq!(
        spine
            .call(&ctx("t1"), &get(Some("v1"), None))
            .await
            .expect("v1")
            .dataset_version,
        "v1"
    );
    let err = spine
        .call(&ctx("t1"), &get(Some("v9"), None))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "artifact revenue@v9 not found");
    // A read as of an earlier moment does not see artifacts saved after it.
    let before_v2 = ctx("t1").with_as_of(datetime!(2026-11-26 09:00:00 UTC));
    assert_eq!(
        spine
            .call(&before_v2, &get(None, None))
            .await
            .expect("then-latest")
            .dataset_version,
        "v1",
        "v1 and v3 were saved on the same clock reading; the tenant clock puts v3 one microsecond later"
    );
    let after_v3 = ctx("t1").with_as_of(datetime!(2026-11-26 09:00:00.000001 UTC));
    assert_eq!(
        spine
            .call(&after_v3, &get(None, None))
            .await
            .expect("then-latest")
            .dataset_version,
        "v3"
    );
});

hoc_drivers::storage_test!(list_pages_deterministically_with_tied_timestamps, |db| {
    let clock = TestClock::at(datetime!(2026-11-26 09:00:00 UTC));
    let spine = clock.install(spine(&db));
    for (i, at) in [
        datetime!(2026-11-26 09:00:00.2 UTC),
        datetime!(2026-11-26 09:00:00 UTC),
        datetime!(2026-11-26 09:00:00.2 UTC),
    ]
    .into_iter()
    .enumerate()
    {
        clock.set(at);
        for j in 0..4 {
            spine
                .call(
                    &ctx("t1"),
                    &save(
                        &format!("ds{}", j % 2),
                        &format!("v{i}{j}"),
                        "2026-11-01T00:00:00Z",
                    ),
                )
                .await
                .expect("save");
        }
    }
    clock.set(datetime!(2026-11-26 09:01:00 UTC));
    let read_all = |dataset: Option<&'static str>, limit: i64| {
        let spine = spine.clone();
        async move {
            let mut out = Vec::new();
            let mut cursor = None;
            loop {
                let page = spine
                    .call(
                        &ctx("t1"),
                        &ListArtifacts {
                            dataset_id: dataset.map(Into::into),
                            limit: Some(limit),
                            cursor,
                        },
                    )
                    .await
                    .expect("page");
                out.extend(page.items);
                cursor = page.next_cursor;
                if cursor.is_none() {
                    return out;
                }
            }
        }
    };
    let whole = read_all(None, 500).await;
    assert_eq!(whole.len(), 12);
    let mut sorted = whole.clone();
    sorted.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
    assert_eq!(whole, sorted);
    for limit in [1, 3, 5] {
        assert_eq!(read_all(None, limit).await, whole, "limit {limit}");
        assert_eq!(
            read_all(None, limit).await,
            whole,
            "limit {limit}, second read"
        );
    }
    let ds0 = read_all(Some("ds0"), 2).await;
    assert_eq!(
        ds0,
        whole
            .iter()
            .filter(|a| a.dataset_id == "ds0")
            .cloned()
            .collect::<Vec<_>>()
    );
    let ids: BTreeSet<&str> = whole.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids.len(), 12);
});

hoc_drivers::storage_test!(artifacts_are_tenant_scoped, |db| {
    let spine = spine(&db);
    let mine = spine
        .call(&ctx("t1"), &save("shared", "v1", "2026-11-01T00:00:00Z"))
        .await
        .expect("t1");
    // The same key in another tenant is another artifact, even with another definition.
    let theirs = spine
        .call(
            &ctx("t2"),
            &SaveArtifact {
                input_window_hash: Some(HASH_B.into()),
                ..save("shared", "v1", "2026-11-01T00:00:00Z")
            },
        )
        .await
        .expect("t2");
    assert_eq!(
        (mine.status, theirs.status),
        (SaveStatus::Created, SaveStatus::Created)
    );
    assert_ne!(mine.artifact.id, theirs.artifact.id);
    let t3 = ctx("t3");
    let err = spine
        .call(
            &t3,
            &GetArtifact {
                dataset_id: "shared".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound);
    assert!(
        spine
            .call(&t3, &ListArtifacts::default())
            .await
            .expect("list")
            .items
            .is_empty()
    );
    assert_eq!(
        spine
            .call(
                &ctx("t2"),
                &GetArtifact {
                    dataset_id: "shared".into(),
                    ..Default::default()
                }
            )
            .await
            .expect("t2 get")
            .input_window_hash,
        HASH_B
    );
    assert_eq!(event_log(&spine, "t1").await.len(), 1);
    assert_eq!(event_log(&spine, "t2").await.len(), 1);
});
