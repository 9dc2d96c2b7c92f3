//! How many incidents a tenant has in each status, at any instant (the console's and the API's list counts, issue
//! 25): `incident_status_counts` holds, per (tenant, status), the count from each instant at which it changed — one
//! row per instant, the changes of that instant summed into it, never updated once a later instant exists. The
//! count at `T` is the row with the latest `valid_from` at or before `T`: one seek in the primary key per status,
//! whatever the number of incidents.
//!
//! Kept by triggers on `incidents`, like the group summaries: an insert adds one to its status; an update that
//! changes the status moves one from the old to the new. The replay from `incident_versions` (this migration, and a
//! bulk load's resume) gives the same rows.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// Adds `delta` to the count of status `status` (an SQL expression over `NEW`/`OLD`) at `NEW.updated_at`: the row
/// of that instant is created from the latest count before it, then moved.
fn step(backend: DatabaseBackend, status: &str, delta: i32) -> String {
    let ignore = match backend {
        DatabaseBackend::Postgres => ("INSERT INTO", " ON CONFLICT DO NOTHING"),
        _ => ("INSERT OR IGNORE INTO", ""),
    };
    format!(
        "{} incident_status_counts (tenant_id, status, valid_from, incident_count) \
         VALUES (NEW.tenant_id, {status}, NEW.updated_at, COALESCE((SELECT c.incident_count \
           FROM incident_status_counts c WHERE c.tenant_id = NEW.tenant_id AND c.status = {status} \
           ORDER BY c.valid_from DESC LIMIT 1), 0)){}; \
         UPDATE incident_status_counts SET incident_count = incident_count + ({delta}) \
         WHERE tenant_id = NEW.tenant_id AND status = {status} AND valid_from = NEW.updated_at;",
        ignore.0, ignore.1
    )
}

/// PostgreSQL: the function the count triggers call.
pub(crate) fn count_function() -> String {
    let backend = DatabaseBackend::Postgres;
    format!(
        "CREATE OR REPLACE FUNCTION incidents_count_status() RETURNS trigger AS $$ \
         BEGIN \
           IF TG_OP = 'UPDATE' THEN \
             IF OLD.status = NEW.status THEN RETURN NULL; END IF; \
             {} \
           END IF; \
           {} \
           RETURN NULL; \
         END; $$ LANGUAGE plpgsql",
        step(backend, "OLD.status", -1),
        step(backend, "NEW.status", 1)
    )
}

/// PostgreSQL: this migration's one trigger (after any insert or update; migration 18 narrows it).
pub(crate) const UNFILTERED_TRIGGER: &str = "CREATE TRIGGER incidents_status_count AFTER INSERT OR UPDATE ON incidents \
     FOR EACH ROW EXECUTE FUNCTION incidents_count_status()";

/// The triggers that keep the counts.
pub(crate) fn count_triggers(backend: DatabaseBackend) -> Vec<String> {
    match backend {
        DatabaseBackend::Postgres => vec![count_function(), UNFILTERED_TRIGGER.to_owned()],
        _ => vec![
            format!(
                "CREATE TRIGGER incidents_status_count_insert AFTER INSERT ON incidents BEGIN {} END",
                step(backend, "NEW.status", 1)
            ),
            format!(
                "CREATE TRIGGER incidents_status_count_update AFTER UPDATE OF status ON incidents \
                 WHEN OLD.status <> NEW.status BEGIN {} {} END",
                step(backend, "OLD.status", -1),
                step(backend, "NEW.status", 1)
            ),
        ],
    }
}

/// Drops them.
pub(crate) fn count_trigger_drops(backend: DatabaseBackend) -> &'static [&'static str] {
    match backend {
        DatabaseBackend::Postgres => &[
            "DROP TRIGGER IF EXISTS incidents_status_count ON incidents",
            "DROP FUNCTION IF EXISTS incidents_count_status()",
        ],
        _ => &[
            "DROP TRIGGER IF EXISTS incidents_status_count_insert",
            "DROP TRIGGER IF EXISTS incidents_status_count_update",
        ],
    }
}

/// Replays `incident_versions` into the counts: a first version adds one to its status, a version whose status
/// differs from the one before moves one; the changes of one instant are one row; running sums give each row's
/// count.
pub(crate) fn backfill() -> &'static str {
    "INSERT INTO incident_status_counts (tenant_id, status, valid_from, incident_count) \
     SELECT tenant_id, status, at, SUM(SUM(delta)) OVER (PARTITION BY tenant_id, status ORDER BY at) \
     FROM ( \
       SELECT tenant_id, status, updated_at AS at, 1 AS delta FROM ( \
         SELECT tenant_id, status, updated_at, \
           LAG(status) OVER (PARTITION BY tenant_id, id ORDER BY version) AS before \
         FROM incident_versions) v \
       WHERE before IS NULL OR before <> status \
       UNION ALL \
       SELECT tenant_id, before, updated_at, -1 FROM ( \
         SELECT tenant_id, status, updated_at, \
           LAG(status) OVER (PARTITION BY tenant_id, id ORDER BY version) AS before \
         FROM incident_versions) v \
       WHERE before IS NOT NULL AND before <> status \
     ) d \
     GROUP BY tenant_id, status, at"
}

#[derive(DeriveIden, Clone, Copy)]
enum IncidentStatusCounts {
    Table,
    TenantId,
    Status,
    ValidFrom,
    IncidentCount,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(IncidentStatusCounts::Table)
                .col(
                    ColumnDef::new(IncidentStatusCounts::TenantId)
                        .string_len(64)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(IncidentStatusCounts::Status)
                        .string_len(16)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(IncidentStatusCounts::ValidFrom)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(IncidentStatusCounts::IncidentCount)
                        .big_integer()
                        .not_null(),
                )
                .primary_key(
                    Index::create()
                        .col(IncidentStatusCounts::TenantId)
                        .col(IncidentStatusCounts::Status)
                        .col(IncidentStatusCounts::ValidFrom),
                )
                .to_owned(),
        )
        .await?;
        let conn = m.get_connection();
        let backend = m.get_database_backend();
        conn.execute_unprepared(backfill()).await?;
        for sql in count_triggers(backend) {
            conn.execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let conn = m.get_connection();
        for sql in count_trigger_drops(m.get_database_backend()) {
            conn.execute_unprepared(sql).await?;
        }
        m.drop_table(Table::drop().table(IncidentStatusCounts::Table).to_owned())
            .await
    }
}
