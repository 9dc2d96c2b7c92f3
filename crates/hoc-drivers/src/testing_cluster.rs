//! A PostgreSQL primary and streaming replicas of its own, for the replica tests and benchmark: `initdb` on a
//! free port in a temporary directory, `pg_basebackup -R` for each replica, every server on loopback with its
//! socket in that directory. Stopped (immediate shutdown) and removed when dropped.
//!
//! PostgreSQL refuses to run as root; as root, its programs run as the `postgres` user (`runuser`), which owns the
//! temporary directory.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The database [`Cluster::start`] creates on the primary (and the replicas replay).
pub const DATABASE: &str = "hoc";

/// PostgreSQL's server programs (`initdb`, `pg_ctl`, `pg_basebackup`, `psql`): Debian keeps them out of the PATH,
/// under `/usr/lib/postgresql/<major>/bin`; the newest there.
pub fn server_bin() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let major = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((major, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|e| format!("no free port: {e}"))
}

fn text(p: &Path) -> Result<&str, String> {
    p.to_str()
        .ok_or_else(|| format!("{} is not UTF-8", p.display()))
}

/// A primary and its replicas.
#[derive(Debug)]
pub struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    primary: u16,
    replicas: Vec<u16>,
    as_postgres: bool,
}

impl Cluster {
    /// A primary with `replicas` streaming replicas, each caught up, and the database [`DATABASE`] on the primary.
    pub fn start(bin: PathBuf, replicas: usize) -> Result<Self, String> {
        let dir =
            std::env::temp_dir().join(format!("hoc-cluster-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let uid = Command::new("id")
            .arg("-u")
            .output()
            .map_err(|e| format!("id -u: {e}"))?;
        let as_postgres = String::from_utf8_lossy(&uid.stdout).trim() == "0";
        if as_postgres {
            let chown = Command::new("chown")
                .arg("postgres:postgres")
                .arg(&dir)
                .status()
                .map_err(|e| format!("chown: {e}"))?;
            if !chown.success() {
                return Err(format!("chown postgres {}: {chown}", dir.display()));
            }
        }
        let cluster = Self {
            bin,
            primary: free_port()?,
            replicas: (0..replicas)
                .map(|_| free_port())
                .collect::<Result<_, _>>()?,
            dir,
            as_postgres,
        };
        let primary = cluster.data("primary");
        cluster.run(
            "initdb",
            &[
                "-D",
                text(&primary)?,
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
            ],
        )?;
        cluster.pg_ctl_start(&primary, cluster.primary)?;
        for (n, port) in cluster.replicas.iter().enumerate() {
            let data = cluster.data(&format!("replica{n}"));
            let primary_port = cluster.primary.to_string();
            cluster.run(
                "pg_basebackup",
                &[
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &primary_port,
                    "-U",
                    "postgres",
                    "-D",
                    text(&data)?,
                    "-R",
                    "-X",
                    "stream",
                    "-c",
                    "fast",
                ],
            )?;
            cluster.pg_ctl_start(&data, *port)?;
        }
        cluster.psql(cluster.primary, &format!("CREATE DATABASE {DATABASE}"))?;
        cluster.caught_up()?;
        Ok(cluster)
    }

    fn data(&self, name: &str) -> PathBuf {
        self.dir.join(name)
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

    fn run(&self, program: &str, args: &[&str]) -> Result<String, String> {
        let out = self
            .command(program)
            .args(args)
            .output()
            .map_err(|e| format!("{program}: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "{program} {args:?}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn pg_ctl_start(&self, data: &Path, port: u16) -> Result<(), String> {
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            self.dir.display()
        );
        let log = data.with_extension("log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                text(data)?,
                "-w",
                "-t",
                "60",
                "-o",
                &options,
                "-l",
                text(&log)?,
                "start",
            ],
        )
        .map(drop)
    }

    /// Runs `sql` on the server at `port` (database `postgres`), returning its unaligned output.
    pub fn psql(&self, port: u16, sql: &str) -> Result<String, String> {
        let port = port.to_string();
        self.run(
            "psql",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-Atc",
                sql,
            ],
        )
    }

    /// The primary's port.
    pub fn primary(&self) -> u16 {
        self.primary
    }

    /// Replica `n`'s port.
    pub fn replica(&self, n: usize) -> u16 {
        self.replicas.get(n).copied().unwrap_or_default()
    }

    /// The URL of [`DATABASE`] on the server at `port`.
    pub fn url(port: u16) -> String {
        format!("postgres://postgres@127.0.0.1:{port}/{DATABASE}")
    }

    /// Stops replica `n` at once (`pg_ctl stop -m immediate`: what a crash does to its clients).
    pub fn stop_replica(&self, n: usize) -> Result<(), String> {
        let data = self.data(&format!("replica{n}"));
        self.run(
            "pg_ctl",
            &["-D", text(&data)?, "-m", "immediate", "-w", "stop"],
        )
        .map(drop)
    }

    /// Promotes replica `n` to a primary of its own (`pg_ctl promote`): it stops following the primary.
    pub fn promote_replica(&self, n: usize) -> Result<(), String> {
        let data = self.data(&format!("replica{n}"));
        self.run("pg_ctl", &["-D", text(&data)?, "-w", "promote"])
            .map(drop)
    }

    /// Holds replica `n` back (`pg_wal_replay_pause()`), or lets it replay again.
    pub fn pause_replay(&self, n: usize, paused: bool) -> Result<(), String> {
        let call = if paused {
            "pg_wal_replay_pause"
        } else {
            "pg_wal_replay_resume"
        };
        self.psql(self.replica(n), &format!("SELECT {call}()"))
            .map(drop)
    }

    /// Waits until every running replica has replayed everything the primary has written (30 s at most).
    pub fn caught_up(&self) -> Result<(), String> {
        let target = self.psql(self.primary, "SELECT pg_current_wal_lsn()")?;
        let started = Instant::now();
        for &port in &self.replicas {
            loop {
                let behind = self.psql(
                    port,
                    &format!(
                        "SELECT pg_last_wal_replay_lsn() < '{}'::pg_lsn",
                        target.trim()
                    ),
                )?;
                if behind.trim() == "f" {
                    break;
                }
                if started.elapsed() > Duration::from_secs(30) {
                    return Err(format!(
                        "the replica on {port} did not catch up within 30 s"
                    ));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Ok(())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let names = (0..self.replicas.len())
            .map(|n| format!("replica{n}"))
            .chain(["primary".to_owned()]);
        for name in names {
            if let Ok(data) = text(&self.data(&name)) {
                let _ = self
                    .command("pg_ctl")
                    .args(["-D", data, "-m", "immediate", "-w", "stop"])
                    .output();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
