//! The group list's first page flat in the number of groups (issue 24): the live summaries in `recurrence_groups`
//! are indexed in both list orders, and the summary versions by (tenant, valid_from), which tells in one seek
//! whether any group of a tenant changed after an instant (when none did, the live summaries are the summaries at
//! that instant and the page is read from the order index).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum RecurrenceGroups {
    Table,
    TenantId,
    SignatureVersion,
    RecurrenceSignature,
    MemberCount,
    LastSeen,
}

#[derive(DeriveIden, Clone, Copy)]
enum RecurrenceGroupVersions {
    Table,
    TenantId,
    ValidFrom,
}

const LAST_SEEN: &str = "ix_recurrence_groups_last_seen";
const COUNT: &str = "ix_recurrence_groups_count";
const CHANGED: &str = "ix_recurrence_group_versions_tenant_valid_from";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use RecurrenceGroups as G;
        // The list by last seen: (tenant, last_seen, version, signature).
        m.create_index(
            Index::create()
                .name(LAST_SEEN)
                .table(G::Table)
                .col(G::TenantId)
                .col(G::LastSeen)
                .col(G::SignatureVersion)
                .col(G::RecurrenceSignature)
                .to_owned(),
        )
        .await?;
        // The list by count: (tenant, member_count, last_seen, version, signature).
        m.create_index(
            Index::create()
                .name(COUNT)
                .table(G::Table)
                .col(G::TenantId)
                .col(G::MemberCount)
                .col(G::LastSeen)
                .col(G::SignatureVersion)
                .col(G::RecurrenceSignature)
                .to_owned(),
        )
        .await?;
        // Did any group of the tenant change after an instant: (tenant, valid_from).
        m.create_index(
            Index::create()
                .name(CHANGED)
                .table(RecurrenceGroupVersions::Table)
                .col(RecurrenceGroupVersions::TenantId)
                .col(RecurrenceGroupVersions::ValidFrom)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, table) in [
            (LAST_SEEN, RecurrenceGroups::Table.into_iden()),
            (COUNT, RecurrenceGroups::Table.into_iden()),
            (CHANGED, RecurrenceGroupVersions::Table.into_iden()),
        ] {
            m.drop_index(Index::drop().name(name).table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
