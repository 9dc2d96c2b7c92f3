//! Reads flat in table size, writes that touch only what changes.
//!
//! - Every foreign key's child column leads an index (`incident_timeline.incident_id`, `postmortems.incident_id`):
//!   without one, SQLite scans the child table to check the key whenever the parent row's key is written.
//! - The four secondary indexes of `incidents` go: every read at a point in time reads `incident_versions`, and
//!   `incidents` itself is only ever read by its key, so they cost every write and served no read.
//! - Recurrence groups keep their summary (`member_count`, `open_count`, `first_seen`, `last_seen`) in
//!   `recurrence_groups`, maintained by trigger in the statement that creates a member or changes whether it is
//!   open, and every summary in `recurrence_group_versions`, valid from the change's instant: the summary at T is
//!   one index lookup, whatever the group's size. Existing history is replayed into it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

const ID: u32 = 64;

/// Statuses a group's `open_count` counts.
const OPEN: &str = "('open', 'acknowledged')";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, table) in [
            ("ix_incident_timeline_incident", "incident_timeline"),
            ("ix_postmortems_incident", "postmortems"),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table(Alias::new(table))
                    .col(Alias::new("incident_id"))
                    .to_owned(),
            )
            .await?;
        }
        for name in SUPERSEDED {
            m.drop_index(
                Index::drop()
                    .name(*name)
                    .table(Alias::new("incidents"))
                    .to_owned(),
            )
            .await?;
        }

        m.create_table(
            Table::create()
                .table(RecurrenceGroups::Table)
                .col(string_len(RecurrenceGroups::TenantId, ID))
                .col(string_len(RecurrenceGroups::SignatureVersion, 20))
                .col(string_len(RecurrenceGroups::RecurrenceSignature, 128))
                .col(big_integer(RecurrenceGroups::MemberCount))
                .col(big_integer(RecurrenceGroups::OpenCount))
                .col(timestamp_with_time_zone(RecurrenceGroups::FirstSeen))
                .col(timestamp_with_time_zone(RecurrenceGroups::LastSeen))
                .col(big_integer(RecurrenceGroups::Version))
                .primary_key(
                    Index::create()
                        .col(RecurrenceGroups::TenantId)
                        .col(RecurrenceGroups::SignatureVersion)
                        .col(RecurrenceGroups::RecurrenceSignature),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(RecurrenceGroupVersions::Table)
                .col(string_len(RecurrenceGroupVersions::TenantId, ID))
                .col(string_len(RecurrenceGroupVersions::SignatureVersion, 20))
                .col(string_len(
                    RecurrenceGroupVersions::RecurrenceSignature,
                    128,
                ))
                .col(big_integer(RecurrenceGroupVersions::MemberCount))
                .col(big_integer(RecurrenceGroupVersions::OpenCount))
                .col(timestamp_with_time_zone(RecurrenceGroupVersions::FirstSeen))
                .col(timestamp_with_time_zone(RecurrenceGroupVersions::LastSeen))
                .col(big_integer(RecurrenceGroupVersions::Version))
                .col(timestamp_with_time_zone(RecurrenceGroupVersions::ValidFrom))
                .primary_key(
                    Index::create()
                        .col(RecurrenceGroupVersions::TenantId)
                        .col(RecurrenceGroupVersions::SignatureVersion)
                        .col(RecurrenceGroupVersions::RecurrenceSignature)
                        .col(RecurrenceGroupVersions::Version),
                )
                .to_owned(),
        )
        .await?;
        // The summary at T: the group's last version valid from at or before T.
        m.create_index(
            Index::create()
                .name("ix_recurrence_group_versions_valid_from")
                .table(RecurrenceGroupVersions::Table)
                .col(RecurrenceGroupVersions::TenantId)
                .col(RecurrenceGroupVersions::SignatureVersion)
                .col(RecurrenceGroupVersions::RecurrenceSignature)
                .col(RecurrenceGroupVersions::ValidFrom)
                .col(RecurrenceGroupVersions::Version)
                .to_owned(),
        )
        .await?;
        let conn = m.get_connection();
        for sql in backfill() {
            conn.execute_unprepared(&sql).await?;
        }
        for sql in group_triggers(m.get_database_backend()) {
            conn.execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for sql in group_trigger_drops(m.get_database_backend()) {
            m.get_connection().execute_unprepared(sql).await?;
        }
        m.drop_table(
            Table::drop()
                .table(RecurrenceGroupVersions::Table)
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(RecurrenceGroups::Table).to_owned())
            .await?;
        let restore: [(&str, &[&str]); 4] = [
            ("ix_incidents_tenant_created", &["created_at", "id"]),
            (
                "ix_incidents_tenant_status_created",
                &["status", "created_at", "id"],
            ),
            (
                "ix_incidents_tenant_severity_created",
                &["severity", "created_at", "id"],
            ),
            (
                "ix_incidents_tenant_recurrence",
                &[
                    "signature_version",
                    "recurrence_signature",
                    "created_at",
                    "id",
                ],
            ),
        ];
        for (name, columns) in restore {
            let mut index = Index::create();
            index
                .name(name)
                .table(Alias::new("incidents"))
                .col(Alias::new("tenant_id"));
            for column in columns {
                index.col(Alias::new(*column));
            }
            m.create_index(index.to_owned()).await?;
        }
        for (name, table) in [
            ("ix_incident_timeline_incident", "incident_timeline"),
            ("ix_postmortems_incident", "postmortems"),
        ] {
            m.drop_index(Index::drop().name(name).table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}

const SUPERSEDED: &[&str] = &[
    "ix_incidents_tenant_created",
    "ix_incidents_tenant_status_created",
    "ix_incidents_tenant_severity_created",
    "ix_incidents_tenant_recurrence",
];

const GROUP_COLUMNS: &str = "tenant_id, signature_version, recurrence_signature, member_count, open_count, \
    first_seen, last_seen, version";

/// Replays the recorded history into group versions: each member adds one to the count at its creation, and
/// each version that changes whether the member is open moves `open_count`; changes at one instant are one group
/// version; running sums and extremes give each version's summary. Then the current summary of every group.
pub(crate) fn backfill() -> Vec<String> {
    let changes = format!(
        "WITH steps AS ( \
           SELECT tenant_id, signature_version, recurrence_signature, updated_at AS at, created_at, \
             CASE WHEN version = 1 THEN 1 ELSE 0 END AS d_count, \
             (CASE WHEN status IN {OPEN} THEN 1 ELSE 0 END) - \
             COALESCE(LAG(CASE WHEN status IN {OPEN} THEN 1 ELSE 0 END) \
               OVER (PARTITION BY tenant_id, id ORDER BY version), 0) AS d_open \
           FROM incident_versions \
           WHERE recurrence_signature IS NOT NULL AND signature_version IS NOT NULL \
         ), per_instant AS ( \
           SELECT tenant_id, signature_version, recurrence_signature, at, \
             SUM(d_count) AS d_count, SUM(d_open) AS d_open, MIN(created_at) AS lo, MAX(created_at) AS hi \
           FROM steps WHERE d_count <> 0 OR d_open <> 0 \
           GROUP BY tenant_id, signature_version, recurrence_signature, at \
         ) \
         SELECT tenant_id, signature_version, recurrence_signature, \
           SUM(d_count) OVER w AS member_count, SUM(d_open) OVER w AS open_count, \
           MIN(lo) OVER w AS first_seen, MAX(hi) OVER w AS last_seen, \
           ROW_NUMBER() OVER w AS version, at AS valid_from \
         FROM per_instant \
         WINDOW w AS (PARTITION BY tenant_id, signature_version, recurrence_signature ORDER BY at \
           ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
    );
    vec![
        format!(
            "INSERT INTO recurrence_group_versions ({GROUP_COLUMNS}, valid_from) \
             SELECT {GROUP_COLUMNS}, valid_from FROM ({changes}) AS replay"
        ),
        format!(
            "INSERT INTO recurrence_groups ({GROUP_COLUMNS}) \
             SELECT {GROUP_COLUMNS} FROM recurrence_group_versions v \
             WHERE v.version = (SELECT MAX(w.version) FROM recurrence_group_versions w \
               WHERE w.tenant_id = v.tenant_id AND w.signature_version = v.signature_version \
               AND w.recurrence_signature = v.recurrence_signature)"
        ),
    ]
}

/// Drops what [`group_triggers`] creates.
pub(crate) fn group_trigger_drops(backend: sea_orm::DatabaseBackend) -> &'static [&'static str] {
    match backend {
        sea_orm::DatabaseBackend::Postgres => &[
            "DROP TRIGGER IF EXISTS incidents_group ON incidents",
            "DROP FUNCTION IF EXISTS incidents_maintain_group()",
        ],
        _ => &[
            "DROP TRIGGER IF EXISTS incidents_group_insert",
            "DROP TRIGGER IF EXISTS incidents_group_update",
        ],
    }
}

/// `AFTER INSERT OR UPDATE ON incidents`: a new member, or a member whose status crosses between open and not,
/// moves its group's summary and records the new summary as a version valid from the change's instant.
pub(crate) fn group_triggers(backend: sea_orm::DatabaseBackend) -> Vec<String> {
    let record = format!(
        "INSERT INTO recurrence_group_versions ({GROUP_COLUMNS}, valid_from) \
         SELECT {GROUP_COLUMNS}, NEW.updated_at FROM recurrence_groups \
         WHERE tenant_id = NEW.tenant_id AND signature_version = NEW.signature_version \
         AND recurrence_signature = NEW.recurrence_signature;"
    );
    let this_group = "tenant_id = NEW.tenant_id AND signature_version = NEW.signature_version \
        AND recurrence_signature = NEW.recurrence_signature";
    match backend {
        sea_orm::DatabaseBackend::Postgres => vec![
            format!(
                "CREATE OR REPLACE FUNCTION incidents_maintain_group() RETURNS trigger AS $$ \
                 DECLARE d_count bigint := 0; d_open bigint := 0; \
                 BEGIN \
                   IF NEW.recurrence_signature IS NULL OR NEW.signature_version IS NULL THEN RETURN NULL; END IF; \
                   IF TG_OP = 'INSERT' THEN \
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
                   {record} \
                   RETURN NULL; \
                 END; $$ LANGUAGE plpgsql"
            ),
            "CREATE TRIGGER incidents_group AFTER INSERT OR UPDATE ON incidents \
             FOR EACH ROW EXECUTE FUNCTION incidents_maintain_group()"
                .to_owned(),
        ],
        _ => vec![
            format!(
                "CREATE TRIGGER incidents_group_insert AFTER INSERT ON incidents \
                 WHEN NEW.recurrence_signature IS NOT NULL AND NEW.signature_version IS NOT NULL \
                 BEGIN \
                   INSERT OR IGNORE INTO recurrence_groups ({GROUP_COLUMNS}) \
                   VALUES (NEW.tenant_id, NEW.signature_version, NEW.recurrence_signature, 0, 0, \
                     NEW.created_at, NEW.created_at, 0); \
                   UPDATE recurrence_groups SET member_count = member_count + 1, \
                     open_count = open_count + (CASE WHEN NEW.status IN {OPEN} THEN 1 ELSE 0 END), \
                     first_seen = MIN(first_seen, NEW.created_at), last_seen = MAX(last_seen, NEW.created_at), \
                     version = version + 1 \
                   WHERE {this_group}; \
                   {record} \
                 END"
            ),
            format!(
                "CREATE TRIGGER incidents_group_update AFTER UPDATE ON incidents \
                 WHEN NEW.recurrence_signature IS NOT NULL AND NEW.signature_version IS NOT NULL \
                 AND (OLD.status IN {OPEN}) <> (NEW.status IN {OPEN}) \
                 BEGIN \
                   UPDATE recurrence_groups SET \
                     open_count = open_count + (CASE WHEN NEW.status IN {OPEN} THEN 1 ELSE -1 END), \
                     version = version + 1 \
                   WHERE {this_group}; \
                   {record} \
                 END"
            ),
        ],
    }
}

#[derive(DeriveIden)]
enum RecurrenceGroups {
    Table,
    TenantId,
    SignatureVersion,
    RecurrenceSignature,
    MemberCount,
    OpenCount,
    FirstSeen,
    LastSeen,
    Version,
}

#[derive(DeriveIden)]
enum RecurrenceGroupVersions {
    Table,
    TenantId,
    SignatureVersion,
    RecurrenceSignature,
    MemberCount,
    OpenCount,
    FirstSeen,
    LastSeen,
    Version,
    ValidFrom,
}
