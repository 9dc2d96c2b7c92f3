use hoc_drivers::testing::{TABLES, execute_raw, row_counts};
use hoc_drivers::{AuditRow, StorageError, audit, storage_test};
use time::macros::datetime;

fn audit_row(id: &str) -> AuditRow {
    AuditRow {
        id: id.to_owned(),
        tenant_id: "t1".into(),
        entity_type: "incident".into(),
        entity_id: "inc_1".into(),
        action: "acknowledge".into(),
        actor_type: hoc_drivers::Stored(hoc_contracts::AuditActor::Human),
        actor_id: "u1".into(),
        reason: None,
        before_state: Some(r#"{"status":"open"}"#.into()),
        after_state: Some(r#"{"status":"acknowledged"}"#.into()),
        request_id: "req_1".into(),
        created_at: datetime!(2026-11-26 10:00:00 UTC).into(),
        chain_seq: None,
        prev_hash: None,
        row_hash: None,
    }
}

storage_test!(migrations_go_up_down_and_up_again, |db| {
    let before = row_counts(&db).await;
    assert_eq!(before.len(), TABLES.len());
    db.migrate_down_all().await.expect("down");
    for table in TABLES {
        let err = execute_raw(&db, &format!("SELECT COUNT(*) FROM {table}")).await;
        assert!(err.is_err(), "{table} still exists after down");
    }
    db.migrate().await.expect("up again");
    assert_eq!(row_counts(&db).await, before);
    // Migrating an up-to-date database is a no-op.
    db.migrate().await.expect("idempotent up");
});

storage_test!(audit_ledger_refuses_update_and_delete, |db| {
    let tx = hoc_ledger::begin_write(&db).await.expect("begin");
    hoc_ledger::audit::append(&tx, audit_row("aud_1"))
        .await
        .expect("append");
    tx.commit().await.expect("commit");

    let update = execute_raw(
        &db,
        "UPDATE audit_ledger SET reason = 'rewritten' WHERE id = 'aud_1'",
    )
    .await;
    let delete = execute_raw(&db, "DELETE FROM audit_ledger WHERE id = 'aud_1'").await;
    // PostgreSQL: TRUNCATE fires no row trigger; SQLite: REPLACE deletes the old row without firing DELETE's.
    let (third, outcome) = match db.backend() {
        hoc_drivers::Backend::Postgres => (
            "TRUNCATE",
            execute_raw(&db, "TRUNCATE audit_ledger").await,
        ),
        hoc_drivers::Backend::Sqlite => (
            "REPLACE",
            execute_raw(
                &db,
                "INSERT OR REPLACE INTO audit_ledger (id, tenant_id, entity_type, entity_id, action, actor_type, \
                 actor_id, request_id, created_at, chain_seq, prev_hash, row_hash) \
                 SELECT id, tenant_id, entity_type, entity_id, action, actor_type, actor_id, 'forged', created_at, \
                 chain_seq, prev_hash, row_hash FROM audit_ledger WHERE id = 'aud_1'",
            )
            .await,
        ),
    };
    for (what, outcome) in [("UPDATE", update), ("DELETE", delete), (third, outcome)] {
        match outcome {
            Err(StorageError::Backend(err)) => assert!(
                err.to_string().contains("audit_ledger is append-only"),
                "{what} failed for another reason: {err}"
            ),
            other => panic!("{what} on the audit ledger was not refused: {other:?}"),
        }
    }
    let tx = hoc_ledger::begin_read(&db);
    let mut rows = audit::list_for_entity(&tx, "t1", "inc_1")
        .await
        .expect("list");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].chain_seq, Some(1));
    assert_eq!(rows[0].prev_hash, None);
    assert!(rows[0].row_hash.is_some());
    for row in &mut rows {
        (row.chain_seq, row.row_hash) = (None, None);
    }
    assert_eq!(rows, vec![audit_row("aud_1")]);
});

storage_test!(audit_rows_are_tenant_scoped_and_ordered, |db| {
    let tx = hoc_ledger::begin_write(&db).await.expect("begin");
    let mut later = audit_row("aud_a");
    later.created_at = datetime!(2026-11-26 11:00:00 UTC).into();
    hoc_ledger::audit::append(&tx, later.clone())
        .await
        .expect("append");
    hoc_ledger::audit::append(&tx, audit_row("aud_c"))
        .await
        .expect("append");
    hoc_ledger::audit::append(&tx, audit_row("aud_b"))
        .await
        .expect("append");
    let mut foreign = audit_row("aud_x");
    foreign.tenant_id = "t2".into();
    hoc_ledger::audit::append(&tx, foreign)
        .await
        .expect("append");
    tx.commit().await.expect("commit");

    let tx = hoc_ledger::begin_read(&db);
    let ids: Vec<String> = audit::list_for_entity(&tx, "t1", "inc_1")
        .await
        .expect("list")
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, ["aud_b", "aud_c", "aud_a"]);
});

storage_test!(entities_match_the_migrated_schema_column_for_column, |db| {
    let mismatches = hoc_drivers::schema_check::compare(&db)
        .await
        .expect("introspects");
    assert!(
        mismatches.is_empty(),
        "entity/migration drift:\n{}",
        mismatches
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
    // The seed's lengths are in the schema itself, not only in the entities.
    let incidents = hoc_drivers::schema_check::database_columns(&db, "incidents")
        .await
        .expect("columns");
    use hoc_drivers::schema_check::TypeFamily::Varchar;
    for (column, len) in [
        ("resolution_type", 50),
        ("postmortem_artifact_id", 64),
        ("recurrence_signature", 128),
        ("signature_version", 20),
    ] {
        assert_eq!(incidents[column].family, Varchar(len), "{column}");
        assert!(incidents[column].nullable, "{column}");
    }
});

storage_test!(a_drifted_entity_is_reported, |db| {
    use hoc_drivers::schema_check::{ColumnShape, TypeFamily, compare_tables, entity_tables};
    let mut expected = entity_tables();
    let incidents = expected.get_mut("incidents").expect("incidents entity");
    incidents.insert(
        "resolution_type".into(),
        ColumnShape {
            family: TypeFamily::Varchar(40),
            nullable: true,
        },
    );
    incidents.insert(
        "title".into(),
        ColumnShape {
            family: TypeFamily::Varchar(255),
            nullable: true,
        },
    );
    incidents.insert(
        "ghost".into(),
        ColumnShape {
            family: TypeFamily::Text,
            nullable: true,
        },
    );
    incidents.remove("close_reason");
    expected.insert("nowhere".into(), Default::default());
    expected.remove("relay_leases");
    let found: Vec<String> = compare_tables(&db, &expected)
        .await
        .expect("compares")
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        found,
        [
            "incidents.ghost: declared by the entity but missing from the table",
            "incidents.resolution_type: entity says Varchar(40), database has Varchar(50)",
            "incidents.title: entity says NULL, database says NOT NULL",
            "incidents.close_reason: in the table but not declared by the entity",
            "nowhere.: table is missing from the database",
            "relay_leases.: in the database but no entity declares it",
        ]
    );
});

storage_test!(timestamps_sort_in_time_order_and_round_trip_exactly, |db| {
    use time::macros::datetime;
    // Fractions of different lengths: as plain RFC 3339 text these would sort wrongly on SQLite.
    let times = [
        ("aud_4", datetime!(2026-11-26 10:00:01 UTC)),
        ("aud_1", datetime!(2026-11-26 10:00:00 UTC)),
        ("aud_3", datetime!(2026-11-26 10:00:00.371739 UTC)),
        ("aud_2", datetime!(2026-11-26 10:00:00.37 UTC)),
        ("aud_5", datetime!(2026-11-26 10:00:01.000001 UTC)),
    ];
    let tx = hoc_ledger::begin_write(&db).await.expect("begin");
    for (id, at) in times {
        let mut row = audit_row(id);
        row.created_at = at.into();
        hoc_ledger::audit::append(&tx, row).await.expect("append");
    }
    tx.commit().await.expect("commit");
    let tx = hoc_ledger::begin_read(&db);
    let rows = audit::list_for_entity(&tx, "t1", "inc_1")
        .await
        .expect("list");
    let read: Vec<(&str, time::OffsetDateTime)> = rows
        .iter()
        .map(|r| (r.id.as_str(), r.created_at.get()))
        .collect();
    let mut expected = times.to_vec();
    expected.sort_by_key(|(_, at)| *at);
    assert_eq!(read, expected);
});

#[tokio::test(flavor = "multi_thread")]
async fn optimize_gives_sqlite_planner_statistics() {
    let test_db = hoc_drivers::testing::TestDatabase::sqlite().await;
    let db = test_db.db();
    let tx = hoc_ledger::begin_write(db).await.expect("begin");
    for i in 0..50 {
        hoc_ledger::audit::append(&tx, audit_row(&format!("aud_{i}")))
            .await
            .expect("append");
    }
    tx.commit().await.expect("commit");
    let stats = "SELECT COUNT(*) AS n FROM sqlite_stat1 WHERE tbl = 'audit_ledger'";
    let before = hoc_drivers::testing::scalar(db, stats).await;
    assert!(
        before.as_ref().map_or(true, |n| *n == 0),
        "no statistics before: {before:?}"
    );
    db.optimize().await.expect("optimize");
    let after = hoc_drivers::testing::scalar(db, stats)
        .await
        .expect("sqlite_stat1 exists");
    assert!(after > 0, "ANALYZE ran on audit_ledger");
}

storage_test!(postgres_sessions_run_without_jit, |db| {
    // A generic plan over a large table can pass jit_above_cost and compile code on every execution.
    if db.backend() == hoc_drivers::Backend::Postgres {
        let jit = hoc_drivers::testing::scalar(
            &db,
            "SELECT COUNT(*) AS n WHERE current_setting('jit') = 'off'",
        )
        .await
        .expect("setting");
        assert_eq!(jit, 1);
    }
});

/// Foreign keys whose child column does not lead an index (then every write of the parent's key scans the child).
async fn unindexed_foreign_keys(db: &hoc_drivers::Database) -> i64 {
    let sql = match db.backend() {
        hoc_drivers::Backend::Sqlite => {
            "SELECT COUNT(*) AS n FROM sqlite_master m, pragma_foreign_key_list(m.name) f \
             WHERE m.type = 'table' AND NOT EXISTS (SELECT 1 FROM pragma_index_list(m.name) il, \
             pragma_index_info(il.name) ii WHERE ii.seqno = 0 AND ii.name = f.\"from\")"
        }
        hoc_drivers::Backend::Postgres => {
            "SELECT COUNT(*) AS n FROM pg_constraint c WHERE c.contype = 'f' AND NOT EXISTS \
             (SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1])"
        }
    };
    hoc_drivers::testing::scalar(db, sql)
        .await
        .expect("catalog query")
}

storage_test!(every_foreign_key_child_column_leads_an_index, |db| {
    assert_eq!(unindexed_foreign_keys(&db).await, 0);
    // Without the migration that added them, the timeline's and the postmortems' keys are unindexed.
    db.migrate_down_through("m20261128_000005_performance")
        .await
        .expect("down");
    assert_eq!(unindexed_foreign_keys(&db).await, 2);
    db.migrate().await.expect("up");
    assert_eq!(unindexed_foreign_keys(&db).await, 0);
});

storage_test!(
    work_after_commit_runs_only_when_the_transaction_commits,
    |db| {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let ran = Arc::new(AtomicUsize::new(0));
        let counter = |ran: &Arc<AtomicUsize>, n: usize| {
            let ran = Arc::clone(ran);
            move || {
                ran.fetch_add(n, Ordering::SeqCst);
            }
        };
        let rolled_back = hoc_ledger::begin_write(&db).await.expect("begin");
        rolled_back.after_commit(counter(&ran, 1));
        rolled_back.rollback().await.expect("rollback");
        let dropped = hoc_ledger::begin_write(&db).await.expect("begin");
        dropped.after_commit(counter(&ran, 10));
        drop(dropped);
        assert_eq!(ran.load(Ordering::SeqCst), 0);
        let committed = hoc_ledger::begin_write(&db).await.expect("begin");
        committed.after_commit(counter(&ran, 100));
        committed.after_commit(counter(&ran, 1000));
        assert_eq!(
            ran.load(Ordering::SeqCst),
            0,
            "nothing runs before the commit"
        );
        committed.commit().await.expect("commit");
        assert_eq!(ran.load(Ordering::SeqCst), 1100);
    }
);
