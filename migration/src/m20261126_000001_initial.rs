//! The initial schema: incidents, their timeline, postmortems, the append-only audit ledger, the event outbox
//! with its per-(tenant, project) sequence counter, and analytics artifacts.
//!
//! Column lengths come from the seed: `resolution_type` 50, `postmortem_artifact_id` 64,
//! `recurrence_signature` 128, `signature_version` 20. Every index starts with `tenant_id` and exists for a
//! query the drivers make; each index names the query it serves.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Length of every id column (`inc_…`, `pm_…`, `evt_…`, tenant and actor ids).
const ID: u32 = 64;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Incidents::Table)
                .col(string_len(Incidents::Id, ID).primary_key())
                .col(string_len(Incidents::TenantId, ID))
                .col(string_len(Incidents::Title, 255))
                .col(string_len(Incidents::Severity, 16))
                .col(string_len(Incidents::Category, 64))
                .col(string_len(Incidents::Status, 16))
                .col(string_len_null(Incidents::TriggerType, 64))
                .col(string_len_null(Incidents::SourceType, 64))
                .col(string_len_null(Incidents::SourceRef, 255))
                .col(string_len_null(Incidents::ErrorCode, 64))
                .col(text_null(Incidents::ErrorMessage))
                .col(text_null(Incidents::Description))
                .col(string_len_null(Incidents::RecurrenceSignature, 128))
                .col(string_len_null(Incidents::SignatureVersion, 20))
                .col(text_null(Incidents::SignatureInputs))
                .col(string_len_null(Incidents::ResolutionType, 50))
                .col(text_null(Incidents::ResolutionSummary))
                .col(string_len_null(Incidents::ResolutionMethod, 32))
                .col(text_null(Incidents::CloseReason))
                .col(string_len_null(Incidents::PostmortemArtifactId, 64))
                .col(timestamp_with_time_zone_null(Incidents::AcknowledgedAt))
                .col(string_len_null(Incidents::AcknowledgedBy, ID))
                .col(timestamp_with_time_zone_null(Incidents::ResolvedAt))
                .col(string_len_null(Incidents::ResolvedBy, ID))
                .col(timestamp_with_time_zone_null(Incidents::ClosedAt))
                .col(string_len_null(Incidents::ClosedBy, ID))
                .col(timestamp_with_time_zone(Incidents::CreatedAt))
                .col(timestamp_with_time_zone(Incidents::UpdatedAt))
                .col(big_integer(Incidents::Version))
                .to_owned(),
        )
        .await?;
        // Lists newest first: (tenant, created_at, id), optionally filtered by status or severity.
        index(
            m,
            "ix_incidents_tenant_created",
            Incidents::Table,
            &[Incidents::TenantId, Incidents::CreatedAt, Incidents::Id],
        )
        .await?;
        index(
            m,
            "ix_incidents_tenant_status_created",
            Incidents::Table,
            &[
                Incidents::TenantId,
                Incidents::Status,
                Incidents::CreatedAt,
                Incidents::Id,
            ],
        )
        .await?;
        index(
            m,
            "ix_incidents_tenant_severity_created",
            Incidents::Table,
            &[
                Incidents::TenantId,
                Incidents::Severity,
                Incidents::CreatedAt,
                Incidents::Id,
            ],
        )
        .await?;
        // Recurrence groups: (tenant, version, signature) ordered by (created_at, id).
        index(
            m,
            "ix_incidents_tenant_recurrence",
            Incidents::Table,
            &[
                Incidents::TenantId,
                Incidents::SignatureVersion,
                Incidents::RecurrenceSignature,
                Incidents::CreatedAt,
                Incidents::Id,
            ],
        )
        .await?;

        m.create_table(
            Table::create()
                .table(IncidentTimeline::Table)
                .col(string_len(IncidentTimeline::Id, ID).primary_key())
                .col(string_len(IncidentTimeline::TenantId, ID))
                .col(string_len(IncidentTimeline::IncidentId, ID))
                .col(integer(IncidentTimeline::Ordinal))
                .col(string_len(IncidentTimeline::EventType, 64))
                .col(string_len_null(IncidentTimeline::FromState, 16))
                .col(string_len(IncidentTimeline::ToState, 16))
                .col(string_len(IncidentTimeline::ActorType, 16))
                .col(string_len(IncidentTimeline::ActorId, ID))
                .col(text(IncidentTimeline::Description))
                .col(timestamp_with_time_zone(IncidentTimeline::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_incident_timeline_incident")
                        .from(IncidentTimeline::Table, IncidentTimeline::IncidentId)
                        .to(Incidents::Table, Incidents::Id),
                )
                .to_owned(),
        )
        .await?;
        // Timeline of one incident in ordinal order; the unique key makes two writers of one ordinal impossible.
        unique_index(
            m,
            "ux_incident_timeline_tenant_incident_ordinal",
            IncidentTimeline::Table,
            &[
                IncidentTimeline::TenantId,
                IncidentTimeline::IncidentId,
                IncidentTimeline::Ordinal,
            ],
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Postmortems::Table)
                .col(string_len(Postmortems::Id, ID).primary_key())
                .col(string_len(Postmortems::TenantId, ID))
                .col(string_len(Postmortems::IncidentId, ID))
                .col(string_len(Postmortems::Title, 255))
                .col(string_len(Postmortems::Status, 16))
                .col(string_len(Postmortems::CreatedBy, ID))
                .col(timestamp_with_time_zone(Postmortems::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_postmortems_incident")
                        .from(Postmortems::Table, Postmortems::IncidentId)
                        .to(Incidents::Table, Incidents::Id),
                )
                .to_owned(),
        )
        .await?;
        // One postmortem per incident; looked up by (tenant, incident).
        unique_index(
            m,
            "ux_postmortems_tenant_incident",
            Postmortems::Table,
            &[Postmortems::TenantId, Postmortems::IncidentId],
        )
        .await?;

        m.create_table(
            Table::create()
                .table(AuditLedger::Table)
                .col(string_len(AuditLedger::Id, ID).primary_key())
                .col(string_len(AuditLedger::TenantId, ID))
                .col(string_len(AuditLedger::EntityType, 32))
                .col(string_len(AuditLedger::EntityId, ID))
                .col(string_len(AuditLedger::Action, 64))
                .col(string_len(AuditLedger::ActorType, 16))
                .col(string_len(AuditLedger::ActorId, ID))
                .col(text_null(AuditLedger::Reason))
                .col(text_null(AuditLedger::BeforeState))
                .col(text_null(AuditLedger::AfterState))
                .col(string_len(AuditLedger::RequestId, 128))
                .col(timestamp_with_time_zone(AuditLedger::CreatedAt))
                .to_owned(),
        )
        .await?;
        // Audit entries of one entity, oldest first.
        index(
            m,
            "ix_audit_ledger_tenant_entity_created",
            AuditLedger::Table,
            &[
                AuditLedger::TenantId,
                AuditLedger::EntityId,
                AuditLedger::CreatedAt,
                AuditLedger::Id,
            ],
        )
        .await?;
        // Audit feed of a tenant, oldest first.
        index(
            m,
            "ix_audit_ledger_tenant_created",
            AuditLedger::Table,
            &[
                AuditLedger::TenantId,
                AuditLedger::CreatedAt,
                AuditLedger::Id,
            ],
        )
        .await?;
        for sql in audit_ledger_guards(m.get_database_backend()) {
            m.get_connection().execute_unprepared(sql).await?;
        }

        m.create_table(
            Table::create()
                .table(EventSequences::Table)
                .col(string_len(EventSequences::TenantId, ID))
                .col(string_len(EventSequences::ProjectId, ID))
                .col(big_integer(EventSequences::LastSequenceNo))
                .primary_key(
                    Index::create()
                        .col(EventSequences::TenantId)
                        .col(EventSequences::ProjectId),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(EventOutbox::Table)
                .col(string_len(EventOutbox::EventId, ID).primary_key())
                .col(string_len(EventOutbox::TenantId, ID))
                .col(string_len(EventOutbox::ProjectId, ID))
                .col(big_integer(EventOutbox::SequenceNo))
                .col(string_len(EventOutbox::EventType, 128))
                .col(string_len(EventOutbox::SchemaVersion, 16))
                .col(timestamp_with_time_zone(EventOutbox::OccurredAt))
                .col(text(EventOutbox::Payload))
                .col(timestamp_with_time_zone_null(EventOutbox::PublishedAt))
                .to_owned(),
        )
        .await?;
        // The events feed: (tenant, project) in sequence order; unique so a sequence number is never reused.
        unique_index(
            m,
            "ux_event_outbox_tenant_project_sequence",
            EventOutbox::Table,
            &[
                EventOutbox::TenantId,
                EventOutbox::ProjectId,
                EventOutbox::SequenceNo,
            ],
        )
        .await?;

        m.create_table(
            Table::create()
                .table(AnalyticsArtifacts::Table)
                .col(string_len(AnalyticsArtifacts::Id, ID).primary_key())
                .col(string_len(AnalyticsArtifacts::TenantId, ID))
                .col(string_len(AnalyticsArtifacts::DatasetId, 64))
                .col(string_len(AnalyticsArtifacts::DatasetVersion, 64))
                .col(string_len(AnalyticsArtifacts::InputWindowHash, 64))
                .col(timestamp_with_time_zone(AnalyticsArtifacts::AsOf))
                .col(string_len(AnalyticsArtifacts::ComputeCodeVersion, 64))
                .col(timestamp_with_time_zone_null(
                    AnalyticsArtifacts::WindowStart,
                ))
                .col(timestamp_with_time_zone_null(AnalyticsArtifacts::WindowEnd))
                .col(boolean_null(AnalyticsArtifacts::CodeDirty))
                .col(timestamp_with_time_zone(AnalyticsArtifacts::CreatedAt))
                .to_owned(),
        )
        .await?;
        // The reproducibility key: one definition per (tenant, dataset, version).
        unique_index(
            m,
            "ux_analytics_artifacts_tenant_dataset_version",
            AnalyticsArtifacts::Table,
            &[
                AnalyticsArtifacts::TenantId,
                AnalyticsArtifacts::DatasetId,
                AnalyticsArtifacts::DatasetVersion,
            ],
        )
        .await?;
        // Latest / point-in-time get by dataset: (as_of, created_at, id).
        index(
            m,
            "ix_analytics_artifacts_tenant_dataset_asof",
            AnalyticsArtifacts::Table,
            &[
                AnalyticsArtifacts::TenantId,
                AnalyticsArtifacts::DatasetId,
                AnalyticsArtifacts::AsOf,
                AnalyticsArtifacts::CreatedAt,
                AnalyticsArtifacts::Id,
            ],
        )
        .await?;
        // Tenant list, newest first.
        index(
            m,
            "ix_analytics_artifacts_tenant_created",
            AnalyticsArtifacts::Table,
            &[
                AnalyticsArtifacts::TenantId,
                AnalyticsArtifacts::CreatedAt,
                AnalyticsArtifacts::Id,
            ],
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Dropping a table drops its indexes and triggers on both backends.
        m.drop_table(Table::drop().table(AnalyticsArtifacts::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(EventOutbox::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(EventSequences::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(AuditLedger::Table).to_owned())
            .await?;
        if m.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            m.get_connection()
                .execute_unprepared("DROP FUNCTION IF EXISTS audit_ledger_refuse_change()")
                .await?;
        }
        m.drop_table(Table::drop().table(Postmortems::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(IncidentTimeline::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Incidents::Table).to_owned())
            .await?;
        Ok(())
    }
}

/// Triggers that make the audit ledger append-only: any UPDATE or DELETE raises an error.
fn audit_ledger_guards(backend: sea_orm::DatabaseBackend) -> Vec<&'static str> {
    match backend {
        sea_orm::DatabaseBackend::Postgres => vec![
            "CREATE OR REPLACE FUNCTION audit_ledger_refuse_change() RETURNS trigger AS $$ \
             BEGIN RAISE EXCEPTION 'audit_ledger is append-only: % refused', TG_OP; END; \
             $$ LANGUAGE plpgsql",
            "CREATE TRIGGER audit_ledger_append_only BEFORE UPDATE OR DELETE ON audit_ledger \
             FOR EACH ROW EXECUTE FUNCTION audit_ledger_refuse_change()",
        ],
        _ => vec![
            "CREATE TRIGGER audit_ledger_no_update BEFORE UPDATE ON audit_ledger \
             BEGIN SELECT RAISE(ABORT, 'audit_ledger is append-only: UPDATE refused'); END",
            "CREATE TRIGGER audit_ledger_no_delete BEFORE DELETE ON audit_ledger \
             BEGIN SELECT RAISE(ABORT, 'audit_ledger is append-only: DELETE refused'); END",
        ],
    }
}

async fn index<T: Iden + Copy + 'static, C: Iden + Copy + 'static>(
    m: &SchemaManager<'_>,
    name: &str,
    table: T,
    cols: &[C],
) -> Result<(), DbErr> {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for col in cols {
        stmt.col(*col);
    }
    m.create_index(stmt.to_owned()).await
}

async fn unique_index<T: Iden + Copy + 'static, C: Iden + Copy + 'static>(
    m: &SchemaManager<'_>,
    name: &str,
    table: T,
    cols: &[C],
) -> Result<(), DbErr> {
    let mut stmt = Index::create();
    stmt.name(name).table(table).unique();
    for col in cols {
        stmt.col(*col);
    }
    m.create_index(stmt.to_owned()).await
}

#[derive(DeriveIden, Clone, Copy)]
enum Incidents {
    Table,
    Id,
    TenantId,
    Title,
    Severity,
    Category,
    Status,
    TriggerType,
    SourceType,
    SourceRef,
    ErrorCode,
    ErrorMessage,
    Description,
    RecurrenceSignature,
    SignatureVersion,
    SignatureInputs,
    ResolutionType,
    ResolutionSummary,
    ResolutionMethod,
    CloseReason,
    PostmortemArtifactId,
    AcknowledgedAt,
    AcknowledgedBy,
    ResolvedAt,
    ResolvedBy,
    ClosedAt,
    ClosedBy,
    CreatedAt,
    UpdatedAt,
    Version,
}

#[derive(DeriveIden, Clone, Copy)]
enum IncidentTimeline {
    Table,
    Id,
    TenantId,
    IncidentId,
    Ordinal,
    EventType,
    FromState,
    ToState,
    ActorType,
    ActorId,
    Description,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Postmortems {
    Table,
    Id,
    TenantId,
    IncidentId,
    Title,
    Status,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum AuditLedger {
    Table,
    Id,
    TenantId,
    EntityType,
    EntityId,
    Action,
    ActorType,
    ActorId,
    Reason,
    BeforeState,
    AfterState,
    RequestId,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum EventSequences {
    Table,
    TenantId,
    ProjectId,
    LastSequenceNo,
}

#[derive(DeriveIden, Clone, Copy)]
enum EventOutbox {
    Table,
    EventId,
    TenantId,
    ProjectId,
    SequenceNo,
    EventType,
    SchemaVersion,
    OccurredAt,
    Payload,
    PublishedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum AnalyticsArtifacts {
    Table,
    Id,
    TenantId,
    DatasetId,
    DatasetVersion,
    InputWindowHash,
    AsOf,
    ComputeCodeVersion,
    WindowStart,
    WindowEnd,
    CodeDirty,
    CreatedAt,
}
