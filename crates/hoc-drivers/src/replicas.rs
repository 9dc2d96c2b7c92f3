//! Read replicas: PostgreSQL streaming replicas that serve reads at instants they have already replayed.
//!
//! A read at a fixed instant `T` of a tenant never changes once `T` is committed (the tenant clock, see
//! `hoc_ledger::clock`): a tenant's writes take strictly increasing instants in commit order, and a replica replays
//! commits in that order. So a replica whose own `tenant_clocks` row for the tenant is at `T` or later holds every
//! write at or before `T`, and answers a read at `T` exactly as the primary does.
//!
//! A replica is asked for a tenant's clock (and whether it is still in recovery, i.e. still a replica) at most
//! once a second per tenant while what it last said covers the instants asked for; a replica that cannot be
//! reached is left alone for [`REST`]; a promoted one (no longer in recovery) is not used. None of this ever fails a
//! read: the read goes to the primary instead.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::sqlx::postgres::PgConnectOptions;
use sea_orm::{ConnectOptions, ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use crate::{Database, StorageError, Tx, tenant_clock};

/// How long a replica that failed is left out before it is tried again.
pub(crate) const REST: Duration = Duration::from_secs(5);
/// How long what a replica said about a tenant's clock and its recovery is trusted without asking again.
const FRESH: Duration = Duration::from_secs(1);
/// How long a read waits for a replica's connection before it goes to the primary.
const ACQUIRE: Duration = Duration::from_millis(500);

/// What a replica said of one tenant: its clock (microseconds) and when.
#[derive(Debug, Clone, Copy)]
struct Seen {
    micros: i64,
    at: Instant,
}

#[derive(Debug, Default)]
struct State {
    /// Per tenant, the clock the replica last reported.
    clocks: HashMap<String, Seen>,
    /// Left out until then, after a failure.
    resting_until: Option<Instant>,
    /// What is wrong with it, if anything (for `/readyz`).
    problem: Option<String>,
}

/// One replica.
#[derive(Debug)]
struct Replica {
    name: String,
    pool: DatabaseConnection,
    reads: AtomicU64,
    failovers: AtomicU64,
    state: Mutex<State>,
}

/// A replica's figures for `/readyz` and `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaStatus {
    /// `host:port`.
    pub name: String,
    /// Reads it has answered.
    pub reads: u64,
    /// Reads sent to it that it failed (its clock check or the read itself), which the primary answered instead.
    pub failovers: u64,
    /// Why it is not in use now (unreachable, promoted), if it is not.
    pub problem: Option<String>,
}

/// The replicas of a [`Database`] (none by default). Cheap to clone.
#[derive(Debug, Clone, Default)]
pub(crate) struct Replicas {
    all: Arc<Vec<Replica>>,
    next: Arc<AtomicUsize>,
}

/// A replica chosen for one read: run it on [`ReplicaRead::tx`], then report how it went.
#[derive(Debug)]
pub struct ReplicaRead {
    replicas: Replicas,
    index: usize,
    tx: Tx,
}

impl ReplicaRead {
    /// The reader on the replica.
    pub fn tx(&self) -> &Tx {
        &self.tx
    }

    /// The read succeeded: count it.
    pub fn served(self) {
        if let Some(replica) = self.replicas.all.get(self.index) {
            replica.reads.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The read failed on the replica (the caller reads from the primary instead): leave the replica out for
    /// [`REST`].
    pub fn failed(self, problem: &str) {
        if let Some(replica) = self.replicas.all.get(self.index) {
            replica.failovers.fetch_add(1, Ordering::Relaxed);
            replica.rest(problem);
        }
    }
}

impl Replica {
    fn rest(&self, problem: &str) {
        tracing::warn!(replica = %self.name, %problem, "a read replica is left out");
        if let Ok(mut state) = self.state.lock() {
            state.resting_until = Some(Instant::now() + REST);
            state.problem = Some(problem.to_owned());
            state.clocks.clear();
        }
    }

    /// Whether the replica has replayed the tenant's writes up to `micros`: from what it said within [`FRESH`],
    /// else by asking it (one statement: its recovery state and the tenant's clock).
    async fn covers(&self, tenant_id: &str, micros: i64) -> bool {
        let now = Instant::now();
        if let Ok(state) = self.state.lock() {
            if state.resting_until.is_some_and(|until| now < until) {
                return false;
            }
            if let Some(seen) = state.clocks.get(tenant_id)
                && seen.micros >= micros
                && now.duration_since(seen.at) < FRESH
            {
                return true;
            }
        }
        let asked = self
            .pool
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                format!(
                    "SELECT pg_is_in_recovery() AS recovering, ({}) AS last_micros",
                    tenant_clock::last_sql("$1")
                ),
                [tenant_id.into()],
            ))
            .await;
        let row = match asked {
            Ok(Some(row)) => row,
            Ok(None) => return false,
            Err(e) => {
                // A read was on its way here: the primary answers it instead.
                self.failovers.fetch_add(1, Ordering::Relaxed);
                self.rest(&format!("unreachable: {e}"));
                return false;
            }
        };
        let recovering: bool = row.try_get("", "recovering").unwrap_or(false);
        if !recovering {
            self.rest("promoted: it is no longer a replica");
            return false;
        }
        let clock: Option<i64> = row.try_get("", "last_micros").unwrap_or(None);
        let Ok(mut state) = self.state.lock() else {
            return false;
        };
        state.resting_until = None;
        state.problem = None;
        match clock {
            Some(clock) => {
                state.clocks.insert(
                    tenant_id.to_owned(),
                    Seen {
                        micros: clock,
                        at: now,
                    },
                );
                clock >= micros
            }
            None => false,
        }
    }
}

/// `host:port` of a `postgres://…` URL (what `/readyz` and `/metrics` name a replica by; never the credentials).
fn name_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:5432")
    }
}

impl Database {
    /// This database with read replicas: PostgreSQL streaming replicas of it, by URL. Their pools connect lazily,
    /// so a replica that is down at start is only left out.
    pub async fn with_read_replicas(mut self, urls: &[String]) -> Result<Self, StorageError> {
        if self.backend != crate::Backend::Postgres && !urls.is_empty() {
            return Err(StorageError::ReplicasUnsupported {
                problem: "the primary is SQLite".to_owned(),
            });
        }
        let mut all = Vec::with_capacity(urls.len());
        for url in urls {
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                return Err(StorageError::ReplicasUnsupported {
                    problem: format!(
                        "`{}` is not a postgres:// url",
                        url.split(':').next().unwrap_or_default()
                    ),
                });
            }
            let mut options = ConnectOptions::new(url.clone());
            options
                .sqlx_logging(false)
                .max_connections(16)
                .min_connections(0)
                .acquire_timeout(ACQUIRE)
                .connect_timeout(ACQUIRE)
                .test_before_acquire(false)
                .connect_lazy(true);
            options.map_sqlx_postgres_opts(|opts: PgConnectOptions| opts.options([("jit", "off")]));
            let pool = sea_orm::Database::connect(options)
                .await
                .map_err(StorageError::from_db)?;
            all.push(Replica {
                name: name_of(url),
                pool,
                reads: AtomicU64::new(0),
                failovers: AtomicU64::new(0),
                state: Mutex::default(),
            });
        }
        self.replicas = Replicas {
            all: Arc::new(all),
            next: Arc::default(),
        };
        Ok(self)
    }

    /// A replica that can answer a read of `tenant_id` at `micros` (microseconds since 1970), if one can; the
    /// replicas are tried in turn, starting from the one after the last chosen.
    pub async fn replica_at(&self, tenant_id: &str, micros: i64) -> Option<ReplicaRead> {
        let replicas = &self.replicas;
        let count = replicas.all.len();
        if count == 0 {
            return None;
        }
        let first = replicas.next.fetch_add(1, Ordering::Relaxed);
        for step in 0..count {
            let index = (first + step) % count;
            let replica = &replicas.all[index];
            if replica.covers(tenant_id, micros).await {
                return Some(ReplicaRead {
                    replicas: replicas.clone(),
                    index,
                    tx: Tx::on_pool(replica.pool.clone()),
                });
            }
        }
        None
    }

    /// Asks every replica, side by side, whether it answers within `within` and is still a replica (in
    /// recovery), updating what reads use, then returns [`Self::replica_status`]. For `/readyz`.
    pub async fn probe_replicas(&self, within: Duration) -> Vec<ReplicaStatus> {
        let probes = self.replicas.all.iter().map(|replica| async move {
            let asked = tokio::time::timeout(
                within,
                replica.pool.query_one_raw(Statement::from_string(
                    DbBackend::Postgres,
                    "SELECT pg_is_in_recovery() AS recovering",
                )),
            )
            .await;
            match asked {
                Ok(Ok(Some(row))) if row.try_get("", "recovering").unwrap_or(false) => {
                    if let Ok(mut state) = replica.state.lock() {
                        state.resting_until = None;
                        state.problem = None;
                    }
                }
                Ok(Ok(_)) => replica.rest("promoted: it is no longer a replica"),
                Ok(Err(e)) => replica.rest(&format!("unreachable: {e}")),
                Err(_) => replica.rest(&format!(
                    "unreachable: no answer within {} ms",
                    within.as_millis()
                )),
            }
        });
        futures_util::future::join_all(probes).await;
        self.replica_status()
    }

    /// Every replica's figures, in the order they were given.
    pub fn replica_status(&self) -> Vec<ReplicaStatus> {
        let now = Instant::now();
        self.replicas
            .all
            .iter()
            .map(|replica| ReplicaStatus {
                name: replica.name.clone(),
                reads: replica.reads.load(Ordering::Relaxed),
                failovers: replica.failovers.load(Ordering::Relaxed),
                problem: replica.state.lock().ok().and_then(|state| {
                    state
                        .resting_until
                        .filter(|until| now < *until)
                        .and(state.problem.clone())
                }),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::name_of;
    use crate::{Database, StorageError};

    #[tokio::test]
    async fn replicas_of_sqlite_or_not_postgres_are_refused() {
        let sqlite = Database::connect("sqlite::memory:").await.expect("sqlite");
        let refused = sqlite
            .with_read_replicas(&["postgres://127.0.0.1:1/hoc".to_owned()])
            .await;
        assert!(
            matches!(&refused, Err(StorageError::ReplicasUnsupported { problem }) if problem.contains("SQLite")),
            "{refused:?}"
        );
    }

    #[test]
    fn a_replica_is_named_by_host_and_port_without_credentials() {
        assert_eq!(
            name_of("postgres://reader:secret@10.0.0.7:5433/hoc?sslmode=disable"),
            "10.0.0.7:5433"
        );
        assert_eq!(name_of("postgresql://db.internal/hoc"), "db.internal:5432");
    }
}
