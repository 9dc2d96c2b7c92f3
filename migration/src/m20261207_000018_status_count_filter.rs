//! The count trigger of migration 17 on PostgreSQL was `AFTER INSERT OR UPDATE` with no filter, so every update of
//! an incident (an edit, an assignment, a label) called its function, which returned at once when the status had
//! not changed. It becomes two triggers over the same function, as SQLite's have been since migration 17: one
//! after an insert, one after an update of `status` that changed it (`WHEN`), so other updates never enter it.
//! SQLite is unchanged.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

use crate::m20261207_000017_status_counts as counts;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// The triggers that keep the counts, and on PostgreSQL their function (migration 17's, unchanged).
pub(crate) fn count_triggers(backend: DatabaseBackend) -> Vec<String> {
    match backend {
        DatabaseBackend::Postgres => {
            let [insert, update] = filtered_triggers();
            vec![counts::count_function(), insert, update]
        }
        _ => counts::count_triggers(backend),
    }
}

fn filtered_triggers() -> [String; 2] {
    [
        "CREATE TRIGGER incidents_status_count_insert AFTER INSERT ON incidents \
         FOR EACH ROW EXECUTE FUNCTION incidents_count_status()"
            .to_owned(),
        "CREATE TRIGGER incidents_status_count_update AFTER UPDATE OF status ON incidents \
         FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) \
         EXECUTE FUNCTION incidents_count_status()"
            .to_owned(),
    ]
}

/// Drops them (and migration 17's unfiltered trigger, wherever it is still there).
pub(crate) fn count_trigger_drops(backend: DatabaseBackend) -> &'static [&'static str] {
    match backend {
        DatabaseBackend::Postgres => &[
            "DROP TRIGGER IF EXISTS incidents_status_count ON incidents",
            "DROP TRIGGER IF EXISTS incidents_status_count_insert ON incidents",
            "DROP TRIGGER IF EXISTS incidents_status_count_update ON incidents",
            "DROP FUNCTION IF EXISTS incidents_count_status()",
        ],
        _ => counts::count_trigger_drops(backend),
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        let conn = m.get_connection();
        conn.execute_unprepared("DROP TRIGGER IF EXISTS incidents_status_count ON incidents")
            .await?;
        for sql in filtered_triggers() {
            conn.execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let backend = m.get_database_backend();
        if backend != DatabaseBackend::Postgres {
            return Ok(());
        }
        let conn = m.get_connection();
        for sql in [
            "DROP TRIGGER IF EXISTS incidents_status_count_insert ON incidents",
            "DROP TRIGGER IF EXISTS incidents_status_count_update ON incidents",
        ] {
            conn.execute_unprepared(sql).await?;
        }
        // Migration 17's trigger again (its function was never dropped).
        conn.execute_unprepared(counts::UNFILTERED_TRIGGER).await?;
        Ok(())
    }
}
