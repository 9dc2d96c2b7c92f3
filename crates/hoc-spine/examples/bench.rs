//! A small benchmark harness: throughput of the write path (create, acknowledge) and of paged reads through the
//! spine, on a fresh SQLite file and, when `HOC_TEST_DATABASE_URL` is set, a fresh PostgreSQL database. Prints
//! figures; asserts nothing about time.
//!
//! ```text
//! cargo run --release -p hoc-spine --features testing --example bench [-- N]
//! ```
#![allow(clippy::print_stdout, clippy::expect_used)]

use std::time::Instant;

use hoc_incidents::CreateIncident;
use hoc_spine::requests::{
    AcknowledgeIncident, GetIncident, ListIncidents, ReopenIncident, ResolveIncident,
};
use hoc_spine::testing::TestDatabase;
use hoc_spine::{ActorType, OperationContext, Spine};

async fn run(label: &str, db: &hoc_spine::Database, n: usize) {
    let spine = Spine::new(db.clone()).expect("spine");
    let ctx = OperationContext::new("bench", ActorType::Sdk, "bench").expect("ctx");
    let started = Instant::now();
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let incident = spine
            .call(
                &ctx,
                &CreateIncident {
                    title: Some(format!("bench {i}")),
                    severity: Some("low".into()),
                    category: Some("bench".into()),
                    error_message: Some(format!("timeout after {i} ms")),
                    ..CreateIncident::default()
                },
            )
            .await
            .expect("create");
        ids.push(incident.id);
    }
    let create = started.elapsed();
    let started = Instant::now();
    for id in &ids {
        spine
            .call(
                &ctx,
                &AcknowledgeIncident {
                    id: id.clone(),
                    reason: None,
                },
            )
            .await
            .expect("ack");
    }
    let ack = started.elapsed();
    let started = Instant::now();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = spine
            .call(
                &ctx,
                &ListIncidents {
                    limit: Some(50),
                    cursor,
                    ..ListIncidents::default()
                },
            )
            .await
            .expect("list");
        pages += 1;
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    let list = started.elapsed();
    // Time travel: two more versions of every incident (resolve, reopen: four in all), then reads now and at the
    // instant after the acknowledgements.
    let past = spine
        .call(&ctx, &ListIncidents::default())
        .await
        .expect("list")
        .as_of;
    for id in &ids {
        spine
            .call(
                &ctx,
                &ResolveIncident {
                    id: id.clone(),
                    resolution_type: Some("hotfix".into()),
                    ..ResolveIncident::default()
                },
            )
            .await
            .expect("resolve");
        spine
            .call(
                &ctx,
                &ReopenIncident {
                    id: id.clone(),
                    reason: None,
                },
            )
            .await
            .expect("reopen");
    }
    let then = ctx.clone().with_as_of(past);
    let p50 = |mut samples: Vec<f64>| {
        samples.sort_by(f64::total_cmp);
        samples[samples.len() / 2]
    };
    let mut get_now = Vec::new();
    let mut get_then = Vec::new();
    for id in ids.iter().take(500) {
        for (c, out) in [(&ctx, &mut get_now), (&then, &mut get_then)] {
            let started = Instant::now();
            spine
                .call(c, &GetIncident { id: id.clone() })
                .await
                .expect("get");
            out.push(started.elapsed().as_secs_f64() * 1e3);
        }
    }
    let mut list_now = Vec::new();
    let mut list_then = Vec::new();
    for _ in 0..50 {
        for (c, out) in [(&ctx, &mut list_now), (&then, &mut list_then)] {
            let started = Instant::now();
            spine
                .call(c, &ListIncidents::default())
                .await
                .expect("list");
            out.push(started.elapsed().as_secs_f64() * 1e3);
        }
    }
    let (gn, gt, ln, lt) = (p50(get_now), p50(get_then), p50(list_now), p50(list_then));
    println!(
        "{label:<9} p50 get now {gn:.3} ms, at a past as_of {gt:.3} ms ({:.2}x) | first list page now {ln:.3} ms, at a past as_of {lt:.3} ms ({:.2}x)",
        gt / gn,
        lt / ln
    );
    let per_sec = |count: usize, d: std::time::Duration| count as f64 / d.as_secs_f64();
    println!(
        "{label:<9} creates: {n} in {:>7.1} ms ({:>6.0}/s) | acknowledges: {:>6.0}/s | list pages of 50: {pages} in {:>6.1} ms ({:>6.0} pages/s)",
        create.as_secs_f64() * 1e3,
        per_sec(n, create),
        per_sec(n, ack),
        list.as_secs_f64() * 1e3,
        per_sec(pages, list),
    );
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(500);
    let sqlite = TestDatabase::sqlite().await;
    run("sqlite", sqlite.db(), n).await;
    if let Some(pg) = TestDatabase::postgres().await {
        run("postgres", pg.db(), n).await;
    } else {
        println!("postgres  skipped: set HOC_TEST_DATABASE_URL to measure it");
    }
}
