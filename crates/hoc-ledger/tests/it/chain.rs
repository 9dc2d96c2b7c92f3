//! The audit ledger's hash chain: `hoc_ledger::audit::verify` passes on an untouched ledger and names the first row
//! a superuser edited, deleted or inserted out of turn (with the guards switched off, as only a superuser can).

use hoc_drivers::testing::{execute_raw, scalar};
use hoc_drivers::{AuditRow, Backend, Database, storage_test};
use hoc_ledger::audit::{Verification, verify};
use time::OffsetDateTime;

fn row(tenant: &str, n: usize) -> AuditRow {
    AuditRow {
        id: format!("aud_{tenant}_{n}"),
        tenant_id: tenant.into(),
        entity_type: "incident".into(),
        entity_id: format!("inc_{tenant}"),
        action: "incidents.write.acknowledge".into(),
        actor_type: hoc_drivers::Stored(hoc_contracts::AuditActor::Human),
        actor_id: "alice".into(),
        reason: n.is_multiple_of(2).then(|| format!("reason {n}")),
        before_state: Some(r#"{"status":"open"}"#.into()),
        after_state: Some(r#"{"status":"acknowledged"}"#.into()),
        request_id: format!("req_{n}"),
        created_at: OffsetDateTime::now_utc().into(),
        chain_seq: None,
        prev_hash: None,
        row_hash: None,
    }
}

/// Five rows of t1 (in three transactions) and three of t2, written the way the spine writes: tick, then append.
async fn ledger(db: &Database) {
    for (tenant, rows) in [
        ("t1", &[1, 2][..]),
        ("t2", &[1, 2, 3][..]),
        ("t1", &[3][..]),
        ("t1", &[4, 5][..]),
    ] {
        let tx = hoc_ledger::begin_write(db).await.expect("begin");
        hoc_ledger::clock::tick(&tx, tenant, OffsetDateTime::now_utc())
            .await
            .expect("tick");
        for n in rows {
            hoc_ledger::audit::append(&tx, row(tenant, *n))
                .await
                .expect("append");
        }
        tx.commit().await.expect("commit");
    }
    let clean = verify(db, None).await.expect("verify");
    assert_eq!(
        clean,
        Verification {
            tenants: 2,
            rows: 8,
            breaks: vec![]
        }
    );
}

/// Runs `sql` as a superuser who first switches the ledger's guards off.
async fn tamper(db: &Database, sql: &str) {
    match db.backend() {
        Backend::Postgres => {
            execute_raw(db, "ALTER TABLE audit_ledger DISABLE TRIGGER USER")
                .await
                .expect("disable");
            execute_raw(db, sql).await.expect("tamper");
            execute_raw(db, "ALTER TABLE audit_ledger ENABLE TRIGGER USER")
                .await
                .expect("enable");
        }
        Backend::Sqlite => {
            for trigger in [
                "audit_ledger_no_update",
                "audit_ledger_no_delete",
                "audit_ledger_no_replace",
                "audit_ledger_chain_check",
                "audit_ledger_chain_head",
            ] {
                execute_raw(db, &format!("DROP TRIGGER {trigger}"))
                    .await
                    .expect("drop trigger");
            }
            execute_raw(db, sql).await.expect("tamper");
        }
    }
}

/// The one break verify reports (t2 stays intact), as (row id, problem).
async fn the_break(db: &Database) -> (Option<String>, String) {
    let found = verify(db, None).await.expect("verify");
    assert_eq!(found.tenants, 2);
    assert_eq!(found.breaks.len(), 1, "{:?}", found.breaks);
    let brk = &found.breaks[0];
    assert_eq!(brk.tenant_id, "t1");
    // Verifying t2 alone finds nothing.
    assert!(
        verify(db, Some("t2"))
            .await
            .expect("verify")
            .breaks
            .is_empty()
    );
    (brk.row_id.clone(), brk.problem.clone())
}

storage_test!(an_edited_row_is_named, |db| {
    ledger(&db).await;
    tamper(
        &db,
        "UPDATE audit_ledger SET reason = 'nothing happened' WHERE id = 'aud_t1_3'",
    )
    .await;
    let (id, problem) = the_break(&db).await;
    assert_eq!(id.as_deref(), Some("aud_t1_3"));
    assert!(problem.contains("edited"), "{problem}");
});

storage_test!(a_deleted_row_is_named_by_the_gap_it_leaves, |db| {
    ledger(&db).await;
    tamper(&db, "DELETE FROM audit_ledger WHERE id = 'aud_t1_2'").await;
    let (id, problem) = the_break(&db).await;
    assert_eq!(id.as_deref(), Some("aud_t1_3"));
    assert!(problem.contains("chain_seq 2..2 missing"), "{problem}");
});

storage_test!(a_deleted_last_row_is_caught_by_the_head, |db| {
    ledger(&db).await;
    tamper(&db, "DELETE FROM audit_ledger WHERE id = 'aud_t1_5'").await;
    let (id, problem) = the_break(&db).await;
    assert_eq!(id, None);
    assert!(
        problem.contains("ends at chain_seq 4 but its recorded head is 5"),
        "{problem}"
    );
});

storage_test!(rows_inserted_out_of_turn_are_named, |db| {
    ledger(&db).await;
    // A copy of row 5 placed after it, linked to it, with a hash the forger could not compute without the row.
    let head: i64 = scalar(
        &db,
        "SELECT audit_seq AS n FROM tenant_clocks WHERE tenant_id = 't1'",
    )
    .await
    .expect("head");
    assert_eq!(head, 5);
    tamper(
        &db,
        "INSERT INTO audit_ledger (id, tenant_id, entity_type, entity_id, action, actor_type, actor_id, reason, \
         before_state, after_state, request_id, created_at, chain_seq, prev_hash, row_hash) \
         SELECT 'aud_forged', tenant_id, entity_type, entity_id, 'incidents.write.resolve', actor_type, actor_id, \
         reason, before_state, after_state, request_id, created_at, 6, row_hash, row_hash \
         FROM audit_ledger WHERE id = 'aud_t1_5'",
    )
    .await;
    let (id, problem) = the_break(&db).await;
    assert_eq!(id.as_deref(), Some("aud_forged"));
    assert!(problem.contains("does not match its hash"), "{problem}");
});

storage_test!(a_row_outside_the_chain_is_named, |db| {
    ledger(&db).await;
    tamper(
        &db,
        "INSERT INTO audit_ledger (id, tenant_id, entity_type, entity_id, action, actor_type, actor_id, \
         request_id, created_at) SELECT 'aud_slipped', tenant_id, entity_type, entity_id, action, actor_type, \
         actor_id, request_id, created_at FROM audit_ledger WHERE id = 'aud_t1_1'",
    )
    .await;
    let (id, problem) = the_break(&db).await;
    assert_eq!(id.as_deref(), Some("aud_slipped"));
    assert!(problem.contains("not in the chain"), "{problem}");
});

storage_test!(the_database_refuses_a_row_out_of_turn, |db| {
    ledger(&db).await;
    // Without switching the guards off, a row that does not extend the head is refused.
    let err = execute_raw(
        &db,
        "INSERT INTO audit_ledger (id, tenant_id, entity_type, entity_id, action, actor_type, actor_id, \
         request_id, created_at, chain_seq, prev_hash, row_hash) SELECT 'aud_late', tenant_id, entity_type, \
         entity_id, action, actor_type, actor_id, request_id, created_at, 3, prev_hash, row_hash \
         FROM audit_ledger WHERE id = 'aud_t1_3'",
    )
    .await
    .expect_err("refused");
    assert!(
        err.to_string().contains("chain") || format!("{err:?}").contains("chain"),
        "{err:?}"
    );
    assert!(verify(&db, None).await.expect("verify").breaks.is_empty());
});

storage_test!(the_migration_chains_existing_rows, |db| {
    ledger(&db).await;
    // Back to before the chain (the rows stay, their chain columns go), then up: the migration chains them again.
    db.migrate_down_through("m20261128_000006_ledger_integrity")
        .await
        .expect("down");
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) AS n FROM audit_ledger")
            .await
            .expect("rows"),
        8
    );
    db.migrate().await.expect("up");
    let found = verify(&db, None).await.expect("verify");
    assert_eq!((found.tenants, found.rows), (2, 8));
    assert!(found.breaks.is_empty(), "{:?}", found.breaks);
    // And the next append extends the migrated chain.
    let tx = hoc_ledger::begin_write(&db).await.expect("begin");
    hoc_ledger::clock::tick(&tx, "t1", OffsetDateTime::now_utc())
        .await
        .expect("tick");
    hoc_ledger::audit::append(&tx, row("t1", 6))
        .await
        .expect("append");
    tx.commit().await.expect("commit");
    let found = verify(&db, None).await.expect("verify");
    assert_eq!(found.rows, 9);
    assert!(found.breaks.is_empty(), "{:?}", found.breaks);
});
