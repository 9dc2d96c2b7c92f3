//! `event_prune_marks`: per (tenant, project) partition, the highest `sequence_no` that pruning removed from the
//! outbox and the retention it ran with, so a read of the event feed that reaches into the pruned range is refused
//! by name instead of answered with a shorter list (`docs/history.md`, "Events and retention").

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum EventPruneMarks {
    Table,
    TenantId,
    ProjectId,
    PrunedThrough,
    RetentionSeconds,
    PrunedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(EventPruneMarks::Table)
                .col(string_len(EventPruneMarks::TenantId, 64))
                .col(string_len(EventPruneMarks::ProjectId, 64))
                .col(big_integer(EventPruneMarks::PrunedThrough))
                .col(big_integer(EventPruneMarks::RetentionSeconds))
                .col(timestamp_with_time_zone(EventPruneMarks::PrunedAt))
                .primary_key(
                    Index::create()
                        .col(EventPruneMarks::TenantId)
                        .col(EventPruneMarks::ProjectId),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(EventPruneMarks::Table).to_owned())
            .await
    }
}
