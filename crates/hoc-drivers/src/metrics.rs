//! What the incident metrics read: for every incident created in a window, one row summarising its history up to
//! an instant — its version there and the fields it had, and the first acknowledgement, resolution and end of
//! activity its earlier versions record. One statement: an aggregate over the versions (through the creation
//! index `(tenant_id, created_at, id)`) joined with each incident's version at the instant by key.

use hoc_contracts::input::{IncidentState, Severity};
use sea_orm::{ConnectionTrait, DbBackend, QueryResult, Statement, Value};

use crate::{DbTime, StorageError, Stored, Tx};

/// One incident created in the window, as its history up to the instant says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentFacts {
    /// The incident.
    pub id: String,
    /// Its version at the instant (the highest whose `updated_at` is at or before it).
    pub version: i64,
    /// When it was opened.
    pub created_at: DbTime,
    /// The earliest `acknowledged_at` of its versions up to the instant.
    pub first_acknowledged: Option<DbTime>,
    /// The instant of its first version in the state `resolved`.
    pub first_resolved: Option<DbTime>,
    /// The instant of its first version in the state `resolved` or `closed`.
    pub first_done: Option<DbTime>,
    /// The instant of its last version in the state `open` or `acknowledged`.
    pub last_active: Option<DbTime>,
    /// Whether a version up to the instant is `resolved` with the resolution type `auto`.
    pub auto_resolved: bool,
    /// Its state at the instant.
    pub status: Stored<IncidentState>,
    /// The incident it is a duplicate of, at the instant.
    pub duplicate_of: Option<String>,
    /// Its service at the instant.
    pub service: Option<String>,
    /// Its severity at the instant.
    pub severity: Stored<Severity>,
    /// Its category at the instant.
    pub category: String,
    /// Its assignee at the instant.
    pub assignee: Option<String>,
    /// What raised it (`alert` for an incident an alert opened).
    pub trigger_type: Option<String>,
    /// The kind of source (`alertmanager`, `pagerduty` for an alert's).
    pub source_type: Option<String>,
    /// Its signature algorithm at the instant.
    pub signature_version: Option<String>,
    /// Its recurrence signature at the instant.
    pub recurrence_signature: Option<String>,
}

fn get<T: sea_orm::TryGetable>(row: &QueryResult, column: &str) -> Result<T, StorageError> {
    row.try_get("", column).map_err(StorageError::from_db)
}

/// Every incident of the tenant created in `[start, end)` that exists at `as_of`, summarised from its versions
/// up to `as_of`, in creation order (`created_at`, `id`).
pub async fn incident_facts(
    tx: &Tx,
    tenant_id: &str,
    start: DbTime,
    end: DbTime,
    as_of: DbTime,
) -> Result<Vec<IncidentFacts>, StorageError> {
    let conn = tx.conn();
    let backend = conn.get_database_backend();
    let mut n = 0;
    let mut p = || {
        n += 1;
        match backend {
            DbBackend::Postgres => format!("${n}"),
            _ => "?".to_owned(),
        }
    };
    // Every version of one incident shares its `created_at`, so grouping by (created_at, id) follows the creation
    // index and needs no sort.
    let sql = format!(
        "SELECT c.id, c.version, c.created_at, c.status, c.duplicate_of, c.service, c.severity, c.category, \
                c.assignee, c.trigger_type, c.source_type, c.signature_version, c.recurrence_signature, \
                h.first_acknowledged, h.first_resolved, h.first_done, h.last_active, h.auto_resolved \
         FROM (SELECT created_at, id, max(version) AS version, \
                      min(acknowledged_at) AS first_acknowledged, \
                      min(CASE WHEN status = 'resolved' THEN updated_at END) AS first_resolved, \
                      min(CASE WHEN status IN ('resolved', 'closed') THEN updated_at END) AS first_done, \
                      max(CASE WHEN status IN ('open', 'acknowledged') THEN updated_at END) AS last_active, \
                      max(CASE WHEN status = 'resolved' AND resolution_type = 'auto' THEN 1 ELSE 0 END) \
                          AS auto_resolved \
               FROM incident_versions \
               WHERE tenant_id = {} AND created_at >= {} AND created_at < {} AND updated_at <= {} \
               GROUP BY created_at, id) h \
         JOIN incident_versions c ON c.tenant_id = {} AND c.id = h.id AND c.version = h.version \
         ORDER BY c.created_at, c.id",
        p(),
        p(),
        p(),
        p(),
        p()
    );
    let values: [Value; 5] = [
        tenant_id.into(),
        start.into(),
        end.into(),
        as_of.into(),
        tenant_id.into(),
    ];
    let rows = conn
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await
        .map_err(StorageError::from_db)?;
    rows.iter()
        .map(|row| {
            Ok(IncidentFacts {
                id: get(row, "id")?,
                version: get(row, "version")?,
                created_at: get(row, "created_at")?,
                first_acknowledged: get(row, "first_acknowledged")?,
                first_resolved: get(row, "first_resolved")?,
                first_done: get(row, "first_done")?,
                last_active: get(row, "last_active")?,
                auto_resolved: get::<i32>(row, "auto_resolved")? != 0,
                status: get(row, "status")?,
                duplicate_of: get(row, "duplicate_of")?,
                service: get(row, "service")?,
                severity: get(row, "severity")?,
                category: get(row, "category")?,
                assignee: get(row, "assignee")?,
                trigger_type: get(row, "trigger_type")?,
                source_type: get(row, "source_type")?,
                signature_version: get(row, "signature_version")?,
                recurrence_signature: get(row, "recurrence_signature")?,
            })
        })
        .collect()
}
