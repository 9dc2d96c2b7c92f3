//! Incident rows: insert, tenant-scoped lookup and the compare-and-set transition (the database records each new
//! row in `incident_versions` by trigger, in the same statement); and reads at a point in time, which read those
//! versions.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, IdenStatic,
    IntoActiveModel, Iterable, ModelTrait, QueryFilter, Statement, Value,
};

use crate::entity::incidents::{Column, Entity};
use crate::paging::{Direction, PageRequest};
use crate::{DbTime, IncidentRow, StorageError, Stored, Tx};
use hoc_contracts::input::{IncidentState, Severity};

/// Which incidents a list shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IncidentFilter<'a> {
    /// Only this status.
    pub status: Option<IncidentState>,
    /// Only this severity.
    pub severity: Option<Severity>,
    /// Only this recurrence group: (signature_version, recurrence_signature).
    pub recurrence: Option<(&'a str, &'a str)>,
}

/// A SQL text and its values, with placeholders in the backend's spelling.
pub(crate) struct Sql {
    backend: DbBackend,
    text: String,
    values: Vec<Value>,
}

impl Sql {
    pub(crate) fn new(tx: &Tx) -> Self {
        Self::with_backend(tx.conn().get_database_backend())
    }

    pub(crate) fn with_backend(backend: DbBackend) -> Self {
        Self {
            backend,
            text: String::new(),
            values: Vec::new(),
        }
    }

    /// Appends `text`.
    pub(crate) fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder bound to `value`.
    pub(crate) fn bind(&mut self, value: impl Into<Value>) -> &mut Self {
        self.values.push(value.into());
        let placeholder = match self.backend {
            DbBackend::Postgres => format!("${}", self.values.len()),
            _ => "?".to_owned(),
        };
        self.text.push_str(&placeholder);
        self
    }

    pub(crate) fn statement(self) -> Statement {
        Statement::from_sql_and_values(self.backend, self.text, self.values)
    }
}

/// Every column of an incident row, in the entity's order (the same in `incidents` and `incident_versions`).
pub(crate) fn columns(prefix: &str) -> String {
    Column::iter()
        .map(|c| format!("{prefix}{}", c.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `FROM incident_versions v WHERE` the version of each of the tenant's incidents that was valid at `page.as_of`
/// (the highest version among those whose change happened at or before it), matching `filter`, within the page's
/// key bounds. The version is chosen by a correlated `MAX` — a lookup in the primary key per candidate row,
/// whatever the planner's statistics say (an anti-join form degrades to a quadratic scan on PostgreSQL before
/// `ANALYZE`).
fn versions_at(sql: &mut Sql, tenant_id: &str, filter: IncidentFilter<'_>, page: &PageRequest) {
    sql.push(" FROM incident_versions v WHERE v.tenant_id = ")
        .bind(tenant_id);
    let bounds = page.bounds(Direction::Descending);
    if let Some(as_of) = bounds.created_at_most {
        created_at_most(sql, as_of);
    }
    if let Some((at, last_id)) = bounds.beyond {
        // A row comparison: an index bound on (tenant, created_at, id), so a deep page is a seek.
        sql.push(" AND (v.created_at, v.id) < (")
            .bind(at)
            .push(", ")
            .bind(last_id)
            .push(")");
    }
    version_valid_at(sql, page.as_of);
    if let Some(status) = filter.status {
        sql.push(" AND v.status = ").bind(Stored(status));
    }
    if let Some(severity) = filter.severity {
        sql.push(" AND v.severity = ").bind(Stored(severity));
    }
    if let Some((version, signature)) = filter.recurrence {
        sql.push(" AND v.signature_version = ")
            .bind(version)
            .push(" AND v.recurrence_signature = ")
            .bind(signature);
    }
}

/// ` AND v.created_at <= as_of`: implied by the version conditions (a version's change is never before its
/// incident's creation), but written out it is the index bound that starts a newest-first walk at `as_of`
/// instead of at the newest incident.
fn created_at_most(sql: &mut Sql, as_of: DbTime) {
    sql.push(" AND v.created_at <= ").bind(as_of);
}

/// ` AND` the row `v` of `incident_versions` is its incident's version valid at `as_of`, starting the walk at
/// `as_of` (see [`created_at_most`]).
pub(crate) fn valid_at(sql: &mut Sql, as_of: DbTime) {
    created_at_most(sql, as_of);
    version_valid_at(sql, as_of);
}

/// ` AND` the row `v` is its incident's version valid at `as_of`, without the `created_at` bound.
fn version_valid_at(sql: &mut Sql, as_of: DbTime) {
    sql.push(" AND v.updated_at <= ")
        .bind(as_of)
        .push(
            " AND v.version = (SELECT MAX(w.version) FROM incident_versions w \
             WHERE w.tenant_id = v.tenant_id AND w.id = v.id AND w.updated_at <= ",
        )
        .bind(as_of)
        .push(")");
}

/// Incidents of the tenant as they were at `page.as_of` (each in its version valid then), matching `filter` at
/// that instant, newest first by (created_at desc, id desc), one page.
pub async fn list(
    tx: &Tx,
    tenant_id: &str,
    filter: IncidentFilter<'_>,
    page: &PageRequest,
) -> Result<Vec<IncidentRow>, StorageError> {
    Entity::find()
        .from_raw_sql(list_statement(
            tx.conn().get_database_backend(),
            tenant_id,
            filter,
            page,
        ))
        .all(&tx.conn())
        .await
        .map_err(StorageError::from_db)
}

/// The statement of [`list`].
pub(crate) fn list_statement(
    backend: DbBackend,
    tenant_id: &str,
    filter: IncidentFilter<'_>,
    page: &PageRequest,
) -> Statement {
    let mut sql = Sql::with_backend(backend);
    sql.push("SELECT ").push(&columns("v."));
    versions_at(&mut sql, tenant_id, filter, page);
    sql.push(" ORDER BY v.created_at DESC, v.id DESC LIMIT ")
        .bind(i64::try_from(page.limit).unwrap_or(i64::MAX));
    sql.statement()
}

/// The incident `id` of `tenant_id` as it was at `as_of`, or `None` (not created yet, or another tenant's).
pub async fn find_at(
    tx: &Tx,
    tenant_id: &str,
    id: &str,
    as_of: DbTime,
) -> Result<Option<IncidentRow>, StorageError> {
    let mut sql = Sql::new(tx);
    sql.push("SELECT ")
        .push(&columns(""))
        .push(" FROM incident_versions WHERE tenant_id = ")
        .bind(tenant_id)
        .push(" AND id = ")
        .bind(id)
        .push(" AND updated_at <= ")
        .bind(as_of)
        .push(" ORDER BY version DESC LIMIT 1");
    Entity::find()
        .from_raw_sql(sql.statement())
        .one(&tx.conn())
        .await
        .map_err(StorageError::from_db)
}

/// Summary of a recurrence group as of a point in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupStats {
    /// Members created at or before `as_of`.
    pub count: u64,
    /// Of those, the ones open or acknowledged at `as_of`.
    pub open_count: u64,
    /// The oldest member's `created_at`.
    pub first_seen: Option<DbTime>,
    /// The newest member's `created_at`.
    pub last_seen: Option<DbTime>,
}

/// Counts and first/last seen of one recurrence group at `as_of`: the group's summary version valid then, one
/// index lookup whatever the group's size (the database maintains the summaries by trigger, in the statement that
/// adds a member or changes whether one is open).
pub async fn group_stats(
    tx: &Tx,
    tenant_id: &str,
    version: &str,
    signature: &str,
    as_of: DbTime,
) -> Result<GroupStats, StorageError> {
    let mut sql = Sql::new(tx);
    sql.push(
        "SELECT member_count, open_count, first_seen, last_seen FROM recurrence_group_versions \
         WHERE tenant_id = ",
    )
    .bind(tenant_id)
    .push(" AND signature_version = ")
    .bind(version)
    .push(" AND recurrence_signature = ")
    .bind(signature)
    .push(" AND valid_from <= ")
    .bind(as_of)
    .push(" ORDER BY valid_from DESC, version DESC LIMIT 1");
    let Some(row) = tx
        .conn()
        .query_one_raw(sql.statement())
        .await
        .map_err(StorageError::from_db)?
    else {
        return Ok(GroupStats {
            count: 0,
            open_count: 0,
            first_seen: None,
            last_seen: None,
        });
    };
    let get = |column: &str| -> Result<i64, StorageError> {
        row.try_get("", column).map_err(StorageError::from_db)
    };
    let (count, open_count) = (get("member_count")?, get("open_count")?);
    let first_seen: DbTime = row
        .try_get("", "first_seen")
        .map_err(StorageError::from_db)?;
    let last_seen: DbTime = row
        .try_get("", "last_seen")
        .map_err(StorageError::from_db)?;
    Ok(GroupStats {
        count: count.unsigned_abs(),
        open_count: open_count.unsigned_abs(),
        first_seen: Some(first_seen),
        last_seen: Some(last_seen),
    })
}

/// Inserts a new incident (the database records it as version 1 in `incident_versions`, by trigger).
pub async fn insert(tx: &Tx, row: IncidentRow) -> Result<(), StorageError> {
    Entity::insert(row.into_active_model().reset_all())
        .exec_without_returning(tx.write()?)
        .await
        .map_err(StorageError::from_db)?;
    Ok(())
}

/// The incident `id` of `tenant_id`, or `None` (another tenant's incident is `None` too).
pub async fn find(tx: &Tx, tenant_id: &str, id: &str) -> Result<Option<IncidentRow>, StorageError> {
    Entity::find()
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::Id.eq(id))
        .one(&tx.conn())
        .await
        .map_err(StorageError::from_db)
}

/// Writes `after` over the stored incident only if the stored row is still `before` (its version and one of the
/// `allowed_from` states); returns whether it did. `after.version` must already be the next version. This is the
/// guard that makes N concurrent conflicting transitions apply exactly one. The UPDATE sets only the columns that
/// differ from `before`, never the key: an UPDATE that names the key makes SQLite check every foreign key that
/// points at it.
pub async fn compare_and_set(
    tx: &Tx,
    allowed_from: &[IncidentState],
    before: &IncidentRow,
    after: &IncidentRow,
) -> Result<bool, StorageError> {
    let mut update = Entity::update_many();
    for column in Column::iter().filter(|c| !matches!(c, Column::Id | Column::TenantId)) {
        let value = after.get(column);
        if value != before.get(column) {
            update = update.col_expr(column, Expr::val(value));
        }
    }
    let result = update
        .filter(Column::TenantId.eq(before.tenant_id.as_str()))
        .filter(Column::Id.eq(before.id.as_str()))
        .filter(Column::Status.is_in(allowed_from.iter().copied().map(Stored)))
        .filter(Column::Version.eq(before.version))
        .exec(tx.write()?)
        .await
        .map_err(StorageError::from_db)?;
    // An applied change is recorded as the incident's next version by the database itself (trigger).
    Ok(result.rows_affected == 1)
}
