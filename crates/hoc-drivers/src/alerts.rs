//! Alerts and the deliveries they came in. Every version of an alert is a row that is never updated (its first
//! firing is version 1, each firing again and its resolution one more), so the alerts at an instant are each
//! alert's highest version written at or before it. A delivery is recorded by its identity, with its answer, in the
//! transaction that applies it: a copy of it finds the record and applies nothing.

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Order, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, IntoActiveModel,
    Iterable, QueryFilter, QueryOrder, QuerySelect, Statement, TryInsertResult,
};

use crate::entity::incident_alerts::{Column, Entity};
use crate::entity::ingest_deliveries::{self, Entity as Deliveries};
use crate::entity::ingest_policies::{Column as PolicyColumn, Entity as Policies};
use crate::{AlertRow, DbTime, DeliveryRow, IngestPolicyRow, StorageError, Tx};

/// Inserts alert versions in one multi-row insert per 200. The (tenant, alert, version) key refuses a second writer
/// of one version.
pub async fn insert_all(tx: &Tx, rows: Vec<AlertRow>) -> Result<(), StorageError> {
    let rows = rows
        .into_iter()
        .map(IntoActiveModel::into_active_model)
        .collect();
    crate::bulk::insert_models(tx.write()?, rows, 200).await
}

/// The newest alert `source` sent under `dedup_key`, in its current version, or `None`.
pub async fn latest_by_key(
    tx: &Tx,
    tenant_id: &str,
    source: &str,
    dedup_key: &str,
) -> Result<Option<AlertRow>, StorageError> {
    Entity::find()
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::Source.eq(source))
        .filter(Column::DedupKey.eq(dedup_key))
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::AlertId)
        .order_by_desc(Column::Version)
        .one(&tx.conn())
        .await
        .map_err(StorageError::from_db)
}

/// For each of `dedup_keys`, the newest alert `source` sent under it, in its current version (a key never seen is
/// absent): [`latest_by_key`] for many keys, one statement per 500 keys.
pub async fn latest_by_keys(
    tx: &Tx,
    tenant_id: &str,
    source: &str,
    dedup_keys: &[&str],
) -> Result<std::collections::HashMap<String, AlertRow>, StorageError> {
    let mut latest = std::collections::HashMap::new();
    for keys in dedup_keys.chunks(500) {
        let rows = Entity::find()
            .filter(Column::TenantId.eq(tenant_id))
            .filter(Column::Source.eq(source))
            .filter(Column::DedupKey.is_in(keys.iter().copied()))
            .order_by_desc(Column::CreatedAt)
            .order_by_desc(Column::AlertId)
            .order_by_desc(Column::Version)
            .all(&tx.conn())
            .await
            .map_err(StorageError::from_db)?;
        // Newest first: the first row of a key is its answer.
        for row in rows {
            latest.entry(row.dedup_key.clone()).or_insert(row);
        }
    }
    Ok(latest)
}

/// The incident the newest alert opened or joined under `incident_key` feeds, or `None`.
pub async fn incident_for_key(
    tx: &Tx,
    tenant_id: &str,
    source: &str,
    incident_key: &str,
) -> Result<Option<String>, StorageError> {
    Entity::find()
        .select_only()
        .column(Column::IncidentId)
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::Source.eq(source))
        .filter(Column::IncidentKey.eq(incident_key))
        .order_by_desc(Column::CreatedAt)
        .into_tuple::<String>()
        .one(&tx.conn())
        .await
        .map_err(StorageError::from_db)
}

/// The alerts of an incident as they were at `as_of` (now: `None`), each in its highest version written by then,
/// oldest first by (created_at, alert_id).
pub async fn of_incident(
    tx: &Tx,
    tenant_id: &str,
    incident_id: &str,
    as_of: Option<DbTime>,
) -> Result<Vec<AlertRow>, StorageError> {
    let a = |c: Column| Expr::col(("a", c));
    let b = |c: Column| Expr::col(("b", c));
    let mut latest = Query::select();
    latest
        .expr(b(Column::Version).max())
        .from_as(Entity, "b")
        .and_where(b(Column::TenantId).equals(("a", Column::TenantId)))
        .and_where(b(Column::AlertId).equals(("a", Column::AlertId)));
    let mut select = Query::select();
    select
        .columns(Column::iter().map(|c| ("a", c)))
        .from_as(Entity, "a")
        .and_where(a(Column::TenantId).eq(tenant_id))
        .and_where(a(Column::IncidentId).eq(incident_id));
    if let Some(as_of) = as_of {
        latest.and_where(b(Column::UpdatedAt).lte(as_of));
        select.and_where(a(Column::CreatedAt).lte(as_of));
    }
    select
        .and_where(a(Column::Version).eq(Expr::from(latest)))
        .order_by(("a", Column::CreatedAt), Order::Asc)
        .order_by(("a", Column::AlertId), Order::Asc);
    Entity::find()
        .from_raw_sql(tx.conn().get_database_backend().build(&select))
        .all(&tx.conn())
        .await
        .map_err(StorageError::from_db)
}

/// Holds the key `incident_key` of the tenant until the transaction ends, so deliveries for one key apply one at a
/// time (PostgreSQL: a transaction-level advisory lock; SQLite serialises every write transaction already).
pub async fn lock_key(tx: &Tx, tenant_id: &str, incident_key: &str) -> Result<(), StorageError> {
    let conn = tx.write()?;
    if conn.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    conn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        [format!("alerts/{tenant_id}/{incident_key}").into()],
    ))
    .await
    .map_err(StorageError::from_db)?;
    Ok(())
}

/// The delivery applied under `delivery_id`, or `None`.
pub async fn delivery(
    tx: &Tx,
    tenant_id: &str,
    delivery_id: &str,
) -> Result<Option<DeliveryRow>, StorageError> {
    Deliveries::find_by_id((tenant_id.to_owned(), delivery_id.to_owned()))
        .one(&tx.conn())
        .await
        .map_err(StorageError::from_db)
}

/// Records a delivery applied by this transaction, with what it did: `false` when a concurrent copy of it recorded
/// it first (this insert waited for that copy to commit).
pub async fn record_delivery(tx: &Tx, row: DeliveryRow) -> Result<bool, StorageError> {
    let inserted = Deliveries::insert(row.into_active_model().reset_all())
        .on_conflict(
            OnConflict::columns([
                ingest_deliveries::Column::TenantId,
                ingest_deliveries::Column::DeliveryId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .try_insert()
        .exec_without_returning(tx.write()?)
        .await
        .map_err(StorageError::from_db)?;
    Ok(matches!(inserted, TryInsertResult::Inserted(n) if n > 0))
}

/// What a delivery looked up before the tenant clock depends on, as it is now (one statement): the tenant's
/// ingest policy version and grouping configuration version (0: none written), and whether it has an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngestVersions {
    /// The newest ingest policy version (0: the defaults).
    pub policy: i64,
    /// The newest grouping configuration version (0: the defaults).
    pub grouping: i64,
    /// Whether the tenant has any incident.
    pub has_incidents: bool,
}

/// The tenant's [`IngestVersions`] now.
pub async fn versions_now(tx: &Tx, tenant_id: &str) -> Result<IngestVersions, StorageError> {
    let conn = tx.conn();
    let backend = conn.get_database_backend();
    let p = match backend {
        DbBackend::Postgres => ["$1", "$2", "$3"],
        _ => ["?", "?", "?"],
    };
    let sql = format!(
        "SELECT COALESCE((SELECT MAX(version) FROM ingest_policies WHERE tenant_id = {}), 0) AS policy, \
                COALESCE((SELECT MAX(version) FROM grouping_configs WHERE tenant_id = {}), 0) AS grouping, \
                CASE WHEN EXISTS (SELECT 1 FROM incidents WHERE tenant_id = {}) THEN 1 ELSE 0 END AS has_incidents",
        p[0], p[1], p[2]
    );
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [tenant_id.into(), tenant_id.into(), tenant_id.into()],
        ))
        .await
        .map_err(StorageError::from_db)?
        .ok_or_else(|| StorageError::Corrupt {
            table: "ingest_policies",
            problem: "the versions query returned no row".to_owned(),
        })?;
    let get = |column: &str| -> Result<i64, StorageError> {
        row.try_get::<i64>("", column)
            .or_else(|_| row.try_get::<i32>("", column).map(i64::from))
            .map_err(StorageError::from_db)
    };
    Ok(IngestVersions {
        policy: get("policy")?,
        grouping: get("grouping")?,
        has_incidents: get("has_incidents")? != 0,
    })
}

/// The tenant's newest ingest policy version written at or before `at` (now: `None`), or `None` when it never set one.
pub async fn policy_at(
    tx: &Tx,
    tenant_id: &str,
    at: Option<DbTime>,
) -> Result<Option<IngestPolicyRow>, StorageError> {
    let mut query = Policies::find().filter(PolicyColumn::TenantId.eq(tenant_id));
    if let Some(at) = at {
        query = query.filter(PolicyColumn::CreatedAt.lte(at));
    }
    query
        .order_by_desc(PolicyColumn::Version)
        .one(&tx.conn())
        .await
        .map_err(StorageError::from_db)
}

/// Writes a new ingest policy version; a concurrent writer of the same version fails on the key.
pub async fn insert_policy(tx: &Tx, row: IngestPolicyRow) -> Result<(), StorageError> {
    Policies::insert(row.into_active_model().reset_all())
        .exec_without_returning(tx.write()?)
        .await
        .map_err(StorageError::from_db)?;
    Ok(())
}

/// One page of the tenant's alerts as they were at `page.as_of` (each in its highest version written by then),
/// newest first by (created_at, alert_id), only those with `status` and from `source` when given.
pub async fn list(
    tx: &Tx,
    tenant_id: &str,
    status: Option<&str>,
    source: Option<&str>,
    page: &crate::paging::PageRequest,
) -> Result<Vec<AlertRow>, StorageError> {
    let a = |c: Column| Expr::col(("a", c));
    let b = |c: Column| Expr::col(("b", c));
    let latest = Query::select()
        .expr(b(Column::Version).max())
        .from_as(Entity, "b")
        .and_where(b(Column::TenantId).equals(("a", Column::TenantId)))
        .and_where(b(Column::AlertId).equals(("a", Column::AlertId)))
        .and_where(b(Column::UpdatedAt).lte(page.as_of))
        .take();
    let mut select = Query::select();
    select
        .columns(Column::iter().map(|c| ("a", c)))
        .from_as(Entity, "a")
        .and_where(a(Column::TenantId).eq(tenant_id))
        .and_where(a(Column::CreatedAt).lte(page.as_of))
        .and_where(a(Column::Version).eq(Expr::from(latest)));
    if let Some(status) = status {
        select.and_where(a(Column::Status).eq(status));
    }
    if let Some(source) = source {
        select.and_where(a(Column::Source).eq(source));
    }
    if let Some((at, id)) = &page.after {
        select.and_where(
            Expr::tuple([a(Column::CreatedAt), a(Column::AlertId)])
                .lt(Expr::tuple([Expr::val(*at), Expr::val(id.as_str())])),
        );
    }
    select
        .order_by(("a", Column::CreatedAt), Order::Desc)
        .order_by(("a", Column::AlertId), Order::Desc)
        .limit(page.limit);
    Entity::find()
        .from_raw_sql(tx.conn().get_database_backend().build(&select))
        .all(&tx.conn())
        .await
        .map_err(StorageError::from_db)
}
