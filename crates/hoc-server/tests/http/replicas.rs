//! Read replicas (issue 27): a PostgreSQL primary and a streaming replica created here (`initdb`,
//! `pg_basebackup`, on free ports in a temporary directory), and `hocd serve --read-database-url`. Reads at past
//! instants are answered by the replica with the primary's bytes; a replica held back is not used for newer
//! instants; stopping it under load fails no request.

use std::time::{Duration, Instant};

use hoc_spine::testing::cluster::{Cluster, server_bin};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::Server;

/// A primary and one replica, or `None` where PostgreSQL's server programs are not installed (CI has them: it runs
/// PostgreSQL).
fn pair() -> Option<Cluster> {
    let Some(bin) = server_bin() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have PostgreSQL's server programs under /usr/lib/postgresql"
        );
        #[allow(clippy::print_stderr)]
        {
            eprintln!(
                "PostgreSQL's server programs are not installed: the replica test did not run"
            );
        }
        return None;
    };
    Some(Cluster::start(bin, 1).expect("a primary and a replica"))
}

/// `hoc_replica_reads_total` of the replica on `port`, from `/metrics`.
async fn replica_reads(server: &Server, port: u16) -> u64 {
    replica_counter(server, "hoc_replica_reads_total", port).await
}

/// The counter `name` of the replica on `port`, from `/metrics`.
async fn replica_counter(server: &Server, name: &str, port: u16) -> u64 {
    let (status, _, text) = server.raw(Method::GET, "/metrics", None, None, &[]).await;
    assert_eq!(status, StatusCode::OK);
    let label = format!("{name}{{replica=\"127.0.0.1:{port}\"}}");
    text.lines()
        .find_map(|line| line.strip_prefix(&label))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0)
}

/// Incidents, some acknowledged, then the instant after the last write (the `updated_at` it answered with).
async fn history(server: &Server, key: &str, n: usize) -> String {
    let mut last = String::new();
    for i in 0..n {
        let created = server
            .created_incident(
                key,
                json!({"title": format!("replica {i}"), "severity": "high", "category": "database"}),
            )
            .await;
        last = created["updated_at"].as_str().unwrap().to_owned();
        if i % 2 == 0 {
            let id = created["id"].as_str().unwrap();
            let (status, acked) = server
                .call(
                    Method::POST,
                    &format!("/v1/incidents/{id}/acknowledge"),
                    Some(key),
                    Some(json!({})),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{acked}");
            last = acked["updated_at"].as_str().unwrap().to_owned();
        }
    }
    last
}

/// The reads compared: lists, an incident, its timeline, groups, metrics, events; all at `as_of`.
fn reads(as_of: &str, id: &str) -> Vec<String> {
    let at = as_of.replace(':', "%3A");
    vec![
        format!("/v1/incidents?as_of={at}"),
        format!("/v1/incidents?status=acknowledged&limit=2&as_of={at}"),
        format!("/v1/incidents/{id}?as_of={at}"),
        format!("/v1/incidents/{id}/timeline?as_of={at}"),
        format!("/v1/recurrence-groups?as_of={at}"),
        format!("/v1/events?as_of={at}"),
        format!(
            "/v1/analytics/incident-metrics?window_start=2000-01-01T00%3A00%3A00Z&window_end=2100-01-01T00%3A00%3A00Z&group_by=severity&as_of={at}"
        ),
    ]
}

async fn body(server: &Server, key: &str, path: &str) -> String {
    let (status, _, text) = server.raw(Method::GET, path, Some(key), None, &[]).await;
    assert_eq!(status, StatusCode::OK, "{path}: {text}");
    text
}

#[tokio::test]
async fn past_reads_go_to_the_replica_with_the_primarys_bytes_and_newer_ones_to_the_primary() {
    let Some(pair) = pair() else { return };
    let (primary_url, replica_url) = (Cluster::url(pair.primary()), Cluster::url(pair.replica(0)));
    let with = Server::start_with(&primary_url, &["--read-database-url", &replica_url]).await;
    let without = Server::start(&primary_url).await;
    let key = with.key("acme", "alice", "write").await;
    let past = history(&with, &key, 6).await;
    let (_, list) = with
        .call(Method::GET, "/v1/incidents?limit=1", Some(&key), None)
        .await;
    let id = list["items"][0]["id"].as_str().unwrap().to_owned();
    pair.caught_up().unwrap();

    // Past reads: the replica answers, with the bytes the primary gives.
    let before = replica_reads(&with, pair.replica(0)).await;
    for path in reads(&past, &id) {
        assert_eq!(
            body(&with, &key, &path).await,
            body(&without, &key, &path).await,
            "{path}"
        );
    }
    let served = replica_reads(&with, pair.replica(0)).await - before;
    assert_eq!(
        served,
        reads(&past, &id).len() as u64,
        "every past read went to the replica"
    );

    // Held back: the replica stops replaying; a write after it is newer than anything the replica has. Reading at
    // the instant that write answered with (read-your-writes) shows it: the primary answers.
    pair.pause_replay(0, true).unwrap();
    let newer = history(&with, &key, 1).await;
    let before = replica_reads(&with, pair.replica(0)).await;
    let at_newer = format!("/v1/incidents?as_of={}", newer.replace(':', "%3A"));
    let seen = body(&with, &key, &at_newer).await;
    assert_eq!(seen, body(&without, &key, &at_newer).await);
    let items: Value = serde_json::from_str(&seen).unwrap();
    assert_eq!(
        items["items"].as_array().unwrap().len(),
        7,
        "the newer instant shows the newer write"
    );
    assert_eq!(
        replica_reads(&with, pair.replica(0)).await,
        before,
        "the primary answered it"
    );
    // The older instant is still the replica's.
    body(&with, &key, &reads(&past, &id)[0]).await;
    assert_eq!(replica_reads(&with, pair.replica(0)).await, before + 1);
    pair.pause_replay(0, false).unwrap();

    let (status, ready) = with.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(status, StatusCode::OK, "{ready}");
    assert_eq!(
        ready["checks"][format!("replica:127.0.0.1:{}", pair.replica(0))],
        "ok"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stopping_the_replica_under_load_fails_no_request() {
    let Some(pair) = pair() else { return };
    let (primary_url, replica_url) = (Cluster::url(pair.primary()), Cluster::url(pair.replica(0)));
    let server = std::sync::Arc::new(
        Server::start_with(&primary_url, &["--read-database-url", &replica_url]).await,
    );
    let key = server.key("acme", "alice", "write").await;
    let past = history(&server, &key, 4).await;
    let (_, list) = server
        .call(Method::GET, "/v1/incidents?limit=1", Some(&key), None)
        .await;
    let id = list["items"][0]["id"].as_str().unwrap().to_owned();
    pair.caught_up().unwrap();
    let paths = reads(&past, &id);
    let mut expected = Vec::new();
    for path in &paths {
        expected.push(body(&server, &key, path).await);
    }
    assert!(
        replica_reads(&server, pair.replica(0)).await > 0,
        "the replica is in use"
    );

    // Eight clients read at the past instant for three seconds; the replica stops (immediate shutdown) after one.
    let stop_at = Instant::now() + Duration::from_secs(1);
    let end = stop_at + Duration::from_secs(2);
    let clients: Vec<_> = (0..8)
        .map(|n| {
            let (server, key, paths, expected) =
                (server.clone(), key.clone(), paths.clone(), expected.clone());
            tokio::spawn(async move {
                let mut done = 0;
                while Instant::now() < end {
                    let i = (n + done) % paths.len();
                    let (status, _, text) = server
                        .raw(Method::GET, &paths[i], Some(&key), None, &[])
                        .await;
                    assert_eq!(status, StatusCode::OK, "{}: {text}", paths[i]);
                    assert_eq!(text, expected[i], "{}", paths[i]);
                    done += 1;
                }
                done
            })
        })
        .collect();
    tokio::time::sleep_until(stop_at.into()).await;
    let before_stop = replica_reads(&server, pair.replica(0)).await;
    tokio::task::block_in_place(|| pair.stop_replica(0)).unwrap();
    let mut total = 0;
    for client in clients {
        total += client
            .await
            .expect("every request answered 200 with the same bytes");
    }
    assert!(total > 0);
    assert!(before_stop > 0);
    // Reads did go to the stopped replica, and each of them was answered by the primary instead.
    let failovers = replica_counter(&server, "hoc_replica_failovers_total", pair.replica(0)).await;
    assert!(
        failovers > 0,
        "no read failed over from the stopped replica"
    );
    let (status, ready) = server.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a replica down never makes hocd unready: {ready}"
    );
    let check = ready["checks"][format!("replica:127.0.0.1:{}", pair.replica(0))]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(check.starts_with("unreachable"), "{check}");
}

#[tokio::test]
async fn a_promoted_replica_falls_out_of_use() {
    let Some(pair) = pair() else { return };
    let (primary_url, replica_url) = (Cluster::url(pair.primary()), Cluster::url(pair.replica(0)));
    let server = Server::start_with(&primary_url, &["--read-database-url", &replica_url]).await;
    let key = server.key("acme", "alice", "write").await;
    let past = history(&server, &key, 2).await;
    pair.caught_up().unwrap();
    let path = format!("/v1/incidents?as_of={}", past.replace(':', "%3A"));
    let expected = body(&server, &key, &path).await;
    let used = replica_reads(&server, pair.replica(0)).await;
    assert_eq!(used, 1, "the replica answered the past read");

    // Promoted, it no longer follows the primary: it could take writes of its own and drift.
    pair.promote_replica(0).unwrap();
    let started = Instant::now();
    while pair
        .psql(pair.replica(0), "SELECT pg_is_in_recovery()")
        .unwrap()
        .trim()
        != "f"
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the promotion never finished"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // What the replica said of the tenant's clock is trusted for a second: after that, it is asked again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for _ in 0..3 {
        assert_eq!(body(&server, &key, &path).await, expected);
    }
    assert_eq!(
        replica_reads(&server, pair.replica(0)).await,
        used,
        "the primary answered"
    );
    let (status, ready) = server.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(status, StatusCode::OK, "{ready}");
    let check = ready["checks"][format!("replica:127.0.0.1:{}", pair.replica(0))]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(check.starts_with("promoted"), "{check}");
}
