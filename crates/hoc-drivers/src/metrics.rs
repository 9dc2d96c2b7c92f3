//! What the incident metrics read: for every incident created in a window, one row summarising its history up to
//! an instant — its version there and the fields it had, and the first acknowledgement, resolution and end of
//! activity its earlier versions record. One statement: an aggregate over the versions (through the creation
//! index `(tenant_id, created_at, id)`) joined with each incident's version at the instant by key.

use hoc_contracts::input::Vocabulary;
use hoc_contracts::input::{IncidentState, Severity};
use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};
use serde::Deserialize;

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

fn corrupt(problem: String) -> StorageError {
    StorageError::Corrupt {
        table: "incident_versions",
        problem,
    }
}

/// A timestamp in a row of the statement, in microseconds since 1970: integer microseconds (PostgreSQL) or the
/// stored text (SQLite), read as it is parsed (no intermediate value).
struct Stamp(i64);

impl<'de> Deserialize<'de> for Stamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Stamp;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("microseconds since 1970 or a stored timestamp")
            }
            fn visit_i64<E: serde::de::Error>(self, us: i64) -> Result<Stamp, E> {
                Ok(Stamp(us))
            }
            fn visit_u64<E: serde::de::Error>(self, us: u64) -> Result<Stamp, E> {
                i64::try_from(us).map(Stamp).map_err(E::custom)
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Stamp, E> {
                parse_stored(text)
                    .map(Stamp)
                    .ok_or_else(|| E::custom(format!("a stored timestamp `{text}`")))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl Stamp {
    fn time(&self) -> Result<DbTime, StorageError> {
        let us = self.0;
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000)
            .map(DbTime::new)
            .map_err(|e| corrupt(format!("a timestamp of {us} µs: {e}")))
    }
}

fn time_of(stamp: Option<Stamp>) -> Result<Option<DbTime>, StorageError> {
    stamp.as_ref().map(Stamp::time).transpose()
}

fn word<V: Vocabulary>(text: &str) -> Result<Stored<V>, StorageError> {
    V::from_wire(text)
        .map(Stored)
        .ok_or_else(|| corrupt(format!("an unknown value `{text}`")))
}

/// One incident of the statement's answer: a JSON array of the columns in the order of the `SELECT` (serde reads
/// a struct from an array field by field, in declaration order). The whole answer is one JSON text, an array of
/// these, rather than rows of eighteen values: the drivers copy and allocate each value of a row apart, which cost
/// SQLite more than the statement itself (see [`incident_facts`]).
#[derive(Deserialize)]
struct Row {
    id: String,
    version: i64,
    created_at: Stamp,
    first_acknowledged: Option<Stamp>,
    first_resolved: Option<Stamp>,
    first_done: Option<Stamp>,
    last_active: Option<Stamp>,
    auto_resolved: i64,
    status: String,
    duplicate_of: Option<String>,
    service: Option<String>,
    severity: String,
    category: String,
    assignee: Option<String>,
    trigger_type: Option<String>,
    source_type: Option<String>,
    signature_version: Option<String>,
    recurrence_signature: Option<String>,
}

impl Row {
    fn facts(self) -> Result<IncidentFacts, StorageError> {
        Ok(IncidentFacts {
            created_at: self.created_at.time()?,
            first_acknowledged: time_of(self.first_acknowledged)?,
            first_resolved: time_of(self.first_resolved)?,
            first_done: time_of(self.first_done)?,
            last_active: time_of(self.last_active)?,
            auto_resolved: self.auto_resolved != 0,
            status: word(&self.status)?,
            severity: word(&self.severity)?,
            id: self.id,
            version: self.version,
            duplicate_of: self.duplicate_of,
            service: self.service,
            category: self.category,
            assignee: self.assignee,
            trigger_type: self.trigger_type,
            source_type: self.source_type,
            signature_version: self.signature_version,
            recurrence_signature: self.recurrence_signature,
        })
    }
}

/// How many slices of the window a PostgreSQL read runs side by side (each on its own pooled connection, each a
/// server process). SQLite reads one statement: its connections in one process contend for the library's global
/// allocator mutex, so slices there cost more than they save (measured: 4 slices took longer than one statement).
const SLICES: i32 = 4;

/// The most versions one statement reads. A statement answers with one JSON text, and both databases cap a text
/// at 1 GB; at this bound the text stays under a tenth of that at typical sizes (about 250 bytes an incident) and
/// under half of it at the largest each field allows. A window with more is read in slices of time.
const MAX_VERSIONS: i64 = 400_000;

/// Every incident of the tenant created in `[start, end)` that exists at `as_of`, summarised from its versions
/// up to `as_of`, in creation order (`created_at`, `id`). The window is read in slices of time that each hold at
/// most [`MAX_VERSIONS`] versions (halving a slice until it does, or until it is one microsecond long). A PostgreSQL
/// read (no transaction) also splits the window into [`SLICES`] slices of equal length and runs them side by side
/// on the pool's connections. History at `as_of` is immutable, so the slices agree with one another exactly as one
/// statement would. Each statement answers with one JSON text holding every incident (measured on SQLite at 82,000
/// incidents: rows of eighteen values took 0.96–1.15 s to read, one text 0.53–0.59 s; `docs/PERFORMANCE.md`).
pub async fn incident_facts(
    tx: &Tx,
    tenant_id: &str,
    start: DbTime,
    end: DbTime,
    as_of: DbTime,
) -> Result<Vec<IncidentFacts>, StorageError> {
    incident_facts_within(tx, tenant_id, (start, end), as_of, MAX_VERSIONS).await
}

/// [`incident_facts`] with at most `max_versions` versions a statement (tests slice small histories with it).
pub async fn incident_facts_within(
    tx: &Tx,
    tenant_id: &str,
    (start, end): (DbTime, DbTime),
    as_of: DbTime,
    max_versions: i64,
) -> Result<Vec<IncidentFacts>, StorageError> {
    let span = end.get() - start.get();
    let parallel = tx.is_reader() && tx.conn().get_database_backend() == DbBackend::Postgres;
    let slices = if parallel && span >= time::Duration::microseconds(i64::from(SLICES)) {
        SLICES
    } else {
        1
    };
    let mut pending: Vec<(DbTime, DbTime)> = (0..slices)
        .rev()
        .map(|i| {
            let at = |i: i32| match i {
                0 => start,
                i if i == slices => end,
                i => DbTime::new(start.get() + span * i / slices),
            };
            (at(i), at(i + 1))
        })
        .collect();
    let mut bounds = Vec::new();
    while let Some((from, to)) = pending.pop() {
        let half = (to.get() - from.get()) / 2;
        if half >= time::Duration::microseconds(1)
            && versions(tx, tenant_id, from, to).await? > max_versions
        {
            let middle = DbTime::new(from.get() + half);
            pending.push((middle, to));
            pending.push((from, middle));
        } else {
            bounds.push((from, to));
        }
    }
    let parts = if parallel {
        futures_util::future::try_join_all(
            bounds
                .iter()
                .map(|&(from, to)| slice(tx, tenant_id, from, to, as_of)),
        )
        .await?
    } else {
        let mut parts = Vec::with_capacity(bounds.len());
        for (from, to) in bounds {
            parts.push(slice(tx, tenant_id, from, to, as_of).await?);
        }
        parts
    };
    Ok(parts.into_iter().flatten().collect())
}

/// How many versions (of any instant) the incidents created in `[start, end)` have: the creation index alone.
async fn versions(
    tx: &Tx,
    tenant_id: &str,
    start: DbTime,
    end: DbTime,
) -> Result<i64, StorageError> {
    let conn = tx.conn();
    let backend = conn.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "SELECT count(*) FROM incident_versions \
             WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $3"
        }
        _ => {
            "SELECT count(*) FROM incident_versions \
             WHERE tenant_id = ? AND created_at >= ? AND created_at < ?"
        }
    };
    let values: [Value; 3] = [tenant_id.into(), start.into(), end.into()];
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(backend, sql, values))
        .await
        .map_err(StorageError::from_db)?;
    match row {
        Some(row) => row.try_get_by_index(0).map_err(StorageError::from_db),
        None => Ok(0),
    }
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
        "SELECT {array}(c.id, c.version, {created}, {ack}, {resolved}, {done}, {active}, h.auto_resolved, \
                c.status, c.duplicate_of, c.service, c.severity, c.category, c.assignee, c.trigger_type, \
                c.source_type, c.signature_version, c.recurrence_signature)){text} \
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
         {join}",
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
        array = match backend {
            DbBackend::Postgres => "json_agg(json_build_array",
            _ => "json_group_array(json_array",
        },
        text = match backend {
            DbBackend::Postgres => "::text",
            _ => "",
        },
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
    let mut facts = Vec::new();
    for row in &rows {
        let text: Option<String> = row.try_get_by_index(0).map_err(StorageError::from_db)?;
        let parsed: Vec<Row> = serde_json::from_str(text.as_deref().unwrap_or("[]"))
            .map_err(|e| corrupt(format!("a metrics row: {e}")))?;
        for r in parsed {
            facts.push(r.facts()?);
        }
    }
    // In creation order; sorted here rather than by the statement (SQLite sorted the joined rows again).
    facts.sort_unstable_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(facts)
}
