//! The floors: the same rows written or read by hand-written SQL through sqlx, on the very pool the spine uses,
//! with the spine's transaction shape (BEGIN [IMMEDIATE], the tenant clock, the statements, COMMIT); on
//! PostgreSQL also as one statement with data-modifying CTEs (one round trip).

use hoc_drivers::Database;
use sea_orm::sqlx::{self, Row};
use time::OffsetDateTime;

use crate::seed::TENANT;

/// The instant `micros` as SQLite stores it (`DbTime`'s nine-digit text).
fn sqlite_time(micros: i64) -> String {
    let t = instant(micros);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}001Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

fn instant(micros: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

pub(crate) fn now_micros() -> i64 {
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

const CLOCK: &str = "INSERT INTO tenant_clocks (tenant_id, last_micros) VALUES ($1, $2) \
    ON CONFLICT (tenant_id) DO UPDATE SET last_micros = CASE WHEN tenant_clocks.last_micros >= excluded.last_micros \
    THEN tenant_clocks.last_micros + 1 ELSE excluded.last_micros END RETURNING last_micros";
const LAST: &str = "SELECT last_micros FROM tenant_clocks WHERE tenant_id = $1";
const INSERT_INCIDENT: &str = "INSERT INTO incidents (id, tenant_id, title, severity, category, status, \
    error_message, recurrence_signature, signature_version, signature_inputs, created_at, updated_at, version) \
    VALUES ($1, $2, $3, 'low', 'bench', 'open', $4, $5, 'rsig-v1', $6, $7, $7, 1)";
const SELECT_INCIDENT: &str = "SELECT * FROM incidents WHERE tenant_id = $1 AND id = $2";
const ACKNOWLEDGE: &str = "UPDATE incidents SET status = 'acknowledged', acknowledged_at = $1, \
    acknowledged_by = 'bench', updated_at = $1, version = $2 WHERE tenant_id = $3 AND id = $4 \
    AND status IN ('open') AND version = $5";
const RESOLVE: &str = "UPDATE incidents SET status = 'resolved', resolution_type = 'hotfix', \
    resolution_summary = 'patched', resolved_at = $1, resolved_by = 'bench', updated_at = $1, version = $2 \
    WHERE tenant_id = $3 AND id = $4 AND status IN ('open', 'acknowledged') AND version = $5";
const TIMELINE: &str = "INSERT INTO incident_timeline (id, tenant_id, incident_id, ordinal, event_type, \
    from_state, to_state, actor_type, actor_id, description, created_at, request_id) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, 'sdk', 'bench', 'bench change', $8, $9)";
const AUDIT: &str = "INSERT INTO audit_ledger (id, tenant_id, entity_type, entity_id, action, actor_type, \
    actor_id, reason, before_state, after_state, request_id, created_at) \
    VALUES ($1, $2, 'incident', $3, $4, 'AGENT', 'bench', NULL, $5, $6, $7, $8)";
const SEQUENCE: &str = "INSERT INTO event_sequences (tenant_id, project_id, last_sequence_no) \
    VALUES ($1, 'default', 1) ON CONFLICT (tenant_id, project_id) \
    DO UPDATE SET last_sequence_no = event_sequences.last_sequence_no + 1 RETURNING last_sequence_no";
const OUTBOX: &str = "INSERT INTO event_outbox (event_id, tenant_id, project_id, sequence_no, event_type, \
    schema_version, occurred_at, payload, published_at) VALUES ($1, $2, 'default', $3, $4, '1.1.0', $5, $6, NULL)";

const CREATE_ONE_TRIP: &str = "WITH clk AS (INSERT INTO tenant_clocks (tenant_id, last_micros) VALUES ($2, $7) \
    ON CONFLICT (tenant_id) DO UPDATE SET last_micros = CASE WHEN tenant_clocks.last_micros >= excluded.last_micros \
    THEN tenant_clocks.last_micros + 1 ELSE excluded.last_micros END RETURNING last_micros), \
  t AS (SELECT timestamptz 'epoch' + last_micros * interval '1 microsecond' AS at FROM clk), \
  inc AS (INSERT INTO incidents (id, tenant_id, title, severity, category, status, error_message, \
    recurrence_signature, signature_version, signature_inputs, created_at, updated_at, version) \
    SELECT $1, $2, $3, 'low', 'bench', 'open', $4, $5, 'rsig-v1', $6, t.at, t.at, 1 FROM t RETURNING id), \
  tl AS (INSERT INTO incident_timeline (id, tenant_id, incident_id, ordinal, event_type, from_state, to_state, \
    actor_type, actor_id, description, created_at, request_id) \
    SELECT 'tl_' || inc.id, $2, inc.id, 1, 'created', NULL, 'open', 'sdk', 'bench', 'incident opened', t.at, $8 \
    FROM inc, t), \
  au AS (INSERT INTO audit_ledger (id, tenant_id, entity_type, entity_id, action, actor_type, actor_id, reason, \
    before_state, after_state, request_id, created_at) \
    SELECT 'aud_' || inc.id, $2, 'incident', inc.id, 'incidents.write.create', 'AGENT', 'bench', NULL, NULL, \
    '{\"status\":\"open\"}', $8, t.at FROM inc, t), \
  seq AS (INSERT INTO event_sequences (tenant_id, project_id, last_sequence_no) SELECT $2, 'default', 1 FROM inc \
    ON CONFLICT (tenant_id, project_id) DO UPDATE SET last_sequence_no = event_sequences.last_sequence_no + 1 \
    RETURNING last_sequence_no) \
INSERT INTO event_outbox (event_id, tenant_id, project_id, sequence_no, event_type, schema_version, occurred_at, \
  payload, published_at) \
SELECT 'evt_' || $1, $2, 'default', seq.last_sequence_no, 'incidents.IncidentCreated', '1.1.0', t.at, $9, NULL \
FROM seq, t";

const TRANSITION_ONE_TRIP: &str = "WITH clk AS (INSERT INTO tenant_clocks (tenant_id, last_micros) VALUES ($1, $3) \
    ON CONFLICT (tenant_id) DO UPDATE SET last_micros = CASE WHEN tenant_clocks.last_micros >= excluded.last_micros \
    THEN tenant_clocks.last_micros + 1 ELSE excluded.last_micros END RETURNING last_micros), \
  t AS (SELECT timestamptz 'epoch' + last_micros * interval '1 microsecond' AS at FROM clk), \
  upd AS (UPDATE incidents SET status = 'acknowledged', acknowledged_at = t.at, acknowledged_by = 'bench', \
    updated_at = t.at, version = incidents.version + 1 FROM t \
    WHERE tenant_id = $1 AND id = $2 AND status = 'open' RETURNING incidents.id, incidents.version), \
  tl AS (INSERT INTO incident_timeline (id, tenant_id, incident_id, ordinal, event_type, from_state, to_state, \
    actor_type, actor_id, description, created_at, request_id) \
    SELECT 'tl_' || $4, $1, upd.id, upd.version, 'acknowledged', 'open', 'acknowledged', 'sdk', 'bench', \
      'open → acknowledged', t.at, $4 FROM upd, t), \
  au AS (INSERT INTO audit_ledger (id, tenant_id, entity_type, entity_id, action, actor_type, actor_id, reason, \
    before_state, after_state, request_id, created_at) \
    SELECT 'aud_' || $4, $1, 'incident', upd.id, 'incidents.write.acknowledge', 'AGENT', 'bench', NULL, \
    '{\"status\":\"open\"}', '{\"status\":\"acknowledged\"}', $4, t.at FROM upd, t), \
  seq AS (INSERT INTO event_sequences (tenant_id, project_id, last_sequence_no) SELECT $1, 'default', 1 FROM upd \
    ON CONFLICT (tenant_id, project_id) DO UPDATE SET last_sequence_no = event_sequences.last_sequence_no + 1 \
    RETURNING last_sequence_no) \
INSERT INTO event_outbox (event_id, tenant_id, project_id, sequence_no, event_type, schema_version, occurred_at, \
  payload, published_at) \
SELECT 'evt_' || $4, $1, 'default', seq.last_sequence_no, 'incidents.IncidentAcknowledged', '1.1.0', t.at, $5, NULL \
FROM seq, t";

const GET_AT: &str = "SELECT * FROM incident_versions WHERE tenant_id = $1 AND id = $2 AND updated_at <= $3 \
    ORDER BY version DESC LIMIT 1";
const LIST_FIRST: &str = "SELECT v.* FROM incident_versions v WHERE v.tenant_id = $1 AND v.created_at <= $2 AND v.updated_at <= $2 \
    AND v.version = (SELECT MAX(w.version) FROM incident_versions w WHERE w.tenant_id = v.tenant_id \
    AND w.id = v.id AND w.updated_at <= $2) ORDER BY v.created_at DESC, v.id DESC LIMIT 51";
const LIST_AFTER: &str = "SELECT v.* FROM incident_versions v WHERE v.tenant_id = $1 AND v.created_at <= $2 AND v.updated_at <= $2 \
    AND v.version = (SELECT MAX(w.version) FROM incident_versions w WHERE w.tenant_id = v.tenant_id \
    AND w.id = v.id AND w.updated_at <= $2) AND (v.created_at, v.id) < ($3, $4) \
    ORDER BY v.created_at DESC, v.id DESC LIMIT 51";
const GROUP_SUMMARY: &str = "SELECT member_count, open_count, first_seen, last_seen FROM recurrence_group_versions \
    WHERE tenant_id = $1 AND signature_version = 'rsig-v1' AND recurrence_signature = $2 AND valid_from <= $3 \
    ORDER BY valid_from DESC, version DESC LIMIT 1";
const GROUP_PAGE: &str = "SELECT v.* FROM incident_versions v WHERE v.tenant_id = $1 AND v.created_at <= $3 AND v.updated_at <= $3 \
    AND v.version = (SELECT MAX(w.version) FROM incident_versions w WHERE w.tenant_id = v.tenant_id \
    AND w.id = v.id AND w.updated_at <= $3) AND v.signature_version = 'rsig-v1' AND v.recurrence_signature = $2 \
    ORDER BY v.created_at DESC, v.id DESC LIMIT 51";
const EVENTS: &str = "SELECT * FROM event_outbox WHERE tenant_id = $1 AND project_id = 'default' \
    AND sequence_no > $2 ORDER BY sequence_no LIMIT 51";

/// One floor operation.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    Create {
        n: u64,
    },
    Acknowledge {
        id: String,
    },
    Resolve {
        id: String,
    },
    Get {
        id: String,
        at: Option<i64>,
    },
    List {
        at: Option<i64>,
        after: Option<(i64, String)>,
    },
    Group {
        signature: &'static str,
    },
    Events {
        after: i64,
    },
}

fn err(e: sqlx::Error) -> String {
    e.to_string()
}

/// Runs `op` the hand-written way, with the spine's transaction shape.
pub(crate) async fn run(db: &Database, op: &Op) -> Result<(), String> {
    // One body for both databases: the macro expands it once per pool type, with `$time` the stored form of an
    // instant there.
    macro_rules! on_both {
        // A write: one transaction (BEGIN IMMEDIATE on SQLite), like `hoc_ledger::begin_write`.
        (|$tx:ident, $time:ident| $body:block, write) => {
            match db.backend() {
                hoc_drivers::Backend::Sqlite => {
                    let pool = db.pool().get_sqlite_connection_pool();
                    let mut $tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(err)?;
                    let $time = sqlite_time;
                    $body
                    $tx.commit().await.map_err(err)
                }
                hoc_drivers::Backend::Postgres => {
                    let pool = db.pool().get_postgres_connection_pool();
                    let mut $tx = pool.begin().await.map_err(err)?;
                    let $time = instant;
                    $body
                    $tx.commit().await.map_err(err)
                }
            }
        };
        // A read: no transaction, like the spine's reader (one pooled connection, statements in autocommit).
        (|$tx:ident, $time:ident| $body:block, read) => {
            match db.backend() {
                hoc_drivers::Backend::Sqlite => {
                    let pool = db.read_pool().get_sqlite_connection_pool();
                    let mut $tx = pool.acquire().await.map_err(err)?;
                    let $time = sqlite_time;
                    $body
                    Ok(())
                }
                hoc_drivers::Backend::Postgres => {
                    let pool = db.read_pool().get_postgres_connection_pool();
                    let mut $tx = pool.acquire().await.map_err(err)?;
                    let $time = instant;
                    $body
                    Ok(())
                }
            }
        };
    }
    // The read's instant: the caller's, else the tenant clock (one statement, like the spine's read).
    macro_rules! read_instant {
        ($tx:ident, $at:expr) => {
            match $at {
                Some(t) => t,
                None => sqlx::query(LAST)
                    .bind(TENANT)
                    .fetch_one(&mut *$tx)
                    .await
                    .map_err(err)?
                    .try_get::<i64, _>(0)
                    .map_err(err)?,
            }
        };
    }
    match op {
        Op::Create { n } => on_both!(
            |tx, time| {
                let at: i64 = sqlx::query(CLOCK)
                    .bind(TENANT)
                    .bind(now_micros())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(err)?
                    .try_get(0)
                    .map_err(err)?;
                let id = format!("inc_floor_{}", uuid::Uuid::now_v7());
                let rid = format!("req_{}", uuid::Uuid::now_v7());
                sqlx::query(INSERT_INCIDENT)
                    .bind(&id)
                    .bind(TENANT)
                    .bind(format!("bench {n}"))
                    .bind(format!("timeout after {n} ms"))
                    .bind("sig_floor")
                    .bind(r#"{"version":"rsig-v1","mode":"fields","fields":[]}"#)
                    .bind(time(at))
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
                sqlx::query(TIMELINE)
                    .bind(format!("tl_{id}"))
                    .bind(TENANT)
                    .bind(&id)
                    .bind(1_i32)
                    .bind("created")
                    .bind(None::<String>)
                    .bind("open")
                    .bind(time(at))
                    .bind(&rid)
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
                sqlx::query(AUDIT)
                    .bind(format!("aud_{id}"))
                    .bind(TENANT)
                    .bind(&id)
                    .bind("incidents.write.create")
                    .bind(None::<String>)
                    .bind(r#"{"status":"open"}"#)
                    .bind(&rid)
                    .bind(time(at))
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
                let seq: i64 = sqlx::query(SEQUENCE)
                    .bind(TENANT)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(err)?
                    .try_get(0)
                    .map_err(err)?;
                sqlx::query(OUTBOX)
                    .bind(format!("evt_{id}"))
                    .bind(TENANT)
                    .bind(seq)
                    .bind("incidents.IncidentCreated")
                    .bind(time(at))
                    .bind(envelope(&id, seq))
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
            },
            write
        ),
        Op::Acknowledge { id } | Op::Resolve { id } => {
            let (update, to, action) = match op {
                Op::Acknowledge { .. } => {
                    (ACKNOWLEDGE, "acknowledged", "incidents.write.acknowledge")
                }
                _ => (RESOLVE, "resolved", "incidents.write.resolve"),
            };
            on_both!(
                |tx, time| {
                    let at: i64 = sqlx::query(CLOCK)
                        .bind(TENANT)
                        .bind(now_micros())
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(err)?
                        .try_get(0)
                        .map_err(err)?;
                    let row = sqlx::query(SELECT_INCIDENT)
                        .bind(TENANT)
                        .bind(id)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(err)?;
                    let version: i64 = row.try_get("version").map_err(err)?;
                    let from: String = row.try_get("status").map_err(err)?;
                    let done = sqlx::query(update)
                        .bind(time(at))
                        .bind(version + 1)
                        .bind(TENANT)
                        .bind(id)
                        .bind(version)
                        .execute(&mut *tx)
                        .await
                        .map_err(err)?;
                    if done.rows_affected() != 1 {
                        return Err(format!("{id}: not changed"));
                    }
                    // Timeline row n records the change that made version n.
                    let ordinal = i32::try_from(version + 1).map_err(|e| e.to_string())?;
                    let rid = format!("req_{}", uuid::Uuid::now_v7());
                    sqlx::query(TIMELINE)
                        .bind(format!("tl_{rid}"))
                        .bind(TENANT)
                        .bind(id)
                        .bind(ordinal)
                        .bind(to)
                        .bind(Some(from.clone()))
                        .bind(to)
                        .bind(time(at))
                        .bind(&rid)
                        .execute(&mut *tx)
                        .await
                        .map_err(err)?;
                    sqlx::query(AUDIT)
                        .bind(format!("aud_{rid}"))
                        .bind(TENANT)
                        .bind(id)
                        .bind(action)
                        .bind(Some(format!(r#"{{"status":"{from}"}}"#)))
                        .bind(format!(r#"{{"status":"{to}"}}"#))
                        .bind(&rid)
                        .bind(time(at))
                        .execute(&mut *tx)
                        .await
                        .map_err(err)?;
                    let seq: i64 = sqlx::query(SEQUENCE)
                        .bind(TENANT)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(err)?
                        .try_get(0)
                        .map_err(err)?;
                    sqlx::query(OUTBOX)
                        .bind(format!("evt_{rid}"))
                        .bind(TENANT)
                        .bind(seq)
                        .bind("incidents.IncidentAcknowledged")
                        .bind(time(at))
                        .bind(envelope(id, seq))
                        .execute(&mut *tx)
                        .await
                        .map_err(err)?;
                },
                write
            )
        }
        Op::Get { id, at } => on_both!(
            |tx, time| {
                let t = read_instant!(tx, *at);
                sqlx::query(GET_AT)
                    .bind(TENANT)
                    .bind(id)
                    .bind(time(t))
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(err)?;
            },
            read
        ),
        Op::List { at, after } => on_both!(
            |tx, time| {
                let t = read_instant!(tx, *at);
                match after {
                    None => {
                        sqlx::query(LIST_FIRST)
                            .bind(TENANT)
                            .bind(time(t))
                            .fetch_all(&mut *tx)
                            .await
                    }
                    Some((created, id)) => {
                        sqlx::query(LIST_AFTER)
                            .bind(TENANT)
                            .bind(time(t))
                            .bind(time(*created))
                            .bind(id)
                            .fetch_all(&mut *tx)
                            .await
                    }
                }
                .map_err(err)?;
            },
            read
        ),
        Op::Group { signature } => on_both!(
            |tx, time| {
                let t = read_instant!(tx, None::<i64>);
                sqlx::query(GROUP_SUMMARY)
                    .bind(TENANT)
                    .bind(*signature)
                    .bind(time(t))
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(err)?;
                sqlx::query(GROUP_PAGE)
                    .bind(TENANT)
                    .bind(*signature)
                    .bind(time(t))
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(err)?;
            },
            read
        ),
        Op::Events { after } => on_both!(
            |tx, _time| {
                let _ = read_instant!(tx, None::<i64>);
                sqlx::query(EVENTS)
                    .bind(TENANT)
                    .bind(*after)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(err)?;
            },
            read
        ),
    }
}

/// The one-round-trip floor on PostgreSQL: create or acknowledge as one statement.
pub(crate) async fn one_trip(db: &Database, op: &Op) -> Result<(), String> {
    let pool = db.pool().get_postgres_connection_pool();
    match op {
        Op::Create { n } => {
            let id = format!("inc_trip_{}", uuid::Uuid::now_v7());
            sqlx::query(CREATE_ONE_TRIP)
                .bind(&id)
                .bind(TENANT)
                .bind(format!("bench {n}"))
                .bind(format!("timeout after {n} ms"))
                .bind("sig_floor")
                .bind(r#"{"version":"rsig-v1","mode":"fields","fields":[]}"#)
                .bind(now_micros())
                .bind(format!("req_{}", uuid::Uuid::now_v7()))
                .bind(envelope(&id, 0))
                .execute(pool)
                .await
                .map_err(err)?;
        }
        Op::Acknowledge { id } => {
            let rid = format!("req_{}", uuid::Uuid::now_v7());
            let done = sqlx::query(TRANSITION_ONE_TRIP)
                .bind(TENANT)
                .bind(id)
                .bind(now_micros())
                .bind(&rid)
                .bind(envelope(id, 0))
                .execute(pool)
                .await
                .map_err(err)?;
            if done.rows_affected() != 1 {
                return Err(format!("{id}: not changed"));
            }
        }
        other => return Err(format!("no one-round-trip floor for {other:?}")),
    }
    Ok(())
}

/// An envelope-sized payload.
fn envelope(id: &str, seq: i64) -> String {
    format!(
        r#"{{"actor_id":"bench","actor_type":"sdk","data":{{"incident_id":"{id}","incident_state":"open","severity":"low"}},"decision_owner":"incidents","event_id":"evt_{id}","event_type":"incidents.IncidentCreated","occurred_at":"2026-11-28T00:00:00.000000Z","project_id":"default","request_id":"req_{id}","schema_version":"1.1.0","sequence_no":{seq},"tenant_id":"bench"}}"#
    )
}
