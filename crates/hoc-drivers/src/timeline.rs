//! Incident timeline rows, numbered per incident from 1 without gaps: the row's ordinal is one past the incident's
//! last, computed in the statement that inserts it.

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IdenStatic, IntoActiveModel,
    Iterable, QueryFilter, QueryOrder, Value,
};

use crate::bulk::Cell;
use crate::entity::incident_timeline::{Column, Entity};
use crate::{DbTime, StorageError, TimelineRow, Tx};

/// Appends a timeline row as the incident's next ordinal (`row.ordinal` is ignored) and returns that ordinal.
///
/// The ordinal is `MAX(ordinal) + 1` of the incident's rows, read in the inserting statement. Appenders of one
/// incident are serialised by the lock on the incident row every writer holds first (the compare-and-set of a
/// change, [`crate::incidents::lock`] of a note or a link; SQLite writes one transaction at a time), and the unique
/// (tenant, incident, ordinal) key refuses a second row with one ordinal whatever happens.
pub async fn insert(tx: &Tx, row: TimelineRow) -> Result<i32, StorageError> {
    let next = next_ordinal(&row);
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
/// multi-row insert per 200 rows, whatever incidents they belong to. Each row's ordinal is its incident's
/// `MAX(ordinal)` read in the inserting statement plus its place among that incident's rows of the call; the
/// statement's own rows are not seen by those reads (PostgreSQL reads at the statement's snapshot; SQLite computes
/// an insert that reads its own table in full before it writes). The caller holds each incident's row lock, as for
/// [`insert`].
pub async fn insert_all(tx: &Tx, rows: Vec<TimelineRow>) -> Result<(), StorageError> {
    let conn = tx.write()?;
    let mut placed: Vec<((String, String), i32)> = Vec::new();
    let mut numbered = Vec::with_capacity(rows.len());
    for row in rows {
        let key = (row.tenant_id.clone(), row.incident_id.clone());
        let place = match placed.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => {
                *n += 1;
                *n
            }
            None => {
                placed.push((key, 1));
                1
            }
        };
        numbered.push((row, place));
    }
    let columns: Vec<String> = Column::iter()
        .map(|c| crate::bulk::quoted(c.as_str()))
        .collect();
    let rows = numbered.into_iter().map(|(row, place)| {
        let of = vec![
            Value::from(row.tenant_id.clone()),
            Value::from(row.incident_id.clone()),
            Value::from(place - 1),
        ];
        let mut row = row.into_active_model();
        let mut of = Some(of);
        Column::iter()
            .map(|c| match c {
                // One past the incident's last ordinal, read in the inserting statement, plus its place.
                Column::Ordinal => Cell::Expr(
                    "(SELECT COALESCE(MAX(t.\"ordinal\"), 0) + 1 FROM \"incident_timeline\" t \
                     WHERE t.\"tenant_id\" = ? AND t.\"incident_id\" = ?) + ?",
                    of.take().unwrap_or_default(),
                ),
                c => Cell::Value(row.take(c).into_value().unwrap_or(Value::String(None))),
            })
            .collect()
    });
    crate::bulk::insert_cells(conn, rows, 200, "\"incident_timeline\"", &columns).await
}

/// One past the incident's last ordinal, as a subquery of the inserting statement.
fn next_ordinal(row: &TimelineRow) -> sea_orm::sea_query::SelectStatement {
    let t = |c: Column| Expr::col(("t", c));
    Query::select()
        .expr(t(Column::Ordinal).max().if_null(0).add(1))
        .from_as(Entity, "t")
        .and_where(t(Column::TenantId).eq(row.tenant_id.as_str()))
        .and_where(t(Column::IncidentId).eq(row.incident_id.as_str()))
        .take()
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
