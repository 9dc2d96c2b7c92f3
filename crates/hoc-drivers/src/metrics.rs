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

/// The value of the statement's column `index` (the columns in the order of the `SELECT`).
fn get<T: sea_orm::TryGetable>(row: &QueryResult, index: usize) -> Result<T, StorageError> {
    row.try_get_by_index(index).map_err(StorageError::from_db)
}

/// A stored timestamp as the statement returns it: PostgreSQL converts its `timestamptz` to integer microseconds
/// since 1970 (cheaper to carry and decode); SQLite returns its text (`YYYY-MM-DDTHH:MM:SS.fffffffffZ`, `DbTime`),
/// which [`parse_stored`] reads without a format description.
fn micros(backend: DbBackend, column: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("CAST(EXTRACT(EPOCH FROM {column}) * 1000000 AS BIGINT)"),
        _ => column.to_owned(),
    }
}

/// Microseconds since 1970 of SQLite's stored text `YYYY-MM-DDTHH:MM:SS.ffffff…Z`.
fn parse_stored(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = b.get(range)?;
        digits.iter().try_fold(0i64, |n, d| {
            d.is_ascii_digit().then(|| n * 10 + i64::from(d - b'0'))
        })
    };
    if b.get(4) != Some(&b'-') || b.get(10) != Some(&b'T') || b.get(19) != Some(&b'.') {
        return None;
    }
    let month = time::Month::try_from(u8::try_from(num(5..7)?).ok()?).ok()?;
    let date = time::Date::from_calendar_date(
        i32::try_from(num(0..4)?).ok()?,
        month,
        u8::try_from(num(8..10)?).ok()?,
    )
    .ok()?;
    let time = time::Time::from_hms(
        u8::try_from(num(11..13)?).ok()?,
        u8::try_from(num(14..16)?).ok()?,
        u8::try_from(num(17..19)?).ok()?,
    )
    .ok()?;
    let seconds = date.with_time(time).assume_utc().unix_timestamp();
    Some(seconds * 1_000_000 + num(20..26)?)
}

/// A timestamp column of the statement as microseconds since 1970 (see [`micros`]).
fn stamp(row: &QueryResult, index: usize, backend: DbBackend) -> Result<Option<i64>, StorageError> {
    match backend {
        DbBackend::Postgres => get(row, index),
        _ => get::<Option<String>>(row, index)?
            .map(|text| {
                parse_stored(&text).ok_or_else(|| StorageError::Corrupt {
                    table: "incident_versions",
                    problem: format!("a stored timestamp `{text}`"),
                })
            })
            .transpose(),
    }
}

fn time_at(us: i64) -> Result<DbTime, StorageError> {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000)
        .map(DbTime::new)
        .map_err(|e| StorageError::Corrupt {
            table: "incident_versions",
            problem: format!("a timestamp of {us} µs: {e}"),
        })
}

fn time_of(us: Option<i64>) -> Result<Option<DbTime>, StorageError> {
    us.map(time_at).transpose()
}

/// How many slices of the window a PostgreSQL read runs side by side (each on its own pooled connection, each a
/// server process). SQLite reads one statement: its connections in one process contend for the library's global
/// allocator mutex, so slices there cost more than they save (measured: 4 slices took longer than one statement).
const SLICES: i32 = 4;

/// Every incident of the tenant created in `[start, end)` that exists at `as_of`, summarised from its versions
/// up to `as_of`, in creation order (`created_at`, `id`). A PostgreSQL read (no transaction) splits the window into
/// slices of equal length and runs them side by side on the pool's connections; history at `as_of` is immutable,
/// so the slices agree with one another exactly as one statement would. Otherwise, one statement.
pub async fn incident_facts(
    tx: &Tx,
    tenant_id: &str,
    start: DbTime,
    end: DbTime,
    as_of: DbTime,
) -> Result<Vec<IncidentFacts>, StorageError> {
    let span = end.get() - start.get();
    let parallel = tx.is_reader() && tx.conn().get_database_backend() == DbBackend::Postgres;
    let slices = if parallel && span >= time::Duration::microseconds(i64::from(SLICES)) {
        SLICES
    } else {
        1
    };
    let bounds: Vec<DbTime> = (0..=slices)
        .map(|i| match i {
            0 => start,
            i if i == slices => end,
            i => DbTime::new(start.get() + span * i / slices),
        })
        .collect();
    let parts = futures_util::future::try_join_all(
        bounds
            .windows(2)
            .map(|w| slice(tx, tenant_id, w[0], w[1], as_of)),
    )
    .await?;
    Ok(parts.into_iter().flatten().collect())
}

/// [`incident_facts`] of one slice of the window, in one statement.
async fn slice(
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
    let us = |column: &str| micros(backend, column);
    // Each incident's version at `as_of` by its key. PostgreSQL is held to that plan by a lateral subquery with
    // `OFFSET 0` (left to itself, it estimates a few rows and merge-joins against a scan of the whole key, which
    // grows with the table).
    let join = |backend: DbBackend, tenant: &str| match backend {
        DbBackend::Postgres => format!(
            "CROSS JOIN LATERAL (SELECT * FROM incident_versions v WHERE v.tenant_id = {tenant} \
             AND v.id = h.id AND v.version = h.version OFFSET 0) c"
        ),
        _ => format!(
            "JOIN incident_versions c ON c.tenant_id = {tenant} AND c.id = h.id AND c.version = h.version"
        ),
    };
    // Every version of one incident shares its `created_at`, so grouping by (created_at, id) follows the creation
    // index and needs no sort.
    let sql = format!(
        "SELECT c.id, c.version, {created}, {ack}, {resolved}, {done}, {active}, h.auto_resolved, \
                c.status, c.duplicate_of, c.service, c.severity, c.category, c.assignee, c.trigger_type, \
                c.source_type, c.signature_version, c.recurrence_signature \
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
         {join} \
         ORDER BY h.created_at, h.id",
        p(),
        p(),
        p(),
        p(),
        join = join(backend, &p()),
        created = us("c.created_at"),
        ack = us("h.first_acknowledged"),
        resolved = us("h.first_resolved"),
        done = us("h.first_done"),
        active = us("h.last_active"),
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
                id: get(row, 0)?,
                version: get(row, 1)?,
                created_at: time_at(stamp(row, 2, backend)?.unwrap_or_default())?,
                first_acknowledged: time_of(stamp(row, 3, backend)?)?,
                first_resolved: time_of(stamp(row, 4, backend)?)?,
                first_done: time_of(stamp(row, 5, backend)?)?,
                last_active: time_of(stamp(row, 6, backend)?)?,
                auto_resolved: get::<i32>(row, 7)? != 0,
                status: get(row, 8)?,
                duplicate_of: get(row, 9)?,
                service: get(row, 10)?,
                severity: get(row, 11)?,
                category: get(row, 12)?,
                assignee: get(row, 13)?,
                trigger_type: get(row, 14)?,
                source_type: get(row, 15)?,
                signature_version: get(row, 16)?,
                recurrence_signature: get(row, 17)?,
            })
        })
        .collect()
}
