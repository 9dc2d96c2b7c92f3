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
        actor_type: "HUMAN".into(),
        actor_id: "u1".into(),
        reason: None,
        before_state: Some(r#"{"status":"open"}"#.into()),
        after_state: Some(r#"{"status":"acknowledged"}"#.into()),
        request_id: "req_1".into(),
        created_at: datetime!(2026-11-26 10:00:00 UTC),
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
    let tx = db.begin_write().await.expect("begin");
    audit::append(&tx, audit_row("aud_1"))
        .await
        .expect("append");
    tx.commit().await.expect("commit");

    let update = execute_raw(
        &db,
        "UPDATE audit_ledger SET reason = 'rewritten' WHERE id = 'aud_1'",
    )
    .await;
    let delete = execute_raw(&db, "DELETE FROM audit_ledger WHERE id = 'aud_1'").await;
    for (what, outcome) in [("UPDATE", update), ("DELETE", delete)] {
        match outcome {
            Err(StorageError::Backend(err)) => assert!(
                err.to_string().contains("audit_ledger is append-only"),
                "{what} failed for another reason: {err}"
            ),
            other => panic!("{what} on the audit ledger was not refused: {other:?}"),
        }
    }
    let tx = db.begin_read().await.expect("begin");
    let rows = audit::list_for_entity(&tx, "t1", "inc_1")
        .await
        .expect("list");
    assert_eq!(rows, vec![audit_row("aud_1")]);
});

storage_test!(audit_rows_are_tenant_scoped_and_ordered, |db| {
    let tx = db.begin_write().await.expect("begin");
    let mut later = audit_row("aud_a");
    later.created_at = datetime!(2026-11-26 11:00:00 UTC);
    audit::append(&tx, later.clone()).await.expect("append");
    audit::append(&tx, audit_row("aud_c"))
        .await
        .expect("append");
    audit::append(&tx, audit_row("aud_b"))
        .await
        .expect("append");
    let mut foreign = audit_row("aud_x");
    foreign.tenant_id = "t2".into();
    audit::append(&tx, foreign).await.expect("append");
    tx.commit().await.expect("commit");

    let tx = db.begin_read().await.expect("begin");
    let ids: Vec<String> = audit::list_for_entity(&tx, "t1", "inc_1")
        .await
        .expect("list")
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, ["aud_b", "aud_c", "aud_a"]);
});
