//! `hocd serve --nats-url`: a malformed address stops it at start; an unreachable one does not (it serves, and
//! `/readyz` names NATS); a reachable one gets every event published.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{Server, hocd};

#[tokio::test]
async fn a_malformed_nats_url_stops_hocd_at_start() {
    let db = hoc_spine::testing::TestDatabase::sqlite().await;
    let out = hocd()
        .args([
            "serve",
            "--database-url",
            db.url(),
            "--bind",
            "127.0.0.1:0",
            "--nats-url",
            "http://[::1",
        ])
        .output()
        .await
        .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--nats-url") && stderr.contains("is not a NATS server address"),
        "{stderr}"
    );
}

hoc_spine::storage_test!(
    an_unreachable_nats_is_named_by_readyz_and_writes_still_succeed,
    |db, url| {
        let _ = &db;
        // A port nobody listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let server =
            Server::start_with(&url, &["--nats-url", &format!("nats://127.0.0.1:{port}")]).await;
        let key = server.key("acme", "alice", "write").await;
        server
            .created_incident(
                &key,
                json!({ "title": "nats is down", "severity": "high", "category": "events"}),
            )
            .await;
        let (status, ready) = server.call(Method::GET, "/readyz", None, None).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            ready,
            json!({"status": "unavailable", "checks": {"database": "ok", "nats": "unavailable"}})
        );
        assert!(server.stop().await.success());
    }
);

hoc_spine::storage_test!(hocd_publishes_what_it_commits, |db, url| {
    let id = uuid::Uuid::now_v7().simple().to_string();
    let stream = format!("HOC_HTTP_{id}");
    let server = Server::start_with(
        &url,
        &[
            "--nats-url",
            "nats://127.0.0.1:4222",
            "--nats-stream",
            &stream,
            "--nats-subject-prefix",
            &format!("hochttp.{id}"),
        ],
    )
    .await;
    let key = server.key("acme", "alice", "write").await;
    let body = server
        .created_incident(
            &key,
            json!({ "title": "published", "severity": "high", "category": "events"}),
        )
        .await;
    let started = Instant::now();
    while hoc_spine::relay::backlog(&db).await.unwrap().events > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "not published within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The relay refreshes its connection status around each pass.
    let started = Instant::now();
    let ready = loop {
        let (status, ready) = server.call(Method::GET, "/readyz", None, None).await;
        if status == StatusCode::OK || started.elapsed() > Duration::from_secs(5) {
            break ready;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(ready["checks"]["nats"], "ok", "{ready}");
    // The Prometheus text format: requests by route template and status, latency histograms, the relay.
    // (The relay counts its backlog after each pass: poll until that pass is done.)
    let started = Instant::now();
    let metrics = loop {
        let (status, headers, metrics) = server.raw(Method::GET, "/metrics", None, None, &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        if metrics.contains("hoc_relay_backlog_events 0")
            || started.elapsed() > Duration::from_secs(3)
        {
            break metrics;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    for expected in [
        "hoc_http_requests_total{method=\"POST\",route=\"/v1/incidents\",status=\"201\"} 1",
        "hoc_http_requests_total{method=\"GET\",route=\"/readyz\",status=\"200\"}",
        "hoc_http_request_duration_seconds_bucket{method=\"POST\",route=\"/v1/incidents\",le=\"0.005\"}",
        "hoc_relay_published_total 1",
        "hoc_relay_backlog_events 0",
        "hoc_relay_nats_connected 1",
        "hoc_relay_commit_to_puback_seconds_bucket{le=\"0.05\"}",
    ] {
        assert!(
            metrics.contains(expected),
            "{expected} missing from:\n{metrics}"
        );
    }
    assert!(server.stop().await.success());
    let client = async_nats::connect("nats://127.0.0.1:4222").await.unwrap();
    let js = async_nats::jetstream::new(client);
    let mut stream_handle = js.get_stream(&stream).await.unwrap();
    assert_eq!(stream_handle.info().await.unwrap().state.messages, 1);
    let message = stream_handle.get_raw_message(1).await.unwrap();
    let event: serde_json::Value = serde_json::from_slice(&message.payload).unwrap();
    assert_eq!(event["type"], "incidents.IncidentCreated");
    assert_eq!(event["data"]["incident_id"], body["id"]);
    js.delete_stream(&stream).await.unwrap();
});

hoc_spine::storage_test!(
    three_hocd_share_the_relay_and_one_killed_loses_nothing,
    |db, url| {
        if !url.starts_with("postgres") {
            // Several instances share one database only on PostgreSQL.
            return;
        }
        let id = uuid::Uuid::now_v7().simple().to_string();
        let stream = format!("HOC_TRIO_{id}");
        let prefix = format!("hoctrio.{id}");
        let args = [
            "--nats-url",
            "nats://127.0.0.1:4222",
            "--nats-stream",
            &stream,
            "--nats-subject-prefix",
            &prefix,
        ];
        let mut servers = Vec::new();
        for _ in 0..3 {
            servers.push(std::sync::Arc::new(Server::start_with(&url, &args).await));
        }
        let key = servers[0].key("acme", "alice", "write").await;
        let other = servers[0].key("globex", "bob", "write").await;
        let stop_at = Instant::now() + Duration::from_secs(4);
        let mut clients = Vec::new();
        for c in 0..6 {
            let servers: Vec<_> = servers.iter().map(std::sync::Arc::clone).collect();
            let key = if c % 2 == 0 {
                key.clone()
            } else {
                other.clone()
            };
            clients.push(tokio::spawn(async move {
            let mut created = 0;
            let mut n = 0;
            while Instant::now() < stop_at {
                n += 1;
                // Round robin over the instances; the killed one refuses connections, the next one answers.
                let server = &servers[(c + n) % servers.len()];
                let response = reqwest::Client::new()
                    .post(format!("{}/v1/incidents", server.base))
                    .bearer_auth(&key)
                    .json(&json!({"title": format!("trio {c}/{n}"), "severity": "low", "category": "events"}))
                    .timeout(Duration::from_secs(5))
                    .send()
                    .await;
                if matches!(response, Ok(r) if r.status() == StatusCode::CREATED) {
                    created += 1;
                }
            }
            created
        }));
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        // kill -9 one instance mid-load: its leases are taken over when they expire (5 s).
        let killed = std::process::Command::new("kill")
            .args(["-KILL", &servers[0].pid()])
            .status()
            .expect("kill runs");
        assert!(killed.success());
        let mut created = 0;
        for client in clients {
            created += client.await.expect("client");
        }
        assert!(created > 20, "too little load got through: {created}");
        let started = Instant::now();
        while hoc_spine::relay::backlog(&db).await.unwrap().events > 0 {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the backlog did not drain after the kill"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Every event once per partition, in order, no gap — as the typed consumer sees them.
        let total = hoc_spine::testing::scalar(&db, "SELECT COUNT(*) AS n FROM event_outbox")
            .await
            .unwrap();
        let mut consumer = hoc_relay::EventConsumer::connect(
            "nats://127.0.0.1:4222",
            &stream,
            &format!("{prefix}.>"),
            None,
            Default::default(),
        )
        .await
        .unwrap();
        for _ in 0..total {
            let delivery = tokio::time::timeout(Duration::from_secs(5), consumer.next())
                .await
                .expect("every event arrives")
                .expect("open")
                .expect("an event");
            assert!(
                matches!(delivery, hoc_relay::Delivery::Event(_)),
                "{delivery:?}"
            );
        }
        let extra = tokio::time::timeout(Duration::from_millis(500), consumer.next()).await;
        // Redeliveries are dropped inside `next`, so nothing more is handed out.
        assert!(
            extra.is_err(),
            "an event beyond the outbox arrived: {extra:?}"
        );
        let positions = consumer.positions().values().sum::<i64>();
        assert_eq!(
            positions, total,
            "the partitions' last sequence numbers add up to every event"
        );
        for server in servers.into_iter().skip(1) {
            match std::sync::Arc::try_unwrap(server) {
                Ok(server) => assert!(server.stop().await.success()),
                Err(_) => panic!("a client still holds a server"),
            }
        }
        let client = async_nats::connect("nats://127.0.0.1:4222").await.unwrap();
        async_nats::jetstream::new(client)
            .delete_stream(&stream)
            .await
            .unwrap();
    }
);

hoc_spine::storage_test!(
    a_read_into_pruned_events_is_410_by_name_never_a_shorter_list,
    |db, url| {
        let server = Server::start(&url).await;
        let key = server.key("acme", "alice", "write").await;
        for n in 0..3 {
            server
                .created_incident(
                    &key,
                    json!({ "title": format!("kept {n}"), "severity": "low", "category": "events"}),
                )
                .await;
        }
        let (status, whole) = server
            .call(Method::GET, "/v1/events", Some(&key), None)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(whole["items"].as_array().map(Vec::len), Some(3));
        // A relay published the first two three hours ago; a retention of two hours prunes them.
        let partition = hoc_spine::relay::Partition {
            tenant_id: "acme".into(),
            project_id: "default".into(),
        };
        assert!(
            hoc_spine::relay::claim(&db, &partition, "pruner", 0, i64::MAX / 2)
                .await
                .unwrap()
        );
        let three_hours_ago = time::OffsetDateTime::now_utc() - time::Duration::hours(3);
        hoc_spine::relay::mark_published(&db, &partition, "pruner", 2, three_hours_ago.into())
            .await
            .unwrap();
        let two_hours_ago = time::OffsetDateTime::now_utc() - time::Duration::hours(2);
        assert_eq!(
            hoc_spine::relay::prune(&db, two_hours_ago.into(), 2 * 3600)
                .await
                .unwrap(),
            2
        );
        let refused = json!({
            "code": "history_pruned",
            "details": { "project_id": "default", "pruned_through": 2, "retention_hours": 2 },
        });
        for path in ["/v1/events", "/v1/events?after=1", "/v1/events/stream"] {
            let (status, body) = server.call(Method::GET, path, Some(&key), None).await;
            assert_eq!(status, StatusCode::GONE, "{path}: {body}");
            assert_eq!(body["error"]["code"], refused["code"], "{path}");
            assert_eq!(body["error"]["details"], refused["details"], "{path}");
            let message = body["error"]["message"].as_str().unwrap_or_default();
            assert!(
                message.contains("--event-retention-hours") && message.contains("after=2"),
                "{path}: {message}"
            );
        }
        // From the mark on, the feed is what it was.
        let (status, rest) = server
            .call(Method::GET, "/v1/events?after=2", Some(&key), None)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(rest["items"][0], whole["items"][2]);
        // The stream resumed from the mark opens (its headers arrive; the body is endless).
        let opened = reqwest::Client::new()
            .get(format!("{}/v1/events/stream", server.base))
            .bearer_auth(&key)
            .header("Last-Event-ID", "2")
            .send()
            .await
            .unwrap();
        assert_eq!(opened.status(), StatusCode::OK);
        assert_eq!(opened.headers()["content-type"], "text/event-stream");
        drop(opened);
        assert!(server.stop().await.success());
    }
);
