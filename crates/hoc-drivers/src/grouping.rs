//! Recurrence grouping storage: each tenant's grouping configuration (every version kept), the list of recurrence
//! groups at a point in time, which candidate groups exist now, and the tenant's incidents in creation order for a
//! regroup.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, ExprTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QueryResult, QuerySelect,
};

use crate::entity::grouping_configs::{Column as ConfigColumn, Entity as Configs};
use crate::entity::recurrence_groups::{Column as GroupColumn, Entity as Groups};

use crate::entity::incidents::Entity as Incidents;
use crate::incidents::{Sql, columns, valid_at};
use crate::{DbTime, IncidentRow, StorageError, Tx};

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
    let mut sql = Sql::new(tx);
    // The page first (inner query), then a sample title for each of its rows only.
    sql.push(
        "SELECT p.signature_version, p.recurrence_signature, p.member_count, p.open_count, p.first_seen, \
         p.last_seen, (SELECT v.title FROM incident_versions v WHERE v.tenant_id = p.tenant_id \
           AND v.signature_version = p.signature_version AND v.recurrence_signature = p.recurrence_signature",
    );
    valid_at(&mut sql, as_of);
    // Every group the tenant ever had is a row of `recurrence_groups` (rows are never deleted); its summary at
    // `as_of` is one seek in the summary versions' (group, valid_from, version) index.
    sql.push(
        " ORDER BY v.created_at DESC, v.id DESC LIMIT 1) AS sample_title FROM ( \
         SELECT g.tenant_id, g.signature_version, g.recurrence_signature, g.member_count, g.open_count, \
           g.first_seen, g.last_seen \
         FROM recurrence_groups c JOIN recurrence_group_versions g ON g.tenant_id = c.tenant_id \
           AND g.signature_version = c.signature_version AND g.recurrence_signature = c.recurrence_signature \
           AND g.version = (SELECT h.version FROM recurrence_group_versions h WHERE h.tenant_id = c.tenant_id \
             AND h.signature_version = c.signature_version AND h.recurrence_signature = c.recurrence_signature \
             AND h.valid_from <= ",
    )
    .bind(as_of)
    .push(" ORDER BY h.valid_from DESC, h.version DESC LIMIT 1) WHERE c.tenant_id = ")
    .bind(tenant_id)
    .push(" AND g.member_count > 0");
    if let Some(version) = request.version {
        sql.push(" AND c.signature_version = ").bind(version);
    }
    match request.open {
        Some(true) => {
            sql.push(" AND g.open_count > 0");
        }
        Some(false) => {
            sql.push(" AND g.open_count = 0");
        }
        None => {}
    }
    let key = match request.order {
        GroupOrder::LastSeen => "(g.last_seen, g.signature_version, g.recurrence_signature)",
        GroupOrder::Count => {
            "(g.member_count, g.last_seen, g.signature_version, g.recurrence_signature)"
        }
    };
    if let Some((count, last_seen, version, signature)) = &request.after {
        sql.push(" AND ").push(key).push(" < (");
        if request.order == GroupOrder::Count {
            sql.bind(*count).push(", ");
        }
        sql.bind(*last_seen)
            .push(", ")
            .bind(version.as_str())
            .push(", ")
            .bind(signature.as_str())
            .push(")");
    }
    let order = |t: &str| match request.order {
        GroupOrder::LastSeen => format!(
            " ORDER BY {t}.last_seen DESC, {t}.signature_version DESC, {t}.recurrence_signature DESC"
        ),
        GroupOrder::Count => format!(
            " ORDER BY {t}.member_count DESC, {t}.last_seen DESC, {t}.signature_version DESC, \
             {t}.recurrence_signature DESC"
        ),
    };
    sql.push(&order("g"))
        .push(" LIMIT ")
        .bind(i64::try_from(request.limit).unwrap_or(i64::MAX))
        .push(") p")
        .push(&order("p"));
    let rows = tx
        .conn()
        .query_all_raw(sql.statement())
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
    let mut sql = Sql::new(tx);
    sql.push("SELECT ")
        .push(&columns("i."))
        .push(
            " FROM incident_versions v JOIN incidents i ON i.id = v.id AND i.tenant_id = v.tenant_id \
             WHERE v.tenant_id = ",
        )
        .bind(tenant_id)
        .push(" AND v.version = 1");
    if let Some((at, id)) = after {
        sql.push(" AND (v.created_at, v.id) > (")
            .bind(at)
            .push(", ")
            .bind(id)
            .push(")");
    }
    sql.push(" ORDER BY v.created_at, v.id LIMIT ")
        .bind(i64::try_from(limit).unwrap_or(i64::MAX));
    Incidents::find()
        .from_raw_sql(sql.statement())
        .all(&tx.conn())
        .await
        .map_err(StorageError::from_db)
}
