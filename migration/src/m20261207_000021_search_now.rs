//! SQLite's text search without reading its hits' rows (issue 22): a second FTS5 index holding only the current text
//! of each incident, whose rowids say the tenant and the order of creation, so that a search in the present finds,
//! ranks and orders a common word's thousand hits from the index alone and reads the rows of one page only
//! (`docs/PERFORMANCE.md`, "Text search at 1M"). PostgreSQL is left as it is.
//!
//! - `incident_search_tenants` numbers the tenants (from 1, in the order they first wrote text).
//! - `incident_search.search_key` is the incident's key, the same for every version of its text: the tenant's number
//!   × 2⁴⁰ plus the incident's place in the tenant's order of creation (from 1). A tenant's keys are one contiguous
//!   range, so a rowid range is the tenant filter; a larger key is a newer incident.
//! - `incident_search_fts_now` (contentless, rows deletable) holds each incident's current text under its key.
//!
//! One trigger on `incident_search` keeps all three in the statement that adds a text version, after the one that
//! feeds the history index (`incident_search_fts`). Existing rows are numbered by (created_at, id) per tenant.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// Keys per tenant: a tenant's incidents are keyed `number × KEY_SPAN + 1 …`.
pub const KEY_SPAN: i64 = 1 << 40;

/// The trigger that numbers a new text version's tenant and incident and puts the text in the present's index.
pub(crate) fn now_triggers(backend: DatabaseBackend) -> Vec<String> {
    if backend != DatabaseBackend::Sqlite {
        return Vec::new();
    }
    vec![format!(
        "CREATE TRIGGER incident_search_now AFTER INSERT ON incident_search BEGIN \
         INSERT INTO incident_search_tenants (tenant_id, search_no) \
         SELECT NEW.tenant_id, (SELECT COALESCE(MAX(search_no), 0) + 1 FROM incident_search_tenants) \
         WHERE NOT EXISTS (SELECT 1 FROM incident_search_tenants WHERE tenant_id = NEW.tenant_id); \
         UPDATE incident_search SET search_key = COALESCE(\
         (SELECT p.search_key FROM incident_search p WHERE p.tenant_id = NEW.tenant_id \
         AND p.incident_id = NEW.incident_id AND p.version = NEW.version - 1), \
         (SELECT COALESCE((SELECT MAX(k.search_key) FROM incident_search k WHERE k.tenant_id = NEW.tenant_id \
         AND k.version = 1), \
         t.search_no * {KEY_SPAN}) + 1 FROM incident_search_tenants t WHERE t.tenant_id = NEW.tenant_id)) \
         WHERE rowid = NEW.rowid; \
         DELETE FROM incident_search_fts_now WHERE NEW.version > 1 \
         AND rowid = (SELECT search_key FROM incident_search WHERE rowid = NEW.rowid); \
         INSERT INTO incident_search_fts_now (rowid, document) \
         SELECT search_key, document FROM incident_search WHERE rowid = NEW.rowid; \
         END"
    )]
}

/// Drops what [`now_triggers`] creates.
pub(crate) fn now_trigger_drops(backend: DatabaseBackend) -> &'static [&'static str] {
    match backend {
        DatabaseBackend::Sqlite => &["DROP TRIGGER IF EXISTS incident_search_now"],
        _ => &[],
    }
}

/// Numbers the tenants and incidents of `incident_search` as it is, and fills the present's index with the current
/// texts (after a bulk load, which writes the rows with the triggers suspended; empties both first).
pub(crate) fn now_backfill(backend: DatabaseBackend) -> Vec<String> {
    if backend != DatabaseBackend::Sqlite {
        return Vec::new();
    }
    vec![
        "DELETE FROM incident_search_tenants".to_owned(),
        "INSERT INTO incident_search_fts_now (incident_search_fts_now) VALUES ('delete-all')"
            .to_owned(),
        "INSERT INTO incident_search_tenants (tenant_id, search_no) \
         SELECT tenant_id, ROW_NUMBER() OVER (ORDER BY tenant_id) FROM \
         (SELECT DISTINCT tenant_id FROM incident_search)"
            .to_owned(),
        format!(
            "UPDATE incident_search SET search_key = k.search_key FROM \
             (SELECT s.tenant_id, s.incident_id, t.search_no * {KEY_SPAN} \
             + ROW_NUMBER() OVER (PARTITION BY s.tenant_id ORDER BY s.created_at, s.incident_id) AS search_key \
             FROM incident_search s JOIN incident_search_tenants t ON t.tenant_id = s.tenant_id \
             WHERE s.valid_to IS NULL) k \
             WHERE incident_search.tenant_id = k.tenant_id AND incident_search.incident_id = k.incident_id"
        ),
        "INSERT INTO incident_search_fts_now (rowid, document) \
         SELECT search_key, document FROM incident_search WHERE valid_to IS NULL"
            .to_owned(),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let backend = m.get_database_backend();
        if backend != DatabaseBackend::Sqlite {
            return Ok(());
        }
        let conn = m.get_connection();
        for sql in [
            "CREATE TABLE incident_search_tenants (tenant_id varchar(64) NOT NULL PRIMARY KEY, \
             search_no bigint NOT NULL)",
            "ALTER TABLE incident_search ADD COLUMN search_key bigint",
            // The tenant's last key (a new incident's is the next), and a page's keys back to their incidents,
            // from the index alone: one entry per incident (every incident's text has a first version).
            "CREATE INDEX ix_incident_search_key ON incident_search (tenant_id, search_key, incident_id) \
             WHERE version = 1",
            "CREATE VIRTUAL TABLE incident_search_fts_now USING fts5(document, content='', contentless_delete=1, \
             tokenize='porter unicode61')",
        ] {
            conn.execute_unprepared(sql).await?;
        }
        for sql in now_backfill(backend)
            .into_iter()
            .chain(now_triggers(backend))
        {
            conn.execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let backend = m.get_database_backend();
        if backend != DatabaseBackend::Sqlite {
            return Ok(());
        }
        let conn = m.get_connection();
        for sql in now_trigger_drops(backend).iter().chain(&[
            "DROP TABLE IF EXISTS incident_search_fts_now",
            "DROP INDEX IF EXISTS ix_incident_search_key",
            "ALTER TABLE incident_search DROP COLUMN search_key",
            "DROP TABLE IF EXISTS incident_search_tenants",
        ]) {
            conn.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
