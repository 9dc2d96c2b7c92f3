//! `cargo xtask chaos`: concurrent lifecycle and artifact traffic through a real `hocd serve`, which is killed
//! with SIGKILL three times (and restarted on the same port) and, on PostgreSQL, has its database backends
//! terminated twice; then every invariant of the ledger is checked:
//!
//! - every incident has as many timeline rows, audit rows and events that change it as its version, and timeline
//!   ordinals 1..N without gaps;
//! - per (tenant, project), `sequence_no` is 1..N without gap or duplicate;
//! - every 2xx a client saw is durable (the incident in at least the state it was answered with; the artifact);
//! - every idempotency record has its response;
//! - `hocd audit verify` passes.
//!
//! Clients retry every write with its `Idempotency-Key` until they get a definite answer, as a careful client of
//! a crashing server would. Runs on SQLite, and on PostgreSQL when `HOC_TEST_DATABASE_URL` names a server.
//! Prints what it did; exits non-zero naming every broken invariant.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hoc_spine::Database;
use hoc_spine::testing::{TestDatabase, scalar};
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;
use tokio::process::{Child, Command};

/// How long traffic runs on each database.
const RUN: Duration = Duration::from_secs(24);
/// Concurrent clients.
const CLIENTS: usize = 8;

/// What a client was told with a 2xx.
#[derive(Debug, Default)]
struct Seen {
    /// incident id → the last status a 2xx answered.
    incidents: BTreeMap<String, String>,
    /// (tenant key index, dataset id, version) of artifacts answered 2xx.
    artifacts: Vec<(usize, String, String)>,
    /// Statuses of every answer.
    statuses: BTreeMap<u16, usize>,
    /// Requests that got no answer (connection refused or reset while hocd was down).
    no_answer: usize,
}

struct Hocd {
    binary: PathBuf,
    url: String,
    port: u16,
    child: Option<Child>,
}

impl Hocd {
    async fn start(&mut self) -> Result<(), String> {
        let mut child = Command::new(&self.binary)
            .args([
                "serve",
                "--database-url",
                &self.url,
                "--bind",
                &format!("127.0.0.1:{}", self.port),
            ])
            .env("HOC_LOG", "error")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("hocd serve: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        match tokio::time::timeout(Duration::from_secs(60), lines.next_line()).await {
            Ok(Ok(Some(line))) if line.starts_with("hocd listening on ") => {}
            other => return Err(format!("hocd did not start: {other:?}")),
        }
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        self.child = Some(child);
        Ok(())
    }

    async fn kill9(&mut self) -> Result<(), String> {
        if let Some(mut child) = self.child.take() {
            child.start_kill().map_err(|e| e.to_string())?;
            child.wait().await.map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    async fn stop(&mut self) -> Result<(), String> {
        if let Some(mut child) = self.child.take() {
            if let Some(pid) = child.id() {
                Command::new("kill")
                    .args(["-TERM", &pid.to_string()])
                    .status()
                    .await
                    .map_err(|e| e.to_string())?;
            }
            tokio::time::timeout(Duration::from_secs(30), child.wait())
                .await
                .map_err(|_| "hocd did not stop within 30 s of SIGTERM".to_owned())?
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// Runs the hocd CLI: (success, stdout, stderr).
async fn cli(binary: &Path, args: &[&str]) -> Result<(bool, String, String), String> {
    let out = Command::new(binary)
        .args(args)
        .env("HOC_LOG", "error")
        .output()
        .await
        .map_err(|e| format!("hocd {}: {e}", args.join(" ")))?;
    Ok((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// Sends one write until it gets a definite answer (anything but no answer or 503), with the same idempotency
/// key every time; `None` when the run ended first.
async fn write(
    seen: &Mutex<Seen>,
    stop_at: Instant,
    request: impl Fn() -> reqwest::RequestBuilder,
) -> Option<(u16, Value)> {
    let key = format!("chaos-{}", uuid::Uuid::now_v7());
    // Past the end of the run a write still in doubt is retried a while, so its outcome is known.
    let give_up = stop_at + Duration::from_secs(20);
    loop {
        if Instant::now() > give_up {
            return None;
        }
        match request()
            .header("Idempotency-Key", &key)
            .timeout(Duration::from_secs(10))
            .send()
            .await
        {
            Ok(response) => {
                let status = response.status().as_u16();
                let body: Value = response.json().await.unwrap_or(Value::Null);
                if let Ok(mut seen) = seen.lock() {
                    *seen.statuses.entry(status).or_default() += 1;
                }
                if status != 503 {
                    return Some((status, body));
                }
            }
            Err(_) => {
                if let Ok(mut seen) = seen.lock() {
                    seen.no_answer += 1;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn client_loop(
    n: usize,
    base: String,
    keys: Arc<Vec<String>>,
    seen: Arc<Mutex<Seen>>,
    stop_at: Instant,
) {
    let client = reqwest::Client::new();
    let mut i = 0;
    while Instant::now() < stop_at {
        i += 1;
        let tenant = (n + i) % keys.len();
        let key = keys[tenant].clone();
        if i % 5 == 0 {
            let (dataset, version) = (format!("ds_{n}"), format!("v{i}"));
            let url = format!("{base}/v1/analytics/artifacts/{dataset}/{version}");
            let body = json!({
                "input_window_hash": format!("{:064x}", n * 1_000_000 + i),
                "as_of": "2026-11-02T00:00:00Z",
                "compute_code_version": "git:chaos",
            });
            if let Some((status, _)) = write(&seen, stop_at, || {
                client.put(&url).bearer_auth(&key).json(&body)
            })
            .await
                && (200..300).contains(&status)
                && let Ok(mut seen) = seen.lock()
            {
                seen.artifacts.push((tenant, dataset, version));
            }
            continue;
        }
        let body = json!({
            "title": format!("chaos {n}/{i}"),
            "severity": "high",
            "category": "database",
            "error_message": format!("connection reset after {i} ms"),
        });
        let Some((201, created)) = write(&seen, stop_at, || {
            client
                .post(format!("{base}/v1/incidents"))
                .bearer_auth(&key)
                .json(&body)
        })
        .await
        else {
            continue;
        };
        let Some(id) = created["id"].as_str().map(str::to_owned) else {
            continue;
        };
        if let Ok(mut seen) = seen.lock() {
            seen.incidents.insert(id.clone(), "open".into());
        }
        for (step, body, state) in [
            ("acknowledge", json!({"reason": "on it"}), "acknowledged"),
            (
                "resolve",
                json!({"resolution_type": "hotfix", "resolution_summary": "patched"}),
                "resolved",
            ),
        ] {
            let url = format!("{base}/v1/incidents/{id}/{step}");
            match write(&seen, stop_at, || {
                client.post(&url).bearer_auth(&key).json(&body)
            })
            .await
            {
                Some((200, _)) => {
                    if let Ok(mut seen) = seen.lock() {
                        seen.incidents.insert(id.clone(), state.into());
                    }
                }
                _ => break,
            }
        }
    }
}

/// Terminates every backend of `database` on the server of `admin`.
async fn terminate_backends(admin: &Database, database: &str) -> Result<i64, String> {
    scalar(
        admin,
        &format!(
            "SELECT COUNT(pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
             WHERE datname = '{database}' AND pid <> pg_backend_pid()"
        ),
    )
    .await
    .map_err(|e| e.to_string())
}

/// One run on one database; returns the broken invariants.
/// A timeline row that records no change of its incident: a note's.
const SIDE_ROW: &str = "t.event_type IN ('note_added', 'note_edited', 'note_deleted')";

async fn run(
    binary: &Path,
    test_db: &TestDatabase,
    admin: Option<&Database>,
) -> Result<Vec<String>, String> {
    let url = test_db.url().to_owned();
    let mut keys = Vec::new();
    for tenant in ["acme", "globex"] {
        let (ok, out, err) = cli(
            binary,
            &[
                "keys",
                "create",
                "--database-url",
                &url,
                "--tenant",
                tenant,
                "--actor",
                "chaos",
                "--scope",
                "write",
            ],
        )
        .await?;
        if !ok {
            return Err(format!("keys create: {err}"));
        }
        keys.push(out.trim().to_owned());
    }
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        probe.local_addr().map_err(|e| e.to_string())?.port()
    };
    let mut hocd = Hocd {
        binary: binary.to_owned(),
        url: url.clone(),
        port,
        child: None,
    };
    hocd.start().await?;
    let base = format!("http://127.0.0.1:{port}");
    let seen = Arc::new(Mutex::new(Seen::default()));
    let keys = Arc::new(keys);
    let started = Instant::now();
    let stop_at = started + RUN;
    let clients: Vec<_> = (0..CLIENTS)
        .map(|n| {
            tokio::spawn(client_loop(
                n,
                base.clone(),
                Arc::clone(&keys),
                Arc::clone(&seen),
                stop_at,
            ))
        })
        .collect();
    // Faults at fixed points: SIGKILL at 4, 10 and 16 s (restarted at once); backends terminated at 7 and 13 s.
    let name = url
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned();
    let mut kills = 0;
    let mut terminated = 0;
    for (at, fault) in [
        (4, "kill"),
        (7, "terminate"),
        (10, "kill"),
        (13, "terminate"),
        (16, "kill"),
    ] {
        tokio::time::sleep_until((started + Duration::from_secs(at)).into()).await;
        match (fault, admin) {
            ("kill", _) => {
                hocd.kill9().await?;
                kills += 1;
                hocd.start().await?;
            }
            ("terminate", Some(admin)) => terminated += terminate_backends(admin, &name).await?,
            _ => {}
        }
    }
    for client in clients {
        client.await.map_err(|e| e.to_string())?;
    }
    hocd.stop().await?;

    let seen = Arc::try_unwrap(seen)
        .map_err(|_| "clients still hold the record".to_owned())?
        .into_inner()
        .map_err(|_| "a client panicked".to_owned())?;
    println!(
        "  {kills} SIGKILLs, {terminated} backends terminated; answers {:?}, {} without an answer; \
         {} incidents and {} artifacts answered 2xx",
        seen.statuses,
        seen.no_answer,
        seen.incidents.len(),
        seen.artifacts.len()
    );
    let mut broken = Vec::new();
    if seen.statuses.keys().any(|s| *s >= 500 && *s != 503) {
        broken.push(format!(
            "a 5xx other than 503 was answered: {:?}",
            seen.statuses
        ));
    }
    if seen.incidents.len() < 10 {
        broken.push(format!(
            "too little traffic got through ({} incidents)",
            seen.incidents.len()
        ));
    }

    // A fresh pool (the test pool's connections may have been terminated).
    let db = Database::connect(&url).await.map_err(|e| e.to_string())?;
    let event_incident = match db.backend() {
        hoc_spine::Backend::Postgres => "(e.payload::jsonb -> 'data' ->> 'incident_id')",
        hoc_spine::Backend::Sqlite => "json_extract(e.payload, '$.data.incident_id')",
    };
    let checks = [
        // A change of an incident makes one version, one timeline row, one audit row and one event; a note (a
        // timeline row, its own audit entity and events) is not a change of the incident.
        (
            "every incident has a timeline row per version",
            format!(
                "SELECT COUNT(*) AS n FROM incidents i WHERE i.version <> (SELECT COUNT(*) FROM incident_timeline t \
                 WHERE t.tenant_id = i.tenant_id AND t.incident_id = i.id AND NOT {SIDE_ROW})"
            ),
        ),
        (
            "timeline ordinals are 1..N without gaps",
            "SELECT COUNT(*) AS n FROM incidents i WHERE EXISTS (SELECT 1 FROM incident_timeline t \
             WHERE t.tenant_id = i.tenant_id AND t.incident_id = i.id AND (t.ordinal < 1 OR t.ordinal > \
             (SELECT COUNT(*) FROM incident_timeline u WHERE u.tenant_id = i.tenant_id AND u.incident_id = i.id)))"
                .to_owned(),
        ),
        (
            "every incident has an audit row per version",
            "SELECT COUNT(*) AS n FROM incidents i WHERE i.version <> (SELECT COUNT(*) FROM audit_ledger a \
             WHERE a.tenant_id = i.tenant_id AND a.entity_type = 'incident' AND a.entity_id = i.id)"
                .to_owned(),
        ),
        (
            "every incident has an event per version",
            format!(
                "SELECT COUNT(*) AS n FROM incidents i WHERE i.version <> (SELECT COUNT(*) FROM event_outbox e \
                 WHERE e.tenant_id = i.tenant_id AND {event_incident} = i.id \
                 AND e.event_type NOT LIKE 'incidents.IncidentNote%')"
            ),
        ),
        (
            "sequence_no is 1..N per (tenant, project)",
            "SELECT COUNT(*) AS n FROM (SELECT MAX(sequence_no) AS m, COUNT(*) AS c, COUNT(DISTINCT sequence_no) AS d \
             FROM event_outbox GROUP BY tenant_id, project_id) x WHERE x.m <> x.c OR x.c <> x.d"
                .to_owned(),
        ),
        (
            "every idempotency record has its response",
            "SELECT COUNT(*) AS n FROM idempotency_keys WHERE status_code IS NULL OR response_body IS NULL"
                .to_owned(),
        ),
    ];
    for (what, sql) in checks {
        match scalar(&db, &sql).await {
            Ok(0) => {}
            Ok(n) => broken.push(format!("{what}: {n} violation(s)")),
            Err(e) => broken.push(format!("{what}: the check failed: {e}")),
        }
    }
    let order = |status: &str| {
        ["open", "acknowledged", "resolved", "closed"]
            .iter()
            .position(|s| *s == status)
    };
    let client = reqwest::Client::new();
    hocd.start().await?;
    for (id, answered) in &seen.incidents {
        let mut found = None;
        for key in keys.iter() {
            let response = client
                .get(format!("{base}/v1/incidents/{id}"))
                .bearer_auth(key)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if response.status().is_success() {
                let body: Value = response.json().await.map_err(|e| e.to_string())?;
                found = body["status"].as_str().map(str::to_owned);
                break;
            }
        }
        match found {
            None => broken.push(format!("incident {id} was answered 2xx but is gone")),
            Some(status) if order(&status) < order(answered) => broken.push(format!(
                "incident {id} was answered {answered} but is {status}"
            )),
            Some(_) => {}
        }
    }
    for (tenant, dataset, version) in &seen.artifacts {
        let response = client
            .get(format!(
                "{base}/v1/analytics/artifacts/{dataset}?version={version}"
            ))
            .bearer_auth(&keys[*tenant])
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            broken.push(format!(
                "artifact {dataset}/{version} was answered 2xx but is gone"
            ));
        }
    }
    hocd.stop().await?;
    let (ok, report, err) = cli(binary, &["audit", "verify", "--database-url", &url]).await?;
    if ok {
        println!("  {}", report.trim());
    } else {
        broken.push(format!(
            "hocd audit verify: {} {}",
            report.trim(),
            err.trim()
        ));
    }
    db.close().await.map_err(|e| e.to_string())?;
    Ok(broken)
}

#[tokio::main]
async fn main() -> ExitCode {
    let Some(binary) = std::env::args().nth(1).map(PathBuf::from) else {
        eprintln!("usage: hoc-chaos PATH_TO_HOCD");
        return ExitCode::from(2);
    };
    let mut failed = false;
    let mut databases = vec![("sqlite", TestDatabase::sqlite().await, None)];
    match TestDatabase::postgres().await {
        Some(db) => {
            let admin_url =
                std::env::var(hoc_spine::testing::TEST_DATABASE_URL_VAR).unwrap_or_default();
            match Database::connect(&admin_url).await {
                Ok(admin) => databases.push(("postgres", db, Some(admin))),
                Err(e) => {
                    eprintln!("chaos: cannot connect to {admin_url}: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        None => eprintln!(
            "chaos: {} not set: PostgreSQL not run",
            hoc_spine::testing::TEST_DATABASE_URL_VAR
        ),
    }
    for (name, db, admin) in &databases {
        println!("chaos on {name}: {CLIENTS} clients for {} s", RUN.as_secs());
        match run(&binary, db, admin.as_ref()).await {
            Ok(broken) if broken.is_empty() => println!("  every invariant holds"),
            Ok(broken) => {
                failed = true;
                for b in broken {
                    println!("  BROKEN {b}");
                }
            }
            Err(e) => {
                failed = true;
                println!("  FAILED {e}");
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
