//! Console sessions in the database (issue 25): a browser signed in on one `hocd` is signed in on every `hocd` of
//! the same database, and stays signed in across a restart. Only a SHA-256 of a session's token is stored; the key
//! it was opened with is named by id (`ON DELETE CASCADE`: a key's sessions go with it), and revoking the key ends
//! them because every request reads the key's row. Like `api_keys`, a session is found before its tenant is known:
//! it has no `tenant_id` and, distributed by tenant, would be a reference table (`docs/SCALING.md`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum ConsoleSessions {
    Table,
    IdHash,
    KeyId,
    StartedAt,
    LastUsedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ApiKeys {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ConsoleSessions::Table)
                .col(string_len(ConsoleSessions::IdHash, 64).primary_key())
                .col(string_len(ConsoleSessions::KeyId, 64))
                .col(timestamp_with_time_zone(ConsoleSessions::StartedAt))
                .col(timestamp_with_time_zone(ConsoleSessions::LastUsedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_console_sessions_key")
                        .from(ConsoleSessions::Table, ConsoleSessions::KeyId)
                        .to(ApiKeys::Table, ApiKeys::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_console_sessions_key")
                .table(ConsoleSessions::Table)
                .col(ConsoleSessions::KeyId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ConsoleSessions::Table).to_owned())
            .await
    }
}
