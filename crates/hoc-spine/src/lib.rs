//! L4 spine: the operation registry, the operation context, transaction ownership, audit and event emission.
//!
//! Every call follows one rule: **begin → run the operation → append its audit entries → number, validate and
//! write each of its events to the outbox → commit**. Any error anywhere (validation included) returns before
//! the commit, and dropping the uncommitted transaction rolls everything back: no event without its change, no
//! change without its event.

#![warn(missing_docs)]

pub mod auth;
mod context;
mod error;
pub mod http;
mod ops;
pub mod registry;
pub mod regroup;
pub mod requests;
pub mod sessions;

use std::sync::Arc;

use hoc_contracts::EnvelopeHeader;

use hoc_drivers::{AuditRow, Tx};
use hoc_ledger::{audit, outbox};
use serde_json::Value;
use time::OffsetDateTime;
use tracing::Instrument;

pub use crate::context::{DEFAULT_PROJECT, OperationContext};
pub use hoc_analytics::{Artifact, ArtifactPage, SaveOutcome, SaveStatus};
pub use hoc_contracts::input::{self, RequestSchema};
pub use hoc_contracts::outcome::AuditDraft;
pub use hoc_contracts::{
    ActorType, DomainEvent, EventEnvelope, FieldError, SCHEMA_VERSION, from_cloudevent, request,
    time_format, to_cloudevent, vocabulary,
};
pub use hoc_drivers::audit::AuditEntry;
/// The outbox relay's bookkeeping (pending partitions, leases, marking events published): single statements on
/// the pool, outside any operation (`docs/ARCHITECTURE.md`, "Relay").
pub use hoc_drivers::relay;
pub use hoc_drivers::{Backend, Database, DatabaseConfig, StorageError};
pub use hoc_incidents::queries::Timeline;
pub use hoc_incidents::{
    Actor, Incident, IncidentAt, IncidentState, Page, Postmortem, PostmortemStub, RecurrenceGroup,
    TimelineEntry,
};
/// Recurrence signatures: every algorithm version, and signing a source with one (for hosts and the benchmark).
pub use hoc_incidents::{learn, recurrence};
pub use hoc_ledger::audit::{ChainBreak, Verification as AuditVerification};
/// What a host's own operation methods need besides this crate: `async_trait` for `impl OperationMethod`, and
/// `schemars` for response types.
pub use {async_trait, schemars};

pub use crate::error::{ErrorCode, OperationError};
pub use crate::registry::{Call, OperationMethod, Output, Prepared, Registry, RegistryBuilder};
/// The drivers' test harness, for hosts' tests (feature `testing`).
#[cfg(feature = "testing")]
pub use hoc_drivers::{storage_test, testing};

/// An `Idempotency-Key` and the fingerprint of the request it came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    /// The caller's key (≤ 128 characters).
    pub key: String,
    /// A digest of everything that makes the request what it is (method, path, body).
    pub fingerprint: String,
}

/// A response stored with an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// The status the host answered with.
    pub status: u16,
    /// The body.
    pub body: Value,
}

/// The result of [`Spine::execute_idempotent`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replayable {
    /// The operation ran now.
    Fresh(StoredResponse),
    /// An earlier identical request's response.
    Replayed(StoredResponse),
}

/// The source of "now" for every operation (replaceable in tests for tied timestamps).
pub type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

/// The registry of the operations this crate provides.
pub fn builtin_operations() -> Result<RegistryBuilder, OperationError> {
    let mut builder = RegistryBuilder::new();
    declare_builtin(&mut builder)?;
    Ok(builder)
}

/// Walks every built-in operation method, each with its HTTP route where it has one: the registry registers them
/// ([`builtin_operations`]), a host serves the routed ones (`hoc_server::routes`).
pub fn declare_builtin<V: http::Methods>(methods: &mut V) -> Result<(), OperationError> {
    ops::incidents::declare(methods)?;
    ops::alerts::declare(methods)?;
    ops::analytics::declare(methods)?;
    ops::events::declare(methods)?;
    ops::audit::declare(methods)
}

/// How long [`Spine::authenticate`] reuses an answer by default.
pub const DEFAULT_KEY_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(1);

/// The entry point: a database and a frozen registry.
#[derive(Clone)]
pub struct Spine {
    db: Database,
    registry: Arc<Registry>,
    clock: Clock,
    keys: Arc<auth::KeyCache>,
    commits: Arc<tokio::sync::watch::Sender<u64>>,
}

impl std::fmt::Debug for Spine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spine")
            .field("db", &self.db)
            .field("registry", &self.registry)
            .finish_non_exhaustive()
    }
}

impl Spine {
    /// A spine over `db` with the built-in operations.
    ///
    /// ```
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let db = hoc_spine::Database::connect_and_migrate("sqlite::memory:").await?;
    /// let spine = hoc_spine::Spine::new(db)?;
    /// assert!(spine.registry().methods().contains(&"incidents.write.resolve".to_owned()));
    /// # Ok(())
    /// # }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
    /// ```
    pub fn new(db: Database) -> Result<Self, OperationError> {
        Ok(Self::with_registry(db, builtin_operations()?.freeze()))
    }

    /// A spine over `db` with the given registry (the built-ins plus a host's own, say).
    pub fn with_registry(db: Database, registry: Registry) -> Self {
        Self {
            db,
            registry: Arc::new(registry),
            clock: Arc::new(hoc_contracts::time_format::now_utc),
            keys: Arc::new(auth::KeyCache::new(DEFAULT_KEY_CACHE_TTL)),
            commits: Arc::new(tokio::sync::watch::Sender::new(0)),
        }
    }

    /// A receiver that changes after every write this spine (or a clone of it) commits: what wakes the event
    /// relay and the live event stream at once instead of at their next poll. Writes of other processes are not
    /// seen here; those readers poll too.
    pub fn commits(&self) -> tokio::sync::watch::Receiver<u64> {
        self.commits.subscribe()
    }

    fn committed(&self) {
        self.commits.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Sets how long an authentication answer is reused before the key's row is read again: the bound on how
    /// long a key revoked on another instance keeps working here (default 1 second; zero turns the cache off).
    pub fn with_key_cache_ttl(mut self, ttl: std::time::Duration) -> Self {
        self.keys = Arc::new(auth::KeyCache::new(ttl));
        self
    }

    /// Replaces the clock.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The frozen registry.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The database.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Checks the audit ledger's hash chains (of `tenant`, or of every tenant) and names the first row of each
    /// broken chain that was edited, deleted or inserted out of turn (`docs/ARCHITECTURE.md`, "Audit chain").
    pub async fn verify_audit(
        &self,
        tenant: Option<&str>,
    ) -> Result<AuditVerification, OperationError> {
        Ok(hoc_ledger::audit::verify(&self.db, tenant).await?)
    }

    /// The JSON door: runs `operation.method` with an untrusted payload, decoded into the method's request type
    /// (a payload that is not an object, has an unknown field or a wrong JSON type is `malformed_request`); from
    /// there it takes exactly the path of [`Spine::call`].
    ///
    /// ```
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use hoc_spine::{ActorType, Database, ErrorCode, OperationContext, Spine};
    /// use serde_json::json;
    ///
    /// let spine = Spine::new(Database::connect_and_migrate("sqlite::memory:").await?)?;
    /// let ctx = OperationContext::new("acme", ActorType::Sdk, "importer")?;
    /// let created = spine
    ///     .execute(&ctx, "incidents.write", "create",
    ///         json!({"title": "Disk full", "severity": "high", "category": "storage"}))
    ///     .await?;
    /// assert_eq!(created["status"], "open");
    /// // Shape errors are malformed_request; broken rules are invalid_input, listing every field.
    /// let err = spine
    ///     .execute(&ctx, "incidents.write", "create", json!({"title": 5}))
    ///     .await
    ///     .unwrap_err();
    /// assert_eq!(err.code(), ErrorCode::MalformedRequest);
    /// let err = spine
    ///     .execute(&ctx, "incidents.write", "create", json!({"title": " ", "severity": "meh"}))
    ///     .await
    ///     .unwrap_err();
    /// assert_eq!(err.to_string(), "invalid input: title: must not be empty; \
    ///     severity: `meh` is not one of critical, high, medium, low, info; category: is required");
    /// # Ok(())
    /// # }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn execute(
        &self,
        ctx: &OperationContext,
        operation: &str,
        method: &str,
        payload: Value,
    ) -> Result<Value, OperationError> {
        let found = self.registry.resolve(operation, method);
        let result = match found {
            Ok(m) => m.execute(self, ctx, payload).await,
            Err(e) => Err(e),
        };
        if let Err(
            err @ (OperationError::UnknownOperation { .. }
            | OperationError::MalformedRequest { .. }),
        ) = &result
        {
            tracing::info!(operation, method, code = err.code().as_str(), error = %err, "operation refused");
        }
        result
    }

    /// The typed door: runs the registered method `M` with its request, without any JSON in between.
    ///
    /// ```
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use hoc_spine::{Database, OperationContext, Spine, ActorType};
    /// use hoc_spine::requests::{CreateIncident, GetIncident};
    ///
    /// let db = Database::connect_and_migrate("sqlite::memory:").await?;
    /// let spine = Spine::new(db)?;
    /// let ctx = OperationContext::new("acme", ActorType::User, "alice")?;
    /// let created = spine
    ///     .call(&ctx, &CreateIncident {
    ///         title: Some("Checkout returns 503".into()),
    ///         severity: Some("critical".into()),
    ///         category: Some("availability".into()),
    ///         ..CreateIncident::default()
    ///     })
    ///     .await?;
    /// let read = spine.call(&ctx, &GetIncident { id: created.id.clone() }).await?;
    /// assert_eq!(read.status.as_str(), "open");
    /// # Ok(())
    /// # }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn call<M: OperationMethod>(
        &self,
        ctx: &OperationContext,
        request: &M,
    ) -> Result<M::Response, OperationError> {
        if !self.registry.contains::<M>() {
            return Err(OperationError::UnknownOperation {
                name: registry::method_name::<M>(),
            });
        }
        self.call_registered(ctx, request).await
    }

    pub(crate) async fn call_registered<M: OperationMethod>(
        &self,
        ctx: &OperationContext,
        request: &M,
    ) -> Result<M::Response, OperationError> {
        let span = operation_span::<M>(ctx);
        if let Some(answer) = self.on_replica(ctx, request).instrument(span.clone()).await {
            span.in_scope(|| observe(&answer));
            return answer;
        }
        let prepared = self.prepare(ctx, request, &span).await?;
        let result = rerun_interrupted(|| async {
            let tx = self.begin(M::WRITES).await?;
            let early = self
                .before_clock(&tx, ctx, request, prepared.as_deref())
                .await?;
            let prepared = early.as_deref().or(prepared.as_deref());
            let now = self.instant(&tx, ctx, M::WRITES).await?;
            let ticked = std::time::Instant::now();
            let response = run_in(&tx, ctx, request, now, prepared).await?;
            let writes = tx.writes();
            tx.commit().await.map_err(commit_failed)?;
            if M::WRITES {
                clock_held::<M>(ticked);
            }
            if writes {
                self.committed();
            }
            Ok(response)
        })
        .instrument(span.clone())
        .await;
        span.in_scope(|| observe(&result));
        result
    }

    /// A read at a named instant, answered by a read replica that has replayed the tenant's writes up to it (see
    /// `hoc_drivers::Database::replica_at`), if one has: the same bytes the primary would give. `None` when the
    /// primary answers: no replica covers the instant, or the replica failed (it is left out a while; the caller
    /// never sees its failure).
    async fn on_replica<M: OperationMethod>(
        &self,
        ctx: &OperationContext,
        request: &M,
    ) -> Option<Result<M::Response, OperationError>> {
        if M::WRITES {
            return None;
        }
        let at = ctx.as_of()?;
        let micros = hoc_drivers::tenant_clock::micros(at);
        let replica = self.db.replica_at(ctx.tenant_id(), micros).await?;
        match run_in(replica.tx(), ctx, request, at, None).await {
            Err(
                OperationError::Interrupted { message }
                | OperationError::Unavailable { message }
                | OperationError::Internal { message },
            ) => {
                replica.failed(&message);
                None
            }
            answer => {
                replica.served();
                Some(answer)
            }
        }
    }

    /// What a write that prepares ([`OperationMethod::PREPARES`]) reads before its transaction begins: on a reader,
    /// at the tenant's last committed instant (see [`OperationMethod::prepare`]); or what a write that parses first
    /// ([`OperationMethod::PARSES_FIRST`]) parsed. `None` for every other method.
    async fn prepare<M: OperationMethod>(
        &self,
        ctx: &OperationContext,
        request: &M,
        span: &tracing::Span,
    ) -> Result<Option<registry::Prepared>, OperationError> {
        if M::WRITES && M::PARSES_FIRST && !M::PREPARES {
            let parsed = request.parse_first();
            if parsed.is_err() {
                span.in_scope(|| observe(&parsed));
            }
            return parsed.map(Some);
        }
        if !(M::WRITES && M::PREPARES) {
            return Ok(None);
        }
        let prepared = rerun_interrupted(|| async {
            let tx = self.begin(false).await?;
            let now = self.instant(&tx, ctx, false).await?;
            let call = Call {
                ctx,
                tx: &tx,
                now,
                prepared: None,
            };
            request.prepare(call).await.map(Some)
        })
        .instrument(span.clone())
        .await;
        if prepared.is_err() {
            span.in_scope(|| observe(&prepared));
        }
        prepared
    }

    /// A write's [`OperationMethod::before_clock`], in its transaction before the tick (`None` for every other
    /// method).
    async fn before_clock<M: OperationMethod>(
        &self,
        tx: &Tx,
        ctx: &OperationContext,
        request: &M,
        prepared: Option<&(dyn std::any::Any + Send + Sync)>,
    ) -> Result<Option<registry::Prepared>, OperationError> {
        if !(M::WRITES && M::BEFORE_CLOCK) {
            return Ok(None);
        }
        let call = Call {
            ctx,
            tx,
            now: self.now(),
            prepared,
        };
        request.before_clock(call).await.map(Some)
    }

    /// The time of a call.
    pub(crate) fn now(&self) -> OffsetDateTime {
        hoc_contracts::time_format::truncate_micros((self.clock)())
    }

    /// The instant of a call: a write's comes from the tenant clock (after every instant the tenant has used, in
    /// commit order); a read's is the tenant's last committed instant, which no write still in flight can precede
    /// (see `hoc_ledger::clock`), or the epoch for a tenant that never wrote.
    async fn instant(
        &self,
        tx: &Tx,
        ctx: &OperationContext,
        writes: bool,
    ) -> Result<OffsetDateTime, OperationError> {
        Ok(if writes {
            hoc_ledger::clock::tick(tx, ctx.tenant_id(), self.now()).await?
        } else if let Some(as_of) = ctx.as_of() {
            // The caller named the instant: reading the clock would only be thrown away.
            as_of
        } else {
            hoc_ledger::clock::last(tx, ctx.tenant_id())
                .await?
                .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        })
    }

    async fn begin(&self, writes: bool) -> Result<Tx, OperationError> {
        Ok(if writes {
            hoc_ledger::begin_write(&self.db).await?
        } else {
            hoc_ledger::begin_read(&self.db)
        })
    }

    /// The typed door for a write with an `Idempotency-Key`: the first call runs the method and stores
    /// `respond(&response)` (e.g. an HTTP status and body, shaped from the typed response) with the key **in the
    /// operation's transaction**; a later
    /// call with the same key and the same `fingerprint` gets that stored response back without running anything;
    /// the same key with another fingerprint is `idempotency_key_reused`. A failed call stores nothing (it wrote
    /// nothing, so it is safe to retry).
    pub async fn call_idempotent<M: OperationMethod>(
        &self,
        ctx: &OperationContext,
        request: &M,
        idempotency: &Idempotency,
        respond: impl Fn(&M::Response) -> Result<StoredResponse, serde_json::Error> + Send + Sync,
    ) -> Result<Replayable, OperationError> {
        if !self.registry.contains::<M>() {
            return Err(OperationError::UnknownOperation {
                name: registry::method_name::<M>(),
            });
        }
        self.call_idempotent_registered(ctx, request, idempotency, |r| {
            respond(r)
                .map_err(|e| OperationError::internal(format!("response does not serialize: {e}")))
        })
        .await
    }

    /// The JSON door of [`Spine::call_idempotent`].
    pub async fn execute_idempotent(
        &self,
        ctx: &OperationContext,
        operation: &str,
        method: &str,
        payload: Value,
        idempotency: &Idempotency,
        respond: impl Fn(&Value) -> StoredResponse + Send + Sync + 'static,
    ) -> Result<Replayable, OperationError> {
        let method_impl = self.registry.resolve(operation, method)?;
        method_impl
            .execute_idempotent(self, ctx, payload, idempotency, Box::new(respond))
            .await
    }

    pub(crate) async fn call_idempotent_registered<M: OperationMethod>(
        &self,
        ctx: &OperationContext,
        request: &M,
        idempotency: &Idempotency,
        respond: impl Fn(&M::Response) -> Result<StoredResponse, OperationError> + Send + Sync,
    ) -> Result<Replayable, OperationError> {
        if !M::WRITES {
            return Err(OperationError::internal(format!(
                "{} reads; idempotency keys are for writes",
                registry::method_name::<M>()
            )));
        }
        let span = operation_span::<M>(ctx);
        let prepared = self.prepare(ctx, request, &span).await?;
        // `respond` may run on more than one attempt: an attempt storage interrupts after it ran is rolled back.
        let result = rerun_interrupted(|| async {
            let tx = hoc_ledger::begin_write(&self.db).await?;
            let early = self
                .before_clock(&tx, ctx, request, prepared.as_deref())
                .await?;
            let prepared = early.as_deref().or(prepared.as_deref());
            let now = self.instant(&tx, ctx, true).await?;
            let ticked = std::time::Instant::now();
            let claimed = hoc_drivers::idempotency::claim(
                &tx,
                ctx.tenant_id(),
                &idempotency.key,
                &idempotency.fingerprint,
                now.into(),
            )
            .await?;
            if let Some(existing) = claimed {
                if existing.request_fingerprint != idempotency.fingerprint {
                    return Err(OperationError::IdempotencyKeyReused {
                        key: idempotency.key.clone(),
                    });
                }
                let (Some(status), Some(body)) = (existing.status_code, existing.response_body)
                else {
                    return Err(OperationError::internal(
                        "idempotency record without a response",
                    ));
                };
                let body = serde_json::from_str(&body).map_err(|e| {
                    OperationError::internal(format!("stored response is not JSON: {e}"))
                })?;
                return Ok(Replayable::Replayed(StoredResponse {
                    status: u16::try_from(status).unwrap_or(500),
                    body,
                }));
            }
            let response = run_in(&tx, ctx, request, now, prepared).await?;
            let stored = respond(&response)?;
            hoc_drivers::idempotency::complete(
                &tx,
                ctx.tenant_id(),
                &idempotency.key,
                i32::from(stored.status),
                stored.body.to_string(),
            )
            .await?;
            tx.commit().await.map_err(commit_failed)?;
            clock_held::<M>(ticked);
            self.committed();
            Ok(Replayable::Fresh(stored))
        })
        .instrument(span.clone())
        .await;
        span.in_scope(|| observe(&result));
        result
    }
}

/// How many times the spine runs a call that storage interrupted before it could commit.
const ATTEMPTS: u32 = 3;

/// Runs `attempt` again (after 5 ms, then 20 ms) while storage interrupts it before it could commit
/// ([`OperationError::Interrupted`]: the connection was lost or closed by the server, or PostgreSQL aborted the
/// transaction as a serialization failure or deadlock). Nothing of an interrupted attempt was kept, so running it
/// again is safe; a failure of the commit itself never comes back as `Interrupted` (see [`commit_failed`]).
async fn rerun_interrupted<T, F, Fut>(mut attempt: F) -> Result<T, OperationError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, OperationError>>,
{
    let mut n = 1;
    loop {
        match attempt().await {
            Err(OperationError::Interrupted { message }) if n < ATTEMPTS => {
                tracing::info!(attempt = n, %message, "storage interrupted the call before commit; running it again");
                tokio::time::sleep(std::time::Duration::from_millis(5 * 4_u64.pow(n - 1))).await;
                n += 1;
            }
            Err(OperationError::Interrupted { message }) => {
                return Err(OperationError::Unavailable { message });
            }
            other => return other,
        }
    }
}

/// A failed COMMIT: its outcome is unknown (the server may have committed before the connection broke), so it is
/// never re-run here; the caller gets `unavailable` and retries with its idempotency key.
fn commit_failed(err: StorageError) -> OperationError {
    match OperationError::from(err) {
        OperationError::Interrupted { message } => OperationError::Unavailable {
            message: format!("the commit's outcome is unknown: {message}"),
        },
        other => other,
    }
}

fn operation_span<M: OperationMethod>(ctx: &OperationContext) -> tracing::Span {
    tracing::info_span!(
        "operation",
        operation = M::OPERATION,
        method = M::METHOD,
        tenant = ctx.tenant_id(),
        request_id = ctx.request_id()
    )
}

/// How long a committed write held its tenant's clock, from its tick to its commit: the service time of the queue
/// every write of a tenant joins (`hoc_tenant_clock_held_seconds{operation, method}`).
fn clock_held<M: OperationMethod>(ticked: std::time::Instant) {
    metrics::histogram!(
        "hoc_tenant_clock_held_seconds",
        "operation" => M::OPERATION,
        "method" => M::METHOD
    )
    .record(ticked.elapsed().as_secs_f64());
}

fn observe<T>(result: &Result<T, OperationError>) {
    match result {
        Ok(_) => tracing::debug!("operation succeeded"),
        Err(err @ OperationError::Internal { .. }) => {
            tracing::error!(error = %err, "operation failed")
        }
        Err(err) => {
            tracing::info!(code = err.code().as_str(), error = %err, "operation refused")
        }
    }
}

/// Runs a method in `tx` and writes its audit entries and events; the caller commits.
async fn run_in<M: OperationMethod>(
    tx: &Tx,
    ctx: &OperationContext,
    request: &M,
    now: OffsetDateTime,
    prepared: Option<&(dyn std::any::Any + Send + Sync)>,
) -> Result<M::Response, OperationError> {
    let output = request
        .run(Call {
            ctx,
            tx,
            now,
            prepared,
        })
        .await?;
    if !M::WRITES && (!output.audit.is_empty() || !output.events.is_empty()) {
        return Err(OperationError::internal(format!(
            "read method {} tried to write audit entries or events",
            registry::method_name::<M>()
        )));
    }
    let rows: Vec<AuditRow> = output
        .audit
        .into_iter()
        .map(|draft| audit_row(ctx, now, draft))
        .collect();
    audit::append_all(tx, rows).await?;
    emit_all(tx, ctx, now, &output.events).await?;
    Ok(output.response)
}

/// Numbers, validates and writes `events` in order (their sequence numbers handed out in one statement, the rows
/// written in one). An event that fails validation is a bug in its emitter: the whole operation fails and rolls
/// back.
async fn emit_all(
    tx: &Tx,
    ctx: &OperationContext,
    now: OffsetDateTime,
    events: &[DomainEvent],
) -> Result<(), OperationError> {
    let Ok(n) = i64::try_from(events.len()) else {
        return Err(OperationError::internal("too many events"));
    };
    if n == 0 {
        return Ok(());
    }
    let first = outbox::next_sequence_nos(tx, ctx.tenant_id(), ctx.project_id(), n).await?;
    let mut envelopes = Vec::with_capacity(events.len());
    for (sequence_no, event) in (first..).zip(events) {
        envelopes.push(envelope(ctx, now, sequence_no, event)?);
    }
    outbox::insert_all(tx, &envelopes).await?;
    Ok(())
}

/// The envelope of `event`, numbered `sequence_no`, and its payload, validated.
fn envelope(
    ctx: &OperationContext,
    now: OffsetDateTime,
    sequence_no: i64,
    event: &DomainEvent,
) -> Result<(EventEnvelope, Value), OperationError> {
    let envelope = EventEnvelope::new(
        EnvelopeHeader {
            event_id: format!("evt_{}", uuid::Uuid::now_v7()),
            tenant_id: ctx.tenant_id().to_owned(),
            project_id: ctx.project_id().to_owned(),
            actor_type: ctx.actor().actor_type,
            actor_id: ctx.actor().actor_id.clone(),
            occurred_at: now,
            request_id: ctx.request_id().to_owned(),
        },
        sequence_no,
        event,
    );
    let payload = envelope.to_json();
    hoc_contracts::validate_event_payload(&payload)
        .map_err(|e| OperationError::internal(format!("refusing to emit an invalid event: {e}")))?;
    Ok((envelope, payload))
}

pub(crate) async fn append_audit(
    tx: &Tx,
    ctx: &OperationContext,
    now: OffsetDateTime,
    draft: AuditDraft,
) -> Result<(), OperationError> {
    audit::append(tx, audit_row(ctx, now, draft)).await?;
    Ok(())
}

/// The audit row of `draft`, written by `ctx` at `now` (its chain columns are set when it is appended).
fn audit_row(ctx: &OperationContext, now: OffsetDateTime, draft: AuditDraft) -> AuditRow {
    let json = |v: Option<Value>| v.map(|v| v.to_string());
    {
        AuditRow {
            id: format!("aud_{}", uuid::Uuid::now_v7()),
            tenant_id: ctx.tenant_id().to_owned(),
            entity_type: draft.entity_type.to_owned(),
            entity_id: draft.entity_id,
            action: draft.action.to_owned(),
            actor_type: hoc_drivers::Stored(ctx.actor().actor_type.into()),
            actor_id: ctx.actor().actor_id.clone(),
            reason: draft.reason,
            before_state: json(draft.before_state),
            after_state: json(draft.after_state),
            request_id: ctx.request_id().to_owned(),
            created_at: now.into(),
            chain_seq: None,
            prev_hash: None,
            row_hash: None,
        }
    }
}
