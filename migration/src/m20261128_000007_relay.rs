//! The outbox relay's bookkeeping: `relay_leases` (which instance relays which (tenant, project) partition, until
//! when) and an index of the events not yet published, in relay order.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum RelayLeases {
    Table,
    TenantId,
    ProjectId,
    Holder,
    ExpiresMicros,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(RelayLeases::Table)
                .col(string_len(RelayLeases::TenantId, 64))
                .col(string_len(RelayLeases::ProjectId, 64))
                .col(string_len(RelayLeases::Holder, 64))
                .col(big_integer(RelayLeases::ExpiresMicros))
                .primary_key(
                    Index::create()
                        .col(RelayLeases::TenantId)
                        .col(RelayLeases::ProjectId),
                )
                .to_owned(),
        )
        .await?;
        // A partial index: the relay's scan of what is pending stays as small as the backlog.
        m.get_connection()
            .execute_unprepared(
                "CREATE INDEX ix_event_outbox_pending ON event_outbox (tenant_id, project_id, sequence_no) \
                 WHERE published_at IS NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("ix_event_outbox_pending")
                .table(Alias::new("event_outbox"))
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(RelayLeases::Table).to_owned())
            .await
    }
}
