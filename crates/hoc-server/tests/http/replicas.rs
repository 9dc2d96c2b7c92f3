//! Read replicas (issue 27): a PostgreSQL primary and a streaming replica created here (`initdb`,
//! `pg_basebackup`, on free ports in a temporary directory), and `hocd serve --read-database-url`. Reads at past
//! instants are answered by the replica with the primary's bytes; a replica held back is not used for newer
//! instants; stopping it under load fails no request.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::Server;

/// PostgreSQL's server programs (`initdb`, `pg_ctl`, `pg_basebackup`, `psql`): Debian keeps them out of the PATH,
/// under `/usr/lib/postgresql/<major>/bin`; the newest there. CI has them (it runs PostgreSQL).
fn server_bin() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .filter(|bin| bin.join("initdb").is_file())
        .collect();
    found.sort_by_key(|bin| {
        bin.parent()
            .and_then(Path::file_name)
            .and_then(|major| major.to_str()?.parse::<u32>().ok())
    });
    let bin = found.pop();
    if bin.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have PostgreSQL's server programs under /usr/lib/postgresql"
        );
        #[allow(clippy::print_stderr)]
        {
            eprintln!(
                "PostgreSQL's server programs are not installed: the replica tests did not run"
            );
        }
    }
    bin
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A primary and one streaming replica, each its own `postgres` on loopback; stopped and removed when dropped.
struct Pair {
    bin: PathBuf,
    dir: PathBuf,
    primary: u16,
    replica: u16,
    /// PostgreSQL refuses to run as root: as root, its programs run as the `postgres` user.
    as_postgres: bool,
}

impl Pair {
    fn start() -> Option<Self> {
        let bin = server_bin()?;
        let dir =
            std::env::temp_dir().join(format!("hoc-replica-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        // The effective user: `id -u` prints 0 for root.
        let uid = Command::new("id").arg("-u").output().unwrap();
        let as_postgres = String::from_utf8_lossy(&uid.stdout).trim() == "0";
        if as_postgres {
            let status = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&dir)
                .status()
                .unwrap();
            assert!(
                status.success(),
                "chown the temporary directory to postgres"
            );
        }
        let pair = Self {
            bin,
            dir,
            primary: free_port(),
            replica: free_port(),
            as_postgres,
        };
        let primary = pair.dir.join("primary");
        pair.run(
            "initdb",
            &[
                "-D",
                path(&primary),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
            ],
        );
        pair.pg_ctl(&primary, pair.primary, "start");
        pair.run(
            "pg_basebackup",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &pair.primary.to_string(),
                "-U",
                "postgres",
                "-D",
                path(&pair.dir.join("replica")),
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
            ],
        );
        pair.pg_ctl(&pair.dir.join("replica"), pair.replica, "start");
        pair.psql(pair.primary, "postgres", "CREATE DATABASE hoc");
        Some(pair)
    }

    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        if self.as_postgres {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(program);
            cmd
        } else {
            Command::new(program)
        }
    }

    fn run(&self, program: &str, args: &[&str]) -> String {
        let out = self.command(program).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{program} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `pg_ctl start|stop` of the cluster in `data` on `port` (its socket in the temporary directory, fsync off).
    fn pg_ctl(&self, data: &Path, port: u16, action: &str) {
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.dir.display()
        );
        let log = data.with_extension("log");
        let mut args = vec!["-D", path(data), "-w", "-t", "60"];
        match action {
            "start" => args.extend(["-o", &options, "-l", path(&log), "start"]),
            _ => args.extend(["-m", "immediate", "stop"]),
        }
        self.run("pg_ctl", &args);
    }

    fn psql(&self, port: u16, database: &str, sql: &str) -> String {
        self.run(
            "psql",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-U",
                "postgres",
                "-d",
                database,
                "-Atc",
                sql,
            ],
        )
    }

    fn url(port: u16) -> String {
        format!("postgres://postgres@127.0.0.1:{port}/hoc")
    }

    fn stop_replica(&self) {
        self.pg_ctl(&self.dir.join("replica"), self.replica, "stop");
    }

    /// Waits until the replica has replayed everything the primary has written.
    fn caught_up(&self) {
        let target = self.psql(self.primary, "postgres", "SELECT pg_current_wal_lsn()");
        let started = Instant::now();
        loop {
            let behind = self.psql(
                self.replica,
                "postgres",
                &format!(
                    "SELECT pg_last_wal_replay_lsn() < '{}'::pg_lsn",
                    target.trim()
                ),
            );
            if behind.trim() == "f" {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the replica never caught up"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

impl Drop for Pair {
    fn drop(&mut self) {
        for data in ["replica", "primary"] {
            let data = self.dir.join(data);
            let _ = self
                .command("pg_ctl")
                .args(["-D", path(&data), "-m", "immediate", "-w", "stop"])
                .output();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `hoc_replica_reads_total` of the replica on `port`, from `/metrics`.
async fn replica_reads(server: &Server, port: u16) -> u64 {
    let (status, _, text) = server.raw(Method::GET, "/metrics", None, None, &[]).await;
    assert_eq!(status, StatusCode::OK);
    let label = format!("hoc_replica_reads_total{{replica=\"127.0.0.1:{port}\"}}");
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
    let Some(pair) = Pair::start() else { return };
    let (primary_url, replica_url) = (Pair::url(pair.primary), Pair::url(pair.replica));
    let with = Server::start_with(&primary_url, &["--read-database-url", &replica_url]).await;
    let without = Server::start(&primary_url).await;
    let key = with.key("acme", "alice", "write").await;
    let past = history(&with, &key, 6).await;
    let (_, list) = with
        .call(Method::GET, "/v1/incidents?limit=1", Some(&key), None)
        .await;
    let id = list["items"][0]["id"].as_str().unwrap().to_owned();
    pair.caught_up();

    // Past reads: the replica answers, with the bytes the primary gives.
    let before = replica_reads(&with, pair.replica).await;
    for path in reads(&past, &id) {
        assert_eq!(
            body(&with, &key, &path).await,
            body(&without, &key, &path).await,
            "{path}"
        );
    }
    let served = replica_reads(&with, pair.replica).await - before;
    assert_eq!(
        served,
        reads(&past, &id).len() as u64,
        "every past read went to the replica"
    );

    // Held back: the replica stops replaying; a write after it is newer than anything the replica has. Reading at
    // the instant that write answered with (read-your-writes) shows it: the primary answers.
    pair.psql(pair.replica, "postgres", "SELECT pg_wal_replay_pause()");
    let newer = history(&with, &key, 1).await;
    let before = replica_reads(&with, pair.replica).await;
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
        replica_reads(&with, pair.replica).await,
        before,
        "the primary answered it"
    );
    // The older instant is still the replica's.
    body(&with, &key, &reads(&past, &id)[0]).await;
    assert_eq!(replica_reads(&with, pair.replica).await, before + 1);
    pair.psql(pair.replica, "postgres", "SELECT pg_wal_replay_resume()");

    let (status, ready) = with.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(status, StatusCode::OK, "{ready}");
    assert_eq!(
        ready["checks"][format!("replica:127.0.0.1:{}", pair.replica)],
        "ok"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stopping_the_replica_under_load_fails_no_request() {
    let Some(pair) = Pair::start() else { return };
    let (primary_url, replica_url) = (Pair::url(pair.primary), Pair::url(pair.replica));
    let server = std::sync::Arc::new(
        Server::start_with(&primary_url, &["--read-database-url", &replica_url]).await,
    );
    let key = server.key("acme", "alice", "write").await;
    let past = history(&server, &key, 4).await;
    let (_, list) = server
        .call(Method::GET, "/v1/incidents?limit=1", Some(&key), None)
        .await;
    let id = list["items"][0]["id"].as_str().unwrap().to_owned();
    pair.caught_up();
    let paths = reads(&past, &id);
    let mut expected = Vec::new();
    for path in &paths {
        expected.push(body(&server, &key, path).await);
    }
    assert!(
        replica_reads(&server, pair.replica).await > 0,
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
    let before_stop = replica_reads(&server, pair.replica).await;
    tokio::task::block_in_place(|| pair.stop_replica());
    let mut total = 0;
    for client in clients {
        total += client
            .await
            .expect("every request answered 200 with the same bytes");
    }
    assert!(total > 0);
    assert!(before_stop > 0);
    let (status, ready) = server.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a replica down never makes hocd unready: {ready}"
    );
    let check = ready["checks"][format!("replica:127.0.0.1:{}", pair.replica)]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(check.starts_with("unreachable"), "{check}");
}
