//! The ledger seen from outside: `hocd serve` runs as a role that cannot rewrite it (PostgreSQL), and
//! `hocd audit verify` passes on an untouched ledger and fails, naming the row, on a tampered one.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{Server, hocd};

async fn verify(url: &str) -> (bool, String) {
    let out = hocd()
        .args(["audit", "verify", "--database-url", url])
        .output()
        .await
        .expect("hocd audit verify runs");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

hoc_spine::storage_test!(audit_verify_passes_then_names_the_edited_row, |db, url| {
    let server = Server::start(&url).await;
    let key = server.key("acme", "alice", "write").await;
    let created = server
        .created_incident(
            &key,
            json!({"title": "disk full", "severity": "high", "category": "storage"}),
        )
        .await;
    let id = created["id"].as_str().expect("id").to_owned();
    let (status, _) = server
        .call(
            Method::POST,
            &format!("/v1/incidents/{id}/acknowledge"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    if url.starts_with("postgres") {
        // The serving role may append to the ledger but not rewrite it, nor change the schema.
        let serving = hoc_spine::Database::connect(&url)
            .await
            .expect("connects as the serving role");
        assert!(url.contains(hoc_spine::testing::SERVING_ROLE), "{url}");
        for sql in [
            "UPDATE audit_ledger SET reason = 'x'",
            "DELETE FROM audit_ledger",
            "TRUNCATE audit_ledger",
            "ALTER TABLE audit_ledger DISABLE TRIGGER USER",
            "CREATE TABLE sneaky (x INT)",
        ] {
            let err = hoc_spine::testing::execute_raw(&serving, sql)
                .await
                .expect_err(sql);
            assert!(
                format!("{err:?}").contains("permission denied")
                    || format!("{err:?}").contains("must be owner"),
                "{sql}: {err:?}"
            );
        }
    }
    assert!(server.stop().await.success());

    let (ok, report) = verify(&url).await;
    assert!(ok, "{report}");
    assert!(
        report.contains("audit ledger intact: 1 tenant(s), 3 row(s)"),
        "{report}"
    );

    // A superuser edits the acknowledge row with the guards off.
    let edit =
        "UPDATE audit_ledger SET actor_id = 'mallory' WHERE action = 'incidents.write.acknowledge'";
    if url.starts_with("postgres") {
        {
            for sql in [
                "ALTER TABLE audit_ledger DISABLE TRIGGER USER",
                edit,
                "ALTER TABLE audit_ledger ENABLE TRIGGER USER",
            ] {
                hoc_spine::testing::execute_raw(&db, sql).await.expect(sql);
            }
        }
    } else {
        for sql in ["DROP TRIGGER audit_ledger_no_update", edit] {
            hoc_spine::testing::execute_raw(&db, sql).await.expect(sql);
        }
    }
    let (ok, report) = verify(&url).await;
    assert!(!ok, "verify passed a tampered ledger: {report}");
    assert!(report.contains("BROKEN tenant acme: row aud_"), "{report}");
    assert!(
        report.contains("(chain_seq 3): its content does not match its hash (edited)"),
        "{report}"
    );
});
