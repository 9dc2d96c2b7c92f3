//! Alerts in (issue 23): an alert storm — `ALERTS` alerts in deliveries of `PER_DELIVERY`, from `SENDERS` senders at
//! once, each delivery one Alertmanager group (one incident) of Alertmanager-sized alerts — through the spine and
//! through a hand-written floor that writes the same rows in the same transactions (`storm_floor.rs`). Each path runs
//! on a fresh, empty database; the row counts of the two databases must agree table by table, or the floor is not a
//! floor and the run fails.

use hoc_drivers::Database;
use hoc_spine::requests::AlertmanagerWebhook;
use hoc_spine::{ActorType, OperationContext, Spine};
use serde_json::{Value, json};

use crate::measure::{Figure, Sample};

pub(crate) const TENANT: &str = crate::seed::TENANT;
/// Alerts in the storm.
pub(crate) const ALERTS: usize = 10_000;
/// Alerts per delivery (Alertmanager's `max_alerts` is often 100).
pub(crate) const PER_DELIVERY: usize = 100;
/// Senders posting at once.
pub(crate) const SENDERS: usize = 4;

/// Delivery `d` of the storm as Alertmanager sends it: one group (`StormAlert{d}`), `PER_DELIVERY` firing alerts,
/// each with the labels and annotations a real rule gives it (about 1 KiB per alert).
pub(crate) fn delivery(d: usize) -> Value {
    let alerts: Vec<Value> = (0..PER_DELIVERY)
        .map(|i| {
            json!({
                "status": "firing",
                "labels": {
                    "alertname": format!("StormAlert{d}"), "severity": "warning", "job": "node",
                    "instance": format!("node-{i}.dc1.example.net:9100"), "mountpoint": "/var/lib/postgresql",
                    "device": "/dev/nvme0n1p2", "fstype": "ext4", "team": "storage", "service": "db",
                },
                "annotations": {
                    "summary": format!("Disk almost full on node-{i}"),
                    "description": format!(
                        "Filesystem /var/lib/postgresql on node-{i}.dc1.example.net has {}% space left and is \
                         predicted to fill within 4 hours at the current write rate. Check replication slots, \
                         WAL retention and vacuum before it reaches 0%.", 5 + i % 3),
                    "runbook_url": "https://runbooks.example.net/storage/disk-full",
                },
                "startsAt": "2026-12-06T09:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": format!("http://prometheus-0:9090/graph?g0.expr=disk_free&d={d}"),
                "fingerprint": format!("{d:08x}{i:08x}"),
            })
        })
        .collect();
    json!({
        "version": "4", "groupKey": format!("{{}}:{{alertname=\"StormAlert{d}\"}}"), "truncatedAlerts": 0,
        "status": "firing", "receiver": "hocd", "groupLabels": { "alertname": format!("StormAlert{d}") },
        "commonLabels": { "alertname": format!("StormAlert{d}"), "severity": "warning", "job": "node" },
        "commonAnnotations": { "runbook_url": "https://runbooks.example.net/storage/disk-full" },
        "externalURL": "http://alertmanager-0:9093", "alerts": alerts,
    })
}

/// Sends the storm's deliveries from `SENDERS` tasks through `send`; the sample's latencies are per delivery.
pub(crate) async fn storm<F, Fut>(send: F) -> Sample
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send,
{
    let deliveries = ALERTS / PER_DELIVERY;
    crate::measure::measure(SENDERS, 3_600.0, move |k| (k < deliveries).then(|| send(k))).await
}

/// The storm through the spine, on `db` (fresh).
pub(crate) async fn through_spine(spine: &Spine) -> Sample {
    let spine = spine.clone();
    storm(move |d| {
        let spine = spine.clone();
        async move {
            let ctx = OperationContext::new(TENANT, ActorType::System, "alertmanager")
                .map_err(|e| e.to_string())?;
            let body: AlertmanagerWebhook =
                serde_json::from_value(delivery(d)).map_err(|e| e.to_string())?;
            spine
                .call(&ctx, &body)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
    })
    .await
}

/// The storm's figure: alerts per second (not deliveries), latencies per delivery.
pub(crate) fn figure(path: &str, sample: &Sample) -> Figure {
    let mut f = Figure::measured(SENDERS, "alert storm (alerts/s)", path, sample);
    f.ops_per_sec *= PER_DELIVERY as f64;
    f
}

/// Rows per table of `db` (every table but the migrations' own and SQLite's full-text shadow tables), to hold a
/// floor to the rows the spine writes.
pub(crate) async fn row_counts(db: &Database) -> Result<Vec<(String, i64)>, String> {
    let tables = crate::floor::strings(
        db,
        match db.backend() {
            hoc_drivers::Backend::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' \
                 AND name NOT LIKE 'incident\\_search\\_%' ESCAPE '\\' ORDER BY name"
            }
            hoc_drivers::Backend::Postgres => {
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' \
                 AND table_type = 'BASE TABLE' ORDER BY table_name"
            }
        },
    )
    .await?;
    let mut counts = Vec::new();
    for table in tables.into_iter().filter(|t| t != "seaql_migrations") {
        let n = crate::floor::count(db, &format!("SELECT COUNT(*) FROM {table}")).await?;
        counts.push((table, n));
    }
    Ok(counts)
}

/// The storm through the spine and through its floor (each on a fresh database, whose rows must agree), and with
/// `hocd`, over HTTP: the storm, and deliveries of one new alert at 200 alerts/s (send to committed answer).
pub(crate) async fn run(
    label: &'static str,
    server: Option<&str>,
    hocd: Option<&std::path::Path>,
) -> Result<Vec<Figure>, String> {
    let mut figures = Vec::new();
    let (db, url) = crate::fresh(label, 0, server).await?;
    let spine = Spine::new(db.clone()).map_err(|e| e.to_string())?;
    let sample = through_spine(&spine).await;
    let spine_rows = row_counts(&db).await?;
    figures.push(figure("spine", &sample));
    db.close().await.map_err(|e| e.to_string())?;
    crate::discard(server, &url).await;

    let (db, url) = crate::fresh(label, 0, server).await?;
    let floor_db = db.clone();
    let sample = storm(move |d| {
        let db = floor_db.clone();
        async move { crate::storm_floor::apply(&db, &delivery(d)).await }
    })
    .await;
    let floor_rows = row_counts(&db).await?;
    figures.push(figure("floor", &sample));
    db.close().await.map_err(|e| e.to_string())?;
    crate::discard(server, &url).await;
    if spine_rows != floor_rows {
        let differ: Vec<String> = spine_rows
            .iter()
            .zip(&floor_rows)
            .filter(|(a, b)| a != b)
            .map(|((table, a), (_, b))| format!("{table}: spine {a}, floor {b}"))
            .collect();
        return Err(format!(
            "{label}: the storm floor does not write the spine's rows ({})",
            differ.join("; ")
        ));
    }
    figures[0].ratio = crate::measure::ratio(&figures[0], &figures[1], false);
    figures[0].ratio_to = Some("floor".into());

    if let Some(hocd) = hocd {
        figures.extend(over_http(hocd, label, server).await?);
    }
    for f in &mut figures {
        f.database = label.to_owned();
    }
    crate::measure::print_table(&figures);
    Ok(figures)
}

/// Over HTTP against `hocd serve` with an ingest key: one new alert group per delivery at 200 alerts/s for 20 s,
/// sent on a fixed schedule (a slow answer does not delay the next send), each latency from the send to the
/// committed answer; then the storm (Alertmanager-sized bodies).
async fn over_http(
    hocd: &std::path::Path,
    label: &'static str,
    server: Option<&str>,
) -> Result<Vec<Figure>, String> {
    let (db, url) = crate::fresh(label, 0, server).await?;
    let crate::http::Hocd {
        server: mut server_process,
        address,
        key,
    } = crate::http::start(hocd, &url, "ingest").await?;
    let client = reqwest::Client::new();
    let post = {
        let (client, address, key) = (client.clone(), address.clone(), key.clone());
        move |body: Value| {
            let (client, address, key) = (client.clone(), address.clone(), key.clone());
            async move {
                let response = client
                    .post(format!("{address}/v1/integrations/alertmanager"))
                    .bearer_auth(&key)
                    .json(&body)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                if response.status().is_success() {
                    Ok(())
                } else {
                    Err(format!("{}", response.status()))
                }
            }
        }
    };
    // 200 single-alert deliveries per second, each a new group (each opens an incident), for 20 s.
    let rate = 200.0;
    let seconds = 20.0;
    let started = std::time::Instant::now();
    let mut tick = tokio::time::interval(std::time::Duration::from_secs_f64(1.0 / rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut sends = Vec::new();
    for n in 0..(rate * seconds) as usize {
        tick.tick().await;
        let mut body = delivery(ALERTS / PER_DELIVERY + n);
        if let Some(alerts) = body["alerts"].as_array_mut() {
            alerts.truncate(1);
        }
        let post = post.clone();
        sends.push(tokio::spawn(async move {
            let t = std::time::Instant::now();
            post(body).await.map(|()| t.elapsed())
        }));
    }
    let mut sample = Sample::default();
    for send in sends {
        let failed = match send.await {
            Ok(Ok(latency)) => {
                sample.latencies.push(latency);
                continue;
            }
            Ok(Err(e)) => e,
            Err(e) => e.to_string(),
        };
        sample.errors += 1;
        sample.first_error.get_or_insert(failed);
    }
    sample.elapsed = started.elapsed();
    let mut figures = vec![Figure::measured(
        1,
        "one alert per delivery at 200/s",
        "http",
        &sample,
    )];
    // The service time of the tenant's write queue during that case, from hocd's own histogram.
    if let Some((mean, count)) = clock_held(&client, &address).await {
        figures.push(Figure {
            database: label.to_owned(),
            case: "tenant clock held per delivery, mean ms (p50 column)".into(),
            ops: count as usize,
            ops_per_sec: f64::NAN,
            p50_ms: mean * 1_000.0,
            ..crate::http::rss_figure(0.0)
        });
    }
    let storm_post = post.clone();
    let sample = storm(move |d| storm_post(delivery(d))).await;
    figures.push(figure("http", &sample));

    if let Some(mb) = crate::http::peak_rss_mb(server_process.id().unwrap_or(0)) {
        figures.push(crate::http::rss_figure(mb));
    }
    let _ = server_process.kill().await;
    db.close().await.map_err(|e| e.to_string())?;
    crate::discard(server, &url).await;
    Ok(figures)
}

/// The mean time an Alertmanager delivery held the tenant clock, and how many there were, from `/metrics`.
async fn clock_held(client: &reqwest::Client, address: &str) -> Option<(f64, f64)> {
    let text = client
        .get(format!("{address}/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    let value = |suffix: &str| {
        text.lines()
            .find(|l| {
                l.starts_with(&format!("hoc_tenant_clock_held_seconds_{suffix}"))
                    && l.contains("method=\"alertmanager\"")
            })
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
    };
    let (sum, count) = (value("sum")?, value("count")?);
    (count > 0.0).then(|| (sum / count, count))
}

#[cfg(test)]
mod tests {
    use hoc_drivers::testing::TestDatabase;
    use hoc_spine::requests::AlertmanagerWebhook;
    use hoc_spine::{ActorType, OperationContext, Spine};

    use super::{TENANT, delivery};

    /// A statement's kind and the table it names first (`SELECT … FROM t`, `INSERT INTO t`, `UPDATE t`; for a
    /// `SELECT` of no table, the function it calls), with identifiers unquoted: what the spine's generated SQL and the floor's hand-written SQL have in common.
    fn shape(sql: &str) -> String {
        let sql = sql.replace('"', "");
        let words: Vec<&str> = sql
            .split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ',')
            .filter(|w| !w.is_empty())
            .collect();
        let kind = words.first().map(|w| w.to_uppercase()).unwrap_or_default();
        let after = |keyword: &str| {
            words
                .iter()
                .position(|w| w.eq_ignore_ascii_case(keyword))
                .and_then(|i| words.get(i + 1))
                .map(|t| t.to_lowercase())
                .unwrap_or_default()
        };
        let table = match kind.as_str() {
            "INSERT" => after("INTO"),
            "UPDATE" => words.get(1).map(|t| t.to_lowercase()).unwrap_or_default(),
            // A call without a table (`SELECT pg_advisory_xact_lock(…)`): the function.
            _ if !words.iter().any(|w| w.eq_ignore_ascii_case("FROM")) => {
                words.get(1).map(|t| t.to_lowercase()).unwrap_or_default()
            }
            _ => after("FROM"),
        };
        format!("{kind} {table}")
    }

    #[test]
    fn a_shape_is_the_kind_and_the_first_table() {
        assert_eq!(
            shape("SELECT \"a\".\"x\" FROM \"incident_alerts\" AS \"a\" WHERE (SELECT 1 FROM t)"),
            "SELECT incident_alerts"
        );
        assert_eq!(
            shape("insert into audit_ledger (id) VALUES ($1)"),
            "INSERT audit_ledger"
        );
        assert_eq!(
            shape("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"),
            "SELECT pg_advisory_xact_lock"
        );
        assert_eq!(shape("UPDATE \"incidents\" SET x = 1"), "UPDATE incidents");
    }

    async fn database() -> TestDatabase {
        match TestDatabase::postgres().await {
            Some(db) => db,
            None => TestDatabase::sqlite().await,
        }
    }

    /// The floor sends the spine's statements, in the spine's order: the same kind on the same table for a storm
    /// delivery, each path on its own fresh database. A floor that sent fewer (or more) would make `storm ÷ floor`
    /// a comparison of different work, which is how an earlier floor flattered the spine.
    #[tokio::test]
    async fn the_floor_sends_the_statements_the_spine_sends() {
        let spine_db = database().await;
        let spine = Spine::new(spine_db.db().clone()).unwrap_or_else(|e| panic!("{e}"));
        let ctx = OperationContext::new(TENANT, ActorType::System, "alertmanager")
            .unwrap_or_else(|e| panic!("{e}"));
        let body: AlertmanagerWebhook =
            serde_json::from_value(delivery(0)).unwrap_or_else(|e| panic!("{e}"));
        spine_db.db().record_statements();
        spine
            .call(&ctx, &body)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let spine_shapes: Vec<String> = spine_db
            .db()
            .recorded_statements()
            .iter()
            .map(|s| shape(s))
            .collect();

        let floor_db = database().await;
        let mut trace = Vec::new();
        crate::storm_floor::apply_noting(floor_db.db(), &delivery(0), Some(&mut trace))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let floor_shapes: Vec<String> = trace.iter().map(|s| shape(s)).collect();

        assert_eq!(
            floor_shapes, spine_shapes,
            "the floor's statements (left) against the spine's (right)"
        );
        assert!(
            spine_shapes.contains(&"INSERT incident_alerts".to_owned()) && spine_shapes.len() >= 15,
            "a storm delivery is more than {} statements: {spine_shapes:?}",
            spine_shapes.len()
        );
    }
}
