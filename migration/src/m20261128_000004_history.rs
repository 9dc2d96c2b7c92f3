//! History: every version of every incident, system-versioned (each valid from its `updated_at` — the instant of
//! the change that made it, which its timeline row, audit entry and event carry too — until the next version's), and
//! a per-tenant clock that makes a tenant's change instants follow its commit order.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

const ID: u32 = 64;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(IncidentVersions::Table)
                .col(string_len(IncidentVersions::Id, ID))
                .col(string_len(IncidentVersions::TenantId, ID))
                .col(string_len(IncidentVersions::Title, 255))
                .col(string_len(IncidentVersions::Severity, 16))
                .col(string_len(IncidentVersions::Category, 64))
                .col(string_len(IncidentVersions::Status, 16))
                .col(string_len_null(IncidentVersions::TriggerType, 64))
                .col(string_len_null(IncidentVersions::SourceType, 64))
                .col(string_len_null(IncidentVersions::SourceRef, 255))
                .col(string_len_null(IncidentVersions::ErrorCode, 64))
                .col(text_null(IncidentVersions::ErrorMessage))
                .col(text_null(IncidentVersions::Description))
                .col(string_len_null(IncidentVersions::RecurrenceSignature, 128))
                .col(string_len_null(IncidentVersions::SignatureVersion, 20))
                .col(text_null(IncidentVersions::SignatureInputs))
                .col(string_len_null(IncidentVersions::ResolutionType, 50))
                .col(text_null(IncidentVersions::ResolutionSummary))
                .col(string_len_null(IncidentVersions::ResolutionMethod, 32))
                .col(text_null(IncidentVersions::CloseReason))
                .col(string_len_null(IncidentVersions::PostmortemArtifactId, 64))
                .col(timestamp_with_time_zone_null(
                    IncidentVersions::AcknowledgedAt,
                ))
                .col(string_len_null(IncidentVersions::AcknowledgedBy, ID))
                .col(timestamp_with_time_zone_null(IncidentVersions::ResolvedAt))
                .col(string_len_null(IncidentVersions::ResolvedBy, ID))
                .col(timestamp_with_time_zone_null(IncidentVersions::ClosedAt))
                .col(string_len_null(IncidentVersions::ClosedBy, ID))
                .col(timestamp_with_time_zone(IncidentVersions::CreatedAt))
                .col(timestamp_with_time_zone(IncidentVersions::UpdatedAt))
                .col(big_integer(IncidentVersions::Version))
                // One row per (incident, version); "the version of incident X at T" is a lookup in this key.
                .primary_key(
                    Index::create()
                        .col(IncidentVersions::TenantId)
                        .col(IncidentVersions::Id)
                        .col(IncidentVersions::Version),
                )
                .to_owned(),
        )
        .await?;
        // Lists at T, newest first: (tenant, created_at, id).
        m.create_index(
            Index::create()
                .name("ix_incident_versions_tenant_created")
                .table(IncidentVersions::Table)
                .col(IncidentVersions::TenantId)
                .col(IncidentVersions::CreatedAt)
                .col(IncidentVersions::Id)
                .to_owned(),
        )
        .await?;
        // A recurrence group at T: (tenant, signature version, signature, created_at, id).
        m.create_index(
            Index::create()
                .name("ix_incident_versions_tenant_group")
                .table(IncidentVersions::Table)
                .col(IncidentVersions::TenantId)
                .col(IncidentVersions::SignatureVersion)
                .col(IncidentVersions::RecurrenceSignature)
                .col(IncidentVersions::CreatedAt)
                .col(IncidentVersions::Id)
                .to_owned(),
        )
        .await?;
        // Incidents written before history existed: their current version is the first one recorded.
        m.get_connection()
            .execute_unprepared(&format!(
                "INSERT INTO incident_versions ({COLUMNS}) SELECT {COLUMNS} FROM incidents"
            ))
            .await?;
        // The database writes every version itself, in the statement that makes it: nothing can change an incident
        // without recording the version, and the write path pays no extra round trip.
        for sql in history_triggers(m.get_database_backend()) {
            m.get_connection().execute_unprepared(&sql).await?;
        }
        m.create_table(
            Table::create()
                .table(TenantClocks::Table)
                .col(string_len(TenantClocks::TenantId, ID).primary_key())
                .col(big_integer(TenantClocks::LastMicros))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(TenantClocks::Table).to_owned())
            .await?;
        for sql in history_trigger_drops(m.get_database_backend()) {
            m.get_connection().execute_unprepared(sql).await?;
        }
        m.drop_table(Table::drop().table(IncidentVersions::Table).to_owned())
            .await
    }
}

/// Drops what [`history_triggers`] creates.
pub(crate) fn history_trigger_drops(backend: sea_orm::DatabaseBackend) -> &'static [&'static str] {
    match backend {
        sea_orm::DatabaseBackend::Postgres => &[
            "DROP TRIGGER IF EXISTS incidents_history ON incidents",
            "DROP FUNCTION IF EXISTS incidents_record_version()",
        ],
        _ => &[
            "DROP TRIGGER IF EXISTS incidents_history_insert",
            "DROP TRIGGER IF EXISTS incidents_history_update",
        ],
    }
}

/// `AFTER INSERT OR UPDATE ON incidents`: insert the new row into `incident_versions` (the columns incidents had
/// when history began; a later migration that adds columns recreates them with [`history_triggers_of`]).
pub(crate) fn history_triggers(backend: sea_orm::DatabaseBackend) -> Vec<String> {
    history_triggers_of(backend, COLUMNS)
}

/// The history triggers copying `columns` (a comma-separated list) from `incidents` to `incident_versions`.
pub(crate) fn history_triggers_of(backend: sea_orm::DatabaseBackend, columns: &str) -> Vec<String> {
    let new_values = columns
        .split(',')
        .map(|c| format!("NEW.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let insert = format!("INSERT INTO incident_versions ({columns}) VALUES ({new_values});");
    match backend {
        sea_orm::DatabaseBackend::Postgres => vec![
            format!(
                "CREATE OR REPLACE FUNCTION incidents_record_version() RETURNS trigger AS $$ \
                 BEGIN {insert} RETURN NULL; END; $$ LANGUAGE plpgsql"
            ),
            "CREATE TRIGGER incidents_history AFTER INSERT OR UPDATE ON incidents \
             FOR EACH ROW EXECUTE FUNCTION incidents_record_version()"
                .to_owned(),
        ],
        _ => vec![
            format!(
                "CREATE TRIGGER incidents_history_insert AFTER INSERT ON incidents BEGIN {insert} END"
            ),
            format!(
                "CREATE TRIGGER incidents_history_update AFTER UPDATE ON incidents BEGIN {insert} END"
            ),
        ],
    }
}

const COLUMNS: &str = "id, tenant_id, title, severity, category, status, trigger_type, source_type, source_ref, \
    error_code, error_message, description, recurrence_signature, signature_version, signature_inputs, \
    resolution_type, resolution_summary, resolution_method, close_reason, postmortem_artifact_id, acknowledged_at, \
    acknowledged_by, resolved_at, resolved_by, closed_at, closed_by, created_at, updated_at, version";

#[derive(DeriveIden, Clone, Copy)]
enum IncidentVersions {
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

#[derive(DeriveIden)]
enum TenantClocks {
    Table,
    TenantId,
    LastMicros,
}
