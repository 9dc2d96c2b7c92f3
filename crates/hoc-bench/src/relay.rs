//! The outbox relay against NATS JetStream: commit-to-PubAck lag at a fixed event rate, and whether the relay
//! keeps up with the write path at full speed (its backlog must not grow). On a fresh, empty database, with a
//! stream of its own (deleted after).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hoc_drivers::Database;
use hoc_relay::{Relay, RelayConfig};
use hoc_spine::requests::CreateIncident;
use hoc_spine::{ActorType, OperationContext, Spine};

use crate::Figure;

const TENANT: &str = "bench_relay";

fn figure(case: String, ops_per_sec: f64, p50_ms: f64, p99_ms: f64) -> Figure {
    Figure {
        database: String::new(),
        size: 0,
        clients: 8,
        case,
        path: "relay".into(),
        ops: 0,
        ops_per_sec,
        p50_ms,
        p99_ms,
        ratio: None,
        ratio_to: None,
        errors: 0,
        first_error: None,
    }
}

/// Creates incidents from 8 clients for `seconds`, at `rate` per second in all (`None`: as fast as they can).
/// Returns how many were created and the largest backlog seen.
async fn load(spine: &Spine, db: &Database, rate: Option<f64>, seconds: f64) -> (usize, i64) {
    let made = Arc::new(AtomicUsize::new(0));
    let stop_at = Instant::now() + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for c in 0..8 {
        let (spine, made) = (spine.clone(), Arc::clone(&made));
        tasks.push(tokio::spawn(async move {
            let ctx = OperationContext::new(TENANT, ActorType::Sdk, "bench").ok();
            let mut tick = rate.map(|r| {
                let mut t = tokio::time::interval(Duration::from_secs_f64(8.0 / r));
                t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                t
            });
            let mut n = 0;
            while Instant::now() < stop_at {
                if let Some(tick) = tick.as_mut() {
                    tick.tick().await;
                }
                n += 1;
                let Some(ctx) = &ctx else { return };
                let request = CreateIncident {
                    title: Some(format!("relay bench {c}/{n}")),
                    severity: Some("low".into()),
                    category: Some("bench".into()),
                    ..CreateIncident::default()
                };
                if spine.call(ctx, &request).await.is_ok() {
                    made.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    let mut max_backlog = 0;
    while Instant::now() < stop_at {
        tokio::time::sleep(Duration::from_millis(250)).await;
        if let Ok(b) = hoc_spine::relay::backlog(db).await {
            max_backlog = max_backlog.max(b.events);
        }
    }
    for task in tasks {
        let _ = task.await;
    }
    (made.load(Ordering::Relaxed), max_backlog)
}

/// Waits for the backlog to drain; returns how long it took.
async fn drain(db: &Database) -> Result<Duration, String> {
    let started = Instant::now();
    while hoc_spine::relay::backlog(db)
        .await
        .map_err(|e| e.to_string())?
        .events
        > 0
    {
        if started.elapsed() > Duration::from_secs(120) {
            return Err("the relay did not drain its backlog within 120 s".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(started.elapsed())
}

/// Commit-to-PubAck lags (published_at − occurred_at) of every event, in milliseconds, sorted.
async fn lags(db: &Database) -> Result<Vec<f64>, String> {
    let rows = hoc_spine::relay::published_lags(db)
        .await
        .map_err(|e| e.to_string())?;
    let mut lags: Vec<f64> = rows
        .into_iter()
        .map(|micros| micros as f64 / 1_000.0)
        .collect();
    lags.sort_by(f64::total_cmp);
    Ok(lags)
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// Both relay cases on `db` (fresh and empty).
pub(crate) async fn measure(
    db: &Database,
    nats_url: &str,
    rate: f64,
    seconds: f64,
) -> Result<Vec<Figure>, String> {
    let spine = Spine::new(db.clone()).map_err(|e| e.to_string())?;
    let id = uuid::Uuid::now_v7().simple().to_string();
    let config = RelayConfig {
        stream: format!("HOC_BENCH_{id}"),
        subject_prefix: format!("hocbench.{id}"),
        ..RelayConfig::new(nats_url)
    };
    let relay = Relay::start(spine.clone(), config.clone())?;
    let mut figures = Vec::new();

    // 1. A fixed rate: the lag of every event.
    let (made, max_backlog) = load(&spine, db, Some(rate), seconds).await;
    drain(db).await?;
    let sorted = lags(db).await?;
    figures.push(figure(
        format!("relay lag at {rate:.0} events/s (ops/s = achieved rate)"),
        made as f64 / seconds,
        quantile(&sorted, 0.5),
        quantile(&sorted, 0.99),
    ));
    figures.push(figure(
        "relay max backlog at that rate (in ops/s column)".into(),
        max_backlog as f64,
        f64::NAN,
        f64::NAN,
    ));

    // 2. Full speed: does the relay keep up with 8 clients writing as fast as they can?
    let before = relay.status().published();
    let started = Instant::now();
    let (made, max_backlog) = load(&spine, db, None, seconds).await;
    let write_rate = made as f64 / seconds;
    let tail = drain(db).await?;
    let published = relay.status().published() - before;
    let relay_rate = published as f64 / started.elapsed().as_secs_f64();
    let mut keep_up = figure(
        format!(
            "relay rate under full create load (max backlog {max_backlog}, drained {:.2} s after)",
            tail.as_secs_f64()
        ),
        relay_rate,
        f64::NAN,
        f64::NAN,
    );
    keep_up.ratio = Some(relay_rate / write_rate);
    keep_up.ratio_to = Some(format!("write rate {write_rate:.0}/s"));
    figures.push(keep_up);

    relay.stop().await;
    hoc_relay::delete_stream(nats_url, &config.stream).await?;
    Ok(figures)
}
