//! Reads at a past instant with read replicas (`hoc-bench --replicas 100000`): a PostgreSQL primary and two
//! streaming replicas of its own (`hoc_drivers::testing::cluster`: `initdb`, `pg_basebackup`, loopback), seeded with
//! that many incidents; then, with 0, 1 and 2 replicas in use, 8 and 32 clients reading at the last seeded instant —
//! an incident by id, and the first page of the list. Every server and every client share this machine's cores: the
//! figures show what routing costs and where the reads go, not what more machines would add.

use hoc_drivers::Database;
use hoc_drivers::testing::cluster::{Cluster, server_bin};
use hoc_spine::requests::{GetIncident, ListIncidents};
use hoc_spine::{OperationContext, Spine};
use time::OffsetDateTime;

use crate::Bench;
use crate::measure::{Sample, measure};
use crate::seed::{self, Seeded};

/// A measured read: the request for the `k`-th call.
fn reads(
    spine: Spine,
    ctx: OperationContext,
    size: i64,
    list: bool,
) -> impl Fn(usize) -> Option<crate::metrics::Call> + Send + Sync + 'static {
    move |k| {
        let (spine, ctx) = (spine.clone(), ctx.clone());
        let i = (k as i64).wrapping_mul(7_919).rem_euclid(size);
        Some(Box::pin(async move {
            if list {
                let page = ListIncidents {
                    limit: Some(50),
                    ..ListIncidents::default()
                };
                spine.call(&ctx, &page).await.map(drop)
            } else {
                spine
                    .call(&ctx, &GetIncident { id: Seeded::id(i) })
                    .await
                    .map(drop)
            }
            .map_err(|e| e.to_string())
        }))
    }
}

pub(crate) async fn run(size: i64, seconds: f64) -> Result<(), String> {
    let bin = server_bin().ok_or("PostgreSQL's server programs are not installed")?;
    let cluster = tokio::task::spawn_blocking(move || Cluster::start(bin, 2))
        .await
        .map_err(|e| e.to_string())??;
    let url = Cluster::url(cluster.primary());
    let db = Database::connect_and_migrate(&url)
        .await
        .map_err(|e| e.to_string())?;
    let now = OffsetDateTime::now_utc().unix_timestamp_nanos() as i64 / 1000;
    let seeded = seed::seed(&db, size, now).await?;
    db.close().await.map_err(|e| e.to_string())?;
    cluster.caught_up()?;
    let as_of = OffsetDateTime::from_unix_timestamp_nanos(i128::from(seeded.end()) * 1000)
        .map_err(|e| e.to_string())?;
    println!(
        "{:>8} {:>8} {:<16} {:>9} {:>9} {:>9}  reads by replica",
        "replicas", "clients", "case", "ops/s", "p50 ms", "p99 ms"
    );
    for replicas in 0..=2 {
        let urls: Vec<String> = (0..replicas)
            .map(|n| Cluster::url(cluster.replica(n)))
            .collect();
        let db = Database::connect(&url)
            .await
            .map_err(|e| e.to_string())?
            .with_read_replicas(&urls)
            .await
            .map_err(|e| e.to_string())?;
        let spine = Spine::new(db.clone()).map_err(|e| e.to_string())?;
        let ctx = Bench::ctx().with_as_of(as_of);
        for clients in [8, 32] {
            for (case, list) in [("incident by id", false), ("list, 50", true)] {
                let before: Vec<u64> = db.replica_status().iter().map(|r| r.reads).collect();
                let sample: Sample = measure(
                    clients,
                    seconds,
                    reads(spine.clone(), ctx.clone(), size, list),
                )
                .await;
                if sample.errors > 0 {
                    return Err(format!(
                        "{replicas} replicas, {clients} clients, {case}: {} calls failed ({})",
                        sample.errors,
                        sample.first_error.unwrap_or_default()
                    ));
                }
                let served: Vec<String> = db
                    .replica_status()
                    .iter()
                    .zip(before.iter().chain(std::iter::repeat(&0)))
                    .map(|(r, b)| (r.reads - b).to_string())
                    .collect();
                println!(
                    "{replicas:>8} {clients:>8} {case:<16} {:>9.0} {:>9.2} {:>9.2}  {}",
                    sample.ops_per_sec(),
                    sample.quantile(0.5),
                    sample.quantile(0.99),
                    if served.is_empty() {
                        "-".to_owned()
                    } else {
                        served.join(" ")
                    }
                );
            }
        }
        db.close().await.map_err(|e| e.to_string())?;
    }
    Ok(())
}
