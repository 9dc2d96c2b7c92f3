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
use sea_orm::sea_query::{Alias, Expr, JoinType, Order, Query};

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

/// The signature version of the tenant's first incident (created at or before `at`, when given): what a tenant
/// that never configured grouping signs with. One seek in the creation index of `incident_versions`.
pub async fn first_signature_version(
    tx: &Tx,
    tenant_id: &str,
    at: Option<DbTime>,
) -> Result<Option<String>, StorageError> {
    let mut select = Query::select()
        .column((V, IncidentColumn::SignatureVersion))
        .from_as(VERSIONS, V)
        .and_where(v(IncidentColumn::TenantId).eq(tenant_id))
        .and_where(v(IncidentColumn::Version).eq(1))
        .take();
    if let Some(at) = at {
        select.and_where(v(IncidentColumn::CreatedAt).lte(at));
    }
    select
        .order_by((V, IncidentColumn::CreatedAt), Order::Asc)
        .order_by((V, IncidentColumn::Id), Order::Asc)
        .limit(1);
    let row = tx
        .conn()
        .query_one_raw(tx.conn().get_database_backend().build(&select))
        .await
        .map_err(StorageError::from_db)?;
    match row {
        Some(row) => get::<Option<String>>(&row, "signature_version"),
        None => Ok(None),
    }
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
/// one page in the requested order; the sample title is one index seek per group on the page.
///
/// A read at an instant after which no group of the tenant changed (every read at now, but one racing a write)
/// takes the live summaries (`recurrence_groups`, which then are the summaries at `as_of`) in the order of their
/// indexes: `limit` rows, whatever the number of groups. The statement itself says whether that held on its
/// snapshot; when it did not, or when the live page is empty (no row to say it), the page comes from every
/// group's summary at `as_of`: one index seek per group the tenant ever had, then a sort.
pub async fn list_groups(
    tx: &Tx,
    tenant_id: &str,
    request: &GroupListRequest<'_>,
) -> Result<Vec<GroupSummaryRow>, StorageError> {
    let (live, changed) =
        with_sample_titles(tx, live_page(tenant_id, request), request, true).await?;
    if !live.is_empty() && !changed {
        return Ok(live);
    }
    list_groups_at(tx, tenant_id, request).await
}

/// [`list_groups`] from every group's summary at `as_of`.
async fn list_groups_at(
    tx: &Tx,
    tenant_id: &str,
    request: &GroupListRequest<'_>,
) -> Result<Vec<GroupSummaryRow>, StorageError> {
    let as_of = request.as_of;
    let (c, g, h) = ("c", "g", "h");
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
        .take();
    page_filters(&mut page, g, request);
    Ok(with_sample_titles(tx, page, request, false).await?.0)
}

/// The filters, keyset position, order and limit of a group list page over the summary columns of alias `g`.
fn page_filters(
    page: &mut sea_orm::sea_query::SelectStatement,
    g: &'static str,
    request: &GroupListRequest<'_>,
) {
    let col = |name: &'static str| Expr::col((Alias::new(g), Alias::new(name)));
    page.and_where(col("member_count").gt(0));
    if let Some(version) = request.version {
        page.and_where(col("signature_version").eq(version));
    }
    match request.open {
        Some(true) => {
            page.and_where(col("open_count").gt(0));
        }
        Some(false) => {
            page.and_where(col("open_count").eq(0));
        }
        None => {}
    }
    let key = order_key(request.order);
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
        page.and_where(Expr::tuple(key.iter().map(|name| col(name))).lt(Expr::tuple(after)));
    }
    for name in key {
        page.order_by((Alias::new(g), Alias::new(*name)), Order::Desc);
    }
    page.limit(request.limit);
}

/// The columns a group list is ordered by, all descending.
fn order_key(order: GroupOrder) -> &'static [&'static str] {
    match order {
        GroupOrder::LastSeen => &["last_seen", "signature_version", "recurrence_signature"],
        GroupOrder::Count => &[
            "member_count",
            "last_seen",
            "signature_version",
            "recurrence_signature",
        ],
    }
}

/// The page from the live summaries (`recurrence_groups`), each row with `changed`: 1 when a summary of the tenant
/// is valid from after `as_of` (so the live summaries are not the summaries then), read on the page's snapshot.
fn live_page(
    tenant_id: &str,
    request: &GroupListRequest<'_>,
) -> sea_orm::sea_query::SelectStatement {
    let g = "g";
    let changed_after = Query::select()
        .expr(Expr::val(1))
        .from(GroupVersions)
        .and_where(Expr::col(VersionColumn::TenantId).eq(tenant_id))
        .and_where(Expr::col(VersionColumn::ValidFrom).gt(request.as_of))
        .limit(1)
        .take();
    let mut page = Query::select()
        .columns(
            [
                GroupColumn::TenantId,
                GroupColumn::SignatureVersion,
                GroupColumn::RecurrenceSignature,
                GroupColumn::MemberCount,
                GroupColumn::OpenCount,
                GroupColumn::FirstSeen,
                GroupColumn::LastSeen,
            ]
            .map(|column| (Alias::new(g), column)),
        )
        .from_as(Groups, Alias::new(g))
        .expr_as(
            Expr::case(Expr::exists(changed_after), 1).finally(0),
            Alias::new("changed"),
        )
        .and_where(Expr::col((Alias::new(g), GroupColumn::TenantId)).eq(tenant_id))
        .take();
    page_filters(&mut page, g, request);
    page
}

/// The rows of `page` (a group summary page), each with its sample title at `as_of`, in the page's order; with
/// `flagged`, whether any row's `changed` column is set.
async fn with_sample_titles(
    tx: &Tx,
    page: sea_orm::sea_query::SelectStatement,
    request: &GroupListRequest<'_>,
    flagged: bool,
) -> Result<(Vec<GroupSummaryRow>, bool), StorageError> {
    let as_of = request.as_of;
    let p = "p";
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
        .columns(
            [
                VersionColumn::SignatureVersion,
                VersionColumn::RecurrenceSignature,
                VersionColumn::MemberCount,
                VersionColumn::OpenCount,
                VersionColumn::FirstSeen,
                VersionColumn::LastSeen,
            ]
            .map(|column| (p, column)),
        )
        .expr_as(Expr::from(sample_title), "sample_title")
        .from_subquery(page, p)
        .take();
    if flagged {
        select.column((p, Alias::new("changed")));
    }
    for name in order_key(request.order) {
        select.order_by((p, Alias::new(*name)), Order::Desc);
    }
    let rows = tx
        .conn()
        .query_all_raw(tx.conn().get_database_backend().build(&select))
        .await
        .map_err(StorageError::from_db)?;
    let mut changed = false;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        if flagged {
            changed |= get::<i32>(row, "changed")? != 0;
        }
        out.push(GroupSummaryRow {
            signature_version: get(row, "signature_version")?,
            recurrence_signature: get(row, "recurrence_signature")?,
            member_count: get(row, "member_count")?,
            open_count: get(row, "open_count")?,
            first_seen: get(row, "first_seen")?,
            last_seen: get(row, "last_seen")?,
            sample_title: get(row, "sample_title")?,
        });
    }
    Ok((out, changed))
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
