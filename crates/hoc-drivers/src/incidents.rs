//! Incident rows: insert, tenant-scoped lookup and the compare-and-set transition (the database records each new
//! row in `incident_versions` by trigger, in the same statement); and reads at a point in time, which read those
//! versions.

use sea_orm::sea_query::{Expr, ExprTrait, Func, Order, Query, SelectStatement};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, IntoActiveModel,
    Iterable, ModelTrait, QueryFilter, QuerySelect, Statement,
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
    /// Only incidents created at or after this instant.
    pub created_from: Option<DbTime>,
    /// Only incidents created before this instant.
    pub created_before: Option<DbTime>,
    /// Only incidents of this service.
    pub service: Option<&'a str>,
    /// Only incidents assigned to this actor.
    pub assignee: Option<&'a str>,
    /// Only incidents whose stored labels contain every one of these (each a
    /// [`hoc_contracts::input::label_needle`]).
    pub labels: &'a [String],
}

/// The alias of `incident_versions` in the reads at an instant (`v`), and of the versions a correlated
/// subquery compares with (`w`).
pub(crate) const VERSIONS: &str = "incident_versions";
pub(crate) const V: &str = "v";
const W: &str = "w";

/// The column `c` of the version row `v`.
pub(crate) fn v(c: Column) -> Expr {
    Expr::col((V, c))
}

/// Keeps the versions of each of the tenant's incidents that was valid at `page.as_of` (the highest version among
/// those whose change happened at or before it), matching `filter`, within the page's key bounds. The version is
/// chosen by a correlated `MAX` — a lookup in the primary key per candidate row, whatever the planner's
/// statistics say (an anti-join form degrades to a quadratic scan on PostgreSQL before `ANALYZE`).
pub(crate) fn versions_at(
    backend: DbBackend,
    select: &mut SelectStatement,
    tenant_id: &str,
    filter: IncidentFilter<'_>,
    page: &PageRequest,
) {
    select.and_where(v(Column::TenantId).eq(tenant_id));
    let bounds = page.bounds(Direction::Descending);
    if let Some(as_of) = bounds.created_at_most {
        select.and_where(created_at_most(as_of));
    }
    if let Some((at, last_id)) = bounds.beyond {
        // A row comparison: an index bound on (tenant, created_at, id), so a deep page is a seek.
        select.and_where(
            Expr::tuple([v(Column::CreatedAt), v(Column::Id)])
                .lt(Expr::tuple([Expr::val(at), Expr::val(last_id)])),
        );
    }
    select.and_where(version_valid_at(page.as_of));
    if let Some(status) = filter.status {
        select.and_where(v(Column::Status).eq(Stored(status)));
    }
    if let Some(severity) = filter.severity {
        select.and_where(v(Column::Severity).eq(Stored(severity)));
    }
    if let Some((version, signature)) = filter.recurrence {
        select
            .and_where(v(Column::SignatureVersion).eq(version))
            .and_where(v(Column::RecurrenceSignature).eq(signature));
    }
    // Both bound the (tenant, created_at, id) index walk, like the page's own bounds.
    if let Some(from) = filter.created_from {
        select.and_where(v(Column::CreatedAt).gte(from));
    }
    if let Some(before) = filter.created_before {
        select.and_where(v(Column::CreatedAt).lt(before));
    }
    if let Some(service) = filter.service {
        select.and_where(v(Column::Service).eq(service));
    }
    if let Some(assignee) = filter.assignee {
        select.and_where(v(Column::Assignee).eq(assignee));
    }
    // A substring of the canonical JSON, case-sensitive on both backends (SQLite's LIKE is not).
    let position = match backend {
        DbBackend::Postgres => "strpos",
        _ => "instr",
    };
    for needle in filter.labels {
        select.and_where(
            Expr::from(
                Func::cust(position)
                    .arg(v(Column::Labels))
                    .arg(Expr::val(needle.as_str())),
            )
            .gt(0),
        );
    }
}

/// `v.created_at <= as_of`: implied by the version conditions (a version's change is never before its incident's
/// creation), but written out it is the index bound that starts a newest-first walk at `as_of` instead of at the
/// newest incident.
fn created_at_most(as_of: DbTime) -> Expr {
    v(Column::CreatedAt).lte(as_of)
}

/// The row `v` of `incident_versions` is its incident's version valid at `as_of`, starting the walk at `as_of`
/// (see [`created_at_most`]).
pub(crate) fn valid_at(as_of: DbTime) -> Expr {
    created_at_most(as_of).and(version_valid_at(as_of))
}

/// The row `v` is its incident's version valid at `as_of`, without the `created_at` bound.
fn version_valid_at(as_of: DbTime) -> Expr {
    let w = |c: Column| Expr::col((W, c));
    let latest = Query::select()
        .expr(w(Column::Version).max())
        .from_as(VERSIONS, W)
        .and_where(w(Column::TenantId).equals((V, Column::TenantId)))
        .and_where(w(Column::Id).equals((V, Column::Id)))
        .and_where(w(Column::UpdatedAt).lte(as_of))
        .take();
    v(Column::UpdatedAt)
        .lte(as_of)
        .and(v(Column::Version).eq(Expr::from(latest)))
}

/// `SELECT` every column of an incident row of `table AS alias`, in the entity's order.
pub(crate) fn select_columns(alias: &'static str) -> SelectStatement {
    Query::select()
        .columns(Column::iter().map(|c| (alias, c)))
        .take()
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
    let mut select = select_columns(V);
    select.from_as(VERSIONS, V);
    versions_at(backend, &mut select, tenant_id, filter, page);
    select
        .order_by((V, Column::CreatedAt), Order::Desc)
        .order_by((V, Column::Id), Order::Desc)
        .limit(page.limit);
    backend.build(&select)
}

/// The incident `id` of `tenant_id` as it was at `as_of`, or `None` (not created yet, or another tenant's).
pub async fn find_at(
    tx: &Tx,
    tenant_id: &str,
    id: &str,
    as_of: DbTime,
) -> Result<Option<IncidentRow>, StorageError> {
    let select = select_columns(V)
        .from_as(VERSIONS, V)
        .and_where(v(Column::TenantId).eq(tenant_id))
        .and_where(v(Column::Id).eq(id))
        .and_where(v(Column::UpdatedAt).lte(as_of))
        .order_by((V, Column::Version), Order::Desc)
        .limit(1)
        .take();
    Entity::find()
        .from_raw_sql(tx.conn().get_database_backend().build(&select))
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
    use crate::entity::recurrence_group_versions::{Column as G, Entity as GroupVersions};
    let select = Query::select()
        .columns([G::MemberCount, G::OpenCount, G::FirstSeen, G::LastSeen])
        .from(GroupVersions)
        .and_where(Expr::col(G::TenantId).eq(tenant_id))
        .and_where(Expr::col(G::SignatureVersion).eq(version))
        .and_where(Expr::col(G::RecurrenceSignature).eq(signature))
        .and_where(Expr::col(G::ValidFrom).lte(as_of))
        .order_by(G::ValidFrom, Order::Desc)
        .order_by(G::Version, Order::Desc)
        .limit(1)
        .take();
    let Some(row) = tx
        .conn()
        .query_one_raw(tx.conn().get_database_backend().build(&select))
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

/// The incident `id` of `tenant_id`, locked for the rest of the transaction (`SELECT … FOR UPDATE` on
/// PostgreSQL; SQLite's write transaction holds the whole database): what a writer that adds to an incident's
/// timeline without changing the incident (a note) takes first, so appends to one timeline are serialised.
pub async fn lock(tx: &Tx, tenant_id: &str, id: &str) -> Result<Option<IncidentRow>, StorageError> {
    let conn = tx.write()?;
    let mut query = Entity::find()
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::Id.eq(id));
    if conn.get_database_backend() == DbBackend::Postgres {
        query = query.lock_exclusive();
    }
    query.one(conn).await.map_err(StorageError::from_db)
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

/// How many of the tenant's incidents had each of `statuses` at `as_of`, in that order: per status, its row of
/// `incident_status_counts` with the latest `valid_from` at or before `as_of` (one primary-key seek each, in one
/// statement), 0 where there is none.
pub async fn status_counts_at(
    tx: &Tx,
    tenant_id: &str,
    statuses: &[&str],
    as_of: DbTime,
) -> Result<Vec<i64>, StorageError> {
    use crate::entity::incident_status_counts::{Column as C, Entity as Counts};
    if statuses.is_empty() {
        return Ok(Vec::new());
    }
    let conn = tx.executor();
    let backend = conn.get_database_backend();
    let mut select = Query::select();
    for (i, status) in statuses.iter().enumerate() {
        let latest = Query::select()
            .column(C::IncidentCount)
            .from(Counts)
            .and_where(Expr::col(C::TenantId).eq(tenant_id))
            .and_where(Expr::col(C::Status).eq(*status))
            .and_where(Expr::col(C::ValidFrom).lte(as_of))
            .order_by(C::ValidFrom, Order::Desc)
            .limit(1)
            .take();
        select.expr_as(
            Expr::from(latest),
            sea_orm::sea_query::Alias::new(format!("c{i}")),
        );
    }
    let row = conn
        .query_one_raw(backend.build(&select))
        .await
        .map_err(StorageError::from_db)?;
    (0..statuses.len())
        .map(|i| {
            let count: Option<i64> = match &row {
                Some(row) => row
                    .try_get("", &format!("c{i}"))
                    .map_err(StorageError::from_db)?,
                None => None,
            };
            Ok(count.unwrap_or(0))
        })
        .collect()
}
