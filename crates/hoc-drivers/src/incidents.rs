//! Incident rows: insert, tenant-scoped lookup, and the compare-and-set transition.

use sea_orm::sea_query::{Expr, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::entity::incidents::{Column, Entity};
use crate::paging::{Direction, PageRequest, keyset_condition};
use crate::{DbTime, IncidentRow, StorageError, Tx};

/// Which incidents a list shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IncidentFilter<'a> {
    /// Only this status.
    pub status: Option<&'a str>,
    /// Only this severity.
    pub severity: Option<&'a str>,
    /// Only this recurrence group: (signature_version, recurrence_signature).
    pub recurrence: Option<(&'a str, &'a str)>,
}

impl IncidentFilter<'_> {
    fn apply(
        &self,
        tenant_id: &str,
        mut query: sea_orm::Select<Entity>,
    ) -> sea_orm::Select<Entity> {
        query = query.filter(Column::TenantId.eq(tenant_id));
        if let Some(status) = self.status {
            query = query.filter(Column::Status.eq(status));
        }
        if let Some(severity) = self.severity {
            query = query.filter(Column::Severity.eq(severity));
        }
        if let Some((version, signature)) = self.recurrence {
            query = query
                .filter(Column::SignatureVersion.eq(version))
                .filter(Column::RecurrenceSignature.eq(signature));
        }
        query
    }
}

/// Incidents of the tenant matching `filter`, newest first by (created_at desc, id desc), one page.
pub async fn list(
    tx: &Tx,
    tenant_id: &str,
    filter: IncidentFilter<'_>,
    page: &PageRequest,
) -> Result<Vec<IncidentRow>, StorageError> {
    filter
        .apply(tenant_id, Entity::find())
        .filter(keyset_condition(
            Column::CreatedAt,
            Column::Id,
            page,
            Direction::Descending,
        ))
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::Id)
        .limit(page.limit)
        .all(tx.conn())
        .await
        .map_err(StorageError::from_db)
}

/// Summary of a recurrence group as of a point in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupStats {
    /// Members created at or before `as_of`.
    pub count: u64,
    /// Of those, the ones not resolved or closed (now).
    pub open_count: u64,
    /// The oldest member's `created_at`.
    pub first_seen: Option<DbTime>,
    /// The newest member's `created_at`.
    pub last_seen: Option<DbTime>,
}

/// Counts and first/last seen of one recurrence group, as of `as_of`.
pub async fn group_stats(
    tx: &Tx,
    tenant_id: &str,
    version: &str,
    signature: &str,
    as_of: DbTime,
) -> Result<GroupStats, StorageError> {
    let filter = IncidentFilter {
        recurrence: Some((version, signature)),
        ..IncidentFilter::default()
    };
    // One aggregate query: count, open count, first and last seen.
    let open = Expr::case(Column::Status.is_in(["open", "acknowledged"]), 1).finally(0);
    let (count, open_count, first_seen, last_seen): (
        i64,
        Option<i64>,
        Option<DbTime>,
        Option<DbTime>,
    ) = filter
        .apply(tenant_id, Entity::find())
        .filter(Column::CreatedAt.lte(as_of))
        .select_only()
        .column_as(Column::Id.count(), "n")
        .column_as(Expr::from(Func::sum(open)), "open_n")
        .column_as(Column::CreatedAt.min(), "first_seen")
        .column_as(Column::CreatedAt.max(), "last_seen")
        .into_tuple()
        .one(tx.conn())
        .await
        .map_err(StorageError::from_db)?
        .unwrap_or((0, None, None, None));
    let (count, open_count) = (count.unsigned_abs(), open_count.unwrap_or(0).unsigned_abs());
    Ok(GroupStats {
        count,
        open_count,
        first_seen,
        last_seen,
    })
}

/// Inserts a new incident.
pub async fn insert(tx: &Tx, row: IncidentRow) -> Result<(), StorageError> {
    Entity::insert(row.into_active_model().reset_all())
        .exec_without_returning(tx.conn())
        .await
        .map_err(StorageError::from_db)?;
    Ok(())
}

/// The incident `id` of `tenant_id`, or `None` (another tenant's incident is `None` too).
pub async fn find(tx: &Tx, tenant_id: &str, id: &str) -> Result<Option<IncidentRow>, StorageError> {
    Entity::find()
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::Id.eq(id))
        .one(tx.conn())
        .await
        .map_err(StorageError::from_db)
}

/// Writes `after` over the stored incident only if the stored row still has `expected_version` and one of the
/// `allowed_from` states; returns whether it did. `after.version` must already be the next version. This is
/// the guard that makes N concurrent conflicting transitions apply exactly one.
pub async fn compare_and_set(
    tx: &Tx,
    allowed_from: &[&str],
    expected_version: i64,
    after: &IncidentRow,
) -> Result<bool, StorageError> {
    let result = Entity::update_many()
        .set(after.clone().into_active_model().reset_all())
        .filter(Column::TenantId.eq(after.tenant_id.as_str()))
        .filter(Column::Id.eq(after.id.as_str()))
        .filter(Column::Status.is_in(allowed_from.iter().copied()))
        .filter(Column::Version.eq(expected_version))
        .exec(tx.conn())
        .await
        .map_err(StorageError::from_db)?;
    Ok(result.rows_affected == 1)
}
