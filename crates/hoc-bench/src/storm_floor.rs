//! The alert storm's floor: one delivery applied by hand-written SQL through sqlx on the spine's own pool, in the
//! spine's transaction and statement shape (`hoc_spine::ops::alerts`, `hoc_incidents::alerts::lookup`). Before the
//! tenant clock: the tenant's ingest policy, the group's key locked (PostgreSQL), the alerts' last versions (one
//! statement), the group's last incident, whether the delivery was applied before, and the grouping configuration
//! (with the tenant's first signature version when it has none). Holding the clock: the tick, the versions check
//! (one statement), the incident, the alerts in one insert, the timeline rows in one insert (the incident's first
//! row with its alerts', each numbered by a subquery in the insert), the delivery recorded with its answer, the
//! chained audit rows in one insert, and the events (their numbers in one statement, their rows in one insert).
//! The rows are the spine's: `storm::run` compares both databases table by table.

use hoc_drivers::Database;
use sea_orm::sqlx::{self, Row};
use serde_json::Value;

use crate::floor::{CLOCK, GROUPING_CONFIG, err, instant, now_micros, sqlite_time, tick};
use crate::seed::TENANT;

const POLICY: &str =
    "SELECT * FROM ingest_policies WHERE tenant_id = $1 ORDER BY version DESC LIMIT 1";
const DELIVERY: &str = "SELECT * FROM ingest_deliveries WHERE tenant_id = $1 AND delivery_id = $2";
/// The tenant's first signature version (read when it has no grouping configuration).
const FIRST_SIGNATURE: &str = "SELECT signature_version FROM incident_versions WHERE tenant_id = $1 \
    AND version = 1 ORDER BY created_at ASC, id ASC LIMIT 1";
const VERSIONS: &str = "SELECT COALESCE((SELECT MAX(version) FROM ingest_policies WHERE tenant_id = $1), 0), \
    COALESCE((SELECT MAX(version) FROM grouping_configs WHERE tenant_id = $2), 0), \
    CASE WHEN EXISTS (SELECT 1 FROM incidents WHERE tenant_id = $3) THEN 1 ELSE 0 END";
const RECORD: &str = "INSERT INTO ingest_deliveries (tenant_id, delivery_id, source, received_at, result) \
    VALUES ($1, $2, 'alertmanager', $3, $4) ON CONFLICT (tenant_id, delivery_id) DO NOTHING";
const LOCK_KEY: &str = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))";
/// Every version of the delivery's alerts (`$2`…: their fingerprints), newest first.
const LATEST: &str = "SELECT * FROM incident_alerts WHERE tenant_id = $1 AND source = 'alertmanager' \
    AND dedup_key IN ";
const KEY_INCIDENT: &str = "SELECT incident_id FROM incident_alerts WHERE tenant_id = $1 \
    AND source = 'alertmanager' AND incident_key = $2 ORDER BY created_at DESC LIMIT 1";
const INSERT_INCIDENT: &str = "INSERT INTO incidents (id, tenant_id, title, severity, category, status, \
    trigger_type, source_type, source_ref, description, recurrence_signature, signature_version, signature_inputs, \
    created_at, updated_at, version, service, labels) VALUES ($1, $2, $3, 'medium', 'alert', 'open', 'alert', \
    'alertmanager', $4, $5, $6, 'rsig-v1', $7, $8, $8, 1, 'db', $9)";
const INSERT_ALERT: &str = "INSERT INTO incident_alerts (tenant_id, alert_id, version, incident_id, source, \
    dedup_key, incident_key, status, labels, annotations, starts_at, ends_at, last_received_at, occurrences, \
    created_at, updated_at, request_id) VALUES ";
/// One alert's values: 12 parameters.
const ALERT_ROW: &str =
    "($, $, 1, $, 'alertmanager', $, $, 'firing', $, $, $, NULL, $, 1, $, $, $)";
const TIMELINE_ROWS: &str = "INSERT INTO incident_timeline (id, tenant_id, incident_id, ordinal, event_type, \
    from_state, to_state, actor_type, actor_id, description, created_at, request_id) VALUES ";
/// One timeline row, numbered one past the incident's last plus its place: 12 parameters (the spine's
/// `timeline::insert_all`).
const TIMELINE_ROW: &str = "($, $, $, (SELECT COALESCE(MAX(t.ordinal), 0) + 1 FROM incident_timeline t \
    WHERE t.tenant_id = $ AND t.incident_id = $) + $, $, $, $, 'system', 'alertmanager', $, $, $)";
const AUDIT: &str = "INSERT INTO audit_ledger (id, tenant_id, entity_type, entity_id, action, actor_type, \
    actor_id, reason, before_state, after_state, request_id, created_at, chain_seq, prev_hash, row_hash) VALUES ";
/// One audit row's values: 11 parameters.
const AUDIT_ROW: &str = "($, $, $, $, $, 'SYSTEM', 'alertmanager', NULL, NULL, $, $, $, $, $, $)";
const OUTBOX: &str = "INSERT INTO event_outbox (event_id, tenant_id, project_id, sequence_no, event_type, \
    schema_version, occurred_at, payload) VALUES ";
/// One event's values: 6 parameters.
const OUTBOX_ROW: &str = "($, $, 'default', $, $, '1.5.0', $, $)";
/// Reserves `$2` sequence numbers at once (returns the last).
const SEQUENCES: &str = "INSERT INTO event_sequences (tenant_id, project_id, last_sequence_no) \
    VALUES ($1, 'default', $2) ON CONFLICT (tenant_id, project_id) \
    DO UPDATE SET last_sequence_no = event_sequences.last_sequence_no + excluded.last_sequence_no \
    RETURNING last_sequence_no";

/// A multi-row insert: `head` and `rows` copies of `row`, whose `$` become `$1`, `$2`… (`numbered`, PostgreSQL) or
/// `?` (SQLite, where sqlx resolves each `$N` by name: quadratic in a statement of a thousand parameters).
fn multi_row(head: &str, row: &str, rows: usize, numbered: bool) -> String {
    let mut sql = head.to_owned();
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        for c in row.chars() {
            if c != '$' {
                sql.push(c);
            } else if numbered {
                n += 1;
                sql.push('$');
                sql.push_str(&n.to_string());
            } else {
                sql.push('?');
            }
        }
    }
    sql
}

fn id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7())
}

/// One audit row of the delivery: (id, entity type, entity id, action, after state).
struct AuditRow {
    id: String,
    entity_type: &'static str,
    entity_id: String,
    action: &'static str,
    after: String,
}

/// The rows' `(chain_seq, prev_hash, row_hash)` after `head`, chained like `hoc_ledger::audit::append`.
fn chain(
    rows: &[AuditRow],
    head: (i64, Option<String>),
    request_id: &str,
    at: i64,
) -> Vec<(i64, Option<String>, String)> {
    let (mut seq, mut prev) = head;
    rows.iter()
        .map(|row| {
            seq += 1;
            let hash = migration::audit_chain::ChainedRow {
                prev_hash: prev.as_deref(),
                chain_seq: seq,
                id: &row.id,
                tenant_id: TENANT,
                entity_type: row.entity_type,
                entity_id: &row.entity_id,
                action: row.action,
                actor_type: "SYSTEM",
                actor_id: "alertmanager",
                reason: None,
                before_state: None,
                after_state: Some(&row.after),
                request_id,
                created_at_micros: at,
            }
            .hash();
            let out = (seq, prev.clone(), hash.clone());
            prev = Some(hash);
            out
        })
        .collect()
}

fn payload(event_type: &str, data: &Value, seq: i64, request_id: &str) -> String {
    serde_json::json!({
        "actor_id": "alertmanager", "actor_type": "system", "data": data, "decision_owner": "incidents",
        "event_id": id("evt"), "event_type": event_type, "occurred_at": "2026-12-06T09:00:00.000000Z",
        "project_id": "default", "request_id": request_id, "schema_version": "1.5.0", "sequence_no": seq,
        "tenant_id": TENANT,
    })
    .to_string()
}

fn text(map: &Value) -> String {
    map.to_string()
}

/// Applies delivery `body` (a storm delivery: one new group of firing alerts) the hand-written way.
pub(crate) async fn apply(db: &Database, body: &Value) -> Result<(), String> {
    apply_noting(db, body, None).await
}

/// [`apply`], noting the text of each statement it sends in `trace` (when given), for the test that holds the
/// floor to the spine's statements.
pub(crate) async fn apply_noting(
    db: &Database,
    body: &Value,
    mut trace: Option<&mut Vec<String>>,
) -> Result<(), String> {
    macro_rules! q {
        (safe $sql:expr) => {{
            let sql: String = $sql;
            if let Some(trace) = trace.as_deref_mut() {
                trace.push(sql.clone());
            }
            sqlx::query(sqlx::AssertSqlSafe(sql))
        }};
        ($sql:expr) => {{
            if let Some(trace) = trace.as_deref_mut() {
                trace.push($sql.to_owned());
            }
            sqlx::query($sql)
        }};
    }
    let group = body["groupKey"].as_str().unwrap_or_default().to_owned();
    let alerts = body["alerts"].as_array().cloned().unwrap_or_default();
    let delivery_id = format!("{:x}", uuid::Uuid::now_v7().as_u128());
    let key = format!("alerts/{TENANT}/{group}");
    let request_id = id("req");
    macro_rules! delivery {
        ($tx:ident, $time:ident, $pg:expr) => {{
            // Before the clock: the policy, the key's lock, the alerts' last versions, the key's last incident,
            // the delivery's record and the grouping configuration.
            q!(POLICY).bind(TENANT).fetch_optional(&mut *$tx).await.map_err(err)?;
            if $pg {
                q!(LOCK_KEY).bind(&key).fetch_one(&mut *$tx).await.map_err(err)?;
            }
            let fingerprints: Vec<&str> =
                alerts.iter().map(|a| a["fingerprint"].as_str().unwrap_or_default()).collect();
            let list: Vec<String> = (2..fingerprints.len() + 2)
                .map(|n| if $pg { format!("${n}") } else { "?".to_owned() })
                .collect();
            let sql = format!(
                "{}({}) ORDER BY created_at DESC, alert_id DESC, version DESC",
                if $pg { LATEST.to_owned() } else { LATEST.replace("$1", "?") },
                list.join(", ")
            );
            let mut query = q!(safe sql).bind(TENANT);
            for fingerprint in &fingerprints {
                query = query.bind(*fingerprint);
            }
            query.fetch_all(&mut *$tx).await.map_err(err)?;
            q!(KEY_INCIDENT)
                .bind(TENANT)
                .bind(&group)
                .fetch_optional(&mut *$tx)
                .await
                .map_err(err)?;
            q!(DELIVERY)
                .bind(TENANT)
                .bind(&delivery_id)
                .fetch_optional(&mut *$tx)
                .await
                .map_err(err)?;
            q!(GROUPING_CONFIG).bind(TENANT).fetch_optional(&mut *$tx).await.map_err(err)?;
            q!(FIRST_SIGNATURE).bind(TENANT).fetch_optional(&mut *$tx).await.map_err(err)?;
            // Holding the clock: the tick, then the versions read before it, checked in one statement.
            let (at, head) = tick(
                q!(CLOCK)
                    .bind(TENANT)
                    .bind(now_micros())
                    .fetch_one(&mut *$tx)
                    .await
                    .map_err(err)?,
            )?;
            q!(VERSIONS)
                .bind(TENANT)
                .bind(TENANT)
                .bind(TENANT)
                .fetch_one(&mut *$tx)
                .await
                .map_err(err)?;
            let incident = id("inc");
            let first = &alerts[0];
            let labels = &first["labels"];
            q!(INSERT_INCIDENT)
                .bind(&incident)
                .bind(TENANT)
                .bind(first["annotations"]["summary"].as_str().unwrap_or_default())
                .bind(first["generatorURL"].as_str())
                .bind(first["annotations"]["description"].as_str())
                .bind(format!("sig_{group}"))
                .bind(r#"{"version":"rsig-v1","mode":"fingerprint","fields":[]}"#)
                .bind($time(at))
                .bind(text(labels))
                .execute(&mut *$tx)
                .await
                .map_err(err)?;
            let mut audits = vec![AuditRow {
                id: id("aud"),
                entity_type: "incident",
                entity_id: incident.clone(),
                action: "incidents.write.create",
                after: serde_json::json!({"status": "open", "title": first["annotations"]["summary"],
                    "description": first["annotations"]["description"], "labels": labels,
                    "service": "db", "severity": "medium", "version": 1})
                .to_string(),
            }];
            let mut events = vec![(
                "incidents.IncidentCreated",
                serde_json::json!({"incident_id": incident, "incident_state": "open", "severity": "medium"}),
            )];
            // The incident's first timeline row goes in with its alerts'.
            let mut timeline: Vec<(&str, Option<&str>, String)> =
                vec![("created", None, "incident opened".to_owned())];
            let mut fired = Vec::new();
            for (alert, fingerprint) in alerts.iter().zip(&fingerprints) {
                let alert_id = id("alr");
                fired.push((alert_id.clone(), *fingerprint, alert));
                timeline.push((
                    "alert_fired",
                    Some("open"),
                    format!("alert {} ({fingerprint}) fired", alert["labels"]["alertname"]),
                ));
                let state = serde_json::json!({"incident_id": incident, "version": 1, "status": "firing",
                    "occurrences": 1, "starts_at": "2026-12-06T09:00:00.000000Z", "ends_at": null});
                audits.push(AuditRow {
                    id: id("aud"),
                    entity_type: "alert",
                    entity_id: alert_id.clone(),
                    action: "incidents.alerts.ingest",
                    after: state.to_string(),
                });
                events.push((
                    "incidents.AlertFired",
                    serde_json::json!({"incident_id": incident, "alert_id": alert_id,
                        "source": "alertmanager", "dedup_key": fingerprint, "alert_version": 1,
                        "occurrences": 1}),
                ));
            }
            for chunk in fired.chunks(200) {
                let sql = multi_row(INSERT_ALERT, ALERT_ROW, chunk.len(), $pg);
                let mut query = q!(safe sql);
                for (alert_id, fingerprint, alert) in chunk {
                    query = query
                        .bind(TENANT)
                        .bind(alert_id)
                        .bind(&incident)
                        .bind(*fingerprint)
                        .bind(&group)
                        .bind(text(&alert["labels"]))
                        .bind(text(&alert["annotations"]))
                        .bind($time(1_796_547_600_000_000))
                        .bind($time(at))
                        .bind($time(at))
                        .bind($time(at))
                        .bind(&request_id);
                }
                query.execute(&mut *$tx).await.map_err(err)?;
            }
            for (n, chunk) in timeline.chunks(200).enumerate() {
                let sql = multi_row(TIMELINE_ROWS, TIMELINE_ROW, chunk.len(), $pg);
                let mut query = q!(safe sql);
                for (i, (event_type, from, description)) in chunk.iter().enumerate() {
                    query = query
                        .bind(id("tl"))
                        .bind(TENANT)
                        .bind(&incident)
                        .bind(TENANT)
                        .bind(&incident)
                        .bind(i32::try_from(n * 200 + i).unwrap_or(0))
                        .bind(*event_type)
                        .bind(*from)
                        .bind("open")
                        .bind(description)
                        .bind($time(at))
                        .bind(&request_id);
                }
                query.execute(&mut *$tx).await.map_err(err)?;
            }
            q!(RECORD)
                .bind(TENANT)
                .bind(&delivery_id)
                .bind($time(at))
                .bind(format!(r#"{{"incidents":[{{"id":"{incident}","outcome":"created"}}]}}"#))
                .execute(&mut *$tx)
                .await
                .map_err(err)?;
            // The audit rows in one multi-row insert per 200, the events' numbers in one statement and their rows
            // in one insert (the spine's shape).
            let chained = chain(&audits, head, &request_id, at);
            for (rows, links) in audits.chunks(200).zip(chained.chunks(200)) {
                let sql = multi_row(AUDIT, AUDIT_ROW, rows.len(), $pg);
                let mut query = q!(safe sql);
                for (row, (seq, prev, hash)) in rows.iter().zip(links) {
                    query = query
                        .bind(&row.id)
                        .bind(TENANT)
                        .bind(row.entity_type)
                        .bind(&row.entity_id)
                        .bind(row.action)
                        .bind(&row.after)
                        .bind(&request_id)
                        .bind($time(at))
                        .bind(*seq)
                        .bind(prev.clone())
                        .bind(hash.clone());
                }
                query.execute(&mut *$tx).await.map_err(err)?;
            }
            let n = i64::try_from(events.len()).unwrap_or(0);
            let last: i64 = q!(SEQUENCES)
                .bind(TENANT)
                .bind(n)
                .fetch_one(&mut *$tx)
                .await
                .map_err(err)?
                .try_get(0)
                .map_err(err)?;
            let sql = multi_row(OUTBOX, OUTBOX_ROW, events.len(), $pg);
            let mut query = q!(safe sql);
            for (seq, (event_type, data)) in (last - n + 1..).zip(&events) {
                query = query
                    .bind(id("evt"))
                    .bind(TENANT)
                    .bind(seq)
                    .bind(*event_type)
                    .bind($time(at))
                    .bind(payload(event_type, data, seq, &request_id));
            }
            query.execute(&mut *$tx).await.map_err(err)?;
        }};
    }
    match db.backend() {
        hoc_drivers::Backend::Sqlite => {
            let pool = db.pool().get_sqlite_connection_pool();
            let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(err)?;
            delivery!(tx, sqlite_time, false);
            tx.commit().await.map_err(err)
        }
        hoc_drivers::Backend::Postgres => {
            let pool = db.pool().get_postgres_connection_pool();
            let mut tx = pool.begin().await.map_err(err)?;
            delivery!(tx, instant, true);
            tx.commit().await.map_err(err)
        }
    }
}
