//! Recurrence grouping storage: each tenant's grouping configuration (every version kept), the list of recurrence
//! groups at a point in time, which candidate groups exist now, and the tenant's incidents in creation order for a
//! regroup.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, ExprTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QueryResult, QuerySelect,
};

use crate::entity::grouping_configs::{Column as ConfigColumn, Entity as Configs};
use crate::entity::recurrence_groups::{Column as GroupColumn, Entity as Groups};

use crate::entity::incidents::{Column as IncidentColumn, Entity as Incidents};
use crate::entity::recurrence_group_versions::{Column as VersionColumn, Entity as GroupVersions};
use crate::incidents::{V, VERSIONS, select_columns, v, valid_at};
use crate::{DbTime, IncidentRow, StorageError, Tx};
use sea_orm::sea_query::{Expr, JoinType, Order, Query};

/// One version of a tenant's grouping configuration (its entity row).
pub use crate::entity::grouping_configs::Model as ConfigRow;

fn get<T: sea_orm::TryGetable>(row: &QueryResult, column: &str) -> Result<T, StorageError> {
    row.try_get("", column).map_err(StorageError::from_db)
}

/// The tenant's configuration as it was at `at` (its latest version written at or before it), or `None`.
pub async fn config_at(
    tx: &Tx,
    tenant_id: &str,
    at: Option<DbTime>,
) -> Result<Option<ConfigRow>, StorageError> {
    let mut query = Configs::find().filter(ConfigColumn::TenantId.eq(tenant_id));
    if let Some(at) = at {
        query = query.filter(ConfigColumn::CreatedAt.lte(at));
    }
    query
        .order_by_desc(ConfigColumn::Version)
        .one(&tx.conn())
        .await
        .map_err(StorageError::from_db)
}

/// Writes a new configuration version; a concurrent writer of the same version fails on the key.
pub async fn insert_config(tx: &Tx, row: &ConfigRow) -> Result<(), StorageError> {
    Configs::insert(row.clone().into_active_model().reset_all())
        .exec_without_returning(tx.write()?)
        .await
        .map_err(StorageError::from_db)?;
    Ok(())
}

/// One learned template (its entity row).
pub use crate::entity::grouping_templates::Model as TemplateRow;
use crate::entity::grouping_templates::{Column as TemplateColumn, Entity as Templates};

/// Writes a configuration version's learned templates (multi-row inserts of 100 rows; 11 values each).
pub async fn insert_templates(tx: &Tx, rows: Vec<TemplateRow>) -> Result<(), StorageError> {
    let conn = tx.write()?;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows
            .by_ref()
            .take(100)
            .map(|row| row.into_active_model().reset_all())
            .collect();
        Templates::insert_many(chunk)
            .exec_without_returning(conn)
            .await
            .map_err(StorageError::from_db)?;
    }
    Ok(())
}

/// Every learned template of `config_version`, in number order.
pub async fn templates(
    tx: &Tx,
    tenant_id: &str,
    config_version: i64,
) -> Result<Vec<TemplateRow>, StorageError> {
    Templates::find()
        .filter(TemplateColumn::TenantId.eq(tenant_id))
        .filter(TemplateColumn::ConfigVersion.eq(config_version))
        .order_by_asc(TemplateColumn::TemplateNo)
        .all(&tx.conn())
        .await
        .map_err(StorageError::from_db)
}

/// The learned templates of `config_version` a message template of `field` with `token_count` tokens starting
/// with `first_token` (cut to 64 characters) may match: one index seek.
pub async fn template_candidates(
    tx: &Tx,
    tenant_id: &str,
    config_version: i64,
    field: &str,
    token_count: i64,
    first_token: &str,
) -> Result<Vec<TemplateRow>, StorageError> {
    Templates::find()
        .filter(TemplateColumn::TenantId.eq(tenant_id))
        .filter(TemplateColumn::ConfigVersion.eq(config_version))
        .filter(TemplateColumn::Field.eq(field))
        .filter(TemplateColumn::TokenCount.eq(token_count))
        .filter(TemplateColumn::FirstToken.eq(first_token))
        .all(&tx.conn())
        .await
        .map_err(StorageError::from_db)
}

/// Which of `candidates` ((version, signature) pairs) are groups with at least one member now, in one statement.
pub async fn existing_groups(
    tx: &Tx,
    tenant_id: &str,
    candidates: &[(&str, &str)],
) -> Result<Vec<(String, String)>, StorageError> {
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let mut any = Condition::any();
    for (version, signature) in candidates {
        any = any.add(
            GroupColumn::SignatureVersion
                .eq(*version)
                .and(GroupColumn::RecurrenceSignature.eq(*signature)),
        );
    }
    Groups::find()
        .select_only()
        .column(GroupColumn::SignatureVersion)
        .column(GroupColumn::RecurrenceSignature)
        .filter(GroupColumn::TenantId.eq(tenant_id))
        .filter(GroupColumn::MemberCount.gt(0))
        .filter(any)
        .into_tuple::<(String, String)>()
        .all(&tx.conn())
        .await
        .map_err(StorageError::from_db)
}

/// How the group list is ordered (always descending, then by last seen, version and signature).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupOrder {
    /// Most recently seen first.
    LastSeen,
    /// Most members first.
    Count,
}

/// One page request of the group list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupListRequest<'a> {
    /// The instant the list shows.
    pub as_of: DbTime,
    /// Only groups of this signature version.
    pub version: Option<&'a str>,
    /// `Some(true)`: only groups with an open member; `Some(false)`: only groups without one.
    pub open: Option<bool>,
    /// The order.
    pub order: GroupOrder,
    /// The previous page's last key: (count, last seen, version, signature).
    pub after: Option<(i64, DbTime, String, String)>,
    /// At most this many rows.
    pub limit: u64,
}

/// A group's summary at a point in time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSummaryRow {
    /// The algorithm.
    pub signature_version: String,
    /// The signature.
    pub recurrence_signature: String,
    /// Members.
    pub member_count: i64,
    /// Open or acknowledged members.
    pub open_count: i64,
    /// The oldest member's creation.
    pub first_seen: DbTime,
    /// The newest member's creation.
    pub last_seen: DbTime,
    /// The newest member's title.
    pub sample_title: Option<String>,
}

/// The tenant's recurrence groups with at least one member at `as_of`, each in its summary version valid then,
/// one page in the requested order. Cost: one index seek per group the tenant ever had (its summary at `as_of`),
/// then a sort; the sample title is one index seek per group on the page.
pub async fn list_groups(
    tx: &Tx,
    tenant_id: &str,
    request: &GroupListRequest<'_>,
) -> Result<Vec<GroupSummaryRow>, StorageError> {
    let as_of = request.as_of;
    let (c, g, h, p) = ("c", "g", "h", "p");
    let col = |alias: &'static str, column: VersionColumn| Expr::col((alias, column));
    // Every group the tenant ever had is a row of `recurrence_groups` (rows are never deleted); its summary at
    // `as_of` is one seek in the summary versions' (group, valid_from, version) index.
    let summary_at = Query::select()
        .column((h, VersionColumn::Version))
        .from_as(GroupVersions, h)
        .and_where(col(h, VersionColumn::TenantId).equals((c, GroupColumn::TenantId)))
        .and_where(
            col(h, VersionColumn::SignatureVersion).equals((c, GroupColumn::SignatureVersion)),
        )
        .and_where(
            col(h, VersionColumn::RecurrenceSignature)
                .equals((c, GroupColumn::RecurrenceSignature)),
        )
        .and_where(col(h, VersionColumn::ValidFrom).lte(as_of))
        .order_by((h, VersionColumn::ValidFrom), Order::Desc)
        .order_by((h, VersionColumn::Version), Order::Desc)
        .limit(1)
        .take();
    let summary = [
        VersionColumn::TenantId,
        VersionColumn::SignatureVersion,
        VersionColumn::RecurrenceSignature,
        VersionColumn::MemberCount,
        VersionColumn::OpenCount,
        VersionColumn::FirstSeen,
        VersionColumn::LastSeen,
    ];
    let key: &[VersionColumn] = match request.order {
        GroupOrder::LastSeen => &[
            VersionColumn::LastSeen,
            VersionColumn::SignatureVersion,
            VersionColumn::RecurrenceSignature,
        ],
        GroupOrder::Count => &[
            VersionColumn::MemberCount,
            VersionColumn::LastSeen,
            VersionColumn::SignatureVersion,
            VersionColumn::RecurrenceSignature,
        ],
    };
    let mut page = Query::select()
        .columns(summary.map(|column| (g, column)))
        .from_as(Groups, c)
        .join_as(
            JoinType::InnerJoin,
            GroupVersions,
            g,
            col(g, VersionColumn::TenantId)
                .equals((c, GroupColumn::TenantId))
                .and(
                    col(g, VersionColumn::SignatureVersion)
                        .equals((c, GroupColumn::SignatureVersion)),
                )
                .and(
                    col(g, VersionColumn::RecurrenceSignature)
                        .equals((c, GroupColumn::RecurrenceSignature)),
                )
                .and(col(g, VersionColumn::Version).eq(Expr::from(summary_at))),
        )
        .and_where(Expr::col((c, GroupColumn::TenantId)).eq(tenant_id))
        .and_where(col(g, VersionColumn::MemberCount).gt(0))
        .take();
    if let Some(version) = request.version {
        page.and_where(Expr::col((c, GroupColumn::SignatureVersion)).eq(version));
    }
    match request.open {
        Some(true) => {
            page.and_where(col(g, VersionColumn::OpenCount).gt(0));
        }
        Some(false) => {
            page.and_where(col(g, VersionColumn::OpenCount).eq(0));
        }
        None => {}
    }
    if let Some((count, last_seen, version, signature)) = &request.after {
        let mut after = Vec::new();
        if request.order == GroupOrder::Count {
            after.push(Expr::val(*count));
        }
        after.extend([
            Expr::val(*last_seen),
            Expr::val(version.as_str()),
            Expr::val(signature.as_str()),
        ]);
        page.and_where(
            Expr::tuple(key.iter().map(|column| col(g, *column))).lt(Expr::tuple(after)),
        );
    }
    for column in key {
        page.order_by((g, *column), Order::Desc);
    }
    page.limit(request.limit);
    // The page first (the inner query), then a sample title for each of its rows only.
    let sample_title = Query::select()
        .column((V, IncidentColumn::Title))
        .from_as(VERSIONS, V)
        .and_where(v(IncidentColumn::TenantId).equals((p, VersionColumn::TenantId)))
        .and_where(v(IncidentColumn::SignatureVersion).equals((p, VersionColumn::SignatureVersion)))
        .and_where(
            v(IncidentColumn::RecurrenceSignature).equals((p, VersionColumn::RecurrenceSignature)),
        )
        .and_where(valid_at(as_of))
        .order_by((V, IncidentColumn::CreatedAt), Order::Desc)
        .order_by((V, IncidentColumn::Id), Order::Desc)
        .limit(1)
        .take();
    let mut select = Query::select()
        .columns(summary[1..].iter().map(|column| (p, *column)))
        .expr_as(Expr::from(sample_title), "sample_title")
        .from_subquery(page, p)
        .take();
    for column in key {
        select.order_by((p, *column), Order::Desc);
    }
    let rows = tx
        .conn()
        .query_all_raw(tx.conn().get_database_backend().build(&select))
        .await
        .map_err(StorageError::from_db)?;
    rows.iter()
        .map(|row| {
            Ok(GroupSummaryRow {
                signature_version: get(row, "signature_version")?,
                recurrence_signature: get(row, "recurrence_signature")?,
                member_count: get(row, "member_count")?,
                open_count: get(row, "open_count")?,
                first_seen: get(row, "first_seen")?,
                last_seen: get(row, "last_seen")?,
                sample_title: get(row, "sample_title")?,
            })
        })
        .collect()
}

/// The tenant's incidents as they are now, in creation order (created_at, id) after `after`, at most `limit`:
/// the walk a regroup takes (the creation index of `incident_versions` gives the order, `incidents` the rows).
pub async fn scan_current(
    tx: &Tx,
    tenant_id: &str,
    after: Option<(DbTime, &str)>,
    limit: u64,
) -> Result<Vec<IncidentRow>, StorageError> {
    let i = "i";
    let mut select = select_columns(i)
        .from_as(VERSIONS, V)
        .join_as(
            JoinType::InnerJoin,
            Incidents,
            i,
            Expr::col((i, IncidentColumn::Id))
                .equals((V, IncidentColumn::Id))
                .and(
                    Expr::col((i, IncidentColumn::TenantId)).equals((V, IncidentColumn::TenantId)),
                ),
        )
        .and_where(v(IncidentColumn::TenantId).eq(tenant_id))
        .and_where(v(IncidentColumn::Version).eq(1))
        .take();
    if let Some((at, id)) = after {
        select.and_where(
            Expr::tuple([v(IncidentColumn::CreatedAt), v(IncidentColumn::Id)])
                .gt(Expr::tuple([Expr::val(at), Expr::val(id)])),
        );
    }
    select
        .order_by((V, IncidentColumn::CreatedAt), Order::Asc)
        .order_by((V, IncidentColumn::Id), Order::Asc)
        .limit(limit);
    Incidents::find()
        .from_raw_sql(tx.conn().get_database_backend().build(&select))
        .all(&tx.conn())
        .await
        .map_err(StorageError::from_db)
}
