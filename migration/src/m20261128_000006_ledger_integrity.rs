//! A ledger that cannot be rewritten unnoticed.
//!
//! - Guards: PostgreSQL refuses `TRUNCATE audit_ledger`; SQLite refuses an insert whose id exists (`INSERT OR
//!   REPLACE` would otherwise delete the old row without firing the DELETE guard).
//! - A hash chain per tenant (`crate::audit_chain`): every row carries `chain_seq`, `prev_hash` and `row_hash`; the
//!   tenant's head (`audit_seq`, `audit_head`) lives in its `tenant_clocks` row, whose lock every write already
//!   holds. A trigger refuses a row that does not extend the head (out of turn) and moves the head. Existing rows
//!   are chained in (created_at, id) order.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend, Statement};

use crate::audit_chain::ChainedRow;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// The chain trigger and the guards this migration adds.
pub(crate) fn chain_triggers(backend: DatabaseBackend) -> Vec<&'static str> {
    match backend {
        DatabaseBackend::Postgres => vec![
            "CREATE OR REPLACE FUNCTION audit_ledger_chain() RETURNS trigger AS $$ \
             DECLARE head_seq BIGINT; head TEXT; \
             BEGIN \
               SELECT audit_seq, audit_head INTO head_seq, head FROM tenant_clocks \
                 WHERE tenant_id = NEW.tenant_id FOR UPDATE; \
               IF NEW.chain_seq IS DISTINCT FROM COALESCE(head_seq, 0) + 1 \
                  OR NEW.prev_hash IS DISTINCT FROM head OR NEW.row_hash IS NULL THEN \
                 RAISE EXCEPTION 'audit_ledger: row % does not extend the chain of tenant %', NEW.id, NEW.tenant_id; \
               END IF; \
               INSERT INTO tenant_clocks (tenant_id, last_micros, audit_seq, audit_head) \
                 VALUES (NEW.tenant_id, 0, NEW.chain_seq, NEW.row_hash) \
                 ON CONFLICT (tenant_id) DO UPDATE SET audit_seq = excluded.audit_seq, audit_head = excluded.audit_head; \
               RETURN NEW; \
             END; $$ LANGUAGE plpgsql",
            "CREATE TRIGGER audit_ledger_chain BEFORE INSERT ON audit_ledger \
             FOR EACH ROW EXECUTE FUNCTION audit_ledger_chain()",
            "CREATE TRIGGER audit_ledger_no_truncate BEFORE TRUNCATE ON audit_ledger \
             FOR EACH STATEMENT EXECUTE FUNCTION audit_ledger_refuse_change()",
        ],
        _ => vec![
            "CREATE TRIGGER audit_ledger_chain_check BEFORE INSERT ON audit_ledger \
             WHEN NEW.chain_seq IS NOT COALESCE((SELECT audit_seq FROM tenant_clocks WHERE tenant_id = NEW.tenant_id), 0) + 1 \
               OR NEW.prev_hash IS NOT (SELECT audit_head FROM tenant_clocks WHERE tenant_id = NEW.tenant_id) \
               OR NEW.row_hash IS NULL \
             BEGIN SELECT RAISE(ABORT, 'audit_ledger: the row does not extend its tenant''s chain'); END",
            "CREATE TRIGGER audit_ledger_chain_head AFTER INSERT ON audit_ledger \
             BEGIN INSERT INTO tenant_clocks (tenant_id, last_micros, audit_seq, audit_head) \
               VALUES (NEW.tenant_id, 0, NEW.chain_seq, NEW.row_hash) \
               ON CONFLICT (tenant_id) DO UPDATE SET audit_seq = excluded.audit_seq, audit_head = excluded.audit_head; END",
            // Created last: SQLite fires a table's triggers newest first, so a REPLACE is named as such.
            "CREATE TRIGGER audit_ledger_no_replace BEFORE INSERT ON audit_ledger \
             WHEN EXISTS (SELECT 1 FROM audit_ledger WHERE id = NEW.id) \
             BEGIN SELECT RAISE(ABORT, 'audit_ledger is append-only: REPLACE refused'); END",
        ],
    }
}

/// Drops what [`chain_triggers`] creates.
pub(crate) fn chain_trigger_drops(backend: DatabaseBackend) -> &'static [&'static str] {
    match backend {
        DatabaseBackend::Postgres => &[
            "DROP TRIGGER IF EXISTS audit_ledger_no_truncate ON audit_ledger",
            "DROP TRIGGER IF EXISTS audit_ledger_chain ON audit_ledger",
            "DROP FUNCTION IF EXISTS audit_ledger_chain()",
        ],
        _ => &[
            "DROP TRIGGER IF EXISTS audit_ledger_chain_head",
            "DROP TRIGGER IF EXISTS audit_ledger_chain_check",
            "DROP TRIGGER IF EXISTS audit_ledger_no_replace",
        ],
    }
}

/// The UPDATE guard, lifted while existing rows are chained and restored after.
fn update_guard(backend: DatabaseBackend) -> (&'static str, &'static str) {
    match backend {
        DatabaseBackend::Postgres => (
            "ALTER TABLE audit_ledger DISABLE TRIGGER audit_ledger_append_only",
            "ALTER TABLE audit_ledger ENABLE TRIGGER audit_ledger_append_only",
        ),
        _ => (
            "DROP TRIGGER IF EXISTS audit_ledger_no_update",
            "CREATE TRIGGER audit_ledger_no_update BEFORE UPDATE ON audit_ledger \
             BEGIN SELECT RAISE(ABORT, 'audit_ledger is append-only: UPDATE refused'); END",
        ),
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (table, column, kind) in [
            ("audit_ledger", "chain_seq", Kind::BigInt),
            ("audit_ledger", "prev_hash", Kind::Hash),
            ("audit_ledger", "row_hash", Kind::Hash),
            ("tenant_clocks", "audit_seq", Kind::Counter),
            ("tenant_clocks", "audit_head", Kind::Hash),
        ] {
            let mut col = ColumnDef::new(Alias::new(column));
            match kind {
                Kind::BigInt => col.big_integer().null(),
                Kind::Hash => col.string_len(64).null(),
                Kind::Counter => col.big_integer().not_null().default(0),
            };
            m.alter_table(
                Table::alter()
                    .table(Alias::new(table))
                    .add_column(&mut col)
                    .to_owned(),
            )
            .await?;
        }
        m.create_index(
            Index::create()
                .name("ux_audit_ledger_chain")
                .table(Alias::new("audit_ledger"))
                .col(Alias::new("tenant_id"))
                .col(Alias::new("chain_seq"))
                .unique()
                .to_owned(),
        )
        .await?;
        let conn = m.get_connection();
        let backend = conn.get_database_backend();
        chain_existing(conn, backend).await?;
        for sql in chain_triggers(backend) {
            conn.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let conn = m.get_connection();
        for sql in chain_trigger_drops(conn.get_database_backend()) {
            conn.execute_unprepared(sql).await?;
        }
        m.drop_index(
            Index::drop()
                .name("ux_audit_ledger_chain")
                .table(Alias::new("audit_ledger"))
                .to_owned(),
        )
        .await?;
        for (table, column) in [
            ("tenant_clocks", "audit_head"),
            ("tenant_clocks", "audit_seq"),
            ("audit_ledger", "row_hash"),
            ("audit_ledger", "prev_hash"),
            ("audit_ledger", "chain_seq"),
        ] {
            m.alter_table(
                Table::alter()
                    .table(Alias::new(table))
                    .drop_column(Alias::new(column))
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}

enum Kind {
    BigInt,
    Hash,
    Counter,
}

/// Chains every existing row, tenant by tenant in (created_at, id) order, and records each tenant's head.
async fn chain_existing<C: ConnectionTrait>(
    conn: &C,
    backend: DatabaseBackend,
) -> Result<(), DbErr> {
    let (lift, restore) = update_guard(backend);
    conn.execute_unprepared(lift).await?;
    let p = |n: usize| match backend {
        DatabaseBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    };
    let rows = conn
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT id, tenant_id, entity_type, entity_id, action, actor_type, actor_id, reason, before_state, \
             after_state, request_id, created_at FROM audit_ledger ORDER BY tenant_id, created_at, id",
        ))
        .await?;
    let mut tenant: Option<String> = None;
    let mut head: Option<String> = None;
    let mut seq = 0_i64;
    let flush_head = |tenant: &str, seq: i64, head: &Option<String>| {
        Statement::from_sql_and_values(
            backend,
            format!(
                "INSERT INTO tenant_clocks (tenant_id, last_micros, audit_seq, audit_head) VALUES ({}, 0, {}, {}) \
                 ON CONFLICT (tenant_id) DO UPDATE SET audit_seq = excluded.audit_seq, audit_head = excluded.audit_head",
                p(1),
                p(2),
                p(3)
            ),
            [tenant.into(), seq.into(), head.clone().into()],
        )
    };
    for row in rows {
        let get = |c: &str| row.try_get::<String>("", c);
        let opt = |c: &str| row.try_get::<Option<String>>("", c);
        let tenant_id = get("tenant_id")?;
        if tenant.as_deref() != Some(tenant_id.as_str()) {
            if let Some(done) = &tenant {
                conn.execute_raw(flush_head(done, seq, &head)).await?;
            }
            tenant = Some(tenant_id.clone());
            head = None;
            seq = 0;
        }
        seq += 1;
        let created: sea_orm_migration::sea_orm::prelude::TimeDateTimeWithTimeZone =
            row.try_get("", "created_at")?;
        let (id, entity_type, entity_id, action, actor_type, actor_id, request_id) = (
            get("id")?,
            get("entity_type")?,
            get("entity_id")?,
            get("action")?,
            get("actor_type")?,
            get("actor_id")?,
            get("request_id")?,
        );
        let (reason, before_state, after_state) =
            (opt("reason")?, opt("before_state")?, opt("after_state")?);
        let hash = ChainedRow {
            prev_hash: head.as_deref(),
            chain_seq: seq,
            id: &id,
            tenant_id: &tenant_id,
            entity_type: &entity_type,
            entity_id: &entity_id,
            action: &action,
            actor_type: &actor_type,
            actor_id: &actor_id,
            reason: reason.as_deref(),
            before_state: before_state.as_deref(),
            after_state: after_state.as_deref(),
            request_id: &request_id,
            created_at_micros: <i64 as std::convert::TryFrom<i128>>::try_from(
                created.unix_timestamp_nanos() / 1_000,
            )
            .unwrap_or(i64::MAX),
        }
        .hash();
        conn.execute_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "UPDATE audit_ledger SET chain_seq = {}, prev_hash = {}, row_hash = {} WHERE id = {}",
                p(1),
                p(2),
                p(3),
                p(4)
            ),
            [seq.into(), head.clone().into(), hash.clone().into(), id.into()],
        ))
        .await?;
        head = Some(hash);
    }
    if let Some(done) = &tenant {
        conn.execute_raw(flush_head(done, seq, &head)).await?;
    }
    conn.execute_unprepared(restore).await?;
    Ok(())
}
