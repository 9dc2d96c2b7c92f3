//! Alerts in (issue 23): the alerts monitoring sends, and the deliveries they came in.
//!
//! - `incident_alerts`: one row per version of an alert (its first firing, each firing again, its resolution),
//!   never updated, so a read at an instant takes each alert's highest version written at or before it — the
//!   history of an alert is kept like a note's. An alert feeds one incident; a firing after that incident closed
//!   is a new alert (a new `alert_id`) on the incident it opens.
//! - `ingest_deliveries`: one row per delivery applied, keyed by its identity (a digest of what it says, never of
//!   how it was sent), so a copy from an HA peer or a retry finds its row and changes nothing.
//! - `ingest_policies`: every version of a tenant's ingest policy (the newest applies; a read at an instant takes
//!   the newest written by then), like the grouping configuration.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum IncidentAlerts {
    Table,
    TenantId,
    AlertId,
    Version,
    IncidentId,
    Source,
    DedupKey,
    IncidentKey,
    Status,
    Labels,
    Annotations,
    StartsAt,
    EndsAt,
    LastReceivedAt,
    Occurrences,
    CreatedAt,
    UpdatedAt,
    RequestId,
}

#[derive(DeriveIden)]
enum IngestDeliveries {
    Table,
    TenantId,
    DeliveryId,
    Source,
    ReceivedAt,
    Result,
}

#[derive(DeriveIden)]
enum IngestPolicies {
    Table,
    TenantId,
    Version,
    Policy,
    CreatedAt,
    CreatedBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(IncidentAlerts::Table)
                .col(string_len(IncidentAlerts::TenantId, 64))
                .col(string_len(IncidentAlerts::AlertId, 64))
                .col(big_integer(IncidentAlerts::Version))
                .col(string_len(IncidentAlerts::IncidentId, 64))
                .col(string_len(IncidentAlerts::Source, 32))
                .col(string_len(IncidentAlerts::DedupKey, 255))
                .col(string_len(IncidentAlerts::IncidentKey, 64))
                .col(string_len(IncidentAlerts::Status, 16))
                .col(text(IncidentAlerts::Labels))
                .col(text(IncidentAlerts::Annotations))
                .col(timestamp_with_time_zone(IncidentAlerts::StartsAt))
                .col(timestamp_with_time_zone_null(IncidentAlerts::EndsAt))
                .col(timestamp_with_time_zone(IncidentAlerts::LastReceivedAt))
                .col(big_integer(IncidentAlerts::Occurrences))
                .col(timestamp_with_time_zone(IncidentAlerts::CreatedAt))
                .col(timestamp_with_time_zone(IncidentAlerts::UpdatedAt))
                .col(string_len_null(IncidentAlerts::RequestId, 128))
                // One row per (alert, version): a second writer of one version is refused.
                .primary_key(
                    Index::create()
                        .col(IncidentAlerts::TenantId)
                        .col(IncidentAlerts::AlertId)
                        .col(IncidentAlerts::Version),
                )
                .to_owned(),
        )
        .await?;
        // The alerts of an incident, oldest first.
        m.create_index(
            Index::create()
                .name("ix_incident_alerts_incident")
                .table(IncidentAlerts::Table)
                .col(IncidentAlerts::TenantId)
                .col(IncidentAlerts::IncidentId)
                .col(IncidentAlerts::CreatedAt)
                .col(IncidentAlerts::AlertId)
                .to_owned(),
        )
        .await?;
        // The latest alert a sender's key names: (tenant, source, dedup key, newest first).
        m.create_index(
            Index::create()
                .name("ix_incident_alerts_dedup")
                .table(IncidentAlerts::Table)
                .col(IncidentAlerts::TenantId)
                .col(IncidentAlerts::Source)
                .col(IncidentAlerts::DedupKey)
                .col(IncidentAlerts::CreatedAt)
                .to_owned(),
        )
        .await?;
        // The incident a grouping key feeds: (tenant, source, key, newest first).
        m.create_index(
            Index::create()
                .name("ix_incident_alerts_incident_key")
                .table(IncidentAlerts::Table)
                .col(IncidentAlerts::TenantId)
                .col(IncidentAlerts::Source)
                .col(IncidentAlerts::IncidentKey)
                .col(IncidentAlerts::CreatedAt)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(IngestDeliveries::Table)
                .col(string_len(IngestDeliveries::TenantId, 64))
                .col(string_len(IngestDeliveries::DeliveryId, 64))
                .col(string_len(IngestDeliveries::Source, 32))
                .col(timestamp_with_time_zone(IngestDeliveries::ReceivedAt))
                .col(text(IngestDeliveries::Result))
                // A delivery is applied once: its identity is the key.
                .primary_key(
                    Index::create()
                        .col(IngestDeliveries::TenantId)
                        .col(IngestDeliveries::DeliveryId),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(IngestPolicies::Table)
                .col(string_len(IngestPolicies::TenantId, 64))
                .col(big_integer(IngestPolicies::Version))
                .col(text(IngestPolicies::Policy))
                .col(timestamp_with_time_zone(IngestPolicies::CreatedAt))
                .col(string_len(IngestPolicies::CreatedBy, 64))
                // One row per version: two writers of one version, one fails.
                .primary_key(
                    Index::create()
                        .col(IngestPolicies::TenantId)
                        .col(IngestPolicies::Version),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(IngestPolicies::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(IngestDeliveries::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(IncidentAlerts::Table).to_owned())
            .await
    }
}
