//! Incident metrics against the size of the history (`hoc-bench --metrics 100000,1000000`): a fresh database per
//! size, seeded with one incident every 31.536 s (1,000,000 incidents a year; each with four versions, history
//! included), so a tenant with more incidents has a longer history, not a denser one. Then, one client, the metrics
//! of the last 30 days (about 82,000 incidents at every size) grouped by severity and not grouped, the daily series
//! of those 30 days, and a recording; p50 and p99, and the ratio of each p50 to the smallest size's.

use hoc_spine::Spine;
use hoc_spine::requests::{GetIncidentMetrics, GetIncidentMetricsSeries, RecordIncidentMetrics};
use time::OffsetDateTime;

use crate::measure::measure;
use crate::{Bench, discard, fresh, seed};

/// Microseconds between two seeded incidents: a million a year.
const STEP: i64 = 31_536_000;
const DAYS: i64 = 30;

fn rfc3339(micros: i64) -> Result<String, String> {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .map_err(|e| e.to_string())?;
    Ok(hoc_spine::time_format::format_utc(t))
}

/// Measures every size of `sizes` on the database `server` names (SQLite when none).
pub(crate) async fn run(
    label: &str,
    server: Option<&str>,
    sizes: &[i64],
    seconds: f64,
    keep: bool,
) -> Result<(), String> {
    println!(
        "{:<9} {:>8} {:<22} {:>9} {:>6} {:>9} {:>9} {:>8}",
        "database", "size", "case", "incidents", "calls", "p50 ms", "p99 ms", "p50 ÷ first"
    );
    let mut first: Vec<(String, f64)> = Vec::new();
    for &size in sizes {
        let (db, url) = fresh(label, size, server).await?;
        let now = OffsetDateTime::now_utc().unix_timestamp_nanos() as i64 / 1000;
        let t = std::time::Instant::now();
        let seeded = seed::seed_spaced(&db, size, (size / 20).max(1), now, STEP).await?;
        eprintln!(
            "{label}: seeded {size} incidents over {:.0} days in {:.1} s",
            (size * STEP) as f64 / 86_400e6,
            t.elapsed().as_secs_f64()
        );
        let spine = Spine::new(db.clone()).map_err(|e| e.to_string())?;
        let end_micros = seeded.created(seeded.n - 1) + 1;
        let end = rfc3339(end_micros)?;
        let start = rfc3339(end_micros - DAYS * 86_400_000_000)?;
        let window = |group_by: &str| GetIncidentMetrics {
            window_start: Some(start.clone()),
            window_end: Some(end.clone()),
            group_by: Some(group_by.to_owned()),
        };
        let incidents = spine
            .call(&Bench::ctx(), &window("none"))
            .await
            .map_err(|e| e.to_string())?
            .count;
        let cases: Vec<(&str, Case)> = vec![
            ("metrics by severity", case(window("severity"))),
            ("metrics, no grouping", case(window("none"))),
            (
                "series, 30 days",
                case(GetIncidentMetricsSeries {
                    start: Some(start.clone()),
                    end: Some(end.clone()),
                    step: Some("day".into()),
                    group_by: Some("severity".into()),
                }),
            ),
            (
                "record by severity",
                case(RecordIncidentMetrics {
                    window_start: Some(start.clone()),
                    window_end: Some(end.clone()),
                    group_by: Some("severity".into()),
                    as_of: None,
                }),
            ),
        ];
        for (case, call) in cases {
            let call = std::sync::Arc::new(call);
            let spine = spine.clone();
            let sample = measure(1, seconds, move |_| Some(call(spine.clone()))).await;
            let p50 = sample.quantile(0.5);
            let ratio = match first.iter().find(|(c, _)| c == case) {
                Some((_, base)) => format!("{:.2}", p50 / base),
                None => {
                    first.push((case.to_owned(), p50));
                    "1.00".to_owned()
                }
            };
            if sample.errors > 0 {
                return Err(format!("{case}: {} calls failed", sample.errors));
            }
            println!(
                "{label:<9} {size:>8} {case:<22} {incidents:>9} {:>6} {p50:>9.1} {:>9.1} {ratio:>8}",
                sample.latencies.len(),
                sample.quantile(0.99),
            );
        }
        db.close().await.map_err(|e| e.to_string())?;
        if keep {
            println!("kept {url}");
        } else {
            discard(server, &url).await;
        }
    }
    Ok(())
}

/// One measured call.
pub(crate) type Call =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send>>;
/// What makes a measured call on a spine.
type Case = Box<dyn Fn(Spine) -> Call + Send + Sync>;

/// A case that calls the spine with `request`.
fn case<M>(request: M) -> Case
where
    M: hoc_spine::OperationMethod + Clone + Send + Sync + 'static,
{
    Box::new(move |spine| {
        let request = request.clone();
        Box::pin(async move {
            spine
                .call(&Bench::ctx(), &request)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        })
    })
}
