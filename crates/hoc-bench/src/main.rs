//! `cargo xtask bench`: the spine (and `hocd` over HTTP) beside hand-written SQL floors, on a fresh SQLite file and,
//! with `HOC_BENCH_DATABASE_URL` (a PostgreSQL server URL; a fresh database is created there and dropped after),
//! on PostgreSQL, at each table size, at each number of concurrent clients. Prints a table with ops/s, p50/p99 and
//! the ratio to the floor, and writes it as JSON. Asserts nothing about time.
//!
//! ```text
//! hoc-bench [--sizes 10000,1000000] [--clients 1,8] [--seconds 2] [--out target/bench.json] [--hocd PATH]
//!           [--nats-url nats://127.0.0.1:4222 [--relay-rate 1000] [--relay-seconds 60]]
//! hoc-bench --cost 2000   (what one write costs the process, spine beside floor: wall, CPU, context switches)
//! hoc-bench --console 1000000 --streams 1,1000 --hocd PATH   (the console's pages; idle live streams)
//! hoc-bench --metrics 100000,1000000 [--seconds 10]   (incident metrics over the last 30 days of a year's history)
//!           [--seed-only keeps the seeded databases; --console-url URL measures one again]
//! hoc-bench --replicas 100000 [--seconds 5]   (reads at a past instant with 0, 1, 2 read replicas of its own)
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod args;
mod console;
mod cost;
mod floor;
mod group_list;
mod grouping;
mod http;
mod measure;
mod metrics;
mod relay;
mod replicas;
mod seed;
mod storm;
mod storm_floor;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use hoc_drivers::{Backend, Database};
use hoc_spine::requests::{
    AcknowledgeIncident, AddNote, CreateIncident, GetIncident, GetRecurrenceGroup, ListEvents,
    ListIncidents, ListRecurrenceGroups, ResolveIncident,
};
use hoc_spine::{ActorType, OperationContext, Spine};
use time::OffsetDateTime;

use crate::args::{Args, parse_args};
use crate::floor::Op;
use crate::measure::{Figure, Sample, measure, print_table, ratio};
use crate::seed::{STEP, Seeded, VERSION_STEP};

/// A cheap deterministic pseudo-random index (splitmix64).
fn pick(k: usize, n: i64) -> i64 {
    let mut z = (k as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    i64::try_from(z % u64::try_from(n.max(1)).unwrap_or(1)).unwrap_or(0)
}

fn micros_to_time(micros: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Ids of seeded incidents that are open at the end, handed out once each (acknowledge and resolve use them up).
/// Acknowledge takes seeded open incidents in order; resolve takes them again in the same order, by then
/// acknowledged (resolve is allowed from acknowledged), so the two share one supply.
struct OpenIds {
    acknowledge: AtomicUsize,
    resolve: AtomicUsize,
    n: i64,
}

/// Most calls one write case makes, so that every write case of the smaller size still finds open incidents.
const WRITE_CASE_CAP: usize = 600;

impl OpenIds {
    fn nth(&self, k: usize) -> Option<String> {
        // Even-numbered incidents end reopened (open); walk them from the oldest.
        let i = i64::try_from(k).ok()? * 2;
        (i < self.n).then(|| Seeded::id(i))
    }

    fn take(&self, resolve: bool, k: usize) -> Option<String> {
        if k >= WRITE_CASE_CAP {
            return None;
        }
        let counter = if resolve {
            &self.resolve
        } else {
            &self.acknowledge
        };
        self.nth(counter.fetch_add(1, Ordering::Relaxed))
    }
}

struct Bench {
    label: &'static str,
    db: Database,
    spine: Spine,
    seeded: Seeded,
    ids: Arc<OpenIds>,
    seconds: f64,
    figures: Vec<Figure>,
}

impl Bench {
    fn record(&mut self, clients: usize, case: &str, path: &str, sample: &Sample) -> usize {
        let figure = Figure {
            database: self.label.to_owned(),
            size: self.seeded.n,
            ..Figure::measured(clients, case, path, sample)
        };
        if sample.errors > 0 {
            eprintln!("  {case} {path}: {} errors", sample.errors);
        }
        self.figures.push(figure);
        self.figures.len() - 1
    }

    /// Sets the ratio of figure `this` to figure `floor`, unless either had failed calls (a ratio to a floor whose
    /// every call failed would read as infinitely fast).
    fn compare(&mut self, this: usize, floor: usize, reads: bool) {
        let (a, b) = (&self.figures[this], &self.figures[floor]);
        if let Some(ratio) = ratio(a, b, reads) {
            let to = b.path.clone();
            let figure = &mut self.figures[this];
            figure.ratio = Some(ratio);
            figure.ratio_to = Some(to);
        }
    }

    /// Regroups the whole seeded tenant to rsig-v2 (every incident moves: the seed's incidents have no code and no
    /// message, so v2 groups them by title template): the dry run, then the apply in batches of 500 (which runs its
    /// own preview first). One run each; ops/s is incidents per second, p50 and p99 the whole run.
    async fn regroup(&mut self) {
        let options = |apply| hoc_spine::regroup::RegroupOptions {
            to: "rsig-v2".to_owned(),
            apply,
            batch_size: 500,
            resume_after: None,
            max_batches: None,
        };
        for (case, apply) in [
            ("regroup dry run", false),
            ("regroup apply, batches of 500", true),
        ] {
            let start = Instant::now();
            let run = self.spine.regroup(&Self::ctx(), &options(apply)).await;
            let elapsed = start.elapsed().as_secs_f64();
            let failure = run.as_ref().err().map(ToString::to_string);
            let incidents = match &run {
                Ok(run) => {
                    if let Some(applied) = &run.applied {
                        eprintln!(
                            "  {case}: moved {} in {} batches, matches the preview: {}",
                            applied.moved, applied.batches, applied.matches_preview
                        );
                    }
                    run.preview.incidents
                }
                Err(e) => {
                    eprintln!("  {case}: {e}");
                    0
                }
            };
            self.figures.push(Figure {
                database: self.label.to_owned(),
                size: self.seeded.n,
                clients: 1,
                case: case.to_owned(),
                path: "spine".to_owned(),
                ops: usize::try_from(incidents).unwrap_or(usize::MAX),
                ops_per_sec: incidents as f64 / elapsed,
                p50_ms: elapsed * 1000.0,
                p99_ms: elapsed * 1000.0,
                ratio: None,
                ratio_to: None,
                errors: usize::from(failure.is_some()),
                first_error: failure,
            });
        }
    }

    pub(crate) fn ctx() -> OperationContext {
        OperationContext::new(seed::TENANT, ActorType::Sdk, "bench").unwrap_or_else(|_| {
            unreachable!("a constant tenant and actor are valid") // documented invariant
        })
    }

    async fn spine_case<M, F>(&self, clients: usize, make: F) -> Sample
    where
        M: hoc_spine::OperationMethod + Send + Sync + 'static,
        F: Fn(usize) -> Option<(M, OperationContext)> + Send + Sync + 'static,
    {
        let spine = self.spine.clone();
        measure(clients, self.seconds, move |k| {
            let spine = spine.clone();
            make(k).map(|(request, ctx)| async move {
                spine
                    .call(&ctx, &request)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            })
        })
        .await
    }

    /// The cursor a client holds after following `next_cursor` down to the seeded incident `i` (newest first): the
    /// service's own, carrying the listing's `as_of` like every cursor it issues. Asked as the one-row page after
    /// the incident just newer than `i`, so reaching depth n/2 costs one call.
    async fn next_cursor_at(&self, i: i64) -> Option<String> {
        let s = self.seeded;
        // The cursor's text form: `<as_of µs>.<created_at µs>.<id>`.
        let newer = format!("{}.{}.{}", s.end(), s.created(i + 1), Seeded::id(i + 1));
        let request = ListIncidents {
            limit: Some(1),
            cursor: Some(newer),
            ..ListIncidents::default()
        };
        match self.spine.call(&Self::ctx(), &request).await {
            Ok(page) => page.next_cursor,
            Err(e) => {
                eprintln!("  the deep page's cursor: {e}");
                None
            }
        }
    }

    async fn floor_case<F>(&self, clients: usize, one_trip: bool, make: F) -> Sample
    where
        F: Fn(usize) -> Option<Op> + Send + Sync + 'static,
    {
        let db = self.db.clone();
        measure(clients, self.seconds, move |k| {
            let db = db.clone();
            make(k).map(|op| async move {
                if one_trip {
                    floor::one_trip(&db, &op).await
                } else {
                    floor::run(&db, &op).await
                }
            })
        })
        .await
    }

    async fn reads(&mut self, clients: usize) {
        let s = self.seeded;
        let n = s.n;
        let past = move |i: i64| s.created(i) + VERSION_STEP + VERSION_STEP / 2;
        let deep_index = n - 1 - n / 2;
        let deep = (s.created(deep_index), Seeded::id(deep_index));
        let cursor = self.next_cursor_at(deep_index).await;
        let list_past = s.created(n / 2);

        let sample = self
            .spine_case(clients, move |k| {
                Some((
                    GetIncident {
                        id: Seeded::id(pick(k, n)),
                    },
                    Self::ctx(),
                ))
            })
            .await;
        let a = self.record(clients, "get", "spine", &sample);
        let sample = self
            .floor_case(clients, false, move |k| {
                Some(Op::Get {
                    id: Seeded::id(pick(k, n)),
                    at: None,
                })
            })
            .await;
        let b = self.record(clients, "get", "floor", &sample);
        self.compare(a, b, true);

        let sample = self
            .spine_case(clients, move |k| {
                let i = pick(k, n);
                Some((
                    GetIncident { id: Seeded::id(i) },
                    Self::ctx().with_as_of(micros_to_time(past(i))),
                ))
            })
            .await;
        let a = self.record(clients, "get at past as_of", "spine", &sample);
        let sample = self
            .floor_case(clients, false, move |k| {
                let i = pick(k, n);
                Some(Op::Get {
                    id: Seeded::id(i),
                    at: Some(past(i)),
                })
            })
            .await;
        let b = self.record(clients, "get at past as_of", "floor", &sample);
        self.compare(a, b, true);

        for (case, at, after) in [
            ("list first page", None, None),
            ("list first page at past as_of", Some(list_past), None),
            ("list page at depth n/2", Some(s.end()), Some(deep.clone())),
        ] {
            let cursor = after.as_ref().and_then(|_| cursor.clone());
            if after.is_some() && cursor.is_none() {
                let failed = Sample {
                    errors: 1,
                    first_error: Some("the service issued no cursor at depth n/2".to_owned()),
                    ..Sample::default()
                };
                self.record(clients, case, "spine", &failed);
                continue;
            }
            let sample = self
                .spine_case(clients, move |_| {
                    let ctx = match at {
                        Some(t) if cursor.is_none() => Self::ctx().with_as_of(micros_to_time(t)),
                        _ => Self::ctx(),
                    };
                    Some((
                        ListIncidents {
                            limit: Some(50),
                            cursor: cursor.clone(),
                            ..ListIncidents::default()
                        },
                        ctx,
                    ))
                })
                .await;
            let a = self.record(clients, case, "spine", &sample);
            let sample = self
                .floor_case(clients, false, move |_| {
                    Some(Op::List {
                        at,
                        after: after.clone(),
                    })
                })
                .await;
            let b = self.record(clients, case, "floor", &sample);
            self.compare(a, b, true);
        }

        // Text search (first page, 50): a word one incident has (its number in its title), and one that n/1000
        // incidents have in their description, each ranked; against "list first page" above. In the present, and
        // at the past instant of "list first page at past as_of" (on SQLite the history's index answers there,
        // reading each hit's row, where the present's index answers without; migration 21).
        let one = Seeded::id(n / 2).trim_start_matches("inc_").to_owned();
        for (case, text, at) in [
            ("search first page, 1 hit", one, None),
            ("search first page, n/1000 hits", "r500".to_owned(), None),
            (
                "search first page at past as_of, n/1000 hits",
                "r500".to_owned(),
                Some(list_past),
            ),
        ] {
            let sample = self
                .spine_case(clients, move |_| {
                    let ctx = match at {
                        Some(t) => Self::ctx().with_as_of(micros_to_time(t)),
                        None => Self::ctx(),
                    };
                    Some((
                        ListIncidents {
                            q: Some(text.clone()),
                            limit: Some(50),
                            ..ListIncidents::default()
                        },
                        ctx,
                    ))
                })
                .await;
            self.record(clients, case, "spine", &sample);
        }

        let mut groups = vec![("group page+summary, n/10 members", "sig_big")];
        if n >= 1_000_000 {
            groups.push(("group page+summary, 1k members", "sig_1k"));
        }
        for (case, signature) in groups {
            let sample = self
                .spine_case(clients, move |_| {
                    Some((
                        GetRecurrenceGroup {
                            signature: signature.to_owned(),
                            limit: Some(50),
                            ..GetRecurrenceGroup::default()
                        },
                        Self::ctx(),
                    ))
                })
                .await;
            let a = self.record(clients, case, "spine", &sample);
            let sample = self
                .floor_case(clients, false, move |_| Some(Op::Group { signature }))
                .await;
            let b = self.record(clients, case, "floor", &sample);
            self.compare(a, b, true);
        }

        // The group list considers every group of the tenant (n/20 of them here) and orders them: no floor, the
        // figure shows how it grows with the number of groups.
        for (case, order) in [
            (
                "group list first page (n/20 groups), by last seen",
                "last_seen",
            ),
            ("group list first page (n/20 groups), by count", "count"),
        ] {
            let sample = self
                .spine_case(clients, move |_| {
                    Some((
                        ListRecurrenceGroups {
                            order: Some(order.to_owned()),
                            limit: Some(50),
                            ..ListRecurrenceGroups::default()
                        },
                        Self::ctx(),
                    ))
                })
                .await;
            self.record(clients, case, "spine", &sample);
        }

        let after = s.events() - 100;
        let sample = self
            .spine_case(clients, move |_| {
                Some((
                    ListEvents {
                        after: Some(after),
                        limit: Some(50),
                    },
                    Self::ctx(),
                ))
            })
            .await;
        let a = self.record(clients, "events feed near the end", "spine", &sample);
        let sample = self
            .floor_case(clients, false, move |_| Some(Op::Events { after }))
            .await;
        let b = self.record(clients, "events feed near the end", "floor", &sample);
        self.compare(a, b, true);
    }

    async fn writes(&mut self, clients: usize) {
        let pg = self.db.backend() == Backend::Postgres;
        let sample = self
            .spine_case(clients, |k| {
                Some((
                    CreateIncident {
                        title: Some(format!("bench {k}")),
                        severity: Some("low".into()),
                        category: Some("bench".into()),
                        error_message: Some(format!("timeout after {k} ms")),
                        ..CreateIncident::default()
                    },
                    Self::ctx(),
                ))
            })
            .await;
        let a = self.record(clients, "create", "spine", &sample);
        let sample = self
            .floor_case(clients, false, |k| Some(Op::Create { n: k as u64 }))
            .await;
        let b = self.record(clients, "create", "floor", &sample);
        self.compare(a, b, false);
        if pg {
            let sample = self
                .floor_case(clients, true, |k| Some(Op::Create { n: k as u64 }))
                .await;
            self.record(clients, "create", "floor, one round trip", &sample);
        }

        // A note on an incident of any state (no floor: the figure to compare is the same case at 10k).
        let n = self.seeded.n;
        let sample = self
            .spine_case(clients, move |k| {
                Some((
                    AddNote {
                        id: Seeded::id(pick(k, n)),
                        body: Some(format!(
                            "checked replica r{}: lag 3 s, catching up",
                            k % 1000
                        )),
                    },
                    Self::ctx(),
                ))
            })
            .await;
        self.record(clients, "add a note", "spine", &sample);

        for resolve in [false, true] {
            let case = if resolve { "resolve" } else { "acknowledge" };
            let ids = self.ids.clone();
            let sample = if resolve {
                self.spine_case(clients, move |k| {
                    let id = ids.take(true, k)?;
                    Some((
                        ResolveIncident {
                            id,
                            resolution_type: Some("hotfix".into()),
                            resolution_summary: Some("patched".into()),
                            ..ResolveIncident::default()
                        },
                        Self::ctx(),
                    ))
                })
                .await
            } else {
                self.spine_case(clients, move |k| {
                    let id = ids.take(false, k)?;
                    Some((AcknowledgeIncident { id, reason: None }, Self::ctx()))
                })
                .await
            };
            let a = self.record(clients, case, "spine", &sample);
            let ids = self.ids.clone();
            let sample = self
                .floor_case(clients, false, move |k| {
                    let id = ids.take(resolve, k)?;
                    Some(if resolve {
                        Op::Resolve { id }
                    } else {
                        Op::Acknowledge { id }
                    })
                })
                .await;
            let b = self.record(clients, case, "floor", &sample);
            self.compare(a, b, false);
            if pg && !resolve {
                let ids = self.ids.clone();
                let sample = self
                    .floor_case(clients, true, move |k| {
                        ids.take(false, k).map(|id| Op::Acknowledge { id })
                    })
                    .await;
                self.record(clients, case, "floor, one round trip", &sample);
            }
        }
    }
}

/// A fresh database for one size: a new SQLite file, or a new database on the PostgreSQL server.
pub(crate) async fn fresh(
    label: &str,
    size: i64,
    pg_server: Option<&str>,
) -> Result<(Database, String), String> {
    let stamp = OffsetDateTime::now_utc().unix_timestamp();
    match pg_server {
        None => {
            std::fs::create_dir_all("target/bench").map_err(|e| e.to_string())?;
            let path = format!("target/bench/{label}_{size}_{stamp}.db");
            let url = format!("sqlite://{path}?mode=rwc");
            let db = Database::connect_and_migrate(&url)
                .await
                .map_err(|e| e.to_string())?;
            Ok((db, url))
        }
        Some(server) => {
            let admin = Database::connect(server).await.map_err(|e| e.to_string())?;
            let name = format!("hoc_bench_{size}_{stamp}");
            sea_orm::ConnectionTrait::execute_unprepared(
                admin.pool(),
                &format!("CREATE DATABASE {name}"),
            )
            .await
            .map_err(|e| e.to_string())?;
            let base = server.rsplit_once('/').map_or(server, |(b, _)| b);
            let url = format!("{base}/{name}");
            let db = Database::connect_and_migrate(&url)
                .await
                .map_err(|e| e.to_string())?;
            Ok((db, url))
        }
    }
}

async fn drop_database(server: &str, url: &str) {
    let Some((_, name)) = url.rsplit_once('/') else {
        return;
    };
    if let Ok(admin) = Database::connect(server).await {
        let _ = sea_orm::ConnectionTrait::execute_unprepared(
            admin.pool(),
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        )
        .await;
    }
}

async fn run(args: Args) -> Result<(), String> {
    if let Some(dir) = &args.grouping {
        return grouping::run(dir);
    }
    let pg_server = std::env::var("HOC_BENCH_DATABASE_URL").ok();
    let mut targets: Vec<(&'static str, Option<&str>)> = vec![("sqlite", None)];
    match &pg_server {
        Some(server) => targets.push(("postgres", Some(server.as_str()))),
        None => eprintln!("HOC_BENCH_DATABASE_URL is not set: PostgreSQL not measured"),
    }
    if args.cost > 0 {
        for (label, server) in targets {
            let (db, url) = fresh(label, 0, server).await?;
            floor::prepare(&db).await?;
            let spine = Spine::new(db.clone()).map_err(|e| e.to_string())?;
            let costs = cost::measure(&db, &spine, &Bench::ctx(), args.cost).await?;
            cost::print(label, &costs);
            db.close().await.map_err(|e| e.to_string())?;
            discard(server, &url).await;
        }
        return Ok(());
    }
    if !args.console.is_empty() || !args.streams.is_empty() {
        return console::run(&args, targets).await;
    }
    if args.replicas > 0 {
        return replicas::run(args.replicas, args.seconds).await;
    }
    if !args.metrics.is_empty() {
        for (label, server) in targets {
            metrics::run(label, server, &args.metrics, args.seconds, args.seed_only).await?;
        }
        return Ok(());
    }
    if !args.group_list.is_empty() {
        for (label, server) in targets {
            group_list::run(
                label,
                server,
                &args.group_list,
                args.seconds,
                args.seed_only,
            )
            .await?;
        }
        return Ok(());
    }
    let mut figures = Vec::new();
    if args.storm {
        for (label, server) in targets {
            figures.extend(storm::run(label, server, args.hocd.as_deref()).await?);
        }
        return finish(&args, &figures);
    }
    for (label, server) in targets {
        for &size in &args.sizes {
            let (db, url) = fresh(label, size, server).await?;
            let t = Instant::now();
            let seeded = seed::seed(&db, size, floor::now_micros()).await?;
            floor::prepare(&db).await?;
            eprintln!(
                "{label}: seeded {size} incidents ({} rows) in {:.1} s",
                size * 17,
                t.elapsed().as_secs_f64()
            );
            if args.seed_only {
                println!("{url}");
                continue;
            }
            let spine = Spine::new(db.clone()).map_err(|e| e.to_string())?;
            let mut bench = Bench {
                label,
                db: db.clone(),
                spine,
                seeded,
                ids: Arc::new(OpenIds {
                    acknowledge: AtomicUsize::new(0),
                    resolve: AtomicUsize::new(0),
                    n: size,
                }),
                seconds: args.seconds,
                figures: Vec::new(),
            };
            for &clients in &args.clients {
                bench.reads(clients).await;
            }
            for &clients in &args.clients {
                bench.writes(clients).await;
            }
            if size <= 200_000 {
                bench.regroup().await;
            }
            if let Some(hocd) = &args.hocd {
                let spine_create: Vec<(usize, f64)> = bench
                    .figures
                    .iter()
                    .filter(|f| f.case == "create" && f.path == "spine")
                    .map(|f| (f.clients, f.ops_per_sec))
                    .collect();
                let mut over_http = http::creates(hocd, &url, &args.clients, args.seconds).await?;
                for f in &mut over_http {
                    f.database = label.to_owned();
                    f.size = size;
                    if let Some((_, spine)) = spine_create.iter().find(|(c, _)| *c == f.clients) {
                        f.ratio = Some(f.ops_per_sec / spine);
                        f.ratio_to = Some("spine".into());
                    }
                }
                bench.figures.extend(over_http);
            }
            print_table(&bench.figures);
            figures.extend(bench.figures);
            db.close().await.map_err(|e| e.to_string())?;
            discard(server, &url).await;
        }
    }
    if let Some(nats_url) = &args.nats_url {
        for (label, server) in targets_again(&pg_server) {
            let (db, url) = fresh(label, 0, server).await?;
            let mut relay_figures =
                relay::measure(&db, nats_url, args.relay_rate, args.relay_seconds).await?;
            for f in &mut relay_figures {
                f.database = label.to_owned();
            }
            print_table(&relay_figures);
            figures.extend(relay_figures);
            db.close().await.map_err(|e| e.to_string())?;
            discard(server, &url).await;
        }
    }
    let _ = STEP;
    finish(&args, &figures)
}

/// Prints every figure, writes them to `--out`, and fails when any case had failed calls.
fn finish(args: &Args, figures: &[Figure]) -> Result<(), String> {
    println!();
    print_table(figures);
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    let json = serde_json::to_string_pretty(figures).map_err(|e| e.to_string())?;
    std::fs::write(&args.out, json).map_err(|e| e.to_string())?;
    println!("written to {}", args.out.display());
    let failures: Vec<String> = figures.iter().filter_map(Figure::failure).collect();
    if !failures.is_empty() {
        return Err(format!(
            "{} cases had failed calls; their figures are not comparisons:\n  {}",
            failures.len(),
            failures.join("\n  ")
        ));
    }
    Ok(())
}

/// Removes a benchmark database: drops it on the PostgreSQL server, or deletes the SQLite files.
pub(crate) async fn discard(server: Option<&str>, url: &str) {
    match server {
        Some(server) => drop_database(server, url).await,
        None => {
            let path = url
                .trim_start_matches("sqlite://")
                .trim_end_matches("?mode=rwc");
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{path}{suffix}"));
            }
        }
    }
}

/// SQLite, and PostgreSQL when `HOC_BENCH_DATABASE_URL` names a server.
fn targets_again(pg_server: &Option<String>) -> Vec<(&'static str, Option<&str>)> {
    let mut targets: Vec<(&'static str, Option<&str>)> = vec![("sqlite", None)];
    if let Some(server) = pg_server {
        targets.push(("postgres", Some(server.as_str())));
    }
    targets
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("{e}");
            return std::process::ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench failed: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
