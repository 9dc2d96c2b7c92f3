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
            .chain(crate::m20261128_000006_ledger_integrity::chain_trigger_drops(backend));
        for sql in drops {
            conn.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    /// Rebuilds the group summaries from `incident_versions` and restores the triggers.
    pub async fn resume_triggers<C: ConnectionTrait>(conn: &C) -> Result<(), DbErr> {
        let backend = conn.get_database_backend();
        conn.execute_unprepared("DELETE FROM recurrence_group_versions")
            .await?;
        conn.execute_unprepared("DELETE FROM recurrence_groups")
            .await?;
        for sql in crate::m20261128_000005_performance::backfill() {
            conn.execute_unprepared(&sql).await?;
        }
        let mut restore = crate::m20261128_000004_history::history_triggers(backend);
        restore.extend(crate::m20261128_000005_performance::group_triggers(backend));
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
        ]
    }
}
