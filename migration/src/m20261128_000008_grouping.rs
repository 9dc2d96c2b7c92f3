//! Grouping people can steer: each tenant's grouping configuration (every version kept), and recurrence groups that
//! follow an incident when a regroup changes its signature.
//!
//! - `grouping_configs`: (tenant, version) → primary and optional secondary algorithm and the fingerprint rules
//!   (JSON); the current configuration is the tenant's highest version.
//! - The group triggers learn a third change: an incident whose (signature_version, recurrence_signature) changes
//!   leaves its old group (count and open count down, first/last seen recomputed from the remaining members) and
//!   joins the new one, each recorded as a group version valid from the change's instant, so a read at an instant
//!   before the regroup still shows the old grouping.
//! - `ix_incidents_tenant_group` (tenant, version, signature, created_at) is what makes that recomputation two
//!   index lookups instead of a scan of the tenant.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::m20261128_000005_performance::{
    group_trigger_drops, group_triggers as creation_triggers,
};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

const OPEN: &str = "('open', 'acknowledged')";
const GROUP_COLUMNS: &str = "tenant_id, signature_version, recurrence_signature, member_count, open_count, \
    first_seen, last_seen, version";

#[derive(DeriveIden)]
enum GroupingConfigs {
    Table,
    TenantId,
    Version,
    PrimaryVersion,
    SecondaryVersion,
    Rules,
    CreatedAt,
    CreatedBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(GroupingConfigs::Table)
                .col(string_len(GroupingConfigs::TenantId, 64))
                .col(big_integer(GroupingConfigs::Version))
                .col(string_len(GroupingConfigs::PrimaryVersion, 20))
                .col(string_len_null(GroupingConfigs::SecondaryVersion, 20))
                .col(text(GroupingConfigs::Rules))
                .col(timestamp_with_time_zone(GroupingConfigs::CreatedAt))
                .col(string_len(GroupingConfigs::CreatedBy, 64))
                .primary_key(
                    Index::create()
                        .col(GroupingConfigs::TenantId)
                        .col(GroupingConfigs::Version),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_incidents_tenant_group")
                .table(Alias::new("incidents"))
                .col(Alias::new("tenant_id"))
                .col(Alias::new("signature_version"))
                .col(Alias::new("recurrence_signature"))
                .col(Alias::new("created_at"))
                .to_owned(),
        )
        .await?;
        for sql in group_triggers(m.get_database_backend()) {
            m.get_connection().execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let backend = m.get_database_backend();
        let conn = m.get_connection();
        for sql in group_trigger_drops(backend)
            .iter()
            .chain(move_trigger_drops(backend))
        {
            conn.execute_unprepared(sql).await?;
        }
        for sql in creation_triggers(backend) {
            conn.execute_unprepared(&sql).await?;
        }
        m.drop_index(
            Index::drop()
                .name("ix_incidents_tenant_group")
                .table(Alias::new("incidents"))
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(GroupingConfigs::Table).to_owned())
            .await
    }
}

/// Drops what [`group_triggers`] adds beside migration 5's triggers.
pub(crate) fn move_trigger_drops(backend: sea_orm::DatabaseBackend) -> &'static [&'static str] {
    match backend {
        sea_orm::DatabaseBackend::Postgres => &[],
        _ => &["DROP TRIGGER IF EXISTS incidents_group_move"],
    }
}

/// Run after migration 5's `group_triggers`: the group maintenance that also follows a changed signature.
pub(crate) fn group_triggers(backend: sea_orm::DatabaseBackend) -> Vec<String> {
    let group = |row: &str| {
        format!(
            "tenant_id = {row}.tenant_id AND signature_version = {row}.signature_version \
             AND recurrence_signature = {row}.recurrence_signature"
        )
    };
    let (old_group, new_group) = (group("OLD"), group("NEW"));
    let record = |row: &str| {
        format!(
            "INSERT INTO recurrence_group_versions ({GROUP_COLUMNS}, valid_from) \
             SELECT {GROUP_COLUMNS}, NEW.updated_at FROM recurrence_groups WHERE {};",
            group(row)
        )
    };
    let (record_old, record_new) = (record("OLD"), record("NEW"));
    let leave = format!(
        "UPDATE recurrence_groups SET member_count = member_count - 1, \
           open_count = open_count - (CASE WHEN OLD.status IN {OPEN} THEN 1 ELSE 0 END), \
           first_seen = COALESCE((SELECT MIN(created_at) FROM incidents WHERE {old_group}), first_seen), \
           last_seen = COALESCE((SELECT MAX(created_at) FROM incidents WHERE {old_group}), last_seen), \
           version = version + 1 \
         WHERE {old_group};"
    );
    match backend {
        sea_orm::DatabaseBackend::Postgres => vec![format!(
            "CREATE OR REPLACE FUNCTION incidents_maintain_group() RETURNS trigger AS $$ \
             DECLARE d_count bigint := 0; d_open bigint := 0; moved boolean := false; \
             BEGIN \
               IF TG_OP = 'UPDATE' THEN \
                 moved := OLD.recurrence_signature IS DISTINCT FROM NEW.recurrence_signature \
                   OR OLD.signature_version IS DISTINCT FROM NEW.signature_version; \
               END IF; \
               IF moved AND OLD.recurrence_signature IS NOT NULL AND OLD.signature_version IS NOT NULL THEN \
                 {leave} \
                 {record_old} \
               END IF; \
               IF NEW.recurrence_signature IS NULL OR NEW.signature_version IS NULL THEN RETURN NULL; END IF; \
               IF TG_OP = 'INSERT' OR moved THEN \
                 d_count := 1; \
                 d_open := CASE WHEN NEW.status IN {OPEN} THEN 1 ELSE 0 END; \
               ELSIF (OLD.status IN {OPEN}) = (NEW.status IN {OPEN}) THEN \
                 RETURN NULL; \
               ELSE \
                 d_open := CASE WHEN NEW.status IN {OPEN} THEN 1 ELSE -1 END; \
               END IF; \
               INSERT INTO recurrence_groups AS g ({GROUP_COLUMNS}) \
               VALUES (NEW.tenant_id, NEW.signature_version, NEW.recurrence_signature, d_count, d_open, \
                 NEW.created_at, NEW.created_at, 1) \
               ON CONFLICT (tenant_id, signature_version, recurrence_signature) DO UPDATE SET \
                 member_count = g.member_count + d_count, open_count = g.open_count + d_open, \
                 first_seen = LEAST(g.first_seen, EXCLUDED.first_seen), \
                 last_seen = GREATEST(g.last_seen, EXCLUDED.last_seen), version = g.version + 1; \
               {record_new} \
               RETURN NULL; \
             END; $$ LANGUAGE plpgsql"
        )],
        _ => vec![
            "DROP TRIGGER IF EXISTS incidents_group_update".to_owned(),
            format!(
                "CREATE TRIGGER incidents_group_update AFTER UPDATE ON incidents \
                 WHEN NEW.recurrence_signature IS NOT NULL AND NEW.signature_version IS NOT NULL \
                 AND OLD.recurrence_signature IS NEW.recurrence_signature \
                 AND OLD.signature_version IS NEW.signature_version \
                 AND (OLD.status IN {OPEN}) <> (NEW.status IN {OPEN}) \
                 BEGIN \
                   UPDATE recurrence_groups SET \
                     open_count = open_count + (CASE WHEN NEW.status IN {OPEN} THEN 1 ELSE -1 END), \
                     version = version + 1 \
                   WHERE {new_group}; \
                   {record_new} \
                 END"
            ),
            format!(
                "CREATE TRIGGER incidents_group_move AFTER UPDATE ON incidents \
                 WHEN OLD.recurrence_signature IS NOT NEW.recurrence_signature \
                 OR OLD.signature_version IS NOT NEW.signature_version \
                 BEGIN \
                   {leave} \
                   {record_old} \
                   INSERT OR IGNORE INTO recurrence_groups ({GROUP_COLUMNS}) \
                   SELECT NEW.tenant_id, NEW.signature_version, NEW.recurrence_signature, 0, 0, \
                     NEW.created_at, NEW.created_at, 0 \
                   WHERE NEW.recurrence_signature IS NOT NULL AND NEW.signature_version IS NOT NULL; \
                   UPDATE recurrence_groups SET member_count = member_count + 1, \
                     open_count = open_count + (CASE WHEN NEW.status IN {OPEN} THEN 1 ELSE 0 END), \
                     first_seen = MIN(first_seen, NEW.created_at), last_seen = MAX(last_seen, NEW.created_at), \
                     version = version + 1 \
                   WHERE {new_group}; \
                   {record_new} \
                 END"
            ),
        ],
    }
}
