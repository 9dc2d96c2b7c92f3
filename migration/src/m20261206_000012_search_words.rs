//! The words of each search row, parsed once (PostgreSQL): `incident_search.words` is a stored generated column,
//! `to_tsvector('english', document)`, and the GIN index is on it. Migration 11 indexed the expression, so a
//! search re-parsed every hit's document twice (to rank it and to recheck it) and a common word's thousand hits
//! cost a thousand parses; a stored vector is read, not parsed. SQLite's FTS5 index keeps its own token lists:
//! nothing changes there.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// The index a search reads on PostgreSQL.
const WORDS_INDEX: &str = "ix_incident_search_words";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        let conn = m.get_connection();
        for sql in [
            "ALTER TABLE incident_search ADD COLUMN words tsvector \
             GENERATED ALWAYS AS (to_tsvector('english', document)) STORED",
            // New rows' words wait in a pending list that every search scans until it is merged; 256 kB (not the
            // default 4 MB) keeps that scan short while writes still merge in batches.
            &format!(
                "CREATE INDEX {WORDS_INDEX} ON incident_search USING GIN (words) \
                 WITH (gin_pending_list_limit = 256)"
            ),
            "DROP INDEX IF EXISTS ix_incident_search_document",
        ] {
            conn.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        let conn = m.get_connection();
        for sql in [
            "CREATE INDEX ix_incident_search_document ON incident_search \
             USING GIN (to_tsvector('english', document))",
            &format!("DROP INDEX IF EXISTS {WORDS_INDEX}"),
            "ALTER TABLE incident_search DROP COLUMN words",
        ] {
            conn.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
