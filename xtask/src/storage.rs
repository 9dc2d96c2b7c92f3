//! Storage contract: migrate a fresh SQLite database (and PostgreSQL when `HOC_TEST_DATABASE_URL` is set),
//! introspect it and compare it with the sea-orm entities column by column; every length limit of the domain
//! rules equals its column's; migrations go up, down and up; the audit ledger refuses UPDATE and DELETE.

use std::collections::BTreeMap;

use hoc_drivers::schema_check::{self, ColumnShape, SchemaMismatch, TypeFamily};
use hoc_drivers::testing::execute_raw;
use hoc_drivers::{AuditRow, Database};

use crate::report::Outcome;

const NAME: &str = "storage";
const ENTITIES: &str = "crates/hoc-drivers/src/entity vs migration/src";

/// One outcome per table: PASS, or FAIL listing its mismatches.
pub(crate) fn schema_outcomes(
    backend: &str,
    tables: &[String],
    mismatches: &[SchemaMismatch],
) -> Vec<Outcome> {
    tables
        .iter()
        .map(|table| {
            let found: Vec<String> = mismatches.iter().filter(|m| &m.table == table).map(ToString::to_string).collect();
            Outcome::from_problem(
                NAME,
                format!("schema {backend}: {table}"),
                ENTITIES,
                (!found.is_empty()).then(|| found.join("; ")),
                "make the entity and the migration agree (add a migration; never edit a shipped one)",
            )
        })
        .collect()
}

/// Every (table, column, limit) against the database's columns.
pub(crate) fn limit_outcomes(
    backend: &str,
    limits: &[(&str, &str, usize)],
    columns: &BTreeMap<String, BTreeMap<String, ColumnShape>>,
) -> Vec<Outcome> {
    limits
        .iter()
        .map(|(table, column, limit)| {
            let found = columns
                .get(*table)
                .and_then(|c| c.get(*column))
                .map(|c| c.family);
            let problem = match found {
                Some(TypeFamily::Varchar(n)) if n as usize == *limit => None,
                Some(other) => Some(format!(
                    "the rule allows {limit} characters, the column is {other:?}"
                )),
                None => Some("no such column".to_owned()),
            };
            Outcome::from_problem(
                NAME,
                format!("length {backend}: {table}.{column} = {limit}"),
                "LENGTH_LIMITS in hoc-incidents / hoc-analytics",
                problem,
                "make the validation limit and the column length the same number",
            )
        })
        .collect()
}

fn all_limits() -> Vec<(&'static str, &'static str, usize)> {
    hoc_incidents::limits::LENGTH_LIMITS
        .iter()
        .chain(hoc_analytics::LENGTH_LIMITS)
        .copied()
        .collect()
}

async fn columns(db: &Database) -> Result<BTreeMap<String, BTreeMap<String, ColumnShape>>, String> {
    let mut out = BTreeMap::new();
    for table in schema_check::entity_tables().keys() {
        out.insert(
            table.clone(),
            schema_check::database_columns(db, table)
                .await
                .map_err(|e| e.to_string())?,
        );
    }
    Ok(out)
}

async fn verify_backend(backend: &str, db: &Database) -> Vec<Outcome> {
    let mut out = Vec::new();
    let tables: Vec<String> = schema_check::entity_tables().keys().cloned().collect();
    match schema_check::compare(db).await {
        Ok(mismatches) => out.extend(schema_outcomes(backend, &tables, &mismatches)),
        Err(e) => out.push(Outcome::fail(
            NAME,
            format!("schema {backend}"),
            ENTITIES,
            format!("introspection failed: {e}"),
        )),
    }
    match columns(db).await {
        Ok(columns) => out.extend(limit_outcomes(backend, &all_limits(), &columns)),
        Err(e) => out.push(Outcome::fail(
            NAME,
            format!("lengths {backend}"),
            ENTITIES,
            e,
        )),
    }
    out.extend(unique_key_outcomes(backend, db, schema_check::UNIQUE_KEYS).await);
    out.extend(tenant_key_outcomes(backend, db, NOT_YET_TENANT_FIRST).await);
    out.push(Outcome::from_problem(
        NAME,
        format!("migrations up/down/up {backend}"),
        "migration/src",
        migration_cycle_problem(db, None).await,
        "make every down() undo its up() exactly",
    ));
    out.push(Outcome::from_problem(
        NAME,
        format!("incident history recorded {backend}"),
        "migration/src/m20261128_000004_history.rs history_triggers",
        history_problem(db).await,
        "restore the triggers that insert every new incidents row into incident_versions",
    ));
    out.push(Outcome::from_problem(
        NAME,
        format!("recurrence group summaries recorded {backend}"),
        "migration/src/m20261128_000005_performance.rs group_triggers",
        group_summary_problem(db).await,
        "restore the triggers that keep recurrence_groups and recurrence_group_versions",
    ));
    out.push(Outcome::from_problem(
        NAME,
        format!("audit ledger append-only {backend}"),
        "migration/src/m20261126_000001_initial.rs audit_ledger_guards",
        audit_guard_problem(db).await,
        "restore the triggers that refuse UPDATE and DELETE on audit_ledger",
    ));
    out
}

/// One outcome per unique key the code relies on: PASS when an index or primary key enforces it.
async fn unique_key_outcomes(
    backend: &str,
    db: &Database,
    keys: &[(&str, &[&str], &str)],
) -> Vec<Outcome> {
    let missing = match schema_check::missing_unique_keys(db, keys).await {
        Ok(missing) => missing,
        Err(e) => {
            return vec![Outcome::fail(
                NAME,
                format!("unique keys {backend}"),
                "hoc_drivers::schema_check::UNIQUE_KEYS",
                format!("introspection failed: {e}"),
            )];
        }
    };
    keys.iter()
        .map(|(table, columns, _)| {
            let problem = missing
                .iter()
                .find(|m| m.table == *table && m.column == columns.join(", "))
                .map(ToString::to_string);
            Outcome::from_problem(
                NAME,
                format!("unique key {backend}: {table}({})", columns.join(", ")),
                "migration/src (indexes) vs hoc_drivers::schema_check::UNIQUE_KEYS",
                problem,
                "add a migration that creates the unique index the code relies on",
            )
        })
        .collect()
}

/// Tables every tenant reads before it is known: distributed by tenant they would be reference tables (copied to
/// every node), so their keys need not lead with `tenant_id` (`docs/SCALING.md`).
const REFERENCE_TABLES: &[&str] = &["api_keys"];

/// Keys of tenant tables that do not lead with `tenant_id` yet: step 1 of `docs/SCALING.md` ("What Citus would
/// refuse today") replaces each. The check fails on any other key that does not lead with `tenant_id`, so this
/// list only shrinks. (table, kind as `tenant_keys::KeyKind` prints it, columns.)
const NOT_YET_TENANT_FIRST: &[(&str, &str, &[&str])] = &[
    ("analytics_artifacts", "primary key", &["id"]),
    ("audit_ledger", "primary key", &["id"]),
    ("event_outbox", "primary key", &["event_id"]),
    ("incident_search", "index", &["words"]),
    ("incident_timeline", "foreign key", &["incident_id"]),
    ("incident_timeline", "index", &["incident_id"]),
    ("incident_timeline", "primary key", &["id"]),
    ("incidents", "primary key", &["id"]),
    ("postmortems", "foreign key", &["incident_id"]),
    ("postmortems", "index", &["incident_id"]),
    ("postmortems", "primary key", &["id"]),
];

/// One outcome per tenant table: PASS when every primary key, unique key, index and foreign key leads with
/// `tenant_id` (or is listed in `pending`, or the table is a reference table).
async fn tenant_key_outcomes(
    backend: &str,
    db: &Database,
    pending: &[(&str, &str, &[&str])],
) -> Vec<Outcome> {
    use hoc_drivers::tenant_keys;
    let location = "docs/SCALING.md, \"What Citus would refuse today\"";
    let tables = match tenant_keys::tenant_tables(db).await {
        Ok(tables) => tables,
        Err(e) => {
            return vec![Outcome::fail(
                NAME,
                format!("tenant-first keys {backend}"),
                location,
                format!("introspection failed: {e}"),
            )];
        }
    };
    let mut out = Vec::new();
    for table in tables
        .iter()
        .filter(|t| !REFERENCE_TABLES.contains(&t.as_str()))
    {
        let problem = match tenant_keys::keys(db, table).await {
            Ok(keys) => {
                let offending: Vec<String> = keys
                    .iter()
                    .filter(|key| !key.leads_with_tenant())
                    .filter(|key| {
                        !pending.iter().any(|(t, kind, columns)| {
                            *t == key.table
                                && *kind == key.kind.to_string()
                                && *columns == key.columns
                        })
                    })
                    .map(|key| format!("{key} `{}` does not lead with tenant_id", key.name))
                    .collect();
                (!offending.is_empty()).then(|| offending.join("; "))
            }
            Err(e) => Some(format!("introspection failed: {e}")),
        };
        out.push(Outcome::from_problem(
            NAME,
            format!("tenant-first keys {backend}: {table}"),
            location,
            problem,
            "lead the key with tenant_id, so the table can be distributed by tenant (docs/SCALING.md)",
        ));
    }
    out
}

/// Migrates down, checks nothing is left, migrates up again and compares with the entities. `after_down` is SQL a
/// test runs between the two to seed a down() that leaves something behind.
async fn migration_cycle_problem(db: &Database, after_down: Option<&str>) -> Option<String> {
    let cycle = async {
        db.migrate_down_all()
            .await
            .map_err(|e| format!("down: {e}"))?;
        if let Some(sql) = after_down {
            execute_raw(db, sql).await.map_err(|e| e.to_string())?;
        }
        let left = columns(db).await?;
        let remaining: Vec<&String> = left
            .iter()
            .filter(|(_, c)| !c.is_empty())
            .map(|(t, _)| t)
            .collect();
        if !remaining.is_empty() {
            return Err(format!("tables remain after migrating down: {remaining:?}"));
        }
        db.migrate().await.map_err(|e| format!("up again: {e}"))?;
        let again = schema_check::compare(db).await.map_err(|e| e.to_string())?;
        match again.first() {
            None => Ok(()),
            Some(first) => Err(format!("after up/down/up: {first}")),
        }
    };
    cycle.await.err()
}

/// Inserts an incident of a group of its own and resolves it, at one instant: the version found then, and the
/// group's summary then.
async fn insert_and_resolve(
    db: &Database,
) -> Result<(Option<i64>, hoc_drivers::incidents::GroupStats), String> {
    let at = time::OffsetDateTime::now_utc();
    let id = format!("hist_{}", at.unix_timestamp_nanos());
    let mut row = crate::reads::incident(&id, at);
    row.recurrence_signature = Some(format!("sig_{id}"));
    let tenant = row.tenant_id.clone();
    let tx = hoc_ledger::begin_write(db)
        .await
        .map_err(|e| e.to_string())?;
    hoc_drivers::incidents::insert(&tx, row.clone())
        .await
        .map_err(|e| e.to_string())?;
    let mut after = row.clone();
    after.status = hoc_drivers::Stored(hoc_contracts::input::IncidentState::Resolved);
    after.version = 2;
    hoc_drivers::incidents::compare_and_set(
        &tx,
        &[hoc_contracts::input::IncidentState::Open],
        &row,
        &after,
    )
    .await
    .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())?;
    let tx = hoc_ledger::begin_read(db);
    let found = hoc_drivers::incidents::find_at(&tx, &tenant, &row.id, at.into())
        .await
        .map_err(|e| e.to_string())?
        .map(|r| r.version);
    let signature = row.recurrence_signature.unwrap_or_default();
    let stats = hoc_drivers::incidents::group_stats(&tx, &tenant, "rsig-v1", &signature, at.into())
        .await
        .map_err(|e| e.to_string())?;
    Ok((found, stats))
}

/// Inserting and then changing an incident leaves versions 1 and 2 in `incident_versions` (the history triggers).
async fn history_problem(db: &Database) -> Option<String> {
    match insert_and_resolve(db).await.map(|(found, _)| found) {
        Err(e) => Some(e),
        Ok(Some(2)) => None,
        Ok(found) => Some(format!(
            "after an insert and a change, the recorded version is {found:?}, not 2: versions are not recorded"
        )),
    }
}

/// A new member counts in its group, and resolving it leaves the group's `open_count` at 0 (the group triggers).
async fn group_summary_problem(db: &Database) -> Option<String> {
    match insert_and_resolve(db).await {
        Err(e) => Some(e),
        Ok((_, stats)) if (stats.count, stats.open_count) == (1, 0) => None,
        Ok((_, stats)) => Some(format!(
            "after a new member was resolved, its group counts {} member(s), {} open, not 1 and 0: \
             group summaries are not maintained",
            stats.count, stats.open_count
        )),
    }
}

async fn audit_guard_problem(db: &Database) -> Option<String> {
    let id = format!(
        "aud_verify_{}",
        time::OffsetDateTime::now_utc().unix_timestamp_nanos()
    );
    let row = AuditRow {
        id: id.clone(),
        tenant_id: "verify".into(),
        entity_type: "verify".into(),
        entity_id: "verify".into(),
        action: "verify".into(),
        actor_type: hoc_drivers::Stored(hoc_contracts::AuditActor::System),
        actor_id: "xtask".into(),
        reason: None,
        before_state: None,
        after_state: None,
        request_id: "verify".into(),
        created_at: time::OffsetDateTime::now_utc().into(),
        chain_seq: None,
        prev_hash: None,
        row_hash: None,
    };
    let written = async {
        let tx = hoc_ledger::begin_write(db).await.ok()?;
        hoc_ledger::audit::append(&tx, row).await.ok()?;
        tx.commit().await.ok()
    };
    if written.await.is_none() {
        return Some("could not append a row".to_owned());
    }
    let update = execute_raw(
        db,
        &format!("UPDATE audit_ledger SET reason = 'x' WHERE id = '{id}'"),
    )
    .await;
    let delete = execute_raw(db, &format!("DELETE FROM audit_ledger WHERE id = '{id}'")).await;
    match (update, delete) {
        (Err(_), Err(_)) => None,
        (Ok(_), _) => Some("UPDATE succeeded".to_owned()),
        (_, Ok(_)) => Some("DELETE succeeded".to_owned()),
    }
}

pub(crate) async fn verify() -> Vec<Outcome> {
    crate::on_each_backend(NAME, |backend, db| async move {
        verify_backend(backend, &db).await
    })
    .await
}

#[cfg(test)]
mod tests {
    use hoc_drivers::testing::TestDatabase;

    use super::*;
    use crate::report::Level;

    #[tokio::test(flavor = "multi_thread")]
    async fn a_deliberately_wrong_entity_and_limit_are_caught() {
        let test_db = TestDatabase::sqlite().await;
        let db = test_db.db();
        let mut expected = schema_check::entity_tables();
        expected.get_mut("incidents").expect("incidents").insert(
            "resolution_type".into(),
            ColumnShape {
                family: TypeFamily::Varchar(40),
                nullable: true,
            },
        );
        let mismatches = schema_check::compare_tables(db, &expected)
            .await
            .expect("compares");
        let tables: Vec<String> = expected.keys().cloned().collect();
        let outcomes = schema_outcomes("sqlite", &tables, &mismatches);
        let failing: Vec<&Outcome> = outcomes.iter().filter(|o| o.level == Level::Fail).collect();
        assert_eq!(failing.len(), 1);
        assert_eq!(failing[0].check, "schema sqlite: incidents");
        assert!(
            failing[0]
                .location
                .contains("entity says Varchar(40), database has Varchar(50)"),
            "{}",
            failing[0].location
        );

        let columns = columns(db).await.expect("columns");
        let outcomes = limit_outcomes(
            "sqlite",
            &[
                ("incidents", "resolution_type", 40),
                ("incidents", "nope", 1),
            ],
            &columns,
        );
        assert_eq!(
            outcomes.iter().map(|o| o.level).collect::<Vec<_>>(),
            [Level::Fail, Level::Fail]
        );
        assert!(
            outcomes[0]
                .location
                .contains("the rule allows 40 characters, the column is Varchar(50)")
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_down_migration_that_leaves_a_table_is_caught() {
        let test_db = TestDatabase::sqlite().await;
        let problem =
            migration_cycle_problem(test_db.db(), Some("CREATE TABLE postmortems (id TEXT)")).await;
        assert_eq!(
            problem.as_deref(),
            Some("tables remain after migrating down: [\"postmortems\"]")
        );
        let fresh = TestDatabase::sqlite().await;
        assert_eq!(migration_cycle_problem(fresh.db(), None).await, None);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_ledger_without_its_guards_is_caught() {
        let test_db = TestDatabase::sqlite().await;
        assert_eq!(audit_guard_problem(test_db.db()).await, None);
        execute_raw(test_db.db(), "DROP TRIGGER audit_ledger_no_update")
            .await
            .expect("drop trigger");
        assert_eq!(
            audit_guard_problem(test_db.db()).await.as_deref(),
            Some("UPDATE succeeded")
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_unique_key_made_plain_is_caught() {
        let test_db = TestDatabase::sqlite().await;
        let db = test_db.db();
        let keys = schema_check::UNIQUE_KEYS;
        assert!(
            unique_key_outcomes("sqlite", db, keys)
                .await
                .iter()
                .all(|o| o.level == Level::Pass)
        );
        // Seeded violation: one postmortem per incident, no longer enforced.
        execute_raw(db, "DROP INDEX ux_postmortems_tenant_incident")
            .await
            .expect("drop index");
        execute_raw(
            db,
            "CREATE INDEX ix_postmortems_plain ON postmortems (tenant_id, incident_id)",
        )
        .await
        .expect("plain index");
        let outcomes = unique_key_outcomes("sqlite", db, keys).await;
        let failing: Vec<&Outcome> = outcomes.iter().filter(|o| o.level == Level::Fail).collect();
        assert_eq!(failing.len(), 1, "{failing:#?}");
        assert_eq!(
            failing[0].check,
            "unique key sqlite: postmortems(tenant_id, incident_id)"
        );
        assert!(
            failing[0]
                .location
                .contains("no unique index or primary key on exactly these columns (one postmortem per incident"),
            "{}",
            failing[0].location
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_key_that_does_not_lead_with_tenant_is_caught() {
        let test_db = TestDatabase::sqlite().await;
        let db = test_db.db();
        let passing = tenant_key_outcomes("sqlite", db, NOT_YET_TENANT_FIRST).await;
        assert!(passing.len() >= 15, "{passing:#?}");
        assert!(
            passing.iter().all(|o| o.level == Level::Pass),
            "{passing:#?}"
        );
        // Without the pending list, the keys it names fail.
        let strict = tenant_key_outcomes("sqlite", db, &[]).await;
        let failing: Vec<&str> = strict
            .iter()
            .filter(|o| o.level == Level::Fail)
            .map(|o| o.check.as_str())
            .collect();
        assert!(
            failing.contains(&"tenant-first keys sqlite: incidents"),
            "{failing:?}"
        );
        assert!(
            failing.contains(&"tenant-first keys sqlite: postmortems"),
            "{failing:?}"
        );
        // Seeded violation: an index of notes by incident alone.
        execute_raw(
            db,
            "CREATE INDEX ix_notes_by_incident ON incident_notes (incident_id)",
        )
        .await
        .expect("index");
        let outcomes = tenant_key_outcomes("sqlite", db, NOT_YET_TENANT_FIRST).await;
        let failing: Vec<&Outcome> = outcomes.iter().filter(|o| o.level == Level::Fail).collect();
        assert_eq!(failing.len(), 1, "{failing:#?}");
        assert_eq!(failing[0].check, "tenant-first keys sqlite: incident_notes");
        assert!(
            failing[0].location.contains(
                "incident_notes index (incident_id) `ix_notes_by_incident` does not lead with tenant_id"
            ),
            "{}",
            failing[0].location
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn an_incident_table_without_its_history_trigger_is_caught() {
        let test_db = TestDatabase::sqlite().await;
        assert_eq!(history_problem(test_db.db()).await, None);
        execute_raw(test_db.db(), "DROP TRIGGER incidents_history_update")
            .await
            .expect("drop trigger");
        let problem = history_problem(test_db.db()).await.expect("caught");
        assert!(problem.contains("versions are not recorded"), "{problem}");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_group_summary_without_its_trigger_is_caught() {
        let test_db = TestDatabase::sqlite().await;
        assert_eq!(group_summary_problem(test_db.db()).await, None);
        execute_raw(test_db.db(), "DROP TRIGGER incidents_group_update")
            .await
            .expect("drop trigger");
        let problem = group_summary_problem(test_db.db()).await.expect("caught");
        assert!(problem.contains("1 open, not 1 and 0"), "{problem}");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_real_schema_passes_on_sqlite() {
        let test_db = TestDatabase::sqlite().await;
        let outcomes = verify_backend("sqlite", test_db.db()).await;
        let failing: Vec<&Outcome> = outcomes.iter().filter(|o| o.level != Level::Pass).collect();
        assert!(failing.is_empty(), "{failing:#?}");
        assert!(
            outcomes
                .iter()
                .any(|o| o.check == "length sqlite: incidents.resolution_type = 50")
        );
    }
}
