//! The search document stored lowercase on SQLite (issue 22): SQLite's rank of a hit counts the query's roots in its
//! document ignoring ASCII case, and lowercasing each of a common word's thousand hits at every search cost as much as
//! reading them (`docs/PERFORMANCE.md`, "Text search at 1M"). The triggers now store `lower(document)`, and the
//! stored documents are lowercased once. FTS5's `unicode61` tokenizer folds case itself, so the index's tokens do
//! not change and it needs no rebuild. PostgreSQL ranks its stored `tsvector` and is left as it is.
//!
//! `down` restores migration 11's triggers; the documents stay lowercase (nothing reads their case).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

use crate::m20261206_000011_search::{self as search, Stored};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// The triggers that keep `incident_search` as of this migration.
pub(crate) fn search_triggers(backend: DatabaseBackend) -> Vec<String> {
    search::search_triggers_storing(backend, Stored::LowercaseOnSqlite)
}

/// Fills `incident_search` from the incidents as they are, as of this migration.
pub(crate) fn backfill(backend: DatabaseBackend) -> Vec<String> {
    search::backfill_storing(backend, Stored::LowercaseOnSqlite)
}

async fn replace_triggers(m: &SchemaManager<'_>, triggers: Vec<String>) -> Result<(), DbErr> {
    let backend = m.get_database_backend();
    let conn = m.get_connection();
    for sql in search::search_trigger_drops(backend) {
        conn.execute_unprepared(sql).await?;
    }
    for sql in triggers {
        conn.execute_unprepared(&sql).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let backend = m.get_database_backend();
        if backend != DatabaseBackend::Sqlite {
            return Ok(());
        }
        replace_triggers(m, search_triggers(backend)).await?;
        m.get_connection()
            .execute_unprepared("UPDATE incident_search SET document = lower(document)")
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let backend = m.get_database_backend();
        if backend != DatabaseBackend::Sqlite {
            return Ok(());
        }
        replace_triggers(m, search::search_triggers(backend)).await
    }
}
