//! The README walk-through, and the rest of the happy paths, over HTTP.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{Server, events};

hoc_spine::storage_test!(readme_walkthrough_over_http, |db, url| {
    let _ = &db;
    let server = Server::start(&url).await;
    let key = server.key("acme", "alice", "write").await;
    let reader = server.key("acme", "dashboard", "read").await;

    let (status, health) = server.call(Method::GET, "/healthz", None, None).await;
    assert_eq!((status, health), (StatusCode::OK, json!({"status": "ok"})));
    let (status, ready) = server.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(
        (status, ready),
        (
            StatusCode::OK,
            json!({"status": "ok", "checks": {"database": "ok"}})
        )
    );

    let (status, incident) = server
        .call(
            Method::POST,
            "/v1/incidents",
            Some(&key),
            Some(json!({
                "title": "Checkout API returns 503",
                "severity": "critical",
                "category": "availability",
                "error_code": "HTTP-503",
                "error_message": "upstream connect error after 3 retries",
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{incident}");
    let id = incident["id"].as_str().expect("id").to_owned();
    assert_eq!(
        (incident["status"].as_str(), incident["tenant_id"].as_str()),
        (Some("open"), Some("acme"))
    );
    assert_eq!(incident["signature_version"], "rsig-v3");

    let (status, got) = server
        .call(
            Method::GET,
            &format!("/v1/incidents/{id}"),
            Some(&reader),
            None,
        )
        .await;
    // A single-object read echoes the instant it shows (here the incident's creation, the tenant's last change).
    let mut got = got;
    let as_of = got
        .as_object_mut()
        .and_then(|o| o.remove("as_of"))
        .expect("as_of echoed");
    assert_eq!(as_of, incident["created_at"]);
    assert_eq!((status, &got), (StatusCode::OK, &incident));

    let (status, acked) = server
        .call(
            Method::POST,
            &format!("/v1/incidents/{id}/acknowledge"),
            Some(&key),
            Some(json!({"reason": "on it"})),
        )
        .await;
    assert_eq!(
        (
            status,
            acked["status"].as_str(),
            acked["acknowledged_by"].as_str()
        ),
        (StatusCode::OK, Some("acknowledged"), Some("alice"))
    );

    // A POST without a body is fine where every field is optional.
    let (status, pm) = server
        .call(
            Method::POST,
            &format!("/v1/incidents/{id}/postmortem"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{pm}");
    let pm_id = pm["id"].as_str().expect("pm id").to_owned();
    let (status, again) = server
        .call(
            Method::POST,
            &format!("/v1/incidents/{id}/postmortem"),
            Some(&key),
            Some(json!({})),
        )
        .await;
    assert_eq!((status, &again), (StatusCode::OK, &pm));

    let (status, resolved) = server
        .call(
            Method::POST,
            &format!("/v1/incidents/{id}/resolve"),
            Some(&key),
            Some(json!({
                "resolution_type": "rollback",
                "resolution_summary": "rolled back the load balancer config",
                "postmortem_artifact_id": pm_id,
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{resolved}");
    assert_eq!(
        (
            resolved["status"].as_str(),
            resolved["resolution_type"].as_str()
        ),
        (Some("resolved"), Some("rollback"))
    );

    let (status, timeline) = server
        .call(
            Method::GET,
            &format!("/v1/incidents/{id}/timeline"),
            Some(&reader),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let steps: Vec<&str> = timeline["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["event_type"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        steps,
        ["created", "acknowledged", "postmortem_created", "resolved"]
    );

    let (status, reopened) = server
        .call(
            Method::POST,
            &format!("/v1/incidents/{id}/reopen"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(
        (status, reopened["status"].as_str()),
        (StatusCode::OK, Some("open"))
    );
    let (status, closed) = server
        .call(
            Method::POST,
            &format!("/v1/incidents/{id}/close"),
            Some(&key),
            Some(json!({"reason": "duplicate"})),
        )
        .await;
    assert_eq!(
        (status, closed["resolution_method"].as_str()),
        (StatusCode::OK, Some("manual_closure"))
    );

    // Recurrence: a second occurrence joins the group.
    let (_, second) = server
        .call(Method::POST, "/v1/incidents", Some(&key), Some(json!({
            "title": "Checkout API returns 503 again", "severity": "high", "category": "Availability",
            "error_code": "http-503", "error_message": "upstream connect error after 5 retries",
        })))
        .await;
    assert_eq!(
        second["recurrence_signature"],
        incident["recurrence_signature"]
    );
    let signature = incident["recurrence_signature"]
        .as_str()
        .expect("signature");
    let (status, group) = server
        .call(
            Method::GET,
            &format!("/v1/recurrence-groups/{signature}?limit=1"),
            Some(&reader),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{group}");
    assert_eq!(
        (group["count"].as_u64(), group["open_count"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(group["items"][0]["id"], second["id"]);
    let cursor = group["next_cursor"].as_str().expect("more pages");
    let (_, page2) = server
        .call(
            Method::GET,
            &format!("/v1/recurrence-groups/{signature}?limit=1&cursor={cursor}"),
            Some(&reader),
            None,
        )
        .await;
    assert_eq!(page2["items"][0]["id"], incident["id"]);
    assert_eq!(page2["as_of"], group["as_of"]);
    let (status, why) = server
        .call(
            Method::GET,
            &format!("/v1/incidents/{id}/recurrence"),
            Some(&reader),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // rsig-v3 (a new tenant's algorithm): the error code dominates.
    assert_eq!(why["signature_inputs"]["mode"], "code");

    let (status, list) = server
        .call(
            Method::GET,
            "/v1/incidents?status=open&severity=high",
            Some(&reader),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    assert!(list["as_of"].is_string());

    // Analytics artifacts: 201, 200 on replay, 409 on a different definition.
    let artifact = json!({
        "input_window_hash": "71fc1d32b74ed6c717862480b629f0750d039796e4b4742880b62490e17c1140",
        "as_of": "2026-11-02T00:00:00Z",
        "compute_code_version": "git:4f2a9c1",
        "window_start": "2026-11-01T00:00:00Z",
        "window_end": "2026-11-02T00:00:00Z",
        "inputs": ["s3://raw/orders/2026-11-01.parquet"],
    });
    let (status, saved) = server
        .call(
            Method::PUT,
            "/v1/analytics/artifacts/daily_orders/2026-11-01",
            Some(&key),
            Some(artifact.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    let (status, replay) = server
        .call(
            Method::PUT,
            "/v1/analytics/artifacts/daily_orders/2026-11-01",
            Some(&key),
            Some(artifact),
        )
        .await;
    assert_eq!((status, &replay), (StatusCode::OK, &saved));
    let (status, latest) = server
        .call(
            Method::GET,
            "/v1/analytics/artifacts/daily_orders?as_of=2026-11-03T00:00:00Z",
            Some(&reader),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut shown = latest.clone();
    let read_as_of = shown
        .as_object_mut()
        .and_then(|o| o.remove("read_as_of"))
        .and_then(|v| v.as_str().map(str::to_owned))
        .expect("a single-artifact read echoes read_as_of");
    assert_eq!(shown, saved);
    // The read repeats at its echoed instant, byte for byte; before the save, the artifact did not exist.
    let again = |at: &str| {
        format!("/v1/analytics/artifacts/daily_orders?as_of=2026-11-03T00:00:00Z&read_as_of={at}")
    };
    let (status, repeated) = server
        .call(Method::GET, &again(&read_as_of), Some(&reader), None)
        .await;
    assert_eq!((status, &repeated), (StatusCode::OK, &latest));
    let (status, _) = server
        .call(
            Method::GET,
            &again("2026-01-01T00:00:00Z"),
            Some(&reader),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, listed) = server
        .call(
            Method::GET,
            "/v1/analytics/artifacts?dataset_id=daily_orders",
            Some(&reader),
            None,
        )
        .await;
    assert_eq!(
        (status, listed["items"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(1))
    );

    // The events feed: gapless, in order, every change announced once.
    let feed = events(&server, &reader).await;
    let types: Vec<&str> = feed
        .iter()
        .map(|e| e["event_type"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        types,
        [
            "incidents.IncidentCreated",
            "incidents.IncidentAcknowledged",
            "incidents.PostmortemCreated",
            "incidents.IncidentResolved",
            "incidents.IncidentReopened",
            "incidents.IncidentManuallyClosed",
            "incidents.IncidentCreated",
            "analytics.ArtifactRecorded",
        ]
    );
    let seqs: Vec<i64> = feed
        .iter()
        .map(|e| e["sequence_no"].as_i64().unwrap_or(0))
        .collect();
    assert_eq!(seqs, (1..=8).collect::<Vec<_>>());
    let (_, page) = server
        .call(
            Method::GET,
            "/v1/events?after=6&limit=1",
            Some(&reader),
            None,
        )
        .await;
    assert_eq!(
        (
            page["items"][0]["sequence_no"].as_i64(),
            page["next_after"].as_i64()
        ),
        (Some(7), Some(7))
    );

    // The audit ledger, oldest first, with the key's actor.
    let (status, audit) = server
        .call(
            Method::GET,
            &format!("/v1/audit?entity_id={id}"),
            Some(&reader),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["action"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        actions,
        [
            "incidents.write.create",
            "incidents.write.acknowledge",
            "incidents.recurrence.create_postmortem_stub",
            "incidents.write.resolve",
            "incidents.write.reopen",
            "incidents.write.close",
        ]
    );
    assert_eq!(audit["items"][0]["actor_id"], "alice");
    assert_eq!(audit["items"][0]["actor_type"], "AGENT");

    // The OpenAPI document is served.
    let (status, doc) = server.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(
        (status, doc["openapi"].as_str()),
        (StatusCode::OK, Some("3.1.0"))
    );

    // SIGTERM stops it cleanly.
    assert!(server.stop().await.success());
});

hoc_spine::storage_test!(
    idempotent_writes_replay_and_refuse_reuse_over_http,
    |db, url| {
        let _ = &db;
        let server = Server::start(&url).await;
        let key = server.key("acme", "alice", "write").await;
        let body = json!({"title": "Once only", "severity": "low", "category": "ops"}).to_string();
        let headers = [("idempotency-key", "create-once-1")];
        let (s1, h1, b1) = server
            .raw(
                Method::POST,
                "/v1/incidents",
                Some(&key),
                Some(body.clone()),
                &headers,
            )
            .await;
        let (s2, h2, b2) = server
            .raw(
                Method::POST,
                "/v1/incidents",
                Some(&key),
                Some(body.clone()),
                &headers,
            )
            .await;
        assert_eq!((s1, s2), (StatusCode::CREATED, StatusCode::CREATED));
        assert_eq!(b1, b2, "a replay returns the first body byte for byte");
        assert!(h1.get("idempotent-replayed").is_none());
        assert_eq!(
            h2.get("idempotent-replayed").and_then(|v| v.to_str().ok()),
            Some("true")
        );
        assert_ne!(h1.get("x-request-id"), h2.get("x-request-id"));
        let (_, list) = server
            .call(Method::GET, "/v1/incidents", Some(&key), None)
            .await;
        assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
        assert_eq!(events(&server, &key).await.len(), 1);

        // The same key with a different request.
        let other =
            json!({"title": "Something else", "severity": "low", "category": "ops"}).to_string();
        let (status, _, err) = server
            .raw(
                Method::POST,
                "/v1/incidents",
                Some(&key),
                Some(other),
                &headers,
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT);
        let err: serde_json::Value = serde_json::from_str(&err).expect("json");
        assert_eq!(err["error"]["code"], "idempotency_key_reused");
        assert_eq!(events(&server, &key).await.len(), 1);
        // A key that is too long is malformed.
        let long = "k".repeat(129);
        let (status, _, _) = server
            .raw(
                Method::POST,
                "/v1/incidents",
                Some(&key),
                Some(body),
                &[("idempotency-key", &long)],
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(server.stop().await.success());
    }
);

hoc_spine::storage_test!(sigterm_lets_an_in_flight_request_finish, |db, url| {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let server = Server::start(&url).await;
    let key = server.key("acme", "alice", "write").await;
    let body = json!({"title": "Arrives during shutdown", "severity": "low", "category": "ops"})
        .to_string();
    let (first, second) = body.split_at(body.len() / 2);
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connects");
    let head = format!(
        "POST /v1/incidents HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("head sent");
    stream
        .write_all(first.as_bytes())
        .await
        .expect("first half sent");
    stream.flush().await.expect("flushed");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    // SIGTERM while the request is half received.
    let pid = server.pid();
    let killed = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .expect("kill runs");
    assert!(killed.success());
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    stream
        .write_all(second.as_bytes())
        .await
        .expect("second half sent");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .expect("response read");
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    assert!(response.contains("Arrives during shutdown"));
    let status = server.wait().await;
    assert!(status.success(), "{status:?}");
    // The incident was committed with its event.
    assert_eq!(hoc_spine::testing::row_counts(&db).await["incidents"], 1);
    assert_eq!(hoc_spine::testing::row_counts(&db).await["event_outbox"], 1);
});

#[tokio::test]
async fn cli_migrates_and_refuses_bad_arguments() {
    let dir = std::env::temp_dir().join(format!("hocd-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let url = format!("sqlite://{}/cli.db?mode=rwc", dir.display());
    let out = crate::hocd()
        .args(["migrate", "--database-url", &url])
        .output()
        .await
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("migrated sqlite://"));
    assert!(dir.join("cli.db").exists());

    let out = crate::hocd()
        .args([
            "keys",
            "create",
            "--database-url",
            &url,
            "--tenant",
            "t",
            "--actor",
            "a",
            "--scope",
            "admin",
        ])
        .output()
        .await
        .expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("scope: must be read, write or ingest"));

    let out = crate::hocd()
        .args(["keys", "revoke", "--database-url", &url, "key_nope"])
        .output()
        .await
        .expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("api key key_nope not found"));

    let out = crate::hocd()
        .args(["migrate", "--database-url", "mysql://root@localhost/db"])
        .output()
        .await
        .expect("runs");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unsupported database url scheme `mysql`"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

hoc_spine::storage_test!(a_request_id_threads_event_audit_and_timeline, |db, url| {
    let _ = &db;
    let (server, key, id) = crate::errors::with_incident(&url).await;
    let (status, _, _) = server
        .raw(
            Method::POST,
            &format!("/v1/incidents/{id}/acknowledge"),
            Some(&key),
            Some("{}".into()),
            &[("x-request-id", "req-http-thread-1")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let events = events(&server, &key).await;
    let ack = events.last().expect("the acknowledge event");
    assert_eq!(
        (ack["request_id"].as_str(), ack["schema_version"].as_str()),
        (Some("req-http-thread-1"), Some(hoc_spine::SCHEMA_VERSION))
    );
    let (status, audit) = server
        .call(
            Method::GET,
            "/v1/audit?request_id=req-http-thread-1",
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    let entries = audit["items"].as_array().expect("items");
    assert_eq!(entries.len(), 1, "{audit}");
    assert_eq!(entries[0]["action"], "incidents.write.acknowledge");
    let (_, timeline) = server
        .call(
            Method::GET,
            &format!("/v1/incidents/{id}/timeline"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(timeline["items"][1]["request_id"], "req-http-thread-1");
    assert!(server.stop().await.success());
});
