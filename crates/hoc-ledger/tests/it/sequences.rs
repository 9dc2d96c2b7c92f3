use hoc_drivers::storage_test;

storage_test!(
    sequence_numbers_are_per_tenant_and_project_and_start_at_one,
    |db| {
        let tx = hoc_ledger::begin_write(&db).await.expect("begin");
        let mut seen = Vec::new();
        for (tenant, project) in [
            ("t1", "p"),
            ("t1", "p"),
            ("t2", "p"),
            ("t1", "q"),
            ("t1", "p"),
        ] {
            seen.push(
                hoc_ledger::outbox::next_sequence_no(&tx, tenant, project)
                    .await
                    .expect("next"),
            );
        }
        tx.commit().await.expect("commit");
        assert_eq!(seen, [1, 2, 1, 1, 3]);
    }
);

storage_test!(rolled_back_sequence_numbers_are_handed_out_again, |db| {
    let tx = hoc_ledger::begin_write(&db).await.expect("begin");
    assert_eq!(
        hoc_ledger::outbox::next_sequence_no(&tx, "t1", "p")
            .await
            .expect("next"),
        1
    );
    tx.commit().await.expect("commit");

    let tx = hoc_ledger::begin_write(&db).await.expect("begin");
    assert_eq!(
        hoc_ledger::outbox::next_sequence_no(&tx, "t1", "p")
            .await
            .expect("next"),
        2
    );
    tx.rollback().await.expect("rollback");

    let tx = hoc_ledger::begin_write(&db).await.expect("begin");
    assert_eq!(
        hoc_ledger::outbox::next_sequence_no(&tx, "t1", "p")
            .await
            .expect("next"),
        2
    );
    drop(tx); // dropping without commit rolls back too

    let tx = hoc_ledger::begin_write(&db).await.expect("begin");
    assert_eq!(
        hoc_ledger::outbox::next_sequence_no(&tx, "t1", "p")
            .await
            .expect("next"),
        2
    );
    tx.commit().await.expect("commit");
});

storage_test!(a_block_of_numbers_follows_on_without_a_gap, |db| {
    let tx = hoc_ledger::begin_write(&db).await.expect("begin");
    let first = hoc_ledger::outbox::next_sequence_no(&tx, "t1", "p")
        .await
        .expect("one");
    let block = hoc_ledger::outbox::next_sequence_nos(&tx, "t1", "p", 5)
        .await
        .expect("five");
    let after = hoc_ledger::outbox::next_sequence_no(&tx, "t1", "p")
        .await
        .expect("one more");
    assert_eq!((first, block, after), (1, 2, 7));
    // Another tenant's block starts at 1.
    let other = hoc_ledger::outbox::next_sequence_nos(&tx, "t2", "p", 3)
        .await
        .expect("other");
    assert_eq!(other, 1);
    tx.commit().await.expect("commit");
});
