//! The floors: the same rows written or read by hand-written SQL through sqlx, on the very pool the spine uses,
//! with the spine's transaction shape (BEGIN [IMMEDIATE], the tenant clock, the statements, COMMIT); on
//! PostgreSQL also as one statement with data-modifying CTEs (one round trip).

use hoc_drivers::Database;
use sea_orm::sqlx::{self, Row};
use time::OffsetDateTime;

use crate::seed::TENANT;

/// The instant `micros` as SQLite stores it (`DbTime`'s nine-digit text).
pub(crate) fn sqlite_time(micros: i64) -> String {
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

pub(crate) fn instant(micros: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

pub(crate) fn now_micros() -> i64 {
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

pub(crate) const CLOCK: &str = "INSERT INTO tenant_clocks (tenant_id, last_micros) VALUES ($1, $2) \
    ON CONFLICT (tenant_id) DO UPDATE SET last_micros = CASE WHEN tenant_clocks.last_micros >= excluded.last_micros \
    THEN tenant_clocks.last_micros + 1 ELSE excluded.last_micros END RETURNING last_micros, audit_seq, audit_head";
const LAST: &str = "SELECT last_micros FROM tenant_clocks WHERE tenant_id = $1";
const INSERT_INCIDENT: &str = "INSERT INTO incidents (id, tenant_id, title, severity, category, status, \
    error_message, recurrence_signature, signature_version, signature_inputs, created_at, updated_at, version) \
    VALUES ($1, $2, $3, 'low', 'bench', 'open', $4, $5, 'rsig-v1', $6, $7, $7, 1)";
/// The tenant's grouping configuration, which decides a new incident's signature (the spine reads it on every
/// create; the bench tenant has none, so the defaults apply).
pub(crate) const GROUPING_CONFIG: &str =
    "SELECT * FROM grouping_configs WHERE tenant_id = $1 ORDER BY version DESC LIMIT 1";
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
/// A timeline row numbered one past the incident's last, in the inserting statement (as the spine numbers it).
const TIMELINE_NEXT: &str = "INSERT INTO incident_timeline (id, tenant_id, incident_id, ordinal, event_type, \
    from_state, to_state, actor_type, actor_id, description, created_at, request_id) \
    VALUES ($1, $2, $3, (SELECT COALESCE(MAX(x.ordinal), 0) + 1 FROM incident_timeline x \
    WHERE x.tenant_id = $2 AND x.incident_id = $3), $4, $5, $6, 'sdk', 'bench', 'bench change', $7, $8)";
const AUDIT: &str = "INSERT INTO audit_ledger (id, tenant_id, entity_type, entity_id, action, actor_type, \
    actor_id, reason, before_state, after_state, request_id, created_at, chain_seq, prev_hash, row_hash) \
    VALUES ($1, $2, 'incident', $3, $4, 'AGENT', 'bench', NULL, $5, $6, $7, $8, $9, $10, $11)";
pub(crate) const SEQUENCE: &str = "INSERT INTO event_sequences (tenant_id, project_id, last_sequence_no) \
    VALUES ($1, 'default', 1) ON CONFLICT (tenant_id, project_id) \
    DO UPDATE SET last_sequence_no = event_sequences.last_sequence_no + 1 RETURNING last_sequence_no";
const OUTBOX: &str = "INSERT INTO event_outbox (event_id, tenant_id, project_id, sequence_no, event_type, \
    schema_version, occurred_at, payload, published_at) VALUES ($1, $2, 'default', $3, $4, '1.1.0', $5, $6, NULL)";

const CREATE_ONE_TRIP: &str = "WITH clk AS (INSERT INTO tenant_clocks (tenant_id, last_micros) VALUES ($2, $7) \
    ON CONFLICT (tenant_id) DO UPDATE SET last_micros = CASE WHEN tenant_clocks.last_micros >= excluded.last_micros \
    THEN tenant_clocks.last_micros + 1 ELSE excluded.last_micros END RETURNING last_micros, audit_seq, audit_head), \
  t AS (SELECT timestamptz 'epoch' + last_micros * interval '1 microsecond' AS at, last_micros, \
    audit_seq + 1 AS chain_seq, audit_head AS prev_hash FROM clk), \
  inc AS (INSERT INTO incidents (id, tenant_id, title, severity, category, status, error_message, \
    recurrence_signature, signature_version, signature_inputs, created_at, updated_at, version) \
    SELECT $1, $2, $3, 'low', 'bench', 'open', $4, $5, 'rsig-v1', $6, t.at, t.at, 1 FROM t RETURNING id), \
  tl AS (INSERT INTO incident_timeline (id, tenant_id, incident_id, ordinal, event_type, from_state, to_state, \
    actor_type, actor_id, description, created_at, request_id) \
    SELECT 'tl_' || inc.id, $2, inc.id, 1, 'created', NULL, 'open', 'sdk', 'bench', 'incident opened', t.at, $8 \
    FROM inc, t), \
  au AS (INSERT INTO audit_ledger (id, tenant_id, entity_type, entity_id, action, actor_type, actor_id, reason, \
    before_state, after_state, request_id, created_at, chain_seq, prev_hash, row_hash) \
    SELECT a.*, t.chain_seq, t.prev_hash, encode(sha256(convert_to('12:hoc-audit-v1;' || hoc_f(t.prev_hash) \
      || hoc_f(t.chain_seq::text) || hoc_f(a.id) || hoc_f(a.tenant_id) || hoc_f(a.entity_type) || hoc_f(a.entity_id) \
      || hoc_f(a.action) || hoc_f(a.actor_type) || hoc_f(a.actor_id) || hoc_f(a.reason) || hoc_f(a.before_state) \
      || hoc_f(a.after_state) || hoc_f(a.request_id) || hoc_f(t.last_micros::text), 'UTF8')), 'hex') \
    FROM (SELECT 'aud_' || inc.id AS id, $2::text AS tenant_id, 'incident'::text AS entity_type, inc.id AS entity_id, \
      'incidents.write.create'::text AS action, 'AGENT'::text AS actor_type, 'bench'::text AS actor_id, \
      NULL::text AS reason, NULL::text AS before_state, '{\"status\":\"open\"}'::text AS after_state, \
      $8::text AS request_id, t.at AS created_at FROM inc, t) a, t), \
  seq AS (INSERT INTO event_sequences (tenant_id, project_id, last_sequence_no) SELECT $2, 'default', 1 FROM inc \
    ON CONFLICT (tenant_id, project_id) DO UPDATE SET last_sequence_no = event_sequences.last_sequence_no + 1 \
    RETURNING last_sequence_no) \
INSERT INTO event_outbox (event_id, tenant_id, project_id, sequence_no, event_type, schema_version, occurred_at, \
  payload, published_at) \
SELECT 'evt_' || $1, $2, 'default', seq.last_sequence_no, 'incidents.IncidentCreated', '1.1.0', t.at, $9, NULL \
FROM seq, t";

const TRANSITION_ONE_TRIP: &str = "WITH clk AS (INSERT INTO tenant_clocks (tenant_id, last_micros) VALUES ($1, $3) \
    ON CONFLICT (tenant_id) DO UPDATE SET last_micros = CASE WHEN tenant_clocks.last_micros >= excluded.last_micros \
    THEN tenant_clocks.last_micros + 1 ELSE excluded.last_micros END RETURNING last_micros, audit_seq, audit_head), \
  t AS (SELECT timestamptz 'epoch' + last_micros * interval '1 microsecond' AS at, last_micros, \
    audit_seq + 1 AS chain_seq, audit_head AS prev_hash FROM clk), \
  upd AS (UPDATE incidents SET status = 'acknowledged', acknowledged_at = t.at, acknowledged_by = 'bench', \
    updated_at = t.at, version = incidents.version + 1 FROM t \
    WHERE tenant_id = $1 AND id = $2 AND status = 'open' RETURNING incidents.id, incidents.version), \
  tl AS (INSERT INTO incident_timeline (id, tenant_id, incident_id, ordinal, event_type, from_state, to_state, \
    actor_type, actor_id, description, created_at, request_id) \
    SELECT 'tl_' || $4, $1, upd.id, (SELECT COALESCE(MAX(x.ordinal), 0) + 1 FROM incident_timeline x \
      WHERE x.tenant_id = $1 AND x.incident_id = upd.id), 'acknowledged', 'open', 'acknowledged', 'sdk', 'bench', \
      'open → acknowledged', t.at, $4 FROM upd, t), \
  au AS (INSERT INTO audit_ledger (id, tenant_id, entity_type, entity_id, action, actor_type, actor_id, reason, \
    before_state, after_state, request_id, created_at, chain_seq, prev_hash, row_hash) \
    SELECT a.*, t.chain_seq, t.prev_hash, encode(sha256(convert_to('12:hoc-audit-v1;' || hoc_f(t.prev_hash) \
      || hoc_f(t.chain_seq::text) || hoc_f(a.id) || hoc_f(a.tenant_id) || hoc_f(a.entity_type) || hoc_f(a.entity_id) \
      || hoc_f(a.action) || hoc_f(a.actor_type) || hoc_f(a.actor_id) || hoc_f(a.reason) || hoc_f(a.before_state) \
      || hoc_f(a.after_state) || hoc_f(a.request_id) || hoc_f(t.last_micros::text), 'UTF8')), 'hex') \
    FROM (SELECT 'aud_' || $4 AS id, $1::text AS tenant_id, 'incident'::text AS entity_type, upd.id AS entity_id, \
      'incidents.write.acknowledge'::text AS action, 'AGENT'::text AS actor_type, 'bench'::text AS actor_id, \
      NULL::text AS reason, '{\"status\":\"open\"}'::text AS before_state, \
      '{\"status\":\"acknowledged\"}'::text AS after_state, $4::text AS request_id, t.at AS created_at FROM upd, t) a, t), \
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
// After a cursor older than `as_of` the row comparison is the only bound on created_at (the spine's shape: a
// second bound would be the one SQLite's planner takes, filtering every row before the cursor).
const LIST_AFTER: &str = "SELECT v.* FROM incident_versions v WHERE v.tenant_id = $1 AND v.updated_at <= $2 \
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

pub(crate) fn err(e: sqlx::Error) -> String {
    e.to_string()
}

/// The write's instant and the tenant's audit chain head (`audit_seq`, `audit_head`), from the clock upsert's row,
/// as `hoc_ledger::clock::tick` takes them: the row stays locked until commit, so the head is this write's to
/// extend.
pub(crate) fn tick<R: Row>(row: R) -> Result<(i64, (i64, Option<String>)), String>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let at: i64 = row.try_get(0).map_err(err)?;
    let seq: i64 = row.try_get(1).map_err(err)?;
    let hash: Option<String> = row.try_get(2).map_err(err)?;
    Ok((at, (seq, hash)))
}

/// The audit row a floor write appends, chained like `hoc_ledger::audit::append` chains it.
struct Audit<'a> {
    id: String,
    entity_id: &'a str,
    action: &'static str,
    before: Option<String>,
    after: String,
    request_id: &'a str,
    at: i64,
}

impl Audit<'_> {
    /// (`chain_seq`, `prev_hash`, `row_hash`) after `head`.
    fn chained(&self, head: &(i64, Option<String>)) -> (i64, Option<String>, String) {
        let seq = head.0 + 1;
        let hash = migration::audit_chain::ChainedRow {
            prev_hash: head.1.as_deref(),
            chain_seq: seq,
            id: &self.id,
            tenant_id: TENANT,
            entity_type: "incident",
            entity_id: self.entity_id,
            action: self.action,
            actor_type: "AGENT",
            actor_id: "bench",
            reason: None,
            before_state: self.before.as_deref(),
            after_state: Some(&self.after),
            request_id: self.request_id,
            created_at_micros: self.at,
        }
        .hash();
        (seq, head.1.clone(), hash)
    }
}

/// PostgreSQL: the function the one-round-trip floors hash the audit chain with — one field of the chain's
/// canonical form (`<length>:<bytes>;`, a missing value `-;`), as `migration::audit_chain` writes it.
pub(crate) async fn prepare(db: &Database) -> Result<(), String> {
    if db.backend() != hoc_drivers::Backend::Postgres {
        return Ok(());
    }
    sqlx::query(
        "CREATE OR REPLACE FUNCTION hoc_f(v text) RETURNS text LANGUAGE sql IMMUTABLE AS \
         $$ SELECT CASE WHEN v IS NULL THEN '-;' ELSE octet_length(v)::text || ':' || v || ';' END $$",
    )
    .execute(db.pool().get_postgres_connection_pool())
    .await
    .map_err(err)?;
    Ok(())
}

/// The first column of every row `sql` answers, as text.
pub(crate) async fn strings(db: &Database, sql: &str) -> Result<Vec<String>, String> {
    match db.backend() {
        hoc_drivers::Backend::Sqlite => {
            let pool = db.pool().get_sqlite_connection_pool();
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                .fetch_all(pool)
                .await
                .map_err(err)?;
            rows.iter().map(|r| r.try_get(0).map_err(err)).collect()
        }
        hoc_drivers::Backend::Postgres => {
            let pool = db.pool().get_postgres_connection_pool();
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                .fetch_all(pool)
                .await
                .map_err(err)?;
            rows.iter().map(|r| r.try_get(0).map_err(err)).collect()
        }
    }
}

/// The integer `sql` answers (one row, one column).
pub(crate) async fn count(db: &Database, sql: &str) -> Result<i64, String> {
    match db.backend() {
        hoc_drivers::Backend::Sqlite => {
            let pool = db.pool().get_sqlite_connection_pool();
            sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                .fetch_one(pool)
                .await
                .map_err(err)?
                .try_get(0)
                .map_err(err)
        }
        hoc_drivers::Backend::Postgres => {
            let pool = db.pool().get_postgres_connection_pool();
            sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                .fetch_one(pool)
                .await
                .map_err(err)?
                .try_get(0)
                .map_err(err)
        }
    }
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
                let (at, head) = tick(
                    sqlx::query(CLOCK)
                        .bind(TENANT)
                        .bind(now_micros())
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(err)?,
                )?;
                sqlx::query(GROUPING_CONFIG)
                    .bind(TENANT)
                    .fetch_optional(&mut *tx)
                    .await
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
                let audit = Audit {
                    id: format!("aud_{id}"),
                    entity_id: &id,
                    action: "incidents.write.create",
                    before: None,
                    after: r#"{"status":"open"}"#.to_owned(),
                    request_id: &rid,
                    at,
                };
                let (seq, prev, hash) = audit.chained(&head);
                sqlx::query(AUDIT)
                    .bind(&audit.id)
                    .bind(TENANT)
                    .bind(&id)
                    .bind(audit.action)
                    .bind(audit.before.clone())
                    .bind(&audit.after)
                    .bind(&rid)
                    .bind(time(at))
                    .bind(seq)
                    .bind(prev)
                    .bind(hash)
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
                    let (at, head) = tick(
                        sqlx::query(CLOCK)
                            .bind(TENANT)
                            .bind(now_micros())
                            .fetch_one(&mut *tx)
                            .await
                            .map_err(err)?,
                    )?;
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
                    let rid = format!("req_{}", uuid::Uuid::now_v7());
                    sqlx::query(TIMELINE_NEXT)
                        .bind(format!("tl_{rid}"))
                        .bind(TENANT)
                        .bind(id)
                        .bind(to)
                        .bind(Some(from.clone()))
                        .bind(to)
                        .bind(time(at))
                        .bind(&rid)
                        .execute(&mut *tx)
                        .await
                        .map_err(err)?;
                    let audit = Audit {
                        id: format!("aud_{rid}"),
                        entity_id: id,
                        action,
                        before: Some(format!(r#"{{"status":"{from}"}}"#)),
                        after: format!(r#"{{"status":"{to}"}}"#),
                        request_id: &rid,
                        at,
                    };
                    let (seq, prev, hash) = audit.chained(&head);
                    sqlx::query(AUDIT)
                        .bind(&audit.id)
                        .bind(TENANT)
                        .bind(id)
                        .bind(action)
                        .bind(audit.before.clone())
                        .bind(&audit.after)
                        .bind(&rid)
                        .bind(time(at))
                        .bind(seq)
                        .bind(prev)
                        .bind(hash)
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use crate::floor::{Op, one_trip, prepare, run};
    use crate::seed::TENANT;
    use hoc_drivers::Backend;
    use hoc_spine::requests::{AcknowledgeIncident, CreateIncident};
    use hoc_spine::{ActorType, OperationContext, Spine};

    async fn spine_create(spine: &Spine, ctx: &OperationContext, n: u64) -> String {
        spine
            .call(
                ctx,
                &CreateIncident {
                    title: Some(format!("spine {n}")),
                    severity: Some("low".into()),
                    category: Some("bench".into()),
                    ..CreateIncident::default()
                },
            )
            .await
            .unwrap()
            .id
    }

    // The floors write exactly what the spine writes, the audit chain included: floor writes interleaved with the
    // spine's are each accepted by the ledger's chain trigger, the spine's next append extends the floor's, and the
    // tenant's chain verifies afterwards. (A floor that skipped the chain was refused on every write, and the
    // benchmark printed its ratio as infinite.)
    hoc_drivers::storage_test!(floor_writes_extend_the_audit_chain, |db| {
        prepare(&db).await.unwrap();
        let spine = Spine::new(db.clone()).unwrap();
        let ctx = OperationContext::new(TENANT, ActorType::Sdk, "bench").unwrap();
        let mut rows = 0;
        let first = spine_create(&spine, &ctx, 0).await;
        let second = spine_create(&spine, &ctx, 1).await;
        let third = spine_create(&spine, &ctx, 2).await;
        rows += 3;
        for n in 0..3 {
            run(&db, &Op::Create { n }).await.unwrap();
        }
        run(&db, &Op::Acknowledge { id: first.clone() })
            .await
            .unwrap();
        run(&db, &Op::Resolve { id: first }).await.unwrap();
        run(&db, &Op::Resolve { id: second }).await.unwrap();
        rows += 6;
        spine
            .call(
                &ctx,
                &AcknowledgeIncident {
                    id: third.clone(),
                    reason: None,
                },
            )
            .await
            .unwrap();
        spine_create(&spine, &ctx, 3).await;
        rows += 2;
        if db.backend() == Backend::Postgres {
            one_trip(&db, &Op::Create { n: 9 }).await.unwrap();
            let fourth = spine_create(&spine, &ctx, 4).await;
            one_trip(&db, &Op::Acknowledge { id: fourth })
                .await
                .unwrap();
            spine_create(&spine, &ctx, 5).await;
            rows += 4;
        }
        let verified = spine.verify_audit(Some(TENANT)).await.unwrap();
        assert!(verified.breaks.is_empty(), "{:?}", verified.breaks);
        assert_eq!(verified.rows, rows);
    });
}
