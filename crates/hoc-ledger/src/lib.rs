//! The spine's capabilities, and nobody else's: beginning a transaction, and appending to the two append-only
//! ledgers — the audit ledger and the event outbox with its gapless sequence counter.
//!
//! Engines get a borrowed [`Tx`] to read and write their own tables through `hoc-drivers`; they cannot begin or
//! end a transaction, write an audit row or an event, because this crate is the only place those functions
//! exist and the layering verifier lets no crate but `hoc-spine` (and `xtask`) depend on it.

#![warn(missing_docs)]

use hoc_drivers::{Database, StorageError, Tx};

/// Begins a transaction that will write. On SQLite it takes the write lock up front (BEGIN IMMEDIATE), so
/// concurrent writers queue instead of failing when they upgrade from reading.
pub async fn begin_write(db: &Database) -> Result<Tx, StorageError> {
    db.begin_transaction(true).await
}

/// A reader: no transaction, each statement one round trip on the pool. Every read statement is bounded by the
/// read's instant, and what is committed at or before an instant never changes, so a read of several statements
/// agrees with itself as in one snapshot (see `docs/history.md`). It refuses writes.
pub fn begin_read(db: &Database) -> Tx {
    Tx::reader(db)
}

/// The backend of `tx` and its spelling of the first two statement parameters.
fn placeholders(tx: &Tx) -> (sea_orm::DbBackend, &'static str, &'static str) {
    use sea_orm::ConnectionTrait;
    match tx.executor().get_database_backend() {
        sea_orm::DbBackend::Postgres => (sea_orm::DbBackend::Postgres, "$1", "$2"),
        other => (other, "?", "?"),
    }
}

/// The tenant clock: the instants of a tenant's changes follow its commit order.
///
/// Every write takes its instant with [`clock::tick`] inside its transaction: `max(now, the tenant's last instant +
/// 1 µs)`, stored in the tenant's `tenant_clocks` row, whose lock (a row lock on PostgreSQL, the database write lock
/// on SQLite) the write then holds until it commits. So a tenant's instants strictly increase in commit order, and
/// every write still in flight has an instant after the last committed one. A read without `as_of` reads at
/// [`clock::last`] — the last committed instant its snapshot sees — which no write in flight can precede: the same
/// read at that instant gives the same answer later, whatever commits since.
pub mod clock {
    use hoc_drivers::tenant_clock::{instant, micros};
    use hoc_drivers::{StorageError, Tx};
    use sea_orm::{ConnectionTrait, Statement};
    use time::OffsetDateTime;

    use crate::placeholders;

    /// The instant of a write of `tenant_id` that starts at `now`: after every instant the tenant has used.
    pub async fn tick(
        tx: &Tx,
        tenant_id: &str,
        now: OffsetDateTime,
    ) -> Result<OffsetDateTime, StorageError> {
        let (backend, p1, p2) = placeholders(tx);
        let sql = format!(
            "INSERT INTO tenant_clocks (tenant_id, last_micros) VALUES ({p1}, {p2}) \
             ON CONFLICT (tenant_id) DO UPDATE SET last_micros = \
             CASE WHEN tenant_clocks.last_micros >= excluded.last_micros \
             THEN tenant_clocks.last_micros + 1 ELSE excluded.last_micros END \
             RETURNING last_micros, audit_seq, audit_head"
        );
        let row = tx
            .transaction()?
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                sql,
                [tenant_id.into(), micros(now).into()],
            ))
            .await
            .map_err(StorageError::from_db)?
            .ok_or(StorageError::Corrupt {
                table: "tenant_clocks",
                problem: "the clock upsert returned no row".to_owned(),
            })?;
        // The row stays locked until commit, so its audit chain head is this write's to extend.
        tx.keep(crate::audit::ChainHead {
            tenant_id: tenant_id.to_owned(),
            seq: row
                .try_get::<i64>("", "audit_seq")
                .map_err(StorageError::from_db)?,
            hash: row
                .try_get::<Option<String>>("", "audit_head")
                .map_err(StorageError::from_db)?,
        });
        instant(
            row.try_get::<i64>("", "last_micros")
                .map_err(StorageError::from_db)?,
        )
    }

    /// The last instant the tenant committed a change at, as `tx` sees it (`None`: it never changed anything).
    pub async fn last(tx: &Tx, tenant_id: &str) -> Result<Option<OffsetDateTime>, StorageError> {
        hoc_drivers::tenant_clock::last_micros(tx, tenant_id)
            .await?
            .map(instant)
            .transpose()
    }
}

/// The append-only audit ledger, hash-chained per tenant. There is no update or delete here, and the database
/// refuses both (and TRUNCATE, and REPLACE over a row).
pub mod audit {
    use hoc_drivers::audit_chain::ChainedRow;
    use hoc_drivers::entity::audit_ledger::{Column, Entity};
    use hoc_drivers::{AuditRow, Database, StorageError, Tx};
    use sea_orm::{
        ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
        QueryOrder, QuerySelect, Statement,
    };

    /// The head of a tenant's audit chain as the current transaction last saw or moved it, kept with the
    /// transaction ([`Tx::keep`]) so that an append needs no extra read: the tenant clock's upsert returns it, and
    /// the clock row stays locked until commit, so the head is the transaction's to extend.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub(crate) struct ChainHead {
        /// The tenant.
        pub(crate) tenant_id: String,
        /// The last row's `chain_seq` (0: no row yet).
        pub(crate) seq: i64,
        /// The last row's hash.
        pub(crate) hash: Option<String>,
    }

    fn chained<'a>(
        row: &'a AuditRow,
        prev_hash: Option<&'a str>,
        chain_seq: i64,
    ) -> ChainedRow<'a> {
        ChainedRow {
            prev_hash,
            chain_seq,
            id: &row.id,
            tenant_id: &row.tenant_id,
            entity_type: &row.entity_type,
            entity_id: &row.entity_id,
            action: &row.action,
            actor_type: row.actor_type.get().as_str(),
            actor_id: &row.actor_id,
            reason: row.reason.as_deref(),
            before_state: row.before_state.as_deref(),
            after_state: row.after_state.as_deref(),
            request_id: &row.request_id,
            created_at_micros: i64::try_from(row.created_at.get().unix_timestamp_nanos() / 1_000)
                .unwrap_or(i64::MAX),
        }
    }

    /// The tenant's chain head as stored (for an append in a transaction that did not tick the tenant's clock).
    async fn stored_head(tx: &Tx, tenant_id: &str) -> Result<ChainHead, StorageError> {
        let (backend, p1, _) = crate::placeholders(tx);
        let row = tx
            .executor()
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                format!("SELECT audit_seq, audit_head FROM tenant_clocks WHERE tenant_id = {p1}"),
                [tenant_id.into()],
            ))
            .await
            .map_err(StorageError::from_db)?;
        Ok(match row {
            Some(row) => ChainHead {
                tenant_id: tenant_id.to_owned(),
                seq: row
                    .try_get("", "audit_seq")
                    .map_err(StorageError::from_db)?,
                hash: row
                    .try_get("", "audit_head")
                    .map_err(StorageError::from_db)?,
            },
            None => ChainHead {
                tenant_id: tenant_id.to_owned(),
                seq: 0,
                hash: None,
            },
        })
    }

    /// Appends an audit row at the end of its tenant's chain (its `chain_seq`, `prev_hash` and `row_hash` are set
    /// here; what the caller put there is ignored). The database refuses a row that does not extend the chain.
    pub async fn append(tx: &Tx, mut row: AuditRow) -> Result<(), StorageError> {
        let known = tx
            .kept::<ChainHead>()
            .filter(|head| head.tenant_id == row.tenant_id);
        let head = match known {
            Some(head) => head,
            None => stored_head(tx, &row.tenant_id).await?,
        };
        let seq = head.seq + 1;
        let hash = chained(&row, head.hash.as_deref(), seq).hash();
        row.chain_seq = Some(seq);
        row.prev_hash = head.hash;
        row.row_hash = Some(hash.clone());
        let tenant_id = row.tenant_id.clone();
        Entity::insert(row.into_active_model().reset_all())
            .exec_without_returning(tx.transaction()?)
            .await
            .map_err(StorageError::from_db)?;
        tx.keep(ChainHead {
            tenant_id,
            seq,
            hash: Some(hash),
        });
        Ok(())
    }

    /// Appends `rows`, in order, at the end of their tenant's chain, as [`append`] would one by one, in as few
    /// statements as the engine allows (one multi-row insert per 200 rows). Every row must be of one tenant.
    pub async fn append_all(tx: &Tx, rows: Vec<AuditRow>) -> Result<(), StorageError> {
        let Some(tenant_id) = rows.first().map(|r| r.tenant_id.clone()) else {
            return Ok(());
        };
        if rows.iter().any(|r| r.tenant_id != tenant_id) {
            for row in rows {
                append(tx, row).await?;
            }
            return Ok(());
        }
        let known = tx
            .kept::<ChainHead>()
            .filter(|head| head.tenant_id == tenant_id);
        let mut head = match known {
            Some(head) => head,
            None => stored_head(tx, &tenant_id).await?,
        };
        let mut models = Vec::with_capacity(rows.len());
        for mut row in rows {
            let seq = head.seq + 1;
            let hash = chained(&row, head.hash.as_deref(), seq).hash();
            row.chain_seq = Some(seq);
            row.prev_hash = head.hash.take();
            row.row_hash = Some(hash.clone());
            head.seq = seq;
            head.hash = Some(hash);
            models.push(row.into_active_model());
        }
        hoc_drivers::bulk::insert_models(tx.transaction()?, models, 200).await?;
        tx.keep(head);
        Ok(())
    }

    /// Where a tenant's audit chain does not hold.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct ChainBreak {
        /// The tenant.
        pub tenant_id: String,
        /// The first row where it breaks (`None`: the chain's end does not match the recorded head).
        pub row_id: Option<String>,
        /// That row's place in the chain.
        pub chain_seq: Option<i64>,
        /// What is wrong.
        pub problem: String,
    }

    impl std::fmt::Display for ChainBreak {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "tenant {}: ", self.tenant_id)?;
            if let Some(id) = &self.row_id {
                write!(f, "row {id}")?;
                if let Some(seq) = self.chain_seq {
                    write!(f, " (chain_seq {seq})")?;
                }
                write!(f, ": ")?;
            }
            write!(f, "{}", self.problem)
        }
    }

    /// What [`verify`] checked.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct Verification {
        /// Tenants checked.
        pub tenants: u64,
        /// Rows checked.
        pub rows: u64,
        /// The first break of each broken chain (empty: every chain holds).
        pub breaks: Vec<ChainBreak>,
    }

    const PAGE: u64 = 1_000;

    /// Checks the audit chain of `tenant` (or of every tenant): each row's hash over its columns and the previous
    /// row's hash, `chain_seq` 1..N without gaps, and the tenant's recorded head at the chain's end. Names the first
    /// row that was edited, deleted (a gap, or a missing end) or inserted out of turn.
    pub async fn verify(db: &Database, tenant: Option<&str>) -> Result<Verification, StorageError> {
        let reader = crate::begin_read(db);
        let (backend, _, _) = crate::placeholders(&reader);
        let tenants_sql = "SELECT tenant_id FROM tenant_clocks WHERE audit_seq > 0 \
             UNION SELECT DISTINCT tenant_id FROM audit_ledger";
        let mut tenants: Vec<String> = reader
            .executor()
            .query_all_raw(Statement::from_string(backend, tenants_sql))
            .await
            .map_err(StorageError::from_db)?
            .iter()
            .map(|row| row.try_get::<String>("", "tenant_id"))
            .collect::<Result<_, _>>()
            .map_err(StorageError::from_db)?;
        tenants.sort();
        if let Some(only) = tenant {
            tenants.retain(|t| t == only);
        }
        let mut out = Verification::default();
        for tenant_id in tenants {
            out.tenants += 1;
            let brk = |row: Option<&AuditRow>, problem: String| ChainBreak {
                tenant_id: tenant_id.clone(),
                row_id: row.map(|r| r.id.clone()),
                chain_seq: row.and_then(|r| r.chain_seq),
                problem,
            };
            let unchained = Entity::find()
                .filter(Column::TenantId.eq(tenant_id.as_str()))
                .filter(Column::ChainSeq.is_null())
                .one(&reader.executor())
                .await
                .map_err(StorageError::from_db)?;
            if let Some(row) = unchained {
                out.breaks.push(brk(
                    Some(&row),
                    "not in the chain (inserted out of turn, or its chain_seq was cleared)"
                        .to_owned(),
                ));
                continue;
            }
            let mut expected = 1_i64;
            let mut prev: Option<String> = None;
            let mut broken = None;
            'pages: loop {
                let page = Entity::find()
                    .filter(Column::TenantId.eq(tenant_id.as_str()))
                    .filter(Column::ChainSeq.gte(expected))
                    .order_by_asc(Column::ChainSeq)
                    .limit(PAGE)
                    .all(&reader.executor())
                    .await
                    .map_err(StorageError::from_db)?;
                let last_page = (page.len() as u64) < PAGE;
                for row in &page {
                    out.rows += 1;
                    let seq = row.chain_seq.unwrap_or_default();
                    if seq != expected {
                        broken = Some(brk(
                            Some(row),
                            format!(
                                "chain_seq {expected}..{} missing before it (deleted)",
                                seq - 1
                            ),
                        ));
                        break 'pages;
                    }
                    if row.prev_hash != prev {
                        broken = Some(brk(
                            Some(row),
                            "does not link to the row before it (inserted out of turn, or the row before \
                             was replaced)"
                                .to_owned(),
                        ));
                        break 'pages;
                    }
                    let hash = chained(row, prev.as_deref(), seq).hash();
                    if row.row_hash.as_deref() != Some(hash.as_str()) {
                        broken = Some(brk(
                            Some(row),
                            "its content does not match its hash (edited)".to_owned(),
                        ));
                        break 'pages;
                    }
                    prev = Some(hash);
                    expected += 1;
                }
                if last_page {
                    break;
                }
            }
            if let Some(broken) = broken {
                out.breaks.push(broken);
                continue;
            }
            let head = stored_head(&reader, &tenant_id).await?;
            if head.seq != expected - 1 || head.hash != prev {
                out.breaks.push(brk(
                    None,
                    format!(
                        "the chain ends at chain_seq {} but its recorded head is {} (rows deleted at the end, \
                         or the head was moved)",
                        expected - 1,
                        head.seq
                    ),
                ));
            }
        }
        Ok(out)
    }
}

/// The event outbox and its gapless per-(tenant, project) sequence counter.
pub mod outbox {
    use hoc_contracts::EventEnvelope;
    use hoc_drivers::entity::event_outbox::ActiveModel;
    use hoc_drivers::{StorageError, Tx};
    use sea_orm::ActiveValue::{NotSet, Set};
    use sea_orm::{ConnectionTrait, Statement};

    /// Hands out the next sequence number of (tenant, project), starting at 1.
    ///
    /// The counter row is upserted inside the caller's transaction: on PostgreSQL the row stays locked until the
    /// transaction ends, so concurrent writers of one (tenant, project) queue; on SQLite the whole database is
    /// locked by the writing transaction. A rolled-back transaction gives its number back, so numbers have no gaps.
    pub async fn next_sequence_no(
        tx: &Tx,
        tenant_id: &str,
        project_id: &str,
    ) -> Result<i64, StorageError> {
        next_sequence_nos(tx, tenant_id, project_id, 1).await
    }

    /// Hands out the next `n` sequence numbers of (tenant, project) in one statement: the first of them (the
    /// others follow it without a gap).
    pub async fn next_sequence_nos(
        tx: &Tx,
        tenant_id: &str,
        project_id: &str,
        n: i64,
    ) -> Result<i64, StorageError> {
        let (backend, p1, p2) = crate::placeholders(tx);
        let p3 = match backend {
            sea_orm::DbBackend::Postgres => "$3",
            _ => "?",
        };
        let sql = format!(
            "INSERT INTO event_sequences (tenant_id, project_id, last_sequence_no) VALUES ({p1}, {p2}, {p3}) \
             ON CONFLICT (tenant_id, project_id) \
             DO UPDATE SET last_sequence_no = event_sequences.last_sequence_no + excluded.last_sequence_no \
             RETURNING last_sequence_no"
        );
        let row = tx
            .transaction()?
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                sql,
                [tenant_id.into(), project_id.into(), n.into()],
            ))
            .await
            .map_err(StorageError::from_db)?
            .ok_or(StorageError::Corrupt {
                table: "event_sequences",
                problem: "the counter upsert returned no row".to_owned(),
            })?;
        let last = row
            .try_get::<i64>("", "last_sequence_no")
            .map_err(StorageError::from_db)?;
        Ok(last - n + 1)
    }

    /// Writes validated envelopes, each with its payload (`envelope.to_json()`, as the caller validated it), to the
    /// outbox, in as few statements as the engine allows (one multi-row insert per 500 events).
    pub async fn insert_all(
        tx: &Tx,
        envelopes: &[(EventEnvelope, serde_json::Value)],
    ) -> Result<(), StorageError> {
        let rows = envelopes
            .iter()
            .map(|(envelope, payload)| active_model(envelope, payload))
            .collect::<Result<Vec<_>, _>>()?;
        hoc_drivers::bulk::insert_models(tx.transaction()?, rows, 500).await
    }

    fn active_model(
        envelope: &EventEnvelope,
        payload: &serde_json::Value,
    ) -> Result<ActiveModel, StorageError> {
        let payload = serde_json::to_string(payload).map_err(|e| StorageError::Corrupt {
            table: "event_outbox",
            problem: e.to_string(),
        })?;
        Ok(ActiveModel {
            event_id: Set(envelope.event_id.clone()),
            tenant_id: Set(envelope.tenant_id.clone()),
            project_id: Set(envelope.project_id.clone()),
            sequence_no: Set(envelope.sequence_no),
            event_type: Set(envelope.event_type.clone()),
            schema_version: Set(envelope.schema_version.clone()),
            occurred_at: Set(envelope.occurred_at.into()),
            payload: Set(payload),
            published_at: NotSet,
        })
    }
}
