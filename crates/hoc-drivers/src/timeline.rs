//! Incident timeline rows, numbered per incident from 1 without gaps: the row's ordinal is one past the incident's
//! last, computed in the statement that inserts it.

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, Iterable, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::entity::incident_timeline::{Column, Entity};
use crate::{DbTime, StorageError, TimelineRow, Tx};

/// Appends a timeline row as the incident's next ordinal (`row.ordinal` is ignored) and returns that ordinal.
///
/// The ordinal is `MAX(ordinal) + 1` of the incident's rows, read in the inserting statement. Appenders of one
/// incident are serialised by the lock on the incident row every writer holds first (the compare-and-set of a
/// change, [`crate::incidents::lock`] of a note or a link; SQLite writes one transaction at a time), and the unique
/// (tenant, incident, ordinal) key refuses a second row with one ordinal whatever happens.
pub async fn insert(tx: &Tx, row: TimelineRow) -> Result<i32, StorageError> {
    let t = |c: Column| Expr::col(("t", c));
    let next = Query::select()
        .expr(t(Column::Ordinal).max().if_null(0).add(1))
        .from_as(Entity, "t")
        .and_where(t(Column::TenantId).eq(row.tenant_id.as_str()))
        .and_where(t(Column::IncidentId).eq(row.incident_id.as_str()))
        .take();
    let values: Vec<Expr> = Column::iter()
        .map(|c| match c {
            Column::Ordinal => Expr::from(next.clone()),
            c => Expr::val(sea_orm::ModelTrait::get(&row, c)),
        })
        .collect();
    let mut insert = Query::insert();
    insert
        .into_table(Entity)
        .columns(Column::iter())
        .values(values)
        .map_err(|e| StorageError::Corrupt {
            table: "incident_timeline",
            problem: e.to_string(),
        })?;
    insert.returning_col(Column::Ordinal);
    let conn = tx.write()?;
    let backend = conn.get_database_backend();
    let inserted = conn
        .query_one_raw(backend.build(&insert))
        .await
        .map_err(StorageError::from_db)?
        .ok_or_else(|| StorageError::Corrupt {
            table: "incident_timeline",
            problem: "an insert returned no row".to_owned(),
        })?;
    inserted
        .try_get("", "ordinal")
        .map_err(StorageError::from_db)
}

/// Appends `rows` in order, each incident's rows numbered on from its last ordinal (`row.ordinal` is ignored): one
/// read of the last ordinal and one multi-row insert per incident (per 200 rows). The caller holds each incident's
/// row lock, as for [`insert`].
pub async fn insert_all(tx: &Tx, rows: Vec<TimelineRow>) -> Result<(), StorageError> {
    let mut incidents: Vec<(String, String)> = Vec::new();
    for row in &rows {
        let key = (row.tenant_id.clone(), row.incident_id.clone());
        if !incidents.contains(&key) {
            incidents.push(key);
        }
    }
    let conn = tx.write()?;
    for (tenant_id, incident_id) in incidents {
        let last = Entity::find()
            .select_only()
            .column_as(Column::Ordinal.max(), "last")
            .filter(Column::TenantId.eq(tenant_id.as_str()))
            .filter(Column::IncidentId.eq(incident_id.as_str()))
            .into_tuple::<Option<i32>>()
            .one(conn)
            .await
            .map_err(StorageError::from_db)?
            .flatten()
            .unwrap_or(0);
        let mine: Vec<_> = rows
            .iter()
            .filter(|r| r.tenant_id == tenant_id && r.incident_id == incident_id)
            .zip(last + 1..)
            .map(|(row, ordinal)| {
                sea_orm::IntoActiveModel::into_active_model(TimelineRow {
                    ordinal,
                    ..row.clone()
                })
                .reset_all()
            })
            .collect();
        let mut mine = mine.into_iter().peekable();
        while mine.peek().is_some() {
            let chunk: Vec<_> = mine.by_ref().take(200).collect();
            Entity::insert_many(chunk)
                .exec_without_returning(conn)
                .await
                .map_err(StorageError::from_db)?;
        }
    }
    Ok(())
}

/// The incident's timeline in ordinal order; with `as_of`, only rows created at or before it.
pub async fn list(
    tx: &Tx,
    tenant_id: &str,
    incident_id: &str,
    as_of: Option<DbTime>,
) -> Result<Vec<TimelineRow>, StorageError> {
    let mut query = Entity::find()
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::IncidentId.eq(incident_id));
    if let Some(as_of) = as_of {
        query = query.filter(Column::CreatedAt.lte(as_of));
    }
    query
        .order_by_asc(Column::Ordinal)
        .all(&tx.conn())
        .await
        .map_err(StorageError::from_db)
}
