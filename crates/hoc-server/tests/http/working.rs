//! Working an incident over HTTP: severity changes and edits through `hocd`, as an outside client sends them.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::Server;

hoc_spine::storage_test!(severity_and_edits_over_http, |db, url| {
    let _ = &db;
    let server = Server::start(&url).await;
    let key = server.key("acme", "alice", "write").await;
    let (status, incident) = server
        .call(
            Method::POST,
            "/v1/incidents",
            Some(&key),
            Some(
                json!({"title": "Checkout slow", "severity": "medium", "category": "latency",
                        "description": "p99 above 2 s"}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{incident}");
    let id = incident["id"].as_str().expect("id").to_owned();

    let (status, escalated) = server
        .call(
            Method::POST,
            &format!("/v1/incidents/{id}/severity"),
            Some(&key),
            Some(json!({"severity": "critical", "reason": "every EU payment fails"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{escalated}");
    assert_eq!(
        (&escalated["severity"], &escalated["version"]),
        (&json!("critical"), &json!(2))
    );

    // PATCH against the version read: title set, description cleared with null.
    let (status, edited) = server
        .call(
            Method::PATCH,
            &format!("/v1/incidents/{id}"),
            Some(&key),
            Some(json!({"expected_version": 2, "title": "Checkout down", "description": null})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(
        (&edited["title"], &edited["description"], &edited["version"]),
        (&json!("Checkout down"), &json!(null), &json!(3))
    );
    // The same PATCH again: its version is stale now.
    let (status, stale) = server
        .call(
            Method::PATCH,
            &format!("/v1/incidents/{id}"),
            Some(&key),
            Some(json!({"expected_version": 2, "title": "Checkout down again"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{stale}");
    assert_eq!(stale["error"]["code"], "stale_version");
    // A vocabulary value that does not exist: 422 naming the field.
    let (status, bad) = server
        .call(
            Method::POST,
            &format!("/v1/incidents/{id}/severity"),
            Some(&key),
            Some(json!({"severity": "sev0", "reason": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    assert_eq!(bad["error"]["details"]["fields"][0]["field"], "severity");

    let (_, timeline) = server
        .call(
            Method::GET,
            &format!("/v1/incidents/{id}/timeline"),
            Some(&key),
            None,
        )
        .await;
    let kinds: Vec<&str> = timeline["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["event_type"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(kinds, ["created", "severity_changed", "edited"]);
    assert!(server.stop().await.success());
});
