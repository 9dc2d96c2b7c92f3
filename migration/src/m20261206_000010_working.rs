//! Working an incident (issue 22): who owns it, which service it affects and its labels, which incident it
//! duplicates — columns of `incidents` and so of every version in `incident_versions` (the history triggers are
//! recreated to copy them) — and its notes.
//!
//! - `incident_notes`: one row per version of a note (its creation, each edit, its deletion), never updated, so a
//!   read at an instant takes each note's highest version written at or before it.
//! - `duplicates` (a JSON array of ids, sorted; `NULL` when none) is kept on the target by the link and its undoing:
//!   the target's object lists its duplicates without a lookup, and a read at an instant shows them as they were.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::m20261128_000004_history::{
    self as history, history_trigger_drops, history_triggers_of,
};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// The columns the history triggers copy from this migration on.
pub(crate) const COLUMNS: &str = "id, tenant_id, title, severity, category, status, trigger_type, source_type, source_ref, \
    error_code, error_message, description, recurrence_signature, signature_version, signature_inputs, \
    resolution_type, resolution_summary, resolution_method, close_reason, postmortem_artifact_id, acknowledged_at, \
    acknowledged_by, resolved_at, resolved_by, closed_at, closed_by, created_at, updated_at, version, \
    service, labels, assignee, duplicate_of, duplicates";

/// The history triggers with this migration's columns.
pub(crate) fn history_triggers(backend: sea_orm::DatabaseBackend) -> Vec<String> {
    history_triggers_of(backend, COLUMNS)
}

#[derive(DeriveIden, Clone, Copy)]
enum Incidents {
    Table,
}

#[derive(DeriveIden, Clone, Copy)]
enum IncidentVersions {
    Table,
}

#[derive(DeriveIden, Clone, Copy)]
enum Added {
    Service,
    Labels,
    Assignee,
    DuplicateOf,
    Duplicates,
}

#[derive(DeriveIden)]
enum IncidentNotes {
    Table,
    TenantId,
    NoteId,
    Version,
    IncidentId,
    Author,
    Body,
    Deleted,
    CreatedAt,
    UpdatedAt,
    RequestId,
}

fn added() -> [ColumnDef; 5] {
    [
        string_len_null(Added::Service, 64),
        text_null(Added::Labels),
        string_len_null(Added::Assignee, 64),
        string_len_null(Added::DuplicateOf, 64),
        text_null(Added::Duplicates),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let backend = m.get_database_backend();
        for sql in history_trigger_drops(backend) {
            m.get_connection().execute_unprepared(sql).await?;
        }
        // SQLite adds one column per ALTER TABLE.
        for table in [
            Incidents::Table.into_iden(),
            IncidentVersions::Table.into_iden(),
        ] {
            for mut column in added() {
                m.alter_table(
                    Table::alter()
                        .table(table.clone())
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
            }
        }
        for sql in history_triggers(backend) {
            m.get_connection().execute_unprepared(&sql).await?;
        }
        m.create_table(
            Table::create()
                .table(IncidentNotes::Table)
                .col(string_len(IncidentNotes::TenantId, 64))
                .col(string_len(IncidentNotes::NoteId, 64))
                .col(big_integer(IncidentNotes::Version))
                .col(string_len(IncidentNotes::IncidentId, 64))
                .col(string_len(IncidentNotes::Author, 64))
                .col(text(IncidentNotes::Body))
                .col(boolean(IncidentNotes::Deleted))
                .col(timestamp_with_time_zone(IncidentNotes::CreatedAt))
                .col(timestamp_with_time_zone(IncidentNotes::UpdatedAt))
                .col(string_len_null(IncidentNotes::RequestId, 128))
                // One row per (note, version): a second writer of one version is refused.
                .primary_key(
                    Index::create()
                        .col(IncidentNotes::TenantId)
                        .col(IncidentNotes::NoteId)
                        .col(IncidentNotes::Version),
                )
                .to_owned(),
        )
        .await?;
        // The notes of an incident, oldest first: (tenant, incident, created_at, note).
        m.create_index(
            Index::create()
                .name("ix_incident_notes_tenant_incident")
                .table(IncidentNotes::Table)
                .col(IncidentNotes::TenantId)
                .col(IncidentNotes::IncidentId)
                .col(IncidentNotes::CreatedAt)
                .col(IncidentNotes::NoteId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let backend = m.get_database_backend();
        m.drop_table(Table::drop().table(IncidentNotes::Table).to_owned())
            .await?;
        for sql in history_trigger_drops(backend) {
            m.get_connection().execute_unprepared(sql).await?;
        }
        for table in [
            Incidents::Table.into_iden(),
            IncidentVersions::Table.into_iden(),
        ] {
            for column in [
                Added::Service,
                Added::Labels,
                Added::Assignee,
                Added::DuplicateOf,
                Added::Duplicates,
            ] {
                m.alter_table(
                    Table::alter()
                        .table(table.clone())
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
            }
        }
        for sql in history::history_triggers(backend) {
            m.get_connection().execute_unprepared(&sql).await?;
        }
        Ok(())
    }
}
