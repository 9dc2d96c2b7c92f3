//! The schema: the only place DDL lives. Migrations run up, down and up again on SQLite and PostgreSQL.

#![warn(missing_docs)]

pub use sea_orm_migration::prelude::*;

pub mod audit_chain;
mod m20261126_000001_initial;
mod m20261126_000002_http;
mod m20261128_000003_request_thread;
mod m20261128_000004_history;
mod m20261128_000005_performance;
mod m20261128_000006_ledger_integrity;
mod m20261128_000007_relay;
mod m20261128_000008_grouping;
mod m20261206_000009_event_retention;
mod m20261206_000010_working;
mod m20261206_000011_search;
mod m20261206_000012_search_words;
mod m20261206_000013_alerts;
mod m20261206_000014_learned_templates;
mod m20261206_000015_group_list;
mod m20261207_000016_metrics_results;
mod m20261207_000017_status_counts;
mod m20261207_000018_status_count_filter;
mod m20261207_000019_console_sessions;
mod m20261207_000020_search_lowercase;
mod m20261207_000021_search_now;

/// SQLite's search keys per tenant (migration 21): tenant number `n` keys its incidents `n × SEARCH_KEY_SPAN + 1 …`.
pub use m20261207_000021_search_now::KEY_SPAN as SEARCH_KEY_SPAN;

/// Loading many rows at once (benchmark seeding): the triggers that record history and group summaries row by row
/// are suspended, the rows are written, then the summaries are replayed from the history (the same replay the
/// migration that introduced them runs) and the triggers are restored. The audit chain's triggers are suspended too;
/// bulk-loaded audit rows stay outside the chain (a benchmark's throwaway database: `audit verify` names them).
pub mod bulk_load {
    use sea_orm_migration::sea_orm::{ConnectionTrait, DbErr};

    /// Drops the incidents triggers (history and group summaries), as the migrations' `down` does.
    pub async fn suspend_triggers<C: ConnectionTrait>(conn: &C) -> Result<(), DbErr> {
        let backend = conn.get_database_backend();
        let drops = crate::m20261128_000004_history::history_trigger_drops(backend)
            .iter()
            .chain(crate::m20261128_000005_performance::group_trigger_drops(
                backend,
            ))
            .chain(crate::m20261128_000006_ledger_integrity::chain_trigger_drops(backend))
            .chain(crate::m20261128_000008_grouping::move_trigger_drops(
                backend,
            ))
            .chain(crate::m20261206_000011_search::search_trigger_drops(
                backend,
            ))
            .chain(crate::m20261207_000021_search_now::now_trigger_drops(
                backend,
            ))
            .chain(crate::m20261207_000018_status_count_filter::count_trigger_drops(backend));
        for sql in drops {
            conn.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    /// Rebuilds the group summaries from `incident_versions` and restores the triggers. The replay counts each
    /// member in the group it was created in, so it refuses a database where a regroup moved an incident (whose
    /// summaries only the triggers can keep).
    pub async fn resume_triggers<C: ConnectionTrait>(conn: &C) -> Result<(), DbErr> {
        let backend = conn.get_database_backend();
        let moved = conn
            .query_one_raw(sea_orm_migration::sea_orm::Statement::from_string(
                backend,
                "SELECT 1 AS moved FROM incident_versions a JOIN incident_versions b \
                 ON b.tenant_id = a.tenant_id AND b.id = a.id AND b.version = a.version + 1 \
                 WHERE b.recurrence_signature <> a.recurrence_signature \
                 OR b.signature_version <> a.signature_version LIMIT 1",
            ))
            .await?;
        if moved.is_some() {
            return Err(DbErr::Custom(
                "bulk load cannot rebuild the group summaries of a database where incidents were regrouped"
                    .to_owned(),
            ));
        }
        conn.execute_unprepared("DELETE FROM recurrence_group_versions")
            .await?;
        // The search rows are rebuilt from the incidents as loaded (on SQLite the FTS5 index with them).
        conn.execute_unprepared("DELETE FROM incident_search")
            .await?;
        for sql in crate::m20261207_000020_search_lowercase::backfill(backend)
            .into_iter()
            .chain(crate::m20261207_000021_search_now::now_backfill(backend))
        {
            conn.execute_unprepared(&sql).await?;
        }
        conn.execute_unprepared("DELETE FROM incident_status_counts")
            .await?;
        conn.execute_unprepared(crate::m20261207_000017_status_counts::backfill())
            .await?;
        conn.execute_unprepared("DELETE FROM recurrence_groups")
            .await?;
        for sql in crate::m20261128_000005_performance::backfill() {
            conn.execute_unprepared(&sql).await?;
        }
        let mut restore = crate::m20261206_000010_working::history_triggers(backend);
        restore.extend(crate::m20261128_000005_performance::group_triggers(backend));
        restore.extend(crate::m20261128_000008_grouping::group_triggers(backend));
        restore.extend(crate::m20261207_000020_search_lowercase::search_triggers(
            backend,
        ));
        restore.extend(crate::m20261207_000021_search_now::now_triggers(backend));
        restore.extend(crate::m20261207_000018_status_count_filter::count_triggers(
            backend,
        ));
        restore.extend(
            crate::m20261128_000006_ledger_integrity::chain_triggers(backend)
                .into_iter()
                .map(str::to_owned),
        );
        for sql in restore {
            conn.execute_unprepared(&sql).await?;
        }
        Ok(())
    }
}

/// All migrations, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_initial::Migration),
            Box::new(m20261126_000002_http::Migration),
            Box::new(m20261128_000003_request_thread::Migration),
            Box::new(m20261128_000004_history::Migration),
            Box::new(m20261128_000005_performance::Migration),
            Box::new(m20261128_000006_ledger_integrity::Migration),
            Box::new(m20261128_000007_relay::Migration),
            Box::new(m20261128_000008_grouping::Migration),
            Box::new(m20261206_000009_event_retention::Migration),
            Box::new(m20261206_000010_working::Migration),
            Box::new(m20261206_000011_search::Migration),
            Box::new(m20261206_000012_search_words::Migration),
            Box::new(m20261206_000013_alerts::Migration),
            Box::new(m20261206_000014_learned_templates::Migration),
            Box::new(m20261206_000015_group_list::Migration),
            Box::new(m20261207_000016_metrics_results::Migration),
            Box::new(m20261207_000017_status_counts::Migration),
            Box::new(m20261207_000018_status_count_filter::Migration),
            Box::new(m20261207_000019_console_sessions::Migration),
            Box::new(m20261207_000020_search_lowercase::Migration),
            Box::new(m20261207_000021_search_now::Migration),
        ]
    }
}
