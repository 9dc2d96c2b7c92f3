//! Full-text search over incidents (issue 22): `incident_search` holds one row per version of an incident's
//! searchable text — title, description, error message and the bodies of its notes that are not deleted — valid
//! from the change that made it until the next one, so a search at an instant matches the text of then.
//!
//! The database keeps it, in the statement that changes the text (the write path pays no extra round trip): a
//! trigger on `incidents` (a new incident; a change of title, description or error message) and one on
//! `incident_notes` (every note version) close the current row and add the next.
//!
//! The engines are the databases' own: SQLite FTS5 (`incident_search_fts`, an external-content index over
//! `incident_search` with the Porter stemmer, filled by a trigger on insert), PostgreSQL `to_tsvector('english',
//! document)` with a GIN expression index. Both match English word stems, case-insensitively.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum IncidentSearch {
    Table,
    TenantId,
    IncidentId,
    Version,
    CreatedAt,
    ValidFrom,
    ValidTo,
    Document,
}

/// The document of the incident `(tenant, id)` with text `title`, `description`, `error_message` (SQL
/// expressions): those, then the current bodies of its notes that are not deleted, oldest first, one per line.
fn document(
    backend: DatabaseBackend,
    tenant: &str,
    id: &str,
    title: &str,
    description: &str,
    error: &str,
) -> String {
    let current_notes = format!(
        "FROM incident_notes n WHERE n.tenant_id = {tenant} AND n.incident_id = {id} AND n.deleted = {no} \
         AND n.version = (SELECT MAX(m.version) FROM incident_notes m WHERE m.tenant_id = n.tenant_id \
         AND m.note_id = n.note_id)",
        no = match backend {
            DatabaseBackend::Postgres => "FALSE",
            _ => "0",
        }
    );
    let notes = match backend {
        DatabaseBackend::Postgres => format!(
            "(SELECT string_agg(n.body, E'\\n' ORDER BY n.created_at, n.note_id) {current_notes})"
        ),
        _ => format!(
            "(SELECT group_concat(body, char(10)) FROM (SELECT n.body {current_notes} \
             ORDER BY n.created_at, n.note_id))"
        ),
    };
    let nl = match backend {
        DatabaseBackend::Postgres => "E'\\n'",
        _ => "char(10)",
    };
    format!(
        "{title} || {nl} || COALESCE({description}, '') || {nl} || COALESCE({error}, '') || {nl} || COALESCE({notes}, '')"
    )
}

/// Closes the current search row of `(tenant, id)` at `at` and adds the next, with `document`.
fn next_version(tenant: &str, id: &str, at: &str, created_at: &str, document: &str) -> String {
    format!(
        "UPDATE incident_search SET valid_to = {at} WHERE tenant_id = {tenant} AND incident_id = {id} \
         AND valid_to IS NULL; \
         INSERT INTO incident_search (tenant_id, incident_id, version, created_at, valid_from, valid_to, document) \
         SELECT {tenant}, {id}, COALESCE(MAX(s.version), 0) + 1, {created_at}, {at}, NULL, {document} \
         FROM incident_search s WHERE s.tenant_id = {tenant} AND s.incident_id = {id};"
    )
}

/// The triggers that keep `incident_search` (and, on SQLite, its FTS5 index), as this migration created them.
pub(crate) fn search_triggers(backend: DatabaseBackend) -> Vec<String> {
    search_triggers_storing(backend, Stored::AsWritten)
}

/// How the document is stored: as written (this migration), or with ASCII letters lowercased on SQLite (migration
/// 20, so the rank need not lowercase every hit's text at each search).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stored {
    AsWritten,
    LowercaseOnSqlite,
}

impl Stored {
    fn wrap(self, backend: DatabaseBackend, document: String) -> String {
        match (self, backend) {
            (Stored::LowercaseOnSqlite, DatabaseBackend::Sqlite) => format!("lower({document})"),
            _ => document,
        }
    }
}

/// The triggers that keep `incident_search` (and, on SQLite, its FTS5 index), storing the document as `stored`.
pub(crate) fn search_triggers_storing(backend: DatabaseBackend, stored: Stored) -> Vec<String> {
    let on_incident = next_version(
        "NEW.tenant_id",
        "NEW.id",
        "NEW.updated_at",
        "NEW.created_at",
        &stored.wrap(
            backend,
            document(
                backend,
                "NEW.tenant_id",
                "NEW.id",
                "NEW.title",
                "NEW.description",
                "NEW.error_message",
            ),
        ),
    );
    let incident = "(SELECT i.{c} FROM incidents i WHERE i.tenant_id = NEW.tenant_id AND i.id = NEW.incident_id)";
    let col = |c: &str| incident.replace("{c}", c);
    let on_note = next_version(
        "NEW.tenant_id",
        "NEW.incident_id",
        "NEW.updated_at",
        &col("created_at"),
        &stored.wrap(
            backend,
            document(
                backend,
                "NEW.tenant_id",
                "NEW.incident_id",
                &col("title"),
                &col("description"),
                &col("error_message"),
            ),
        ),
    );
    let text_changed = "OLD.title IS DISTINCT FROM NEW.title OR OLD.description IS DISTINCT FROM NEW.description \
                        OR OLD.error_message IS DISTINCT FROM NEW.error_message";
    match backend {
        DatabaseBackend::Postgres => vec![
            format!(
                "CREATE OR REPLACE FUNCTION incidents_search() RETURNS trigger AS $$ \
                 BEGIN {on_incident} RETURN NULL; END; $$ LANGUAGE plpgsql"
            ),
            "CREATE TRIGGER incidents_search_insert AFTER INSERT ON incidents \
             FOR EACH ROW EXECUTE FUNCTION incidents_search()"
                .to_owned(),
            format!(
                "CREATE TRIGGER incidents_search_update AFTER UPDATE ON incidents \
                 FOR EACH ROW WHEN ({text_changed}) EXECUTE FUNCTION incidents_search()"
            ),
            format!(
                "CREATE OR REPLACE FUNCTION incident_notes_search() RETURNS trigger AS $$ \
                 BEGIN {on_note} RETURN NULL; END; $$ LANGUAGE plpgsql"
            ),
            "CREATE TRIGGER incident_notes_search AFTER INSERT ON incident_notes \
             FOR EACH ROW EXECUTE FUNCTION incident_notes_search()"
                .to_owned(),
        ],
        _ => vec![
            format!("CREATE TRIGGER incidents_search_insert AFTER INSERT ON incidents BEGIN {on_incident} END"),
            format!(
                "CREATE TRIGGER incidents_search_update AFTER UPDATE ON incidents WHEN {} BEGIN {on_incident} END",
                text_changed.replace("IS DISTINCT FROM", "IS NOT")
            ),
            format!("CREATE TRIGGER incident_notes_search AFTER INSERT ON incident_notes BEGIN {on_note} END"),
            "CREATE TRIGGER incident_search_fts_insert AFTER INSERT ON incident_search BEGIN \
             INSERT INTO incident_search_fts (rowid, document) VALUES (NEW.rowid, NEW.document); END"
                .to_owned(),
        ],
    }
}

/// Drops what [`search_triggers`] creates.
pub(crate) fn search_trigger_drops(backend: DatabaseBackend) -> &'static [&'static str] {
    match backend {
        DatabaseBackend::Postgres => &[
            "DROP TRIGGER IF EXISTS incidents_search_insert ON incidents",
            "DROP TRIGGER IF EXISTS incidents_search_update ON incidents",
            "DROP TRIGGER IF EXISTS incident_notes_search ON incident_notes",
            "DROP FUNCTION IF EXISTS incidents_search()",
            "DROP FUNCTION IF EXISTS incident_notes_search()",
        ],
        _ => &[
            "DROP TRIGGER IF EXISTS incidents_search_insert",
            "DROP TRIGGER IF EXISTS incidents_search_update",
            "DROP TRIGGER IF EXISTS incident_notes_search",
            "DROP TRIGGER IF EXISTS incident_search_fts_insert",
        ],
    }
}

/// Fills `incident_search` from the incidents as they are (each one's current text, valid from its creation:
/// earlier versions of a text are not recovered) and, on SQLite, rebuilds the FTS5 index.
pub(crate) fn backfill(backend: DatabaseBackend) -> Vec<String> {
    backfill_storing(backend, Stored::AsWritten)
}

/// [`backfill`], storing the document as `stored`.
pub(crate) fn backfill_storing(backend: DatabaseBackend, stored: Stored) -> Vec<String> {
    let document = stored.wrap(
        backend,
        document(
            backend,
            "i.tenant_id",
            "i.id",
            "i.title",
            "i.description",
            "i.error_message",
        ),
    );
    let mut sql = vec![format!(
        "INSERT INTO incident_search (tenant_id, incident_id, version, created_at, valid_from, valid_to, document) \
         SELECT i.tenant_id, i.id, 1, i.created_at, i.created_at, NULL, {document} FROM incidents i"
    )];
    if backend != DatabaseBackend::Postgres {
        sql.push(
            "INSERT INTO incident_search_fts (incident_search_fts) VALUES ('rebuild')".to_owned(),
        );
    }
    sql
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let backend = m.get_database_backend();
        m.create_table(
            Table::create()
                .table(IncidentSearch::Table)
                .col(string_len(IncidentSearch::TenantId, 64))
                .col(string_len(IncidentSearch::IncidentId, 64))
                .col(big_integer(IncidentSearch::Version))
                .col(timestamp_with_time_zone(IncidentSearch::CreatedAt))
                .col(timestamp_with_time_zone(IncidentSearch::ValidFrom))
                .col(timestamp_with_time_zone_null(IncidentSearch::ValidTo))
                .col(text(IncidentSearch::Document))
                // One row per (incident, text version); the current one is found by (tenant, incident).
                .primary_key(
                    Index::create()
                        .col(IncidentSearch::TenantId)
                        .col(IncidentSearch::IncidentId)
                        .col(IncidentSearch::Version),
                )
                .to_owned(),
        )
        .await?;
        let conn = m.get_connection();
        match backend {
            DatabaseBackend::Postgres => {
                // A text search: the rows whose document matches, found by the expression index.
                conn.execute_unprepared(
                    "CREATE INDEX ix_incident_search_document ON incident_search \
                     USING GIN (to_tsvector('english', document))",
                )
                .await?;
            }
            _ => {
                conn.execute_unprepared(
                    "CREATE VIRTUAL TABLE incident_search_fts USING fts5(document, content='incident_search', \
                     content_rowid='rowid', tokenize='porter unicode61')",
                )
                .await?;
            }
        }
        for sql in search_triggers(backend) {
            conn.execute_unprepared(&sql).await?;
        }
        for sql in backfill(backend) {
            conn.execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let backend = m.get_database_backend();
        for sql in search_trigger_drops(backend) {
            m.get_connection().execute_unprepared(sql).await?;
        }
        if backend != DatabaseBackend::Postgres {
            m.get_connection()
                .execute_unprepared("DROP TABLE IF EXISTS incident_search_fts")
                .await?;
        }
        m.drop_table(Table::drop().table(IncidentSearch::Table).to_owned())
            .await
    }
}
