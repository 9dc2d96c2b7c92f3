//! Seeding by bulk SQL that respects the schema: `n` incidents of tenant `bench`, each with four versions (open,
//! acknowledged, resolved, then reopened or closed), their timeline rows, audit entries and events, realistic
//! recurrence groups (one of `n/10` members, one of about 1,000, the rest about 20 each), and the tenant clock.
//! The row-by-row triggers are suspended while the rows go in and the group summaries are replayed from the
//! history afterwards (`migration::bulk_load`), exactly as the migration that introduced them does.

use hoc_drivers::{Backend, Database};
use sea_orm::ConnectionTrait;

/// The tenant every seeded row belongs to.
pub(crate) const TENANT: &str = "bench";
/// Microseconds between two seeded incidents' creation.
pub(crate) const STEP: i64 = 1_000;
/// Microseconds between two versions of one seeded incident.
pub(crate) const VERSION_STEP: i64 = 200;

/// Where the seeded rows sit in time and how they are named.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Seeded {
    pub(crate) n: i64,
    /// `created_at` of incident 0, in microseconds since 1970.
    pub(crate) base: i64,
    /// Microseconds between two incidents' creation ([`STEP`] unless seeded with [`seed_spaced`]).
    pub(crate) step: i64,
}

impl Seeded {
    pub(crate) fn id(i: i64) -> String {
        format!("inc_{i:08}")
    }

    pub(crate) fn created(self, i: i64) -> i64 {
        self.base + i * self.step
    }

    /// The last seeded instant (the tenant clock after seeding).
    pub(crate) fn end(self) -> i64 {
        self.created(self.n - 1) + 3 * VERSION_STEP
    }

    /// The number of seeded events.
    pub(crate) fn events(self) -> i64 {
        self.n * 4
    }
}

struct Dialect {
    series: String,
    pad: &'static str,
}

impl Dialect {
    fn new(backend: Backend, n: i64) -> Self {
        match backend {
            Backend::Sqlite => Self {
                series: format!(
                    "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < {})",
                    n - 1
                ),
                pad: "printf('%08d', s.i)",
            },
            Backend::Postgres => Self {
                series: format!(
                    "WITH s(i) AS (SELECT generate_series(0::bigint, {}))",
                    n - 1
                ),
                pad: "lpad(s.i::text, 8, '0')",
            },
        }
    }
}

/// A stored timestamp from microseconds since 1970 (SQLite: the nine-digit text `DbTime` writes).
fn ts(backend: Backend, micros: &str) -> String {
    match backend {
        Backend::Sqlite => format!(
            "(strftime('%Y-%m-%dT%H:%M:%S', ({micros}) / 1000000, 'unixepoch') || '.' || \
             printf('%06d', ({micros}) % 1000000) || '001Z')"
        ),
        Backend::Postgres => {
            format!("(timestamptz 'epoch' + (({micros}) * interval '1 microsecond'))")
        }
    }
}

/// RFC 3339 text with microseconds and `Z`, as the envelope carries it.
fn rfc3339(backend: Backend, micros: &str) -> String {
    match backend {
        Backend::Sqlite => format!(
            "(strftime('%Y-%m-%dT%H:%M:%S', ({micros}) / 1000000, 'unixepoch') || '.' || \
             printf('%06d', ({micros}) % 1000000) || 'Z')"
        ),
        Backend::Postgres => format!(
            "to_char((timestamptz 'epoch' + (({micros}) * interval '1 microsecond')) AT TIME ZONE 'UTC', \
             'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
        ),
    }
}

const INCIDENT_COLUMNS: &str = "id, tenant_id, title, severity, category, status, trigger_type, source_type, \
    source_ref, error_code, error_message, description, recurrence_signature, signature_version, signature_inputs, \
    resolution_type, resolution_summary, resolution_method, close_reason, postmortem_artifact_id, acknowledged_at, \
    acknowledged_by, resolved_at, resolved_by, closed_at, closed_by, created_at, updated_at, version";

const VERSIONS: &str =
    "(SELECT 1 AS v UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) AS k";

/// Seeds `n` incidents ending one minute before `now_micros`, in `n/20` recurrence groups (plus the two large).
pub(crate) async fn seed(db: &Database, n: i64, now_micros: i64) -> Result<Seeded, String> {
    seed_groups(db, n, (n / 20).max(1), now_micros).await
}

/// [`seed`] with the small groups numbering `groups`.
pub(crate) async fn seed_groups(
    db: &Database,
    n: i64,
    groups: i64,
    now_micros: i64,
) -> Result<Seeded, String> {
    seed_spaced(db, n, groups, now_micros, STEP).await
}

/// [`seed_groups`] with `step` microseconds between two incidents' creation (a tenant's history over months rather
/// than seconds).
pub(crate) async fn seed_spaced(
    db: &Database,
    n: i64,
    groups: i64,
    now_micros: i64,
    step: i64,
) -> Result<Seeded, String> {
    let seeded = Seeded {
        n,
        base: now_micros - 60_000_000 - n * step,
        step,
    };
    let backend = db.backend();
    let conn = db.pool();
    let d = Dialect::new(backend, n);
    let groups = groups.max(1);
    let base = seeded.base;
    let at = format!("({base} + s.i * {step} + (k.v - 1) * {VERSION_STEP})");
    let created = ts(backend, &format!("({base} + s.i * {step})"));
    let updated = ts(backend, &at);
    let when_v = |from: i64, value: &str| format!("CASE WHEN k.v >= {from} THEN {value} END");
    let acknowledged_at = ts(
        backend,
        &format!("({base} + s.i * {step} + {VERSION_STEP})"),
    );
    let resolved_at = ts(
        backend,
        &format!("({base} + s.i * {step} + 2 * {VERSION_STEP})"),
    );
    let status = "CASE k.v WHEN 1 THEN 'open' WHEN 2 THEN 'acknowledged' WHEN 3 THEN 'resolved' \
                  ELSE CASE WHEN s.i % 2 = 0 THEN 'open' ELSE 'closed' END END";
    let signature = format!(
        "CASE WHEN s.i % 10 = 0 THEN 'sig_big' WHEN s.i % 1000 = 1 THEN 'sig_1k' \
         ELSE 'sig_' || (s.i % {groups}) END"
    );
    let pad = d.pad;
    let series = &d.series;
    let versions = format!(
        "{series} INSERT INTO incident_versions (id, tenant_id, title, severity, category, status, \
         recurrence_signature, signature_version, resolution_type, resolution_summary, resolution_method, \
         acknowledged_at, acknowledged_by, resolved_at, resolved_by, closed_at, closed_by, created_at, updated_at, \
         version, description) \
         SELECT 'inc_' || {pad}, '{TENANT}', 'bench incident ' || {pad}, \
           CASE s.i % 4 WHEN 0 THEN 'low' WHEN 1 THEN 'medium' WHEN 2 THEN 'high' ELSE 'critical' END, \
           'bench', {status}, {signature}, 'rsig-v1', \
           {rt}, {rs}, {rm}, {ack_at}, {ack_by}, {res_at}, {res_by}, \
           CASE WHEN k.v = 4 AND s.i % 2 = 1 THEN {updated} END, \
           CASE WHEN k.v = 4 AND s.i % 2 = 1 THEN 'bench' END, \
           {created}, {updated}, k.v, \
           'replica r' || (s.i % 1000) || ' lagging behind its primary' \
         FROM s CROSS JOIN {VERSIONS}",
        rt = when_v(3, "'hotfix'"),
        rs = when_v(3, "'patched'"),
        // Only a manual close records a resolution method; a resolution records its type.
        rm = "CASE WHEN k.v = 4 AND s.i % 2 = 1 THEN 'manual_closure' END",
        ack_at = when_v(2, &acknowledged_at),
        ack_by = when_v(2, "'bench'"),
        res_at = when_v(3, &resolved_at),
        res_by = when_v(3, "'bench'"),
    );
    let from_state = "CASE k.v WHEN 1 THEN NULL WHEN 2 THEN 'open' WHEN 3 THEN 'acknowledged' ELSE 'resolved' END";
    // The timeline's own vocabulary (TimelineKind): what each version's change was.
    let kind = "CASE k.v WHEN 1 THEN 'created' WHEN 2 THEN 'acknowledged' WHEN 3 THEN 'resolved' \
                ELSE CASE WHEN s.i % 2 = 0 THEN 'reopened' ELSE 'manually_closed' END END";
    let timeline = format!(
        "{series} INSERT INTO incident_timeline (id, tenant_id, incident_id, ordinal, event_type, from_state, \
         to_state, actor_type, actor_id, description, created_at, request_id) \
         SELECT 'tl_' || {pad} || '_' || k.v, '{TENANT}', 'inc_' || {pad}, k.v, \
           {kind}, {from_state}, {status}, 'sdk', 'bench', \
           'bench change', {updated}, 'req_' || {pad} || '_' || k.v \
         FROM s CROSS JOIN {VERSIONS}"
    );
    let audit = format!(
        "{series} INSERT INTO audit_ledger (id, tenant_id, entity_type, entity_id, action, actor_type, actor_id, \
         reason, before_state, after_state, request_id, created_at) \
         SELECT 'aud_' || {pad} || '_' || k.v, '{TENANT}', 'incident', 'inc_' || {pad}, \
           CASE k.v WHEN 1 THEN 'incidents.write.create' ELSE 'incidents.write.transition' END, 'AGENT', 'bench', \
           NULL, CASE WHEN k.v > 1 THEN '{{\"status\":\"' || {from_state} || '\"}}' END, \
           '{{\"status\":\"' || {status} || '\"}}', 'req_' || {pad} || '_' || k.v, {updated} \
         FROM s CROSS JOIN {VERSIONS}"
    );
    let event_type = "CASE k.v WHEN 1 THEN 'incidents.IncidentCreated' WHEN 2 THEN 'incidents.IncidentAcknowledged' \
                      WHEN 3 THEN 'incidents.IncidentResolved' \
                      ELSE CASE WHEN s.i % 2 = 0 THEN 'incidents.IncidentReopened' ELSE 'incidents.IncidentManuallyClosed' END END";
    // Each type's extension fields (schema 1.1.0: no signature fields yet).
    let data = "CASE k.v WHEN 1 THEN ',\"severity\":\"low\"' WHEN 3 THEN ',\"resolution_type\":\"hotfix\"' \
                ELSE CASE WHEN s.i % 2 = 0 THEN ',\"previous_state\":\"resolved\"' \
                ELSE ',\"resolution_method\":\"manual_closure\"' END END";
    let occurred = rfc3339(backend, &at);
    let sequence = "(s.i * 4 + k.v)";
    let seq_text = match backend {
        Backend::Sqlite => format!("CAST({sequence} AS TEXT)"),
        Backend::Postgres => format!("{sequence}::text"),
    };
    let outbox = format!(
        "{series} INSERT INTO event_outbox (event_id, tenant_id, project_id, sequence_no, event_type, \
         schema_version, occurred_at, payload, published_at) \
         SELECT 'evt_' || {pad} || '_' || k.v, '{TENANT}', 'default', {sequence}, {event_type}, '1.1.0', {updated}, \
           '{{\"actor_id\":\"bench\",\"actor_type\":\"sdk\",\"data\":{{\"incident_id\":\"inc_' || {pad} || \
           '\",\"incident_state\":\"' || {status} || '\"' || {data} || '}},\"decision_owner\":\"incidents\",\
           \"event_id\":\"evt_' || {pad} || '_' || k.v || '\",\"event_type\":\"' || {event_type} || \
           '\",\"occurred_at\":\"' || {occurred} || '\",\"project_id\":\"default\",\"request_id\":\"req_' || \
           {pad} || '_' || k.v || '\",\"schema_version\":\"1.1.0\",\"sequence_no\":' || {seq_text} || \
           ',\"tenant_id\":\"{TENANT}\"}}', NULL \
         FROM s CROSS JOIN {VERSIONS}"
    );
    let statements = [
        versions,
        format!(
            "INSERT INTO incidents ({INCIDENT_COLUMNS}) SELECT {INCIDENT_COLUMNS} FROM incident_versions WHERE version = 4"
        ),
        timeline,
        audit,
        outbox,
        format!(
            "INSERT INTO event_sequences (tenant_id, project_id, last_sequence_no) \
             VALUES ('{TENANT}', 'default', {})",
            seeded.events()
        ),
        format!(
            "INSERT INTO tenant_clocks (tenant_id, last_micros) VALUES ('{TENANT}', {})",
            seeded.end()
        ),
    ];
    migration::bulk_load::suspend_triggers(conn)
        .await
        .map_err(|e| format!("suspend triggers: {e}"))?;
    for sql in statements {
        conn.execute_unprepared(&sql)
            .await
            .map_err(|e| format!("seed: {e}\n{sql}"))?;
    }
    migration::bulk_load::resume_triggers(conn)
        .await
        .map_err(|e| format!("resume triggers: {e}"))?;
    match backend {
        Backend::Postgres => {
            conn.execute_unprepared("ANALYZE")
                .await
                .map_err(|e| format!("analyze: {e}"))?;
        }
        Backend::Sqlite => db.optimize().await.map_err(|e| e.to_string())?,
    }
    Ok(seeded)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use hoc_spine::requests::{
        GetIncident, IncidentTimeline, ListEvents, ListIncidents, ListRecurrenceGroups,
    };
    use hoc_spine::{ActorType, OperationContext, Spine};

    use super::*;

    // What the benchmark seeds is what the service would have written: every seeded incident, timeline, group
    // and event reads back through the spine (typed columns and the events' fail-closed validation refuse
    // anything else). Seeded rows the spine could not read once made every bench read fail.
    hoc_drivers::storage_test!(seeded_rows_read_back_through_the_spine, |db| {
        let now = time::OffsetDateTime::now_utc().unix_timestamp() * 1_000_000;
        let seeded = seed(&db, 40, now).await.unwrap();
        let spine = Spine::new(db.clone()).unwrap();
        let ctx = OperationContext::new(TENANT, ActorType::Sdk, "bench").unwrap();
        let mut listed = 0;
        let mut cursor = None;
        loop {
            let page = spine
                .call(
                    &ctx,
                    &ListIncidents {
                        limit: Some(7),
                        cursor: cursor.clone(),
                        ..ListIncidents::default()
                    },
                )
                .await
                .unwrap();
            listed += page.items.len();
            cursor = page.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
        assert_eq!(listed, 40);
        for i in [0, 1, 2, 3, 39] {
            let id = Seeded::id(i);
            spine
                .call(&ctx, &GetIncident { id: id.clone() })
                .await
                .unwrap();
            let timeline = spine.call(&ctx, &IncidentTimeline { id }).await.unwrap();
            assert_eq!(timeline.items.len(), 4);
        }
        let groups = spine
            .call(&ctx, &ListRecurrenceGroups::default())
            .await
            .unwrap();
        assert!(!groups.items.is_empty());
        let events = spine
            .call(
                &ctx,
                &ListEvents {
                    after: None,
                    limit: Some(200),
                },
            )
            .await
            .unwrap();
        assert_eq!(events.items.len() as i64, seeded.events());
    });
}
