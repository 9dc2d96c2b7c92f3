//! Every error of the API's table, auth on every route, limits, and "a rejected request writes nothing".

use hoc_server::routes;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{Server, events};

fn method(route: &hoc_server::Route) -> Method {
    Method::from_bytes(route.method.as_str().as_bytes()).expect("known method")
}

/// The route's path with its parameters filled in.
fn path(route: &hoc_server::Route, id: &str, signature: &str) -> String {
    route
        .path
        .replace("{id}", id)
        .replace("{incident_id}", id)
        .replace("{signature}", signature)
        .replace("{dataset_id}", "daily_orders")
        .replace("{dataset_version}", "v1")
}

fn assert_error(status: StatusCode, body: &Value, expected_status: StatusCode, code: &str) {
    assert_eq!(status, expected_status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    assert!(body["error"]["details"].is_object(), "{body}");
}

/// A server with acme's write key and one incident of acme's: (server, key, incident id).
pub(crate) async fn with_incident(url: &str) -> (Server, String, String) {
    let server = Server::start(url).await;
    let key = server.key("acme", "alice", "write").await;
    let (_, incident) = server
        .call(
            Method::POST,
            "/v1/incidents",
            Some(&key),
            Some(json!({"title": "t", "severity": "low", "category": "c"})),
        )
        .await;
    let id = incident["id"].as_str().expect("id").to_owned();
    (server, key, id)
}

/// Everything a tenant can see, to prove a rejected request changed nothing.
async fn snapshot(server: &Server, key: &str) -> Value {
    let (_, incidents) = server
        .call(Method::GET, "/v1/incidents?limit=500", Some(key), None)
        .await;
    let (_, artifacts) = server
        .call(
            Method::GET,
            "/v1/analytics/artifacts?limit=500",
            Some(key),
            None,
        )
        .await;
    let (_, audit) = server
        .call(Method::GET, "/v1/audit?limit=500", Some(key), None)
        .await;
    json!({
        "incidents": incidents["items"],
        "artifacts": artifacts["items"],
        "audit": audit["items"],
        "events": events(server, key).await,
    })
}

hoc_spine::storage_test!(auth_is_enforced_on_every_route, |db, url| {
    let _ = &db;
    let server = Server::start(&url).await;
    let writer = server.key("acme", "alice", "write").await;
    let reader = server.key("acme", "dashboard", "read").await;
    let stranger = server.key("globex", "eve", "write").await;
    let (_, incident) = server
        .call(
            Method::POST,
            "/v1/incidents",
            Some(&writer),
            Some(json!({"title": "t", "severity": "low", "category": "c"})),
        )
        .await;
    let id = incident["id"].as_str().expect("id").to_owned();
    let signature = incident["recurrence_signature"]
        .as_str()
        .expect("signature")
        .to_owned();
    let (status, _) = server
        .call(Method::PUT, "/v1/analytics/artifacts/daily_orders/v1", Some(&writer), Some(json!({
            "input_window_hash": "71fc1d32b74ed6c717862480b629f0750d039796e4b4742880b62490e17c1140",
            "as_of": "2026-11-02T00:00:00Z", "compute_code_version": "c1",
        })))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let revoked = server.key("acme", "old", "write").await;
    let key_id = format!("key_{}", revoked.split('_').nth(1).expect("key id part"));
    let out = crate::hocd()
        .args(["keys", "revoke", "--database-url", &url, &key_id])
        .output()
        .await
        .expect("revoke runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let before = snapshot(&server, &writer).await;

    for route in routes().iter().filter(|r| r.scope.is_some()) {
        let path = path(route, &id, &signature);
        if let Some(field) = route.key_in_body {
            // PagerDuty's way: the key is a body field, and a bad one is 400 `invalid event` naming it.
            for bad_key in [
                None,
                Some("garbage".to_owned()),
                Some(revoked.clone()),
                Some(writer.clone()),
            ] {
                let mut body = json!({});
                if let Some(key) = bad_key {
                    body[field] = json!(key);
                }
                let (status, err) = server
                    .call(method(route), &path, Some(&writer), Some(body))
                    .await;
                assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
                assert_eq!(err["status"], json!("invalid event"), "{err}");
                assert!(
                    err["errors"][0]
                        .as_str()
                        .is_some_and(|e| e.starts_with(field)),
                    "{err}"
                );
            }
            continue;
        }
        let body = (route.method != hoc_server::HttpMethod::Get).then(|| json!({}));
        for bad_key in [
            None,
            Some("hoc_0000000000000000_".to_owned() + &"0".repeat(64)),
            Some("garbage".to_owned()),
            Some(revoked.clone()),
        ] {
            let (status, err) = server
                .call(method(route), &path, bad_key.as_deref(), body.clone())
                .await;
            assert_error(status, &err, StatusCode::UNAUTHORIZED, "unauthenticated");
        }
        if route.scope == Some(hoc_spine::auth::Scope::Write) {
            let (status, err) = server
                .call(method(route), &path, Some(&reader), body.clone())
                .await;
            assert_error(status, &err, StatusCode::FORBIDDEN, "forbidden");
        }
        // Another tenant's resources are indistinguishable from missing ones (with a body that is otherwise valid).
        if route.path.contains('{') && route.name != "save_artifact" {
            let valid = route.example.clone().or_else(|| body.clone());
            let (status, err) = server
                .call(method(route), &path, Some(&stranger), valid)
                .await;
            assert_error(status, &err, StatusCode::NOT_FOUND, "not_found");
        }
    }
    // The stranger's PUT creates the stranger's own artifact, never touching acme's.
    assert!(
        snapshot(&server, &writer).await == before,
        "a rejected request changed acme's data"
    );
    assert!(server.stop().await.success());
});

hoc_spine::storage_test!(
    every_error_code_and_nothing_written_by_rejected_requests,
    |db, url| {
        let _ = &db;
        let (server, key, id) = with_incident(&url).await;
        let artifact = json!({
            "input_window_hash": "71fc1d32b74ed6c717862480b629f0750d039796e4b4742880b62490e17c1140",
            "as_of": "2026-11-02T00:00:00Z", "compute_code_version": "c1",
        });
        server
            .call(
                Method::PUT,
                "/v1/analytics/artifacts/daily_orders/v1",
                Some(&key),
                Some(artifact),
            )
            .await;
        let before = snapshot(&server, &key).await;

        // 400 malformed_request: not JSON, wrong JSON types, unknown fields, unknown query parameters.
        let (status, _, text) = server
            .raw(
                Method::POST,
                "/v1/incidents",
                Some(&key),
                Some("{not json".into()),
                &[],
            )
            .await;
        assert_error(
            status,
            &serde_json::from_str(&text).expect("json error"),
            StatusCode::BAD_REQUEST,
            "malformed_request",
        );
        let (status, err) = server
            .call(
                Method::POST,
                "/v1/incidents",
                Some(&key),
                Some(json!({"title": 5})),
            )
            .await;
        assert_error(status, &err, StatusCode::BAD_REQUEST, "malformed_request");
        let (status, err) = server
            .call(
                Method::POST,
                &format!("/v1/incidents/{id}/acknowledge"),
                Some(&key),
                Some(json!({"tenant_id": "globex"})),
            )
            .await;
        assert_error(status, &err, StatusCode::BAD_REQUEST, "malformed_request");
        let (status, err) = server
            .call(Method::GET, "/v1/incidents?colour=red", Some(&key), None)
            .await;
        assert_error(status, &err, StatusCode::BAD_REQUEST, "malformed_request");
        let (status, err) = server
            .call(Method::GET, "/v1/incidents?limit=many", Some(&key), None)
            .await;
        assert_error(status, &err, StatusCode::BAD_REQUEST, "malformed_request");

        // 422 invalid_input lists every bad field.
        let (status, err) = server
            .call(
                Method::POST,
                "/v1/incidents",
                Some(&key),
                Some(json!({"title": "", "severity": "apocalyptic"})),
            )
            .await;
        assert_error(
            status,
            &err,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        );
        assert_eq!(
            err["error"]["details"]["fields"],
            json!([
                {"field": "title", "problem": "must not be empty"},
                {"field": "severity", "problem": "`apocalyptic` is not one of critical, high, medium, low, info"},
                {"field": "category", "problem": "is required"},
            ])
        );
        let (status, err) = server
            .call(
                Method::GET,
                "/v1/incidents?as_of=yesterday",
                Some(&key),
                None,
            )
            .await;
        assert_error(
            status,
            &err,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        );

        // 404 not_found: a missing incident, and a path no route serves.
        let (status, err) = server
            .call(Method::GET, "/v1/incidents/inc_missing", Some(&key), None)
            .await;
        assert_error(status, &err, StatusCode::NOT_FOUND, "not_found");
        let (status, err) = server
            .call(Method::GET, "/v1/nowhere", Some(&key), None)
            .await;
        assert_error(status, &err, StatusCode::NOT_FOUND, "not_found");

        // 409 invalid_transition with from/to.
        let (status, err) = server
            .call(
                Method::POST,
                &format!("/v1/incidents/{id}/reopen"),
                Some(&key),
                None,
            )
            .await;
        assert_error(status, &err, StatusCode::CONFLICT, "invalid_transition");
        assert_eq!(
            err["error"]["details"],
            json!({"from": "open", "to": "open"})
        );

        // 409 reproducibility_conflict naming the fields.
        let (status, err) = server
        .call(Method::PUT, "/v1/analytics/artifacts/daily_orders/v1", Some(&key), Some(json!({
            "input_window_hash": "31b7fc4f9c2b814a49c10cab0fe5f02e25442b4aa3ab9157f83c42df82999675",
            "as_of": "2026-11-02T00:00:00Z", "compute_code_version": "c1",
        })))
        .await;
        assert_error(
            status,
            &err,
            StatusCode::CONFLICT,
            "reproducibility_conflict",
        );
        assert_eq!(
            err["error"]["details"]["fields"],
            json!(["input_window_hash"])
        );

        // 413 payload_too_large for a 65 KiB body.
        let big =
            json!({"title": "x".repeat(65 * 1024), "severity": "low", "category": "c"}).to_string();
        let (status, _, text) = server
            .raw(Method::POST, "/v1/incidents", Some(&key), Some(big), &[])
            .await;
        assert_error(
            status,
            &serde_json::from_str(&text).expect("json error"),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        );

        // Every response carries a request id; a sane caller-given one is echoed.
        let (_, headers, _) = server
            .raw(
                Method::GET,
                "/v1/incidents/inc_missing",
                Some(&key),
                None,
                &[("x-request-id", "trace-42")],
            )
            .await;
        assert_eq!(
            headers.get("x-request-id").and_then(|v| v.to_str().ok()),
            Some("trace-42")
        );

        // None of the rejected requests wrote anything.
        assert!(
            snapshot(&server, &key).await == before,
            "a rejected request wrote something"
        );

        // 503 unavailable: on PostgreSQL, take the database away under the running server.
        if url.starts_with("postgres") {
            let name = url
                .rsplit('/')
                .next()
                .expect("database name")
                .split('?')
                .next()
                .expect("name")
                .to_owned();
            let admin = std::env::var(hoc_spine::testing::TEST_DATABASE_URL_VAR)
                .expect("set for the postgres variant");
            let admin_db = hoc_spine::Database::connect(&admin)
                .await
                .expect("admin connects");
            hoc_spine::testing::execute_raw(
                &admin_db,
                &format!("DROP DATABASE {name} WITH (FORCE)"),
            )
            .await
            .expect("drop");
            let (status, err) = server
                .call(Method::GET, "/v1/incidents", Some(&key), None)
                .await;
            assert_error(status, &err, StatusCode::SERVICE_UNAVAILABLE, "unavailable");
            assert!(
                !err.to_string().contains("postgres"),
                "internals leaked: {err}"
            );
            // Liveness stays 200 (the process serves); readiness names the database.
            let (status, health) = server.call(Method::GET, "/healthz", None, None).await;
            assert_eq!(status, StatusCode::OK, "{health}");
            let (status, headers, ready) =
                server.raw(Method::GET, "/readyz", None, None, &[]).await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
            assert_eq!(headers["retry-after"], "1");
            let ready: serde_json::Value = serde_json::from_str(&ready).expect("json");
            assert_eq!(
                ready,
                serde_json::json!({"status": "unavailable", "checks": {"database": "unavailable"}})
            );
        }
        assert!(server.stop().await.success());
    }
);

hoc_spine::storage_test!(
    the_door_refuses_bad_shapes_with_json_and_writes_nothing,
    |db, url| {
        let _ = &db;
        let (server, key, id) = with_incident(&url).await;
        let before = snapshot(&server, &key).await;

        // An array where an object is expected is malformed, not read positionally.
        let (status, err) = server
            .call(
                Method::POST,
                "/v1/incidents",
                Some(&key),
                Some(json!(["Title", "high", "db"])),
            )
            .await;
        assert_error(status, &err, StatusCode::BAD_REQUEST, "malformed_request");
        // Messages name the field and the JSON type, never a Rust type.
        let (status, err) = server
            .call(
                Method::POST,
                "/v1/incidents",
                Some(&key),
                Some(json!({"title": 5, "severity": "low", "category": "c"})),
            )
            .await;
        assert_error(status, &err, StatusCode::BAD_REQUEST, "malformed_request");
        assert_eq!(
            err["error"]["message"],
            "title: invalid type: integer `5`, expected a string"
        );
        let (status, err) = server
            .call(Method::GET, "/v1/incidents?limit=many", Some(&key), None)
            .await;
        assert_error(status, &err, StatusCode::BAD_REQUEST, "malformed_request");
        assert_eq!(
            err["error"]["message"],
            "bad query string: limit: invalid digit found in string"
        );

        // A write whose body is not declared JSON: 415.
        for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
            let (status, _, text) = server
                .raw(
                    Method::POST,
                    &format!("/v1/incidents/{id}/acknowledge"),
                    Some(&key),
                    None,
                    &[("content-type", content_type)],
                )
                .await;
            assert_error(
                status,
                &serde_json::from_str(&text).expect("json error"),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
            );
        }

        // A path segment that is not UTF-8 gets the JSON error body.
        let (status, _, text) = server
            .raw(Method::GET, "/v1/incidents/%FF%FE", Some(&key), None, &[])
            .await;
        assert_error(
            status,
            &serde_json::from_str(&text).expect("json error"),
            StatusCode::BAD_REQUEST,
            "malformed_request",
        );

        // NUL and other control characters, in a body, a path or a query, are invalid input (never a 500).
        let (status, err) = server
            .call(
                Method::POST,
                "/v1/incidents",
                Some(&key),
                Some(json!({"title": "a\u{0}b", "severity": "low", "category": "c\u{7}"})),
            )
            .await;
        assert_error(
            status,
            &err,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        );
        assert_eq!(
            err["error"]["details"]["fields"],
            json!([
                {"field": "title", "problem": "must not contain control characters"},
                {"field": "category", "problem": "must not contain control characters"},
            ])
        );
        for path in [
            "/v1/incidents/%00",
            "/v1/incidents?status=%00",
            "/v1/audit?entity_id=a%00",
        ] {
            let (status, err) = server.call(Method::GET, path, Some(&key), None).await;
            assert_error(
                status,
                &err,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_input",
            );
        }
        // Newline and tab are fine in free text.
        let (status, _) = server
            .call(
                Method::POST,
                &format!("/v1/incidents/{id}/acknowledge"),
                Some(&key),
                Some(json!({"reason": "line one\n\tline two"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, err) = server
            .call(
                Method::POST,
                &format!("/v1/incidents/{id}/resolve"),
                Some(&key),
                Some(json!({"resolution_type": "hotfix", "reason": "bell\u{7}"})),
            )
            .await;
        assert_error(
            status,
            &err,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        );
        let after = snapshot(&server, &key).await;
        assert_eq!(after["incidents"].as_array().map(Vec::len), Some(1));
        assert_eq!(
            before["artifacts"], after["artifacts"],
            "rejected requests wrote nothing"
        );
        assert_eq!(
            after["events"].as_array().map(Vec::len),
            before["events"].as_array().map(|e| e.len() + 1),
            "only the acknowledge wrote an event"
        );
    }
);
