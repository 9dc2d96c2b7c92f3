//! Alerts in over HTTP: the `ingest` scope reaches the integrations and nothing else; a delivery far over the API's
//! 64 KiB body limit is accepted on the integration route; and a real Alertmanager, routing to `hocd` with its
//! webhook receiver, opens one incident per group and resolves it when its alerts end.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::Server;
use crate::installed;

fn delivery(group: &str, alerts: usize, status: &str) -> Value {
    let alerts: Vec<Value> = (0..alerts)
        .map(|i| {
            json!({
                "status": status,
                "labels": { "alertname": "DiskFull", "severity": "warning", "instance": format!("node-{i}"),
                            "mountpoint": "/var/lib/postgresql" },
                "annotations": { "summary": "Disk almost full", "description": "x".repeat(2000) },
                "startsAt": "2026-12-06T09:00:00Z",
                "endsAt": if status == "firing" { "0001-01-01T00:00:00Z" } else { "2026-12-06T09:30:00Z" },
                "generatorURL": "http://prometheus:9090/graph",
                "fingerprint": format!("{i:016x}"),
            })
        })
        .collect();
    json!({
        "version": "4", "groupKey": group, "truncatedAlerts": 0, "status": status, "receiver": "hocd",
        "groupLabels": { "alertname": "DiskFull" }, "commonLabels": { "alertname": "DiskFull" },
        "commonAnnotations": { "summary": "Disk almost full" }, "externalURL": "http://am:9093", "alerts": alerts,
    })
}

hoc_spine::storage_test!(
    ingest_keys_reach_the_integrations_and_nothing_else,
    |db, url| {
        let _ = &db;
        let server = Server::start(&url).await;
        let ingest = server.key("acme", "alertmanager", "ingest").await;
        let write = server.key("acme", "alice", "write").await;
        let path = "/v1/integrations/alertmanager";

        // 100 alerts with their annotations: ~190 KiB, three times the API's body limit.
        let big = delivery("{}:{alertname=\"DiskFull\"}", 100, "firing");
        assert!(big.to_string().len() > 3 * 64 * 1024);
        let (status, answer) = server
            .call(Method::POST, path, Some(&ingest), Some(big.clone()))
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["incidents"].as_array().map(Vec::len), Some(1));
        assert_eq!(answer["incidents"][0]["outcome"], json!("created"));
        let id = answer["incidents"][0]["id"]
            .as_str()
            .expect("id")
            .to_owned();
        // The same delivery again: 200, nothing changes.
        let (status, again) = server
            .call(Method::POST, path, Some(&ingest), Some(big))
            .await;
        assert_eq!(status, StatusCode::OK, "{again}");
        assert_eq!(
            again["incidents"][0],
            json!({"id": id, "outcome": "unchanged"})
        );

        // The incident's alerts, read with a read-capable key.
        let alerts = incident_alerts(&server, &write, &id).await;
        assert_eq!(alerts.len(), 100);
        assert_eq!(alerts[0]["dedup_key"], json!("0000000000000000"));
        assert_eq!(alerts[0]["occurrences"], json!(1));

        // An ingest key reads and writes nothing else; a write key does not reach the integration.
        let (status, body) = server
            .call(Method::GET, "/v1/incidents", Some(&ingest), None)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        let (status, body) = server
            .call(
                Method::POST,
                "/v1/incidents",
                Some(&ingest),
                Some(json!({"title": "x", "severity": "low", "category": "x"})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        let (status, body) = server
            .call(
                Method::POST,
                path,
                Some(&write),
                Some(delivery("g2", 1, "firing")),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

        // A malformed delivery is 400 naming the field; the body limit of other routes is unchanged.
        let mut bad = delivery("g3", 1, "firing");
        bad["alerts"][0]["startsAt"] = json!("not a time");
        let (status, body) = server
            .call(Method::POST, path, Some(&ingest), Some(bad))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body.to_string().contains("alerts[0].startsAt"), "{body}");
        let (status, _) = server
        .call(Method::POST, "/v1/incidents", Some(&write),
              Some(json!({"title": "x", "severity": "low", "category": "x", "description": "y".repeat(70_000)})))
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    }
);

/// The Alertmanager binary: Debian's `prometheus-alertmanager` (or upstream's `alertmanager`) on the PATH.
fn alertmanager_binary() -> Option<std::path::PathBuf> {
    installed(
        &["prometheus-alertmanager", "alertmanager"],
        "prometheus-alertmanager",
    )
}

/// A loopback TCP link to the server at `base` that holds each new connection for `delay` before it passes bytes.
async fn slow_link(base: &str, delay: Duration) -> std::net::SocketAddr {
    let target = base.trim_start_matches("http://").to_owned();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let target = target.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    addr
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A running Alertmanager, killed when dropped.
struct Alertmanager {
    child: tokio::process::Child,
    base: String,
    dir: std::path::PathBuf,
}

impl Alertmanager {
    async fn start(binary: &std::path::Path, webhook: &str, key: &str) -> Self {
        Self::with_receiver(binary, &webhook_receiver(webhook, key)).await
    }

    /// An Alertmanager routing every alert, grouped by `alertname`, to the receiver `hocd` configured by `receiver`
    /// (the YAML under `- name: hocd`).
    async fn with_receiver(binary: &std::path::Path, receiver: &str) -> Self {
        Self::clustered(binary, receiver, free_port(), None).await
    }

    /// Two Alertmanagers clustered as an HA pair (each the other's gossip peer), with the same receiver.
    async fn pair(binary: &std::path::Path, receiver: &str) -> (Self, Self) {
        let (one, two) = (free_port(), free_port());
        let first = Self::clustered(binary, receiver, one, Some(two)).await;
        let second = Self::clustered(binary, receiver, two, Some(one)).await;
        (first, second)
    }

    async fn clustered(
        binary: &std::path::Path,
        receiver: &str,
        cluster: u16,
        peer: Option<u16>,
    ) -> Self {
        let port = free_port();
        let dir =
            std::env::temp_dir().join(format!("hoc-alertmanager-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let config = dir.join("alertmanager.yml");
        std::fs::write(
            &config,
            format!(
                "route:\n  receiver: hocd\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: 1s\n  \
                 repeat_interval: 1h\nreceivers:\n  - name: hocd\n{receiver}"
            ),
        )
        .expect("config written");
        let child = tokio::process::Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.path={}", dir.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg(format!("--cluster.listen-address=127.0.0.1:{cluster}"))
            .args(peer.map(|p| format!("--cluster.peer=127.0.0.1:{p}")))
            // A peer waits this long per position before it notifies, unless the pair's notification log says
            // the other already did.
            .args(peer.map(|_| "--cluster.peer-timeout=100ms"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("alertmanager starts");
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        for _ in 0..100 {
            if client
                .get(format!("{base}/-/ready"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Self { child, base, dir };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("alertmanager did not become ready");
    }

    /// How many notifications this Alertmanager sent through `integration` (its own `/metrics`).
    async fn notifications(&self, integration: &str) -> f64 {
        let metrics = reqwest::get(format!("{}/metrics", self.base))
            .await
            .expect("alertmanager answers")
            .text()
            .await
            .expect("metrics");
        let series = format!("alertmanager_notifications_total{{integration=\"{integration}\"");
        metrics
            .lines()
            .filter(|l| l.starts_with(&series))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    async fn post(&self, alerts: Value) {
        let res = reqwest::Client::new()
            .post(format!("{}/api/v2/alerts", self.base))
            .json(&alerts)
            .send()
            .await
            .expect("alertmanager answers");
        assert!(res.status().is_success(), "{:?}", res.text().await);
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Polls `f` every 200 ms for up to 20 s until it returns `Some`.
async fn eventually<T, F: std::future::Future<Output = Option<T>>>(mut f: impl FnMut() -> F) -> T {
    for _ in 0..100 {
        if let Some(value) = f().await {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("not reached within 20 s");
}

hoc_spine::storage_test!(
    a_real_alertmanager_opens_and_resolves_an_incident,
    |db, url| {
        let _ = &db;
        let Some(binary) = alertmanager_binary() else {
            return;
        };
        let server = Server::start(&url).await;
        let ingest = server.key("acme", "alertmanager", "ingest").await;
        let reader = server.key("acme", "alice", "read").await;
        let am = Alertmanager::start(
            &binary,
            &format!("{}/v1/integrations/alertmanager", server.base),
            &ingest,
        )
        .await;
        let starts = time::OffsetDateTime::now_utc() - time::Duration::minutes(1);
        let at = rfc3339;
        let alert = |instance: &str, ends: Option<time::OffsetDateTime>| {
            let mut a = json!({
                "labels": { "alertname": "ApiErrors", "severity": "critical", "service": "api", "instance": instance },
                "annotations": { "summary": "API 5xx above 5 %" },
                "startsAt": at(starts),
            });
            if let Some(ends) = ends {
                a["endsAt"] = json!(at(ends));
            }
            a
        };
        am.post(json!([alert("api-1", None), alert("api-2", None)]))
            .await;

        // One incident for the group, fed by both alerts.
        let incident = eventually(|| async {
            let (status, page) = server
                .call(
                    Method::GET,
                    "/v1/incidents?status=open",
                    Some(&reader),
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{page}");
            page["items"]
                .as_array()
                .filter(|i| !i.is_empty())
                .map(|i| i[0].clone())
        })
        .await;
        let id = incident["id"].as_str().expect("id").to_owned();
        assert_eq!(incident["title"], json!("API 5xx above 5 %"));
        assert_eq!(incident["severity"], json!("critical"));
        assert_eq!(incident["service"], json!("api"));
        let alerts = eventually(|| async {
            Some(incident_alerts(&server, &reader, &id).await).filter(|a| a.len() == 2)
        })
        .await;
        // The sender's fingerprint is the dedup key, verbatim (16 hex digits, as Alertmanager computes it).
        assert!(
            alerts
                .iter()
                .all(|a| a["dedup_key"].as_str().is_some_and(|k| k.len() == 16))
        );

        // Both end: Alertmanager sends the resolved notification and the incident is resolved by the monitor.
        let ended = time::OffsetDateTime::now_utc() - time::Duration::seconds(1);
        am.post(json!([
            alert("api-1", Some(ended)),
            alert("api-2", Some(ended))
        ]))
        .await;
        let resolved = resolved_incident(&server, &reader, &id).await;
        assert_eq!(resolved["resolution_type"], json!("auto"));
        assert_eq!(resolved["resolved_by"], json!("alertmanager"));
        let (_, page) = server
            .call(Method::GET, "/v1/incidents", Some(&reader), None)
            .await;
        assert_eq!(page["items"].as_array().map(Vec::len), Some(1), "{page}");
    }
);

// The alert storm: 10,000 alerts in 100 deliveries of 100 (one group each, Alertmanager-sized bodies) from 4
// senders at once, while an HA peer sends every delivery again. No delivery is answered 5xx; each group is one
// incident with its 100 alerts, each alert fired once (the peer's copies changed nothing).
hoc_spine::storage_test!(an_alert_storm_is_absorbed_once, |db, url| {
    let _alone = crate::TIMED.lock().await;
    let _ = &db;
    let server = std::sync::Arc::new(Server::start(&url).await);
    let ingest = server.key("acme", "alertmanager", "ingest").await;
    let reader = server.key("acme", "alice", "read").await;
    let body = |group: usize| {
        let mut d = delivery(
            &format!("{{}}:{{alertname=\"Storm{group}\"}}"),
            100,
            "firing",
        );
        for (i, alert) in d["alerts"].as_array_mut().into_iter().flatten().enumerate() {
            alert["fingerprint"] = json!(format!("{group:04}{i:012x}"));
        }
        d
    };
    // Four senders, 25 groups each; a fifth task is the HA peer, resending every group's delivery.
    let mut senders = Vec::new();
    for sender in 0..5 {
        let (server, ingest) = (server.clone(), ingest.clone());
        senders.push(tokio::spawn(async move {
            let groups: Vec<usize> = if sender < 4 {
                (sender * 25..sender * 25 + 25).collect()
            } else {
                (0..100).rev().collect()
            };
            let mut statuses = Vec::new();
            for group in groups {
                let (status, answer) = server
                    .call(
                        Method::POST,
                        "/v1/integrations/alertmanager",
                        Some(&ingest),
                        Some(body(group)),
                    )
                    .await;
                statuses.push((group, status, answer));
            }
            statuses
        }));
    }
    for sender in senders {
        for (group, status, answer) in sender.await.expect("sender runs") {
            assert_eq!(status, StatusCode::OK, "group {group}: {answer}");
        }
    }
    let (status, page) = server
        .call(Method::GET, "/v1/incidents?limit=500", Some(&reader), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let incidents = page["items"].as_array().expect("items").clone();
    assert_eq!(incidents.len(), 100, "one incident per group");
    for incident in incidents.iter().step_by(9) {
        let id = incident["id"].as_str().expect("id");
        let items = incident_alerts(&server, &reader, id).await;
        assert_eq!(items.len(), 100, "{id}");
        assert!(
            items.iter().all(|a| a["occurrences"] == json!(1)),
            "{id}: a copy counted"
        );
    }
});

hoc_spine::storage_test!(
    pagerduty_events_over_http_answer_as_pagerduty_does,
    |db, url| {
        let _ = &db;
        let server = Server::start(&url).await;
        let ingest = server.key("acme", "monitor", "ingest").await;
        let write = server.key("acme", "alice", "write").await;
        let path = "/v1/integrations/pagerduty/enqueue";
        let event = |key: &str| {
            json!({
                "routing_key": key, "event_action": "trigger", "dedup_key": "disk/db-1",
                "payload": { "summary": "Disk full on db-1", "source": "db-1", "severity": "critical" },
                "links": [{ "href": "http://grafana/d/1", "text": "dashboard" }], "images": [],
            })
        };
        // No Authorization header: the routing key is the credential.
        let (status, answer) = server
            .call(Method::POST, path, None, Some(event(&ingest)))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
        assert_eq!(
            answer,
            json!({"status": "success", "message": "Event processed", "dedup_key": "disk/db-1"})
        );
        // A routing key that is no key, or a key without the ingest scope: 400 invalid event naming routing_key.
        for key in ["not-a-key", write.as_str()] {
            let (status, answer) = server
                .call(Method::POST, path, None, Some(event(key)))
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
            assert_eq!(answer["status"], json!("invalid event"), "{answer}");
            assert!(
                answer["errors"][0]
                    .as_str()
                    .is_some_and(|e| e.starts_with("routing_key")),
                "{answer}"
            );
        }
        // A bad event: every bad field in `errors`.
        let (status, answer) = server
        .call(Method::POST, path, None,
              Some(json!({"routing_key": ingest, "event_action": "trigger", "payload": {"severity": "fatal"}})))
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        let errors: Vec<&str> = answer["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(errors.len(), 3, "{answer}");
        assert!(
            errors.iter().any(|e| e.starts_with("payload.severity")),
            "{answer}"
        );
        let (status, page) = server
            .call(Method::GET, "/v1/incidents", Some(&write), None)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page["items"].as_array().map(Vec::len), Some(1), "{page}");
        assert_eq!(page["items"][0]["severity"], json!("critical"));
    }
);

hoc_spine::storage_test!(a_real_alertmanager_speaks_pagerduty_to_hocd, |db, url| {
    let _ = &db;
    let Some(binary) = alertmanager_binary() else {
        return;
    };
    let server = Server::start(&url).await;
    let ingest = server.key("acme", "alertmanager", "ingest").await;
    let reader = server.key("acme", "alice", "read").await;
    let am = Alertmanager::with_receiver(
        &binary,
        &format!(
            "    pagerduty_configs:\n      - routing_key: {ingest}\n        url: {}/v1/integrations/pagerduty/enqueue\n        \
             send_resolved: true\n",
            server.base
        ),
    )
    .await;
    let starts = time::OffsetDateTime::now_utc() - time::Duration::minutes(1);
    let at = rfc3339;
    am.post(json!([{ "labels": { "alertname": "QueueBacklog", "queue": "payments" }, "startsAt": at(starts) }]))
        .await;
    // Alertmanager's PagerDuty receiver triggers one event per group; its default severity is `error` (our high).
    let incident = eventually(|| async {
        let (_, page) = server
            .call(
                Method::GET,
                "/v1/incidents?status=open",
                Some(&reader),
                None,
            )
            .await;
        page["items"]
            .as_array()
            .filter(|i| !i.is_empty())
            .map(|i| i[0].clone())
    })
    .await;
    assert_eq!(incident["severity"], json!("high"), "{incident}");
    assert_eq!(incident["source_type"], json!("pagerduty"), "{incident}");
    let id = incident["id"].as_str().expect("id").to_owned();
    // The alert ends: Alertmanager sends `resolve` for the same dedup key, and the incident is resolved.
    let ended = time::OffsetDateTime::now_utc() - time::Duration::seconds(1);
    am.post(
        json!([{ "labels": { "alertname": "QueueBacklog", "queue": "payments" },
                     "startsAt": at(starts), "endsAt": at(ended) }]),
    )
    .await;
    let resolved = resolved_incident(&server, &reader, &id).await;
    assert_eq!(resolved["resolution_type"], json!("auto"));
});

hoc_spine::storage_test!(
    an_alertmanager_ha_pair_opens_one_incident_and_counts_each_firing_once,
    |db, url| {
        let _ = &db;
        let Some(binary) = alertmanager_binary() else {
            return;
        };
        let server = Server::start(&url).await;
        let ingest = server.key("acme", "alertmanager", "ingest").await;
        let reader = server.key("acme", "alice", "read").await;
        // Each peer reaches hocd through a link that holds a new connection for 2 s: the first peer's notification
        // is still in flight when the second peer's turn comes, so the second finds no record of it in the
        // pair's notification log and delivers too (as after a partition) — the copy hocd must absorb.
        let webhook = format!(
            "http://{}/v1/integrations/alertmanager",
            slow_link(&server.base, Duration::from_secs(2)).await
        );
        let (am1, am2) = Alertmanager::pair(&binary, &webhook_receiver(&webhook, &ingest)).await;
        let starts = time::OffsetDateTime::now_utc() - time::Duration::minutes(1);
        let at = rfc3339;
        // Prometheus sends every alert to every Alertmanager of the pair; both may notify.
        let alerts = json!([
            { "labels": { "alertname": "Replication", "instance": "pg-1" }, "startsAt": at(starts) },
            { "labels": { "alertname": "Replication", "instance": "pg-2" }, "startsAt": at(starts) },
        ]);
        am1.post(alerts.clone()).await;
        am2.post(alerts).await;
        let id = eventually(|| async {
            let (_, page) = server
                .call(Method::GET, "/v1/incidents", Some(&reader), None)
                .await;
            page["items"].as_array().filter(|i| !i.is_empty()).map(|i| {
                assert_eq!(i.len(), 1, "one incident for the pair's group: {page}");
                i[0]["id"].as_str().expect("id").to_owned()
            })
        })
        .await;
        // Both peers deliver; then: two alerts, each fired once, however many copies arrived.
        for am in [&am1, &am2] {
            eventually(|| async { (am.notifications("webhook").await >= 1.0).then_some(()) }).await;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        let (_, page) = server
            .call(Method::GET, "/v1/incidents", Some(&reader), None)
            .await;
        assert_eq!(page["items"].as_array().map(Vec::len), Some(1), "{page}");
        let items = incident_alerts(&server, &reader, &id).await;
        assert_eq!(items.len(), 2, "{items:?}");
        assert!(
            items.iter().all(|a| a["occurrences"] == json!(1)),
            "a copy counted: {items:?}"
        );
    }
);

/// The alerts of incident `id`, read with `key` (which must be allowed to: 200).
async fn incident_alerts(server: &Server, key: &str, id: &str) -> Vec<Value> {
    let (status, alerts) = server
        .call(
            Method::GET,
            &format!("/v1/incidents/{id}/alerts"),
            Some(key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{alerts}");
    alerts["items"].as_array().cloned().unwrap_or_default()
}

/// An RFC 3339 timestamp, as Alertmanager's API takes it.
fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .expect("formats")
}

/// The receiver YAML of a webhook to `url` authorized with `key`.
fn webhook_receiver(url: &str, key: &str) -> String {
    format!(
        "    webhook_configs:\n      - url: {url}\n        send_resolved: true\n        http_config:\n          \
         authorization:\n            credentials: {key}\n"
    )
}

/// The incident `id` once it is resolved (polled).
async fn resolved_incident(server: &Server, reader: &str, id: &str) -> Value {
    eventually(|| async {
        let (_, incident) = server
            .call(
                Method::GET,
                &format!("/v1/incidents/{id}"),
                Some(reader),
                None,
            )
            .await;
        (incident["status"] == json!("resolved")).then_some(incident)
    })
    .await
}

// End to end from a real Prometheus: a rule that fires opens an incident through Alertmanager; after the rule file
// is changed and reloaded the alert resolves, and so does the incident.
hoc_spine::storage_test!(
    a_real_prometheus_rule_opens_and_resolves_an_incident,
    |db, url| {
        let _ = &db;
        let (Some(alertmanager), Some(prometheus)) = (
            alertmanager_binary(),
            installed(&["prometheus"], "prometheus"),
        ) else {
            return;
        };
        let server = Server::start(&url).await;
        let ingest = server.key("acme", "prometheus", "ingest").await;
        let reader = server.key("acme", "alice", "read").await;
        let webhook = format!("{}/v1/integrations/alertmanager", server.base);
        let am =
            Alertmanager::with_receiver(&alertmanager, &webhook_receiver(&webhook, &ingest)).await;
        let dir = am.dir.join("prometheus");
        std::fs::create_dir_all(&dir).expect("prometheus dir");
        let rules = dir.join("rules.yml");
        let rule = |expr: &str| {
            format!(
                "groups:\n  - name: hoc\n    rules:\n      - alert: CheckoutErrors\n        expr: {expr}\n        \
             labels:\n          severity: warning\n          service: checkout\n        annotations:\n          \
             summary: Checkout errors above 1 %\n"
            )
        };
        std::fs::write(&rules, rule("vector(1)")).expect("rules written");
        let config = dir.join("prometheus.yml");
        std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nalerting:\n  alertmanagers:\n    - \
             static_configs:\n        - targets: ['{}']\nrule_files: ['{}']\n",
            am.base.trim_start_matches("http://"),
            rules.display()
        ),
    )
    .expect("config written");
        let port = free_port();
        let _prometheus = tokio::process::Command::new(prometheus)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--web.enable-lifecycle")
            // Its first send can precede its discovery of the Alertmanager (that alert is dropped): resend each second.
            .arg("--rules.alert.resend-delay=1s")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("prometheus starts");

        let incident = eventually(|| async {
            let (_, page) = server
                .call(Method::GET, "/v1/incidents", Some(&reader), None)
                .await;
            page["items"]
                .as_array()
                .filter(|i| !i.is_empty())
                .map(|i| i[0].clone())
        })
        .await;
        assert_eq!(incident["title"], json!("Checkout errors above 1 %"));
        assert_eq!(incident["severity"], json!("medium"));
        assert_eq!(incident["service"], json!("checkout"));
        let id = incident["id"].as_str().expect("id").to_owned();

        // The rule stops matching; Prometheus reloads it and sends the alert's end on.
        std::fs::write(&rules, rule("vector(1) == 0")).expect("rules rewritten");
        let reloaded = reqwest::Client::new()
            .post(format!("http://127.0.0.1:{port}/-/reload"))
            .send()
            .await
            .expect("prometheus answers");
        assert!(reloaded.status().is_success());
        let resolved = resolved_incident(&server, &reader, &id).await;
        assert_eq!(resolved["resolution_type"], json!("auto"));
    }
);

hoc_spine::storage_test!(
    a_truncated_delivery_is_noted_on_its_incident_and_counted,
    |db, url| {
        let _ = &db;
        let server = Server::start(&url).await;
        let ingest = server.key("acme", "alertmanager", "ingest").await;
        let reader = server.key("acme", "alice", "read").await;
        // Alertmanager's `max_alerts: 3` left 7 alerts of the group out.
        let mut body = delivery("{}:{alertname=\"DiskFull\"}", 3, "firing");
        body["truncatedAlerts"] = json!(7);
        let (status, answer) = server
            .call(
                Method::POST,
                "/v1/integrations/alertmanager",
                Some(&ingest),
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let id = answer["incidents"][0]["id"]
            .as_str()
            .expect("id")
            .to_owned();
        // The same delivery again (an HA peer) is neither noted nor counted twice.
        let (status, _) = server
            .call(
                Method::POST,
                "/v1/integrations/alertmanager",
                Some(&ingest),
                Some(body),
            )
            .await;
        assert_eq!(status, StatusCode::OK);

        let (_, timeline) = server
            .call(
                Method::GET,
                &format!("/v1/incidents/{id}/timeline"),
                Some(&reader),
                None,
            )
            .await;
        let truncated: Vec<&Value> = timeline["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|e| e["event_type"] == json!("alerts_truncated"))
            .collect();
        assert_eq!(truncated.len(), 1, "{timeline}");
        assert!(
            truncated[0]["description"]
                .as_str()
                .is_some_and(|m| m.contains("7 alerts")),
            "{timeline}"
        );

        let (status, _, metrics) = server.raw(Method::GET, "/metrics", None, None, &[]).await;
        assert_eq!(status, StatusCode::OK);
        let counted: Vec<&str> = metrics
            .lines()
            .filter(|l| l.starts_with("hoc_ingest_truncated_alerts_total"))
            .collect();
        assert_eq!(
            counted,
            ["hoc_ingest_truncated_alerts_total{source=\"alertmanager\"} 7"],
            "{metrics}"
        );
        assert!(server.stop().await.success());
    }
);

hoc_spine::storage_test!(
    a_delivery_that_cannot_commit_is_503_with_retry_after_and_a_retry_applies_it,
    |db, url| {
        let server = Server::start_with(
            &url,
            &[
                "--db-busy-timeout-ms",
                "10000",
                "--request-timeout-ms",
                "1000",
            ],
        )
        .await;
        let ingest = server.key("acme", "alertmanager", "ingest").await;
        let alertmanager = delivery("{}:{alertname=\"DiskFull\"}", 5, "firing").to_string();
        let pagerduty = json!({
            "routing_key": ingest, "event_action": "trigger", "dedup_key": "disk-full",
            "payload": { "summary": "Disk almost full", "source": "db-1", "severity": "warning" },
        })
        .to_string();

        // Another process holds the deliveries table: each sender is told to come back (Alertmanager and
        // PagerDuty senders retry a 5xx), and nothing is written.
        let lock = hoc_spine::testing::hold_table_lock(&db, "ingest_deliveries")
            .await
            .expect("lock");
        for (path, body) in [
            ("/v1/integrations/alertmanager", &alertmanager),
            ("/v1/integrations/pagerduty/enqueue", &pagerduty),
        ] {
            let (status, headers, answer) = server
                .raw(Method::POST, path, Some(&ingest), Some(body.clone()), &[])
                .await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}: {answer}");
            assert_eq!(headers["retry-after"], "1", "{path}");
        }
        lock.rollback().await.expect("unlock");
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            hoc_spine::testing::scalar(&db, "SELECT COUNT(*) AS n FROM incidents")
                .await
                .expect("count"),
            0
        );

        // The retries apply both once.
        let (status, _, answer) = server
            .raw(
                Method::POST,
                "/v1/integrations/alertmanager",
                Some(&ingest),
                Some(alertmanager),
                &[],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let (status, _, answer) = server
            .raw(
                Method::POST,
                "/v1/integrations/pagerduty/enqueue",
                None,
                Some(pagerduty),
                &[],
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
        assert_eq!(
            hoc_spine::testing::scalar(&db, "SELECT COUNT(*) AS n FROM incidents")
                .await
                .expect("count"),
            2
        );
        assert!(server.stop().await.success());
    }
);
