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

hoc_spine::storage_test!(notes_owners_labels_and_duplicates_over_http, |db, url| {
    let _ = &db;
    let server = Server::start(&url).await;
    let alice = server.key("acme", "alice", "write").await;
    let bob = server.key("acme", "bob", "write").await;
    let create = |title: &'static str, extra: serde_json::Value| {
        let mut body = json!({"title": title, "severity": "high", "category": "availability"});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        body
    };
    let (status, target) = server
        .call(
            Method::POST,
            "/v1/incidents",
            Some(&alice),
            Some(create(
                "Checkout down",
                json!({"service": "checkout-api", "labels": {"region": "eu-west-1", "team": "payments"}}),
            )),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{target}");
    assert_eq!(
        (
            &target["service"],
            &target["labels"],
            &target["assignee"],
            &target["duplicates"],
            &target["duplicate_of"]
        ),
        (
            &json!("checkout-api"),
            &json!({"region": "eu-west-1", "team": "payments"}),
            &json!(null),
            &json!([]),
            &json!(null)
        )
    );
    let id = target["id"].as_str().expect("id").to_owned();
    let (_, other) = server
        .call(
            Method::POST,
            "/v1/incidents",
            Some(&alice),
            Some(create("Payments failing", json!({}))),
        )
        .await;
    let other_id = other["id"].as_str().expect("id").to_owned();

    // Notes: 201 with the note; only the author edits; the list is oldest first.
    let (status, note) = server
        .call(
            Method::POST,
            &format!("/v1/incidents/{id}/notes"),
            Some(&alice),
            Some(json!({"body": "db-2 pool exhausted\nraising max_connections"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{note}");
    assert_eq!(
        (
            &note["author"],
            &note["body"],
            &note["version"],
            &note["deleted"],
            &note["incident_id"]
        ),
        (
            &json!("alice"),
            &json!("db-2 pool exhausted\nraising max_connections"),
            &json!(1),
            &json!(false),
            &json!(id)
        )
    );
    let note_path = format!(
        "/v1/incidents/{id}/notes/{}",
        note["note_id"].as_str().expect("note id")
    );
    let (status, refused) = server
        .call(
            Method::PATCH,
            &note_path,
            Some(&bob),
            Some(json!({"body": "mine", "expected_version": 1})),
        )
        .await;
    assert_eq!(
        (status, &refused["error"]["code"]),
        (StatusCode::FORBIDDEN, &json!("forbidden"))
    );
    let (status, edited) = server
        .call(
            Method::PATCH,
            &note_path,
            Some(&alice),
            Some(json!({"body": "db-2 and db-3", "expected_version": 1})),
        )
        .await;
    assert_eq!(
        (status, &edited["version"]),
        (StatusCode::OK, &json!(2)),
        "{edited}"
    );
    let (status, deleted) = server
        .call(Method::DELETE, &note_path, Some(&alice), None)
        .await;
    assert_eq!(
        (status, &deleted["deleted"], &deleted["body"]),
        (StatusCode::OK, &json!(true), &json!("")),
        "{deleted}"
    );
    // A deleted note cannot be edited: 409 invalid_transition from deleted.
    let (status, refused) = server
        .call(
            Method::PATCH,
            &note_path,
            Some(&alice),
            Some(json!({"body": "back", "expected_version": 3})),
        )
        .await;
    assert_eq!(
        (
            status,
            &refused["error"]["code"],
            &refused["error"]["details"]["from"]
        ),
        (
            StatusCode::CONFLICT,
            &json!("invalid_transition"),
            &json!("deleted")
        ),
        "{refused}"
    );
    let (status, listed) = server
        .call(
            Method::GET,
            &format!(
                "/v1/incidents/{id}/notes?as_of={}",
                edited["updated_at"].as_str().expect("t")
            ),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed["items"][0]["body"], "db-2 and db-3");

    // Assign, and filter by assignee, service and labels (repeatable).
    let (status, assigned) = server
        .call(
            Method::POST,
            &format!("/v1/incidents/{id}/assign"),
            Some(&alice),
            Some(json!({"assignee": "carol"})),
        )
        .await;
    assert_eq!(
        (status, &assigned["assignee"]),
        (StatusCode::OK, &json!("carol")),
        "{assigned}"
    );
    for query in [
        "assignee=carol",
        "service=checkout-api",
        "label=region:eu-west-1&label=team:payments",
        "label=team:payments&assignee=carol&status=open",
    ] {
        let (status, page) = server
            .call(
                Method::GET,
                &format!("/v1/incidents?{query}"),
                Some(&alice),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{query}: {page}");
        let ids: Vec<&str> = page["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|i| i["id"].as_str())
            .collect();
        assert_eq!(ids, [id.as_str()], "{query}");
    }
    // Full text, combined with a filter; hits carry their rank.
    let (status, hits) = server
        .call(
            Method::GET,
            "/v1/incidents?q=Checkout%20DOWN&service=checkout-api",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{hits}");
    assert_eq!(hits["items"][0]["id"], json!(id));
    assert!(
        hits["items"][0]["rank"].as_i64().is_some_and(|r| r > 0),
        "{hits}"
    );
    let (status, bad) = server
        .call(
            Method::GET,
            "/v1/incidents?label=nocolon&service=Bad%20Name",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    let fields: Vec<&str> = bad["error"]["details"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(|f| f["field"].as_str())
        .collect();
    assert_eq!(fields, ["service", "label"]);

    // A duplicate: closed and linked; the target lists it; undoing reopens it.
    let (status, dup) = server
        .call(
            Method::POST,
            &format!("/v1/incidents/{other_id}/duplicate-of"),
            Some(&alice),
            Some(json!({"target_id": id})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{dup}");
    assert_eq!(
        (
            &dup["status"],
            &dup["resolution_method"],
            &dup["duplicate_of"]
        ),
        (&json!("closed"), &json!("duplicate"), &json!(id))
    );
    let (_, now) = server
        .call(
            Method::GET,
            &format!("/v1/incidents/{id}"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(now["duplicates"], json!([other_id]));
    let (status, cycle) = server
        .call(
            Method::POST,
            &format!("/v1/incidents/{id}/duplicate-of"),
            Some(&alice),
            Some(json!({"target_id": other_id})),
        )
        .await;
    assert_eq!(
        (status, &cycle["error"]["code"]),
        (StatusCode::CONFLICT, &json!("invalid_transition")),
        "{cycle}"
    );
    let stranger = server.key("globex", "eve", "write").await;
    let (status, _) = server
        .call(
            Method::POST,
            &format!("/v1/incidents/{id}/duplicate-of"),
            Some(&stranger),
            Some(json!({"target_id": other_id})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, undone) = server
        .call(
            Method::DELETE,
            &format!("/v1/incidents/{other_id}/duplicate-of"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(
        (status, &undone["status"], &undone["duplicate_of"]),
        (StatusCode::OK, &json!("open"), &json!(null)),
        "{undone}"
    );

    // The export: JSON by default, a Markdown postmortem draft for Accept: text/markdown.
    let (status, export) = server
        .call(
            Method::GET,
            &format!("/v1/incidents/{id}/export"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{export}");
    for part in [
        "incident", "timeline", "notes", "alerts", "audit", "events", "as_of",
    ] {
        assert!(export.get(part).is_some(), "{part} missing: {export}");
    }
    assert_eq!(export["incident"]["id"], json!(id));
    let (status, headers, markdown) = server
        .raw(
            Method::GET,
            &format!("/v1/incidents/{id}/export"),
            Some(&alice),
            None,
            &[("accept", "text/markdown")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{markdown}");
    assert_eq!(
        headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("text/markdown; charset=utf-8")
    );
    assert!(
        markdown.starts_with("# Postmortem draft: Checkout down\n"),
        "{markdown}"
    );
    let (_, timeline) = server
        .call(
            Method::GET,
            &format!("/v1/incidents/{id}/timeline"),
            Some(&alice),
            None,
        )
        .await;
    let kinds: Vec<&str> = timeline["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["event_type"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        kinds,
        [
            "created",
            "note_added",
            "note_edited",
            "note_deleted",
            "assigned",
            "duplicate_marked",
            "duplicate_removed"
        ]
    );
    assert!(server.stop().await.success());
});
