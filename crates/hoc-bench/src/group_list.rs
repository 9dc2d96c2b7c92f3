//! The group list's first page against the number of groups (`hoc-bench --group-list 1000,100000`): a fresh
//! database per count, seeded with twice as many incidents as groups (history included), then the first page of
//! 50 by last seen and by count, at now (the live summaries) and halfway through the seeded incidents (every
//! group's summary then), one client, p50 and p99. With `--seed-only`, the databases are kept (their URLs printed).

use hoc_spine::Spine;
use hoc_spine::requests::ListRecurrenceGroups;
use time::OffsetDateTime;

use crate::measure::measure;
use crate::{Bench, discard, fresh, seed};

/// Measures every count of `groups` on the database `server` names (SQLite when none).
pub(crate) async fn run(
    label: &str,
    server: Option<&str>,
    groups: &[i64],
    seconds: f64,
    keep: bool,
) -> Result<(), String> {
    println!(
        "{:<9} {:>8} {:<10} {:<8} {:>9} {:>9}",
        "database", "groups", "order", "as_of", "p50 ms", "p99 ms"
    );
    for &count in groups {
        let (db, url) = fresh(label, count, server).await?;
        let now = OffsetDateTime::now_utc().unix_timestamp_nanos() as i64 / 1000;
        let seeded = seed::seed_groups(&db, 2 * count, count, now).await?;
        let spine = Spine::new(db.clone()).map_err(|e| e.to_string())?;
        // Halfway through the seeded incidents: half the groups had members then.
        let halfway = OffsetDateTime::from_unix_timestamp_nanos(
            i128::from(seeded.created(seeded.n / 2)) * 1000,
        )
        .map_err(|e| e.to_string())?;
        // Now first: the past reads every group's summary and evicts the page cache of the now cases.
        for (when, as_of) in [("now", None), ("past", Some(halfway))] {
            for order in ["last_seen", "count"] {
                let spine = spine.clone();
                let sample = measure(1, seconds, move |_| {
                    let spine = spine.clone();
                    let ctx = match as_of {
                        Some(at) => Bench::ctx().with_as_of(at),
                        None => Bench::ctx(),
                    };
                    Some(async move {
                        let page = spine
                            .call(
                                &ctx,
                                &ListRecurrenceGroups {
                                    order: Some(order.to_owned()),
                                    limit: Some(50),
                                    ..ListRecurrenceGroups::default()
                                },
                            )
                            .await
                            .map_err(|e| e.to_string())?;
                        if page.items.len() == 50 {
                            Ok(())
                        } else {
                            Err(format!("a page of {}", page.items.len()))
                        }
                    })
                })
                .await;
                println!(
                    "{label:<9} {count:>8} {order:<10} {when:<8} {:>9.2} {:>9.2}",
                    sample.quantile(0.5),
                    sample.quantile(0.99)
                );
            }
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
