//! Grouping over HTTP: the group list, the grouping configuration, the regroup preview, and `hocd regroup`.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{Server, hocd};

/// The fields a 422 names.
fn bad_fields(error: &Value) -> Vec<&str> {
    error["error"]["details"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(|f| f["field"].as_str())
        .collect()
}

async fn regroup(server: &Server, args: &[&str]) -> Value {
    let out = hocd()
        .args([
            "regroup",
            "--database-url",
            &server.database_url,
            "--tenant",
            "acme",
        ])
        .args(["--to", "rsig-v2", "--format", "json", "--batch-size", "2"])
        .args(args)
        .output()
        .await
        .expect("hocd regroup runs");
    assert!(
        out.status.success(),
        "regroup failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json report")
}

hoc_spine::storage_test!(groups_config_and_regroup_over_http, |db, url| {
    let _ = &db;
    let server = Server::start(&url).await;
    let writer = server.key("acme", "alice", "write").await;
    let reader = server.key("acme", "dashboard", "read").await;
    for host in ["api", "auth", "billing"] {
        server
            .created_incident(
                &writer,
                json!({
                    "title": "Upstream timeout",
                    "severity": "high",
                    "category": "network",
                    "error_message": format!("timeout after 30s calling {host}.example.com"),
                }),
            )
            .await;
    }
    let last = server
        .created_incident(
            &writer,
            json!({"title": "Disk full on node-3", "severity": "low", "category": "capacity"}),
        )
        .await;
    let before_regroup = last["created_at"].as_str().expect("created_at").to_owned();

    // The list: rsig-v3, a new tenant's algorithm, keeps host names without digits, so four groups; pages of one
    // follow the cursor.
    let (status, page) = server
        .call(
            Method::GET,
            "/v1/recurrence-groups?limit=1",
            Some(&reader),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["items"][0]["sample_title"], "Disk full on node-3");
    let mut seen = vec![page["items"][0].clone()];
    let mut cursor = page["next_cursor"].as_str().map(str::to_owned);
    while let Some(c) = cursor {
        let (status, next) = server
            .call(
                Method::GET,
                &format!("/v1/recurrence-groups?limit=1&cursor={c}"),
                Some(&reader),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{next}");
        seen.extend(next["items"].as_array().expect("items").iter().cloned());
        cursor = next["next_cursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen.len(), 4);
    let (status, bad) = server
        .call(
            Method::GET,
            "/v1/recurrence-groups?order=size&status=maybe&cursor=x",
            Some(&reader),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    let fields = bad_fields(&bad);
    assert_eq!(fields, ["status", "order", "cursor"], "{bad}");

    // The configuration: read scope reads it, only write scope changes it, every bad rule is named.
    let (status, config) = server
        .call(Method::GET, "/v1/grouping-config", Some(&reader), None)
        .await;
    assert_eq!(
        (status, config["version"].clone()),
        (StatusCode::OK, json!(0))
    );
    let good = json!({"primary_version": "rsig-v2", "secondary_version": "rsig-v1"});
    let (status, _) = server
        .call(
            Method::PUT,
            "/v1/grouping-config",
            Some(&reader),
            Some(good.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, bad) = server
        .call(
            Method::PUT,
            "/v1/grouping-config",
            Some(&writer),
            Some(json!({
                "primary_version": "rsig-v2",
                "fingerprint_rules": [{"match": {"title": ""}, "fingerprint": ["{{ owner }}"]}],
            })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    let fields = bad_fields(&bad);
    assert_eq!(
        fields,
        [
            "fingerprint_rules[0].match.title",
            "fingerprint_rules[0].fingerprint[0]"
        ],
        "{bad}"
    );
    // A version precondition (an integral float is an integer too): the stale writer gets 409.
    let mut guarded = good.clone();
    guarded["expected_version"] = json!(0.0);
    let (status, config) = server
        .call(
            Method::PUT,
            "/v1/grouping-config",
            Some(&writer),
            Some(guarded.clone()),
        )
        .await;
    assert_eq!(
        (status, config["version"].clone()),
        (StatusCode::OK, json!(1)),
        "{config}"
    );
    let (status, stale) = server
        .call(
            Method::PUT,
            "/v1/grouping-config",
            Some(&writer),
            Some(guarded),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{stale}");
    assert_eq!(stale["error"]["code"], "stale_version");

    // The preview over HTTP (read scope) and from the CLI agree; the apply makes exactly those moves.
    let (status, preview) = server
        .call(
            Method::GET,
            "/v1/grouping-config/regroup-preview?to=rsig-v2",
            Some(&reader),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(
        (
            preview["incidents"].clone(),
            preview["incidents_moving"].clone(),
            preview["groups_before"].clone(),
            preview["groups_after"].clone(),
            preview["merge_count"].clone()
        ),
        (json!(4), json!(4), json!(4), json!(2), json!(1))
    );
    let dry = regroup(&server, &["--dry-run"]).await;
    assert_eq!(dry["preview"]["moves_digest"], preview["moves_digest"]);
    assert_eq!(dry["applied"], Value::Null);
    let applied = regroup(&server, &["--apply"]).await;
    assert_eq!(applied["applied"]["moved"], 4);
    // Two full batches of two, then an empty one that finds the end.
    assert_eq!(applied["applied"]["batches"], 3);
    assert_eq!(applied["applied"]["matches_preview"], true);
    let again = regroup(&server, &["--apply"]).await;
    assert_eq!(again["applied"]["moved"], 0);

    let (status, now) = server
        .call(
            Method::GET,
            "/v1/recurrence-groups?order=count",
            Some(&reader),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let counts: Vec<(Value, Value)> = now["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|g| (g["signature_version"].clone(), g["count"].clone()))
        .collect();
    assert_eq!(
        counts,
        [(json!("rsig-v2"), json!(3)), (json!("rsig-v2"), json!(1))]
    );
    let (status, then) = server
        .call(
            Method::GET,
            &format!("/v1/recurrence-groups?as_of={before_regroup}"),
            Some(&reader),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(then["items"].as_array().expect("items").len(), 4);
    assert!(
        then["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|g| g["signature_version"] == "rsig-v3")
    );
    let regrouped = crate::events(&server, &reader)
        .await
        .into_iter()
        .filter(|e| e["event_type"] == "incidents.IncidentRegrouped")
        .count();
    assert_eq!(regrouped, 4);
});

async fn learn(server: &Server, args: &[&str]) -> std::process::Output {
    hocd()
        .args([
            "grouping",
            "learn",
            "--database-url",
            &server.database_url,
            "--tenant",
            "acme",
        ])
        .args(args)
        .output()
        .await
        .expect("hocd grouping learn runs")
}

hoc_spine::storage_test!(
    templates_are_learned_over_http_and_from_the_cli,
    |db, url| {
        let _ = &db;
        let server = Server::start(&url).await;
        let writer = server.key("acme", "alice", "write").await;
        let reader = server.key("acme", "dashboard", "read").await;
        let services = [
            "chargen", "daytime", "echo", "time", "eklogin", "ftp", "klogin", "kshell",
        ];
        for service in services {
            server
                .created_incident(
                    &writer,
                    json!({
                        "title": "xinetd",
                        "severity": "low",
                        "category": "xinetd",
                        "error_message": format!("removing {service}"),
                    }),
                )
                .await;
        }
        // The preview (read scope) and the CLI's dry run agree, and neither writes.
        let (status, preview) = server
            .call(
                Method::GET,
                "/v1/grouping-config/learn-preview",
                Some(&reader),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{preview}");
        assert_eq!(preview["templates"][0]["template"], "removing <*>");
        assert_eq!(preview["templates"][0]["member_count"], 8);
        assert_eq!(preview["applied"], false);
        let dry = learn(&server, &["--dry-run", "--format", "json"]).await;
        assert!(
            dry.status.success(),
            "{}",
            String::from_utf8_lossy(&dry.stderr)
        );
        let dry: Value = serde_json::from_slice(&dry.stdout).expect("json");
        assert_eq!(dry["templates_digest"], preview["templates_digest"]);
        let text = learn(&server, &["--dry-run"]).await;
        let text = String::from_utf8_lossy(&text.stdout).into_owned();
        assert!(
            text.contains("#1 [error_message] removing <*>  (8 incidents"),
            "{text}"
        );
        assert!(text.contains("e.g. removing chargen"), "{text}");
        assert!(text.contains("dry run: nothing was written"), "{text}");
        let (_, config) = server
            .call(Method::GET, "/v1/grouping-config", Some(&reader), None)
            .await;
        assert_eq!(config["version"], 0);

        // Learning takes write scope; a bad `since` is named.
        let (status, _) = server
            .call(
                Method::POST,
                "/v1/grouping-config/learn",
                Some(&reader),
                Some(json!({})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, bad) = server
            .call(
                Method::POST,
                "/v1/grouping-config/learn",
                Some(&writer),
                Some(json!({"since": "yesterday", "expected_version": -1})),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(bad_fields(&bad), ["since", "expected_version"], "{bad}");

        // The CLI applies it; the templates and the configuration show it, and a new service joins the group.
        let applied = learn(&server, &["--format", "json"]).await;
        assert!(
            applied.status.success(),
            "{}",
            String::from_utf8_lossy(&applied.stderr)
        );
        let applied: Value = serde_json::from_slice(&applied.stdout).expect("json");
        assert_eq!(applied["applied"], true);
        assert_eq!(applied["config"]["version"], 1);
        assert_eq!(applied["config"]["primary_version"], "rsig-v3");
        let (status, templates) = server
            .call(
                Method::GET,
                "/v1/grouping-config/templates",
                Some(&reader),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{templates}");
        assert_eq!(templates["templates_version"], 1);
        assert_eq!(
            templates["templates"][0]["examples"]
                .as_array()
                .map(Vec::len),
            Some(3)
        );
        let a = server
        .created_incident(
            &writer,
            json!({"title": "xinetd", "severity": "low", "category": "xinetd", "error_message": "removing finger"}),
        )
        .await;
        let b = server
        .created_incident(
            &writer,
            json!({"title": "xinetd", "severity": "low", "category": "xinetd", "error_message": "removing telnet"}),
        )
        .await;
        assert_eq!(a["recurrence_signature"], b["recurrence_signature"]);
        assert_eq!(a["signature_version"], "rsig-v3");
    }
);
