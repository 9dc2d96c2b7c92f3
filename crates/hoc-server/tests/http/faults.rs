//! Storage faults seen from outside: a locked SQLite database and PostgreSQL backends killed under load are `503`
//! with `Retry-After` (never a 500, never a hang), reads keep answering, and the server heals without a restart.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::Server;

/// Takes SQLite's write lock as another process would, until `COMMIT` on the same connection (`db` has a single
/// writer connection, so both run on it).
async fn hold_write_lock(db: &hoc_spine::Database) {
    hoc_spine::testing::execute_raw(db, "BEGIN EXCLUSIVE")
        .await
        .expect("lock");
    hoc_spine::testing::execute_raw(db, "UPDATE tenant_clocks SET last_micros = last_micros")
        .await
        .expect("write under the lock");
}

/// A create that must be refused with 503, `Retry-After` and a request id; how long it took.
async fn refused_create(server: &Server, key: &str, n: usize) -> Duration {
    let started = Instant::now();
    let (status, headers, body) = server
        .raw(
            Method::POST,
            "/v1/incidents",
            Some(key),
            Some(create_body(n)),
            &[],
        )
        .await;
    let waited = started.elapsed();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(headers["retry-after"], "1");
    assert!(headers.contains_key("x-request-id"));
    waited
}

fn create_body(n: usize) -> String {
    json!({"title": format!("fault {n}"), "severity": "high", "category": "database"}).to_string()
}

hoc_spine::storage_test!(
    an_external_write_lock_stalls_no_read_and_writes_fail_fast,
    |db, url| {
        let _alone = crate::TIMED.lock().await;
        if !url.starts_with("sqlite") {
            // A database-wide write lock held by another process is SQLite's; PostgreSQL locks rows.
            return;
        }
        let server = Server::start_with(&url, &["--db-busy-timeout-ms", "1000"]).await;
        let key = server.key("acme", "alice", "write").await;
        let created = server
            .created_incident(
                &key,
                json!({ "title": "before the lock", "severity": "high", "category": "database"}),
            )
            .await;
        let id = created["id"].as_str().expect("id").to_owned();

        // Another process's exclusive write transaction, held for 10 s (`db` has a single writer connection, so
        // BEGIN and COMMIT run on the same one).
        hold_write_lock(&db).await;
        let locked_at = Instant::now();
        let mut slowest_read = Duration::ZERO;
        let mut writes = 0;
        while locked_at.elapsed() < Duration::from_secs(10) {
            for path in [
                format!("/v1/incidents/{id}"),
                "/v1/incidents".to_owned(),
                format!("/v1/incidents/{id}/timeline"),
                "/v1/events".to_owned(),
            ] {
                let started = Instant::now();
                let (status, body) = server.call(Method::GET, &path, Some(&key), None).await;
                slowest_read = slowest_read.max(started.elapsed());
                assert_eq!(status, StatusCode::OK, "{path}: {body}");
            }
            for path in ["/healthz", "/readyz"] {
                let started = Instant::now();
                let (status, body) = server.call(Method::GET, path, None, None).await;
                slowest_read = slowest_read.max(started.elapsed());
                assert_eq!(status, StatusCode::OK, "{path}: {body}");
            }
            if writes < 3 {
                let waited = refused_create(&server, &key, writes).await;
                assert!(
                    waited < Duration::from_millis(2500),
                    "a write waited {waited:?} with a busy timeout of 1 s"
                );
                writes += 1;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            slowest_read < Duration::from_millis(500),
            "a read waited {slowest_read:?} behind the external lock"
        );
        assert_eq!(writes, 3);
        hoc_spine::testing::execute_raw(&db, "COMMIT")
            .await
            .expect("unlock");
        // Heals without a restart; the refused writes left nothing.
        server
            .created_incident(
                &key,
                json!({ "title": "after the lock", "severity": "high", "category": "database"}),
            )
            .await;
        let (_, page) = server
            .call(Method::GET, "/v1/incidents", Some(&key), None)
            .await;
        assert_eq!(page["items"].as_array().expect("items").len(), 2, "{page}");
        assert!(server.stop().await.success());
    }
);

hoc_spine::storage_test!(
    killed_postgres_backends_under_load_are_503_and_lose_nothing,
    |db, url| {
        let Some(name) = url
            .starts_with("postgres")
            .then(|| url.rsplit('/').next().unwrap_or_default().to_owned())
        else {
            // Connection loss is PostgreSQL's; SQLite is a file in the process.
            return;
        };
        let server = Arc::new(Server::start(&url).await);
        let key = server.key("acme", "alice", "write").await;
        let admin = hoc_spine::Database::connect(
            &std::env::var(hoc_spine::testing::TEST_DATABASE_URL_VAR).expect("set"),
        )
        .await
        .expect("admin connects");
        let statuses: Arc<Mutex<BTreeMap<u16, usize>>> = Arc::default();
        let created: Arc<Mutex<Vec<String>>> = Arc::default();
        let stop_at = Instant::now() + Duration::from_secs(8);
        let mut clients = Vec::new();
        for c in 0..8 {
            let (server, key) = (Arc::clone(&server), key.clone());
            let (statuses, created) = (Arc::clone(&statuses), Arc::clone(&created));
            clients.push(tokio::spawn(async move {
                let mut n = 0;
                while Instant::now() < stop_at {
                    n += 1;
                    let (status, body) = server
                        .call(Method::POST, "/v1/incidents", Some(&key), Some(json!({
                            "title": format!("load {c}/{n}"), "severity": "high", "category": "database"})))
                        .await;
                    *statuses.lock().expect("lock").entry(status.as_u16()).or_default() += 1;
                    let Some(id) = body["id"].as_str().map(str::to_owned) else {
                        continue;
                    };
                    created.lock().expect("lock").push(id.clone());
                    for step in ["acknowledge", "resolve"] {
                        let body = (step == "resolve").then(|| json!({"resolution_type": "hotfix"}));
                        let (status, _) = server
                            .call(Method::POST, &format!("/v1/incidents/{id}/{step}"), Some(&key), body)
                            .await;
                        *statuses.lock().expect("lock").entry(status.as_u16()).or_default() += 1;
                    }
                    let (status, _) = server
                        .call(Method::GET, &format!("/v1/incidents/{id}"), Some(&key), None)
                        .await;
                    *statuses.lock().expect("lock").entry(status.as_u16()).or_default() += 1;
                }
            }));
        }
        // Terminate every backend of hocd's database five times during the load.
        let mut killed = 0;
        for _ in 0..5 {
            tokio::time::sleep(Duration::from_millis(1200)).await;
            killed += hoc_spine::testing::scalar(
                &admin,
                &format!(
                    "SELECT COUNT(pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
                     WHERE datname = '{name}' AND pid <> pg_backend_pid()"
                ),
            )
            .await
            .expect("terminate");
        }
        for client in clients {
            client.await.expect("client");
        }
        let statuses = statuses.lock().expect("lock").clone();
        assert!(killed > 0, "no backend was terminated");
        assert!(
            statuses.keys().all(|s| [200, 201, 409, 503].contains(s)),
            "only 2xx, 409 (a transition whose earlier answer was a 503 after it committed) and 503: {statuses:?}"
        );
        assert!(
            statuses.get(&201).copied().unwrap_or(0) > 20,
            "{statuses:?}"
        );

        // Heals: a request after the load succeeds.
        server
            .created_incident(
                &key,
                json!({ "title": "after", "severity": "high", "category": "database"}),
            )
            .await;
        // The test's own pool to this database was terminated too; check on a new one.
        drop(db);
        let check = hoc_spine::Database::connect(&url).await.expect("connects");
        // Every 2xx is durable, and every change is whole: timeline rows = audit rows = events = version.
        let created = created.lock().expect("lock").clone();
        for id in &created {
            let (status, _) = server
                .call(
                    Method::GET,
                    &format!("/v1/incidents/{id}"),
                    Some(&key),
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{id} was answered 201 but is gone");
        }
        for (what, sql) in [
            (
                "timeline rows = version",
                "SELECT COUNT(*) AS n FROM incidents i WHERE i.version <> \
              (SELECT COUNT(*) FROM incident_timeline t WHERE t.tenant_id = i.tenant_id AND t.incident_id = i.id)",
            ),
            (
                "audit rows = version",
                "SELECT COUNT(*) AS n FROM incidents i WHERE i.version <> \
              (SELECT COUNT(*) FROM audit_ledger a WHERE a.tenant_id = i.tenant_id AND a.entity_id = i.id)",
            ),
            (
                "events = versions",
                "SELECT (SELECT COUNT(*) FROM event_outbox) - \
              CAST((SELECT COALESCE(SUM(version), 0) FROM incidents) AS BIGINT) AS n",
            ),
            (
                "sequence without gaps",
                "SELECT MAX(sequence_no) - COUNT(DISTINCT sequence_no) AS n FROM event_outbox",
            ),
            (
                "sequence without duplicates",
                "SELECT COUNT(*) - COUNT(DISTINCT sequence_no) AS n FROM event_outbox",
            ),
        ] {
            assert_eq!(
                hoc_spine::testing::scalar(&check, sql).await.expect(what),
                0,
                "{what}"
            );
        }
        #[allow(clippy::print_stderr)]
        {
            eprintln!("terminated {killed} backends; statuses {statuses:?}");
        }
        drop(admin);
        match Arc::try_unwrap(server) {
            Ok(server) => assert!(server.stop().await.success()),
            Err(_) => panic!("clients still hold the server"),
        }
    }
);

/// 1,100 idle and 200 slowloris connections against a server whose file-descriptor limit is 1,024: the server
/// stays under its connection cap, closes them by its timeouts, and a new request is still answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idle_and_slowloris_connections_do_not_lock_out_a_new_request() {
    let _alone = crate::TIMED.lock().await;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let db = hoc_spine::testing::TestDatabase::sqlite().await;
    let server = Server::start_with_nofile(
        db.url(),
        1024,
        &[
            "--header-read-timeout-ms",
            "2000",
            "--idle-timeout-ms",
            "3000",
        ],
    )
    .await;
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut idle = Vec::new();
    for _ in 0..1100 {
        idle.push(
            tokio::net::TcpStream::connect(&address)
                .await
                .expect("connect"),
        );
    }
    let mut slow = Vec::new();
    for n in 0..200 {
        let address = address.clone();
        slow.push(tokio::spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(&address)
                .await
                .expect("connect");
            let head = format!("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: {n:0>200}\r\n\r\n");
            let opened = Instant::now();
            for byte in head.bytes() {
                if stream.write_all(&[byte]).await.is_err() {
                    return Some(opened.elapsed());
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
                let mut probe = [0_u8; 1];
                if let Ok(Ok(0)) =
                    tokio::time::timeout(Duration::from_millis(1), stream.read(&mut probe)).await
                {
                    return Some(opened.elapsed());
                }
            }
            None
        }));
    }
    // A new client, after all of them.
    let started = Instant::now();
    let answered = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("client");
            if let Ok(res) = client.get(format!("{}/healthz", server.base)).send().await {
                return res.status();
            }
        }
    })
    .await
    .expect("a new request is answered within 20 s");
    assert_eq!(answered, StatusCode::OK);
    let waited = started.elapsed();
    // The slowloris connections were cut by the header-read timeout, long before they finished their heads.
    for handle in slow {
        let closed = handle.await.expect("slow client");
        let closed = closed.expect("a slowloris connection was never closed");
        assert!(closed < Duration::from_secs(30), "closed after {closed:?}");
    }
    // The idle ones were closed by the idle timeout (EOF to a reader).
    let mut closed_idle = 0;
    for mut stream in idle {
        let mut buf = [0_u8; 1];
        if let Ok(Ok(0)) =
            tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await
        {
            closed_idle += 1;
        }
    }
    assert_eq!(closed_idle, 1100, "idle connections left open");
    let (status, _) = server.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(status, StatusCode::OK, "answered after {waited:?}");
    assert!(server.stop().await.success());
}

/// A flood of silent connections that reconnect as soon as they are closed, more of them than the server's
/// connection cap (ulimit -n 1,024: 960 connections), with the default timeouts (10 s for a head, 60 s idle): a real
/// client on a new connection is answered within a second, every time, because at the cap the server closes the
/// connection that has waited longest for a request to make room.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_of_silent_connections_makes_room_for_a_real_client_within_a_second() {
    let _alone = crate::TIMED.lock().await;
    use tokio::io::AsyncReadExt;

    let db = hoc_spine::testing::TestDatabase::sqlite().await;
    let server = Server::start_with_nofile(db.url(), 1024, &[]).await;
    let address = server.base.trim_start_matches("http://").to_owned();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reconnects = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let connected = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (end_tx, end_rx) = tokio::sync::watch::channel(false);
    // The flood runs on a thread and runtime of its own (one thread, as an attacker's process would be), so what is
    // measured is the server's answer, not the test runtime starved by 1,100 reconnecting tasks.
    let flood = {
        let (address, stop, reconnects, connected) = (
            address.clone(),
            Arc::clone(&stop),
            Arc::clone(&reconnects),
            Arc::clone(&connected),
        );
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("flood runtime");
            runtime.block_on(async move {
                let mut tasks = Vec::new();
                for _ in 0..1100 {
                    // One after another: a storm of simultaneous handshakes overflows the listen queue, and a
                    // connection the server never sees holds nothing.
                    let first = tokio::net::TcpStream::connect(&address)
                        .await
                        .expect("connect");
                    connected.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let (address, stop, reconnects, mut ended) = (
                        address.clone(),
                        Arc::clone(&stop),
                        Arc::clone(&reconnects),
                        end_rx.clone(),
                    );
                    tasks.push(tokio::spawn(async move {
                        let mut stream = Some(first);
                        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                            let mut held = match stream.take() {
                                Some(held) => held,
                                None => match tokio::net::TcpStream::connect(&address).await {
                                    Ok(held) => held,
                                    Err(_) => {
                                        tokio::time::sleep(Duration::from_millis(10)).await;
                                        continue;
                                    }
                                },
                            };
                            // Send nothing and hold it until the server closes it (or the test ends), then
                            // come back.
                            let mut buf = [0_u8; 1];
                            tokio::select! {
                                _ = held.read(&mut buf) => {
                                    reconnects.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                }
                                _ = ended.changed() => break,
                            }
                        }
                    }));
                }
                for task in tasks {
                    let _ = task.await;
                }
            });
        })
    };
    let started = Instant::now();
    while connected.load(std::sync::atomic::Ordering::Relaxed) < 1100 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the flood did not connect"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = reconnects.load(std::sync::atomic::Ordering::Relaxed);
    let mut slowest = Duration::ZERO;
    for _ in 0..5 {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(1))
            .pool_max_idle_per_host(0)
            .build()
            .expect("client");
        let started = Instant::now();
        let res = client
            .get(format!("{}/healthz", server.base))
            .send()
            .await
            .expect("a real client is answered within a second despite the flood");
        assert_eq!(res.status(), StatusCode::OK);
        slowest = slowest.max(started.elapsed());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        slowest < Duration::from_secs(1),
        "slowest answer {slowest:?}"
    );
    // The room was made by closing flood connections (which came back), not by a timeout (10 s and 60 s here).
    assert!(
        reconnects.load(std::sync::atomic::Ordering::Relaxed) > before,
        "no silent connection was closed to make room"
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = end_tx.send(true);
    tokio::task::spawn_blocking(move || flood.join())
        .await
        .expect("joined")
        .expect("the flood thread ends");
    assert!(server.stop().await.success());
}

/// A request that runs past `--request-timeout-ms` (here: a write waiting on a lock for longer) is answered 503
/// with `Retry-After`, and its work is dropped: nothing of it is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_request_past_its_timeout_is_503_and_writes_nothing() {
    let _alone = crate::TIMED.lock().await;
    let test_db = hoc_spine::testing::TestDatabase::sqlite().await;
    let db = test_db.db().clone();
    let server = Server::start_with(
        test_db.url(),
        &[
            "--db-busy-timeout-ms",
            "10000",
            "--request-timeout-ms",
            "1000",
        ],
    )
    .await;
    let key = server.key("acme", "alice", "write").await;
    hold_write_lock(&db).await;
    let waited = refused_create(&server, &key, 0).await;
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(3),
        "answered after {waited:?} with a 1 s request timeout"
    );
    hoc_spine::testing::execute_raw(&db, "COMMIT")
        .await
        .expect("unlock");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        hoc_spine::testing::scalar(&db, "SELECT COUNT(*) AS n FROM incidents")
            .await
            .expect("count"),
        0
    );
    assert!(server.stop().await.success());
}
