//! Incident analytics (issue 26): an artifact recorded by `analytics.metrics.record` keeps the result it recorded,
//! byte for byte, in `analytics_artifacts.result` (the metrics' JSON; `NULL` for artifacts saved with `PUT`, which
//! bring a hash and no result). The metrics read `incident_versions` through the existing creation index
//! `(tenant_id, created_at, id)`: no new index.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum AnalyticsArtifacts {
    Table,
    Result,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(AnalyticsArtifacts::Table)
                .add_column(text_null(AnalyticsArtifacts::Result))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(AnalyticsArtifacts::Table)
                .drop_column(AnalyticsArtifacts::Result)
                .to_owned(),
        )
        .await
    }
}
