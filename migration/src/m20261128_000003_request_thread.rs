//! One request, one thread through the records: timeline rows carry the `request_id` of the call that wrote them
//! (audit rows always did), and the audit ledger is searchable by request.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Rows written before this migration have none.
        m.alter_table(
            Table::alter()
                .table(IncidentTimeline::Table)
                .add_column(string_len_null(IncidentTimeline::RequestId, 128))
                .to_owned(),
        )
        .await?;
        // GET /v1/audit?request_id=: a tenant's entries of one request, oldest first by (created_at, id).
        m.create_index(
            Index::create()
                .name("ix_audit_ledger_tenant_request")
                .table(AuditLedger::Table)
                .col(AuditLedger::TenantId)
                .col(AuditLedger::RequestId)
                .col(AuditLedger::CreatedAt)
                .col(AuditLedger::Id)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("ix_audit_ledger_tenant_request")
                .table(AuditLedger::Table)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(IncidentTimeline::Table)
                .drop_column(IncidentTimeline::RequestId)
                .to_owned(),
        )
        .await
    }
}

#[derive(DeriveIden)]
enum IncidentTimeline {
    Table,
    RequestId,
}

#[derive(DeriveIden)]
enum AuditLedger {
    Table,
    TenantId,
    RequestId,
    CreatedAt,
    Id,
}
