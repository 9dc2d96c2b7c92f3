//! Multi-row inserts written straight to SQL text, each value moved (not copied) from its row into the statement.
//!
//! sea-orm's `insert_many` turns every value of every row into an expression, then copies each one again while it
//! renders the statement: a storm delivery of 100 alerts is ~5,500 values, and those copies (with their
//! allocations) were most of what the spine did in its transaction beyond its hand-written floor. These inserts bind
//! exactly the values `insert_many` binds (each column's `ActiveModel` value), in the same columns, in one statement
//! per `chunk` rows.

use std::ops::Not;

use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityName, EntityTrait,
    IdenStatic, Iterable, Statement, Value,
};

use crate::StorageError;

/// One value of a row: a bound value, or an SQL expression with its own values (its parameters written `?`).
pub enum Cell {
    /// A value bound as a parameter.
    Value(Value),
    /// An expression, e.g. a subquery; each `?` in it is one of its values, in order.
    Expr(&'static str, Vec<Value>),
}

/// Inserts `rows` (all of one table) in one statement per `chunk` rows: the columns set (or unchanged) in the first
/// row, which every row must have (a column the first row leaves unset takes its default).
pub async fn insert_models<A>(
    tx: &DatabaseTransaction,
    rows: Vec<A>,
    chunk: usize,
) -> Result<(), StorageError>
where
    A: ActiveModelTrait,
{
    let table = <A::Entity as Default>::default().table_name();
    let mut set: Option<Vec<<A::Entity as EntityTrait>::Column>> = None;
    let mut cells = Vec::with_capacity(rows.len());
    for mut row in rows {
        let columns = set.get_or_insert_with(|| {
            <A::Entity as EntityTrait>::Column::iter()
                .filter(|c| row.is_not_set(*c).not())
                .collect()
        });
        let mut values = Vec::with_capacity(columns.len());
        for c in columns.iter() {
            match row.take(*c).into_value() {
                Some(value) => values.push(Cell::Value(value)),
                None => {
                    return Err(StorageError::Corrupt {
                        table,
                        problem: format!("a row of a multi-row insert leaves {} unset", c.as_str()),
                    });
                }
            }
        }
        cells.push(values);
    }
    let columns: Vec<String> = set
        .unwrap_or_default()
        .iter()
        .map(|c| quoted(c.as_str()))
        .collect();
    insert_cells(tx, cells.into_iter(), chunk, &quoted(table), &columns).await
}

/// `name` as a quoted identifier (both engines).
pub(crate) fn quoted(name: &str) -> String {
    format!("\"{name}\"")
}

/// Inserts `rows` of cells into `table` (`columns`, quoted), one statement per `chunk` rows.
pub(crate) async fn insert_cells(
    tx: &DatabaseTransaction,
    rows: impl Iterator<Item = Vec<Cell>>,
    chunk: usize,
    table: &str,
    columns: &[String],
) -> Result<(), StorageError> {
    let backend = tx.get_database_backend();
    let mut rows = rows.peekable();
    while rows.peek().is_some() {
        let mut statement = Multi::new(backend, table, columns);
        for row in rows.by_ref().take(chunk.max(1)) {
            statement.row(row);
        }
        tx.execute_raw(statement.finish())
            .await
            .map_err(StorageError::from_db)?;
    }
    Ok(())
}

/// A multi-row insert being written.
struct Multi {
    backend: DbBackend,
    sql: String,
    values: Vec<Value>,
    rows: usize,
}

impl Multi {
    fn new(backend: DbBackend, table: &str, columns: &[String]) -> Self {
        let mut sql = format!("INSERT INTO {table} (");
        sql.push_str(&columns.join(", "));
        sql.push_str(") VALUES ");
        Self {
            backend,
            sql,
            values: Vec::new(),
            rows: 0,
        }
    }

    fn placeholder(&mut self, value: Value) {
        self.values.push(value);
        match self.backend {
            DbBackend::Postgres => {
                self.sql.push('$');
                self.sql.push_str(&self.values.len().to_string());
            }
            _ => self.sql.push('?'),
        }
    }

    fn row(&mut self, cells: Vec<Cell>) {
        if self.rows > 0 {
            self.sql.push_str(", ");
        }
        self.rows += 1;
        self.sql.push('(');
        for (i, cell) in cells.into_iter().enumerate() {
            if i > 0 {
                self.sql.push_str(", ");
            }
            match cell {
                Cell::Value(value) => self.placeholder(value),
                Cell::Expr(sql, values) => {
                    let mut values = values.into_iter();
                    for c in sql.chars() {
                        match (c == '?').then(|| values.next()).flatten() {
                            Some(value) => self.placeholder(value),
                            None => self.sql.push(c),
                        }
                    }
                }
            }
        }
        self.sql.push(')');
    }

    fn finish(self) -> Statement {
        Statement::from_sql_and_values(self.backend, self.sql, self.values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_across_rows_and_expressions_on_postgres() {
        let columns = vec!["\"a\"".to_owned(), "\"b\"".to_owned()];
        let mut m = Multi::new(DbBackend::Postgres, "\"t\"", &columns);
        for n in 0..2 {
            m.row(vec![
                Cell::Value(Value::from(n)),
                Cell::Expr("(SELECT ? + ?)", vec![Value::from(1), Value::from(2)]),
            ]);
        }
        let s = m.finish();
        assert_eq!(
            s.sql,
            "INSERT INTO \"t\" (\"a\", \"b\") VALUES ($1, (SELECT $2 + $3)), ($4, (SELECT $5 + $6))"
        );
        assert_eq!(s.values.map(|v| v.0.len()), Some(6));
    }

    #[test]
    fn sqlite_keeps_question_marks() {
        let columns = vec!["\"a\"".to_owned()];
        let mut m = Multi::new(DbBackend::Sqlite, "\"t\"", &columns);
        m.row(vec![Cell::Expr("? + 1", vec![Value::from(1)])]);
        assert_eq!(m.finish().sql, "INSERT INTO \"t\" (\"a\") VALUES (? + 1)");
    }
}
