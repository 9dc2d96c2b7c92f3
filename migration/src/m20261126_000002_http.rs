//! Tables of the HTTP host: API keys (stored hashed) and idempotency records of write requests.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ApiKeys::Table)
                .col(string_len(ApiKeys::Id, 64).primary_key())
                .col(string_len(ApiKeys::TenantId, 64))
                .col(string_len(ApiKeys::ActorType, 16))
                .col(string_len(ApiKeys::ActorId, 64))
                .col(string_len(ApiKeys::Scope, 8))
                .col(string_len(ApiKeys::SecretHash, 64))
                .col(timestamp_with_time_zone(ApiKeys::CreatedAt))
                .col(timestamp_with_time_zone_null(ApiKeys::RevokedAt))
                .to_owned(),
        )
        .await?;
        // Keys of a tenant (administration); authentication looks keys up by primary key.
        m.create_index(
            Index::create()
                .name("ix_api_keys_tenant_created")
                .table(ApiKeys::Table)
                .col(ApiKeys::TenantId)
                .col(ApiKeys::CreatedAt)
                .col(ApiKeys::Id)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(IdempotencyKeys::Table)
                .col(string_len(IdempotencyKeys::TenantId, 64))
                .col(string_len(IdempotencyKeys::IdempotencyKey, 128))
                .col(string_len(IdempotencyKeys::RequestFingerprint, 64))
                .col(integer_null(IdempotencyKeys::StatusCode))
                .col(text_null(IdempotencyKeys::ResponseBody))
                .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(IdempotencyKeys::TenantId)
                        .col(IdempotencyKeys::IdempotencyKey),
                )
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(IdempotencyKeys::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(ApiKeys::Table).to_owned())
            .await?;
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum ApiKeys {
    Table,
    Id,
    TenantId,
    ActorType,
    ActorId,
    Scope,
    SecretHash,
    CreatedAt,
    RevokedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum IdempotencyKeys {
    Table,
    TenantId,
    IdempotencyKey,
    RequestFingerprint,
    StatusCode,
    ResponseBody,
    CreatedAt,
}
