//! Whether the schema is ready to be distributed by tenant (`docs/SCALING.md`): the primary keys, unique keys,
//! indexes and foreign keys of every tenant table (a table with a `tenant_id` column), each with its columns in
//! order, and which of them do not lead with `tenant_id`.

use sea_orm::{ConnectionTrait, Statement};

use crate::schema_check::{database_columns, database_tables};
use crate::{Backend, Database, StorageError};

/// What a key is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeyKind {
    /// The primary key.
    Primary,
    /// A unique index or constraint.
    Unique,
    /// An index that is not unique.
    Index,
    /// A foreign key (its referencing columns).
    Foreign,
}

impl std::fmt::Display for KeyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Primary => "primary key",
            Self::Unique => "unique key",
            Self::Index => "index",
            Self::Foreign => "foreign key",
        })
    }
}

/// A key of a table and its columns in order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    /// The table.
    pub table: String,
    /// What it is.
    pub kind: KeyKind,
    /// Its columns, in key order.
    pub columns: Vec<String>,
    /// Its name in this database (engines name primary keys differently).
    pub name: String,
}

impl Key {
    /// Whether its first column is `tenant_id`.
    pub fn leads_with_tenant(&self) -> bool {
        self.columns.first().is_some_and(|c| c == "tenant_id")
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} ({})",
            self.table,
            self.kind,
            self.columns.join(", ")
        )
    }
}

/// The tables that have a `tenant_id` column, sorted.
pub async fn tenant_tables(db: &Database) -> Result<Vec<String>, StorageError> {
    let mut out = Vec::new();
    for table in database_tables(db).await? {
        if database_columns(db, &table)
            .await?
            .contains_key("tenant_id")
        {
            out.push(table);
        }
    }
    Ok(out)
}

/// Every key of `table`: its indexes (primary key and unique ones included) and its foreign keys.
pub async fn keys(db: &Database, table: &str) -> Result<Vec<Key>, StorageError> {
    let conn = db.conn();
    let backend = conn.get_database_backend();
    let (indexes, foreign) = match db.backend() {
        Backend::Sqlite => (
            "SELECT il.name AS name, CASE WHEN il.origin = 'pk' THEN 'p' WHEN il.\"unique\" = 1 THEN 'u' \
             ELSE 'i' END AS kind, ii.name AS col \
             FROM pragma_index_list(?) AS il JOIN pragma_index_info(il.name) AS ii ORDER BY il.name, ii.seqno",
            "SELECT 'fk_' || id AS name, 'f' AS kind, \"from\" AS col FROM pragma_foreign_key_list(?) \
             ORDER BY id, seq",
        ),
        Backend::Postgres => (
            "SELECT i.relname::text AS name, \
             CASE WHEN ix.indisprimary THEN 'p' WHEN ix.indisunique THEN 'u' ELSE 'i' END AS kind, \
             a.attname::text AS col \
             FROM pg_class t JOIN pg_index ix ON ix.indrelid = t.oid JOIN pg_class i ON i.oid = ix.indexrelid \
             CROSS JOIN LATERAL unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
             WHERE t.relname = $1 AND t.relnamespace = current_schema()::regnamespace ORDER BY 1, k.ord",
            "SELECT c.conname::text AS name, 'f' AS kind, a.attname::text AS col \
             FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid \
             CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord) \
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum \
             WHERE c.contype = 'f' AND t.relname = $1 AND t.relnamespace = current_schema()::regnamespace \
             ORDER BY 1, k.ord",
        ),
    };
    let mut out: Vec<Key> = Vec::new();
    for sql in [indexes, foreign] {
        let rows = conn
            .query_all_raw(Statement::from_sql_and_values(backend, sql, [table.into()]))
            .await
            .map_err(StorageError::from_db)?;
        for row in rows {
            let get = |column: &str| -> Result<String, StorageError> {
                row.try_get("", column).map_err(StorageError::from_db)
            };
            let (name, kind, column) = (get("name")?, get("kind")?, get("col")?);
            let kind = match kind.as_str() {
                "p" => KeyKind::Primary,
                "u" => KeyKind::Unique,
                "f" => KeyKind::Foreign,
                _ => KeyKind::Index,
            };
            match out.last_mut() {
                Some(last) if last.name == name && last.kind == kind => last.columns.push(column),
                _ => out.push(Key {
                    table: table.to_owned(),
                    kind,
                    columns: vec![column],
                    name,
                }),
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Every key of every tenant table that does not lead with `tenant_id`.
pub async fn keys_not_led_by_tenant(db: &Database) -> Result<Vec<Key>, StorageError> {
    let mut out = Vec::new();
    for table in tenant_tables(db).await? {
        out.extend(
            keys(db, &table)
                .await?
                .into_iter()
                .filter(|key| !key.leads_with_tenant()),
        );
    }
    Ok(out)
}
