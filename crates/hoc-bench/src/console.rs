//! The console and the live streams over HTTP against a real `hocd serve` (`hoc-bench --console 1000000 --hocd
//! PATH [--streams 1000]`).
//!
//! Console: a fresh database seeded with `size` incidents, a session signed in through `/console/sign-in`, then every
//! page one client after another — p50 and p99 of the time to the whole page, seen from the client on loopback (an
//! upper bound of the server's time).
//!
//! Streams: `streams` idle `GET /v1/events/stream` connections, then the database's work while nothing happens (on
//! PostgreSQL the committed transactions of the database per second — each statement outside a transaction is one —
//! beside one stream's; on both, `hocd`'s own counters of stream reads and watcher polls), and the time from a
//! write's answer until each stream has its event.

use std::time::{Duration, Instant};

use crate::http::{Hocd, start};
use crate::measure::measure;
use crate::{discard, fresh, seed};

fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(64)
        .build()
        .map_err(|e| e.to_string())
}

/// Signs in; the session cookie (`name=value`).
async fn sign_in(http: &reqwest::Client, hocd: &Hocd) -> Result<String, String> {
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("api_key", &hocd.key)
        .finish();
    let res = http
        .post(format!("{}/console/sign-in", hocd.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    res.headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
        .ok_or_else(|| format!("sign-in answered {} without a cookie", res.status()))
}

/// Measures every console page at `size` incidents on the database `server` names (SQLite when none).
pub(crate) async fn pages(
    label: &str,
    server: Option<&str>,
    hocd_path: &std::path::Path,
    size: i64,
    seconds: f64,
    reuse: Option<&str>,
    keep: bool,
) -> Result<(), String> {
    let (url, fresh_db) = match reuse {
        Some(url) => (url.to_owned(), false),
        None => {
            let (db, url) = fresh(label, size, server).await?;
            let t = Instant::now();
            seed::seed(&db, size, crate::floor::now_micros()).await?;
            eprintln!(
                "{label}: seeded {size} incidents in {:.1} s",
                t.elapsed().as_secs_f64()
            );
            db.close().await.map_err(|e| e.to_string())?;
            (url, true)
        }
    };
    let hocd = start(hocd_path, &url, "write").await?;
    let http = client()?;
    let cookie = sign_in(&http, &hocd).await?;
    let incident = seed::Seeded::id(size / 2);
    // Halfway through the seeded history: the instant the middle incident was created.
    let middle: serde_json::Value = http
        .get(format!("{}/v1/incidents/{incident}", hocd.address))
        .bearer_auth(&hocd.key)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let past = middle["created_at"]
        .as_str()
        .ok_or_else(|| format!("no incident {incident}: {middle}"))?;
    let past = form_urlencoded::byte_serialize(past.as_bytes()).collect::<String>();
    let pages: Vec<(&str, String)> = vec![
        ("incident list", "/console".into()),
        ("list, status=open", "/console?status=open".into()),
        (
            "list, severity=critical",
            "/console?severity=critical".into(),
        ),
        ("search, a word in all", "/console?q=lagging".into()),
        ("search, 1 in 1,000", "/console?q=r17".into()),
        ("list, as_of halfway", format!("/console?as_of={past}")),
        ("incident page", format!("/console/incidents/{incident}")),
        (
            "incident page, as_of",
            format!("/console/incidents/{incident}?as_of={past}"),
        ),
        ("groups by count", "/console/groups".into()),
        (
            "groups by last seen",
            "/console/groups?order=last_seen".into(),
        ),
        (
            "group sig_big",
            "/console/groups/sig_big?version=rsig-v1".into(),
        ),
        ("audit trail", "/console/audit".into()),
        (
            "audit of an incident",
            format!("/console/audit?entity_id={incident}"),
        ),
    ];
    println!(
        "{:<9} {:>9} {:<26} {:>9} {:>9} {:>8}",
        "database", "incidents", "page", "p50 ms", "p99 ms", "calls"
    );
    for (name, path) in pages {
        let (http, cookie, address) = (http.clone(), cookie.clone(), hocd.address.clone());
        let sample = measure(1, seconds, move |_| {
            let (http, cookie, url) = (http.clone(), cookie.clone(), format!("{address}{path}"));
            Some(async move {
                let res = http
                    .get(&url)
                    .header("cookie", cookie)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                let status = res.status();
                let body = res.text().await.map_err(|e| e.to_string())?;
                if status == reqwest::StatusCode::OK && body.contains("</html>") {
                    Ok(())
                } else {
                    Err(format!("{url}: {status}"))
                }
            })
        })
        .await;
        if sample.errors > 0 {
            eprintln!(
                "  {name}: {} errors ({})",
                sample.errors,
                sample.first_error.as_deref().unwrap_or("?")
            );
        }
        println!(
            "{label:<9} {size:>9} {name:<26} {:>9.2} {:>9.2} {:>8}",
            sample.quantile(0.5),
            sample.quantile(0.99),
            sample.latencies.len()
        );
    }
    drop(hocd);
    if keep || !fresh_db {
        println!("kept {url}");
    } else {
        discard(server, &url).await;
    }
    Ok(())
}

/// An unlabelled counter of `hocd`'s `/metrics`.
async fn counter(http: &reqwest::Client, hocd: &Hocd, name: &str) -> f64 {
    let Ok(res) = http.get(format!("{}/metrics", hocd.address)).send().await else {
        return f64::NAN;
    };
    let text = res.text().await.unwrap_or_default();
    text.lines()
        .find_map(|l| {
            l.strip_prefix(name)
                .and_then(|rest| rest.trim().parse().ok())
        })
        .unwrap_or(0.0)
}

/// Committed transactions of the database `url` names so far (PostgreSQL's statistics; `None` on SQLite).
async fn commits(server: Option<&str>, url: &str) -> Option<f64> {
    server?;
    let db = hoc_drivers::Database::connect(server?).await.ok()?;
    let name = url.rsplit('/').next()?.split('?').next()?.to_owned();
    // The statistics are flushed by each backend at most every second; wait for them.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let n = crate::floor::count(
        &db,
        &format!("SELECT xact_commit::bigint FROM pg_stat_database WHERE datname = '{name}'"),
    )
    .await
    .ok()?;
    db.close().await.ok()?;
    Some(n as f64)
}

/// An open event stream: reads until its next event arrives, then says when.
async fn next_event(mut res: reqwest::Response) -> Option<Instant> {
    let mut buffer = String::new();
    loop {
        let chunk = res.chunk().await.ok()??;
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        if buffer.contains("\nid:") || buffer.starts_with("id:") {
            return Some(Instant::now());
        }
    }
}

/// `n` idle streams, then one event: database work while idle and the time until every stream has the event.
pub(crate) async fn streams(
    label: &str,
    server: Option<&str>,
    hocd_path: &std::path::Path,
    counts: &[usize],
) -> Result<(), String> {
    println!(
        "{:<9} {:>7} {:>14} {:>13} {:>13} {:>9} {:>9} {:>9}",
        "database",
        "streams",
        "db xact/s idle",
        "stream reads",
        "watcher/s",
        "p50 ms",
        "p99 ms",
        "max ms"
    );
    for &n in counts {
        let (db, url) = fresh(label, n as i64, server).await?;
        db.close().await.map_err(|e| e.to_string())?;
        let hocd = start(hocd_path, &url, "write").await?;
        let http = client()?;
        let create = |title: String| {
            http.post(format!("{}/v1/incidents", hocd.address))
                .bearer_auth(&hocd.key)
                .json(&serde_json::json!({"title": title, "severity": "low", "category": "bench"}))
                .send()
        };
        create("first".into()).await.map_err(|e| e.to_string())?;
        // Where the feed ends now: each stream starts there, so the next event is the one measured.
        let feed: serde_json::Value = http
            .get(format!("{}/v1/events?limit=500", hocd.address))
            .bearer_auth(&hocd.key)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let tail = feed["next_after"].as_i64().unwrap_or(0).to_string();
        let mut open = Vec::with_capacity(n);
        for _ in 0..n {
            // One connection per stream, as n browsers would have.
            let own = reqwest::Client::new();
            let res = own
                .get(format!("{}/v1/events/stream", hocd.address))
                .bearer_auth(&hocd.key)
                .header("last-event-id", &tail)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if res.status() != reqwest::StatusCode::OK {
                return Err(format!("stream answered {}", res.status()));
            }
            open.push((own, res));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let window = 10.0;
        let (reads0, polls0) = (
            counter(&http, &hocd, "hoc_event_stream_reads_total").await,
            counter(&http, &hocd, "hoc_event_stream_watcher_polls_total").await,
        );
        let x0 = commits(server, &url).await;
        tokio::time::sleep(Duration::from_secs_f64(window)).await;
        let x1 = commits(server, &url).await;
        let (reads1, polls1) = (
            counter(&http, &hocd, "hoc_event_stream_reads_total").await,
            counter(&http, &hocd, "hoc_event_stream_watcher_polls_total").await,
        );
        // The statistics reads' own waits stretch the window by about 1.1 s each side.
        let xact = match (x0, x1) {
            (Some(a), Some(b)) => format!("{:.1}", (b - a) / (window + 1.1)),
            _ => "n/a".to_owned(),
        };
        let waiting: Vec<_> = open
            .into_iter()
            .map(|(own, res)| tokio::spawn(async move { (next_event(res).await, own) }))
            .collect();
        tokio::time::sleep(Duration::from_millis(200)).await;
        // From the moment the write is sent: the write's own time is included.
        let answered = Instant::now();
        create("the event".into())
            .await
            .map_err(|e| e.to_string())?;
        let mut lags = Vec::with_capacity(n);
        for task in waiting {
            if let Ok((Some(at), _)) = task.await {
                lags.push(at.saturating_duration_since(answered).as_secs_f64() * 1000.0);
            }
        }
        lags.sort_by(f64::total_cmp);
        let q = |p: f64| {
            lags.get(((lags.len() as f64 - 1.0) * p).round() as usize)
                .copied()
                .unwrap_or(f64::NAN)
        };
        println!(
            "{label:<9} {n:>7} {xact:>14} {:>13} {:>13.1} {:>9.2} {:>9.2} {:>9.2}{}",
            reads1 - reads0,
            (polls1 - polls0) / window,
            q(0.5),
            q(0.99),
            q(1.0),
            if lags.len() == n {
                String::new()
            } else {
                format!("  ({} of {n} got it)", lags.len())
            }
        );
        drop(hocd);
        discard(server, &url).await;
    }
    Ok(())
}

/// `--console` and `--streams`: the pages at each size, then the idle streams, on every target.
pub(crate) async fn run(
    args: &crate::args::Args,
    targets: Vec<(&'static str, Option<&str>)>,
) -> Result<(), String> {
    let hocd = args
        .hocd
        .as_deref()
        .ok_or("--console and --streams need --hocd PATH")?;
    if let (Some(url), Some(&size)) = (&args.console_url, args.console.first()) {
        let label = if url.starts_with("postgres") {
            "postgres"
        } else {
            "sqlite"
        };
        return pages(label, None, hocd, size, args.seconds, Some(url), true).await;
    }
    for (label, server) in targets {
        for &size in &args.console {
            pages(
                label,
                server,
                hocd,
                size,
                args.seconds,
                None,
                args.seed_only,
            )
            .await?;
        }
        if !args.streams.is_empty() {
            let counts: Vec<usize> = args
                .streams
                .iter()
                .map(|n| usize::try_from(*n).unwrap_or(1))
                .collect();
            streams(label, server, hocd, &counts).await?;
        }
    }
    Ok(())
}
