//! Compares the sea-orm entities with the schema the migrations actually built, column by column: name, type
//! family, nullability and string length. The original system's "ORM model gap" is exactly what this catches.

use std::collections::BTreeMap;
use std::fmt;

use sea_orm::sea_query::{ColumnType, StringLen};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, IdenStatic, Iterable, Statement};

use crate::entity;
use crate::{Backend, Database, StorageError};

/// The type families the schema uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeFamily {
    /// `VARCHAR(n)`.
    Varchar(u32),
    /// `TEXT`.
    Text,
    /// 32-bit integer.
    Integer,
    /// 64-bit integer.
    BigInteger,
    /// Boolean.
    Boolean,
    /// Timestamp with time zone.
    TimestampTz,
    /// Anything else, as the database or entity spelled it.
    Other(&'static str),
}

/// One column as declared by an entity or found in the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnShape {
    /// The type family.
    pub family: TypeFamily,
    /// Whether NULL is allowed.
    pub nullable: bool,
}

/// A difference between an entity and its table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaMismatch {
    /// The table.
    pub table: String,
    /// The column (empty when the whole table is missing).
    pub column: String,
    /// What differs.
    pub problem: String,
}

impl fmt::Display for SchemaMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}: {}", self.table, self.column, self.problem)
    }
}

/// The columns every entity declares, per table.
pub fn entity_tables() -> BTreeMap<String, BTreeMap<String, ColumnShape>> {
    let mut tables = BTreeMap::new();
    add::<entity::incidents::Entity>(&mut tables);
    add::<entity::incident_timeline::Entity>(&mut tables);
    add::<entity::incident_notes::Entity>(&mut tables);
    add::<entity::incident_search::Entity>(&mut tables);
    add::<entity::incident_status_counts::Entity>(&mut tables);
    add::<entity::incident_alerts::Entity>(&mut tables);
    add::<entity::ingest_deliveries::Entity>(&mut tables);
    add::<entity::ingest_policies::Entity>(&mut tables);
    add::<entity::postmortems::Entity>(&mut tables);
    add::<entity::audit_ledger::Entity>(&mut tables);
    add::<entity::event_sequences::Entity>(&mut tables);
    add::<entity::event_outbox::Entity>(&mut tables);
    add::<entity::analytics_artifacts::Entity>(&mut tables);
    add::<entity::api_keys::Entity>(&mut tables);
    add::<entity::console_sessions::Entity>(&mut tables);
    add::<entity::idempotency_keys::Entity>(&mut tables);
    add::<entity::tenant_clocks::Entity>(&mut tables);
    add::<entity::recurrence_groups::Entity>(&mut tables);
    add::<entity::recurrence_group_versions::Entity>(&mut tables);
    add::<entity::relay_leases::Entity>(&mut tables);
    add::<entity::grouping_configs::Entity>(&mut tables);
    add::<entity::grouping_templates::Entity>(&mut tables);
    add::<entity::event_prune_marks::Entity>(&mut tables);
    // History keeps every version of an incident, column for column the incidents table.
    if let Some(columns) = tables.get("incidents").cloned() {
        tables.insert("incident_versions".to_owned(), columns);
    }
    tables
}

fn add<E: EntityTrait>(tables: &mut BTreeMap<String, BTreeMap<String, ColumnShape>>) {
    let columns = E::Column::iter()
        .map(|column| {
            let def = column.def();
            let shape = ColumnShape {
                family: entity_family(def.get_column_type()),
                nullable: def.is_null(),
            };
            (column.as_str().to_owned(), shape)
        })
        .collect();
    tables.insert(E::default().table_name().to_owned(), columns);
}

fn entity_family(column_type: &ColumnType) -> TypeFamily {
    match column_type {
        ColumnType::String(StringLen::N(n)) => TypeFamily::Varchar(*n),
        ColumnType::String(_) | ColumnType::Text => TypeFamily::Text,
        ColumnType::Integer => TypeFamily::Integer,
        ColumnType::BigInteger => TypeFamily::BigInteger,
        ColumnType::Boolean => TypeFamily::Boolean,
        ColumnType::TimestampWithTimeZone => TypeFamily::TimestampTz,
        _ => TypeFamily::Other("unsupported entity column type"),
    }
}

/// Reads the columns of `table` from the database; empty when the table does not exist.
pub async fn database_columns(
    db: &Database,
    table: &str,
) -> Result<BTreeMap<String, ColumnShape>, StorageError> {
    let conn = db.conn();
    let backend = conn.get_database_backend();
    let mut columns = BTreeMap::new();
    match db.backend() {
        Backend::Sqlite => {
            let rows = conn
                .query_all_raw(Statement::from_sql_and_values(
                    backend,
                    "SELECT name, type, \"notnull\" AS not_null FROM pragma_table_info(?)",
                    [table.into()],
                ))
                .await
                .map_err(StorageError::from_db)?;
            for row in rows {
                let name: String = row.try_get("", "name").map_err(StorageError::from_db)?;
                let declared: String = row.try_get("", "type").map_err(StorageError::from_db)?;
                let notnull: i64 = row.try_get("", "not_null").map_err(StorageError::from_db)?;
                columns.insert(
                    name,
                    ColumnShape {
                        family: sqlite_family(&declared),
                        nullable: notnull == 0,
                    },
                );
            }
        }
        Backend::Postgres => {
            let rows = conn
                .query_all_raw(Statement::from_sql_and_values(
                    backend,
                    "SELECT column_name::text AS name, data_type::text AS data_type, \
                     character_maximum_length::bigint AS len, is_nullable::text AS nullable \
                     FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1",
                    [table.into()],
                ))
                .await
                .map_err(StorageError::from_db)?;
            for row in rows {
                let name: String = row.try_get("", "name").map_err(StorageError::from_db)?;
                let data_type: String = row
                    .try_get("", "data_type")
                    .map_err(StorageError::from_db)?;
                let len: Option<i64> = row.try_get("", "len").map_err(StorageError::from_db)?;
                let nullable: String =
                    row.try_get("", "nullable").map_err(StorageError::from_db)?;
                columns.insert(
                    name,
                    ColumnShape {
                        family: postgres_family(&data_type, len),
                        nullable: nullable == "YES",
                    },
                );
            }
        }
    }
    Ok(columns)
}

fn sqlite_family(declared: &str) -> TypeFamily {
    let declared = declared.to_ascii_lowercase();
    if let Some(n) = declared
        .strip_prefix("varchar(")
        .and_then(|rest| rest.strip_suffix(')'))
        .and_then(|n| n.parse().ok())
    {
        return TypeFamily::Varchar(n);
    }
    match declared.as_str() {
        "text" => TypeFamily::Text,
        // SQLite has one integer storage class; sea-query declares both widths as `integer`.
        "integer" | "bigint" => TypeFamily::BigInteger,
        "boolean" | "bool" => TypeFamily::Boolean,
        "timestamp_with_timezone_text" | "timestamptz" => TypeFamily::TimestampTz,
        _ => TypeFamily::Other("unrecognised sqlite type"),
    }
}

fn postgres_family(data_type: &str, len: Option<i64>) -> TypeFamily {
    match (data_type, len) {
        ("character varying", Some(n)) => {
            u32::try_from(n).map_or(TypeFamily::Other("varchar length"), TypeFamily::Varchar)
        }
        ("character varying", None) | ("text", _) => TypeFamily::Text,
        ("integer", _) => TypeFamily::Integer,
        ("bigint", _) => TypeFamily::BigInteger,
        ("boolean", _) => TypeFamily::Boolean,
        ("timestamp with time zone", _) => TypeFamily::TimestampTz,
        _ => TypeFamily::Other("unrecognised postgres type"),
    }
}

/// Every difference between the entities and the migrated database. Empty means they agree.
pub async fn compare(db: &Database) -> Result<Vec<SchemaMismatch>, StorageError> {
    compare_tables(db, &entity_tables()).await
}

/// [`compare`] against an explicit set of expected tables (tests seed a wrong entity this way).
pub async fn compare_tables(
    db: &Database,
    expected: &BTreeMap<String, BTreeMap<String, ColumnShape>>,
) -> Result<Vec<SchemaMismatch>, StorageError> {
    let mut mismatches = Vec::new();
    for (table, entity_columns) in expected {
        let found = database_columns(db, table).await?;
        let mismatch = |column: &str, problem: String| SchemaMismatch {
            table: table.clone(),
            column: column.to_owned(),
            problem,
        };
        if found.is_empty() {
            mismatches.push(mismatch(
                "",
                "table is missing from the database".to_owned(),
            ));
            continue;
        }
        for (column, expected_shape) in entity_columns {
            let Some(actual) = found.get(column) else {
                mismatches.push(mismatch(
                    column,
                    "declared by the entity but missing from the table".to_owned(),
                ));
                continue;
            };
            let family_matches = match (db.backend(), expected_shape.family, actual.family) {
                // SQLite cannot tell 32- from 64-bit integers apart.
                (Backend::Sqlite, TypeFamily::Integer, TypeFamily::BigInteger) => true,
                (_, e, a) => e == a,
            };
            if !family_matches {
                mismatches.push(mismatch(
                    column,
                    format!(
                        "entity says {:?}, database has {:?}",
                        expected_shape.family, actual.family
                    ),
                ));
            }
            if expected_shape.nullable != actual.nullable {
                mismatches.push(mismatch(
                    column,
                    format!(
                        "entity says {}, database says {}",
                        nullability(expected_shape.nullable),
                        nullability(actual.nullable)
                    ),
                ));
            }
        }
        for column in found.keys() {
            if !entity_columns.contains_key(column)
                && !ENGINE_COLUMNS.contains(&(table.as_str(), column.as_str()))
            {
                mismatches.push(mismatch(
                    column,
                    "in the table but not declared by the entity".to_owned(),
                ));
            }
        }
    }
    for table in database_tables(db).await? {
        if !expected.contains_key(&table)
            && table != MIGRATIONS_TABLE
            && !ENGINE_TABLES.iter().any(|prefix| table.starts_with(prefix))
        {
            mismatches.push(SchemaMismatch {
                table,
                column: String::new(),
                problem: "in the database but no entity declares it".to_owned(),
            });
        }
    }
    Ok(mismatches)
}

/// sea-orm-migration's own bookkeeping table, the one table without an entity here.
const MIGRATIONS_TABLE: &str = "seaql_migrations";
/// Columns the database derives for its own engine, read only through it: PostgreSQL's parsed words of a search
/// row (`tsvector`, generated from `document`, matched with `@@`; migration 12), and SQLite's key of a search row in
/// the present's index (its tenant's number and its place in the tenant's order of creation; migration 21).
const ENGINE_COLUMNS: &[(&str, &str)] = &[
    ("incident_search", "words"),
    ("incident_search", "search_key"),
];
/// Tables of SQLite's text search engine, written by triggers and read only through `MATCH` and the search's keys
/// (by prefix): the FTS5 indexes over `incident_search` (the history's, migration 11, and the present's, migration
/// 21) with their shadow tables, and the numbering of the tenants in the present's index (migration 21).
const ENGINE_TABLES: &[&str] = &["incident_search_fts", "incident_search_tenants"];

/// The names of the tables in the database (not views, not SQLite's internal tables), sorted.
pub async fn database_tables(db: &Database) -> Result<Vec<String>, StorageError> {
    let conn = db.conn();
    let sql = match db.backend() {
        Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        }
        Backend::Postgres => {
            "SELECT table_name::text AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY name"
        }
    };
    let rows = conn
        .query_all_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .map_err(StorageError::from_db)?;
    rows.iter()
        .map(|row| {
            row.try_get::<String>("", "name")
                .map_err(StorageError::from_db)
        })
        .collect()
}

fn nullability(nullable: bool) -> &'static str {
    if nullable { "NULL" } else { "NOT NULL" }
}

/// The unique keys the code relies on: (table, columns, what relies on it). A unique index or primary key on
/// exactly these columns must exist on every backend.
pub const UNIQUE_KEYS: &[(&str, &[&str], &str)] = &[
    (
        "postmortems",
        &["tenant_id", "incident_id"],
        "one postmortem per incident (concurrent stubs create one)",
    ),
    (
        "incident_timeline",
        &["tenant_id", "incident_id", "ordinal"],
        "a timeline ordinal is written once",
    ),
    (
        "incident_notes",
        &["tenant_id", "note_id", "version"],
        "a note version is written once",
    ),
    (
        "event_outbox",
        &["tenant_id", "project_id", "sequence_no"],
        "an event sequence number is never reused",
    ),
    (
        "event_sequences",
        &["tenant_id", "project_id"],
        "the sequence counter upsert (ON CONFLICT)",
    ),
    (
        "analytics_artifacts",
        &["tenant_id", "dataset_id", "dataset_version"],
        "one definition per artifact key (INSERT … ON CONFLICT DO NOTHING)",
    ),
    (
        "idempotency_keys",
        &["tenant_id", "idempotency_key"],
        "one stored response per idempotency key",
    ),
    (
        "incident_versions",
        &["tenant_id", "id", "version"],
        "one row per version of an incident; the version at T is a lookup in it",
    ),
    (
        "tenant_clocks",
        &["tenant_id"],
        "the tenant clock upsert (ON CONFLICT)",
    ),
    (
        "recurrence_groups",
        &["tenant_id", "signature_version", "recurrence_signature"],
        "the group summary upsert of the group trigger (ON CONFLICT / INSERT OR IGNORE)",
    ),
    (
        "incident_status_counts",
        &["tenant_id", "status", "valid_from"],
        "one count per status and instant (the count trigger's INSERT OR IGNORE / ON CONFLICT)",
    ),
    (
        "recurrence_group_versions",
        &[
            "tenant_id",
            "signature_version",
            "recurrence_signature",
            "version",
        ],
        "one row per version of a group's summary",
    ),
];

/// The column sets of every unique index (primary keys included) of `table`, each sorted.
pub async fn unique_column_sets(
    db: &Database,
    table: &str,
) -> Result<Vec<Vec<String>>, StorageError> {
    let conn = db.conn();
    let backend = conn.get_database_backend();
    let sql = match db.backend() {
        Backend::Sqlite => {
            "SELECT il.name AS index_name, ii.name AS column_name \
             FROM pragma_index_list(?) AS il JOIN pragma_index_info(il.name) AS ii \
             WHERE il.\"unique\" = 1"
        }
        Backend::Postgres => {
            "SELECT i.relname::text AS index_name, a.attname::text AS column_name \
             FROM pg_class t \
             JOIN pg_index ix ON ix.indrelid = t.oid \
             JOIN pg_class i ON i.oid = ix.indexrelid \
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY(ix.indkey) \
             WHERE t.relname = $1 AND t.relnamespace = current_schema()::regnamespace AND ix.indisunique"
        }
    };
    let rows = conn
        .query_all_raw(Statement::from_sql_and_values(backend, sql, [table.into()]))
        .await
        .map_err(StorageError::from_db)?;
    let mut indexes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in rows {
        let index: String = row
            .try_get("", "index_name")
            .map_err(StorageError::from_db)?;
        let column: String = row
            .try_get("", "column_name")
            .map_err(StorageError::from_db)?;
        indexes.entry(index).or_default().push(column);
    }
    Ok(indexes
        .into_values()
        .map(|mut columns| {
            columns.sort();
            columns
        })
        .collect())
}

/// The unique keys of `keys` that the database does not enforce, each as a mismatch naming what relies on it.
pub async fn missing_unique_keys(
    db: &Database,
    keys: &[(&str, &[&str], &str)],
) -> Result<Vec<SchemaMismatch>, StorageError> {
    let mut missing = Vec::new();
    for (table, columns, why) in keys {
        let mut wanted: Vec<String> = columns.iter().map(|c| (*c).to_owned()).collect();
        wanted.sort();
        if !unique_column_sets(db, table).await?.contains(&wanted) {
            missing.push(SchemaMismatch {
                table: (*table).to_owned(),
                column: columns.join(", "),
                problem: format!("no unique index or primary key on exactly these columns ({why})"),
            });
        }
    }
    Ok(missing)
}
