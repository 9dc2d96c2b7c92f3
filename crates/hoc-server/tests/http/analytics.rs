//! Incident analytics from outside (issue 26): the metrics over HTTP, a recording whose result comes back byte for
//! byte, the series, and `hocd analytics verify` passing, then failing after a superuser edits an incident version.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{Server, hocd};

const WINDOW: &str = "window_start=2020-01-01T00:00:00Z&window_end=2100-01-01T00:00:00Z";

async fn verify(url: &str, version: &str) -> (bool, String) {
    let out = hocd()
        .args([
            "analytics",
            "verify",
            "incident-metrics/service",
            version,
            "--tenant",
            "acme",
            "--database-url",
            url,
        ])
        .output()
        .await
        .expect("hocd analytics verify runs");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

hoc_spine::storage_test!(
    metrics_recorded_served_byte_for_byte_and_verified,
    |db, url| {
        let server = Server::start(&url).await;
        let key = server.key("acme", "alice", "write").await;
        let reader = server.key("acme", "bob", "read").await;
        let mut ids = Vec::new();
        for (title, service) in [
            ("disk full", "storage"),
            ("disk full", "storage"),
            ("api slow", "api"),
        ] {
            let created = server
            .created_incident(
                &key,
                json!({"title": title, "severity": "high", "category": "infra", "service": service}),
            )
            .await;
            ids.push(created["id"].as_str().expect("id").to_owned());
        }
        for (id, action, body) in [
            (&ids[0], "acknowledge", json!({})),
            (&ids[0], "resolve", json!({"resolution_type": "hotfix"})),
            (&ids[2], "resolve", json!({"resolution_type": "auto"})),
        ] {
            let (status, answer) = server
                .call(
                    Method::POST,
                    &format!("/v1/incidents/{id}/{action}"),
                    Some(&key),
                    Some(body),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{answer}");
        }

        let (status, metrics) = server
            .call(
                Method::GET,
                &format!("/v1/analytics/incident-metrics?{WINDOW}&group_by=service"),
                Some(&reader),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{metrics}");
        let keyed = fields(
            &metrics["groups"],
            &["key", "count", "resolved", "auto_resolved"],
        );
        assert_eq!(
            keyed,
            [json!(["api", 1, 1, 1]), json!(["storage", 2, 1, 0]),]
        );
        assert_eq!(
            metrics["compute_code_version"],
            json!("incident-metrics-v1")
        );

        // Recording needs the write scope; the read key is refused.
        let record = json!({"window_start": "2020-01-01T00:00:00Z", "window_end": "2100-01-01T00:00:00Z",
                        "group_by": "service"});
        let (status, _) = server
            .call(
                Method::POST,
                "/v1/analytics/incident-metrics/record",
                Some(&reader),
                Some(record.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, recorded) = server
            .call(
                Method::POST,
                "/v1/analytics/incident-metrics/record",
                Some(&key),
                Some(record),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{recorded}");
        let artifact = &recorded["artifact"];
        assert_eq!(artifact["dataset_id"], json!("incident-metrics/service"));
        let version = artifact["dataset_version"]
            .as_str()
            .expect("version")
            .to_owned();
        let as_of = artifact["as_of"].as_str().expect("as_of").to_owned();

        // The recorded result, the recording's answer and a read at the recorded instant: the same bytes.
        let (status, _, result) = server
            .raw(
                Method::GET,
                &format!("/v1/analytics/artifacts/incident-metrics%2Fservice/{version}/result"),
                Some(&reader),
                None,
                &[],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{result}");
        let (status, _, read) = server
            .raw(
                Method::GET,
                &format!("/v1/analytics/incident-metrics?{WINDOW}&group_by=service&as_of={as_of}"),
                Some(&reader),
                None,
                &[],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{read}");
        assert_eq!(result, read);
        assert_eq!(result, recorded["metrics"].to_string());
        // The artifact is an artifact like any other.
        let (status, got) = server
            .call(
                Method::GET,
                &format!("/v1/analytics/artifacts/incident-metrics%2Fservice?version={version}"),
                Some(&reader),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{got}");
        assert_eq!(
            got["input_window_hash"],
            recorded["metrics"]["input_window_hash"]
        );
        // An artifact saved with a hash only has no result.
        let (status, answer) = server
            .call(
                Method::GET,
                "/v1/analytics/artifacts/incident-metrics%2Fservice/nope/result",
                Some(&reader),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");

        let (status, series) = server
        .call(
            Method::GET,
            "/v1/analytics/incident-metrics/series?start=2026-01-05T00:00:00Z&end=2026-01-26T00:00:00Z&step=week",
            Some(&reader),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{series}");
        assert_eq!(series["points"].as_array().map(Vec::len), Some(3));
        let (status, bad) = server
            .call(
                Method::GET,
                "/v1/analytics/incident-metrics?window_start=2026-01-05T00:00:00Z&group_by=team",
                Some(&reader),
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
        assert_eq!(fields, ["window_end", "group_by"]);
        assert!(server.stop().await.success());

        let (ok, report) = verify(&url, &version).await;
        assert!(ok, "{report}");
        assert!(report.contains("reproduced at as_of"), "{report}");

        // A superuser rewrites history: the first incident's resolution moves.
        let edited = hoc_spine::testing::execute_raw(
        &db,
        &format!(
            "UPDATE incident_versions SET updated_at = created_at WHERE id = '{}' AND status = 'resolved'",
            ids[0]
        ),
    )
    .await
    .expect("superuser edit");
        assert_eq!(edited, 1);
        let (ok, report) = verify(&url, &version).await;
        assert!(!ok, "verify passed edited history: {report}");
        assert!(
            report.contains("DIFFERS input_window_hash: recorded `"),
            "{report}"
        );
        assert!(
            report.contains("does not reproduce: 2 difference(s)"),
            "{report}"
        );
    }
);

/// The named fields of every item of the array `items`, each item as a JSON array of them.
fn fields(items: &Value, names: &[&str]) -> Vec<Value> {
    items
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| Value::Array(names.iter().map(|n| item[*n].clone()).collect()))
                .collect()
        })
        .unwrap_or_default()
}
