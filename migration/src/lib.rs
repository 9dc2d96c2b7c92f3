//! The schema: the only place DDL lives. Migrations run up, down and up again on SQLite and PostgreSQL.

#![warn(missing_docs)]

pub use sea_orm_migration::prelude::*;

mod m20261126_000001_initial;
mod m20261126_000002_http;
mod m20261128_000003_request_thread;
mod m20261128_000004_history;
mod m20261128_000005_performance;

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
        ]
    }
}
