//! L4 spine: the operation registry, the operation context, transaction ownership, audit and event emission.
//!
//! Every call follows one rule: **begin → run the operation → append its audit entries → number, validate and
//! write each of its events to the outbox → commit**. Any error anywhere (validation included) returns before
//! the commit, and dropping the uncommitted transaction rolls everything back: no event without its change, no
//! change without its event.

mod context;
mod error;
mod ops;
pub mod registry;
pub mod requests;

use std::sync::Arc;

use hoc_contracts::{DomainEvent, EnvelopeHeader, EventEnvelope};
use hoc_drivers::audit::AuditDraft;
use hoc_drivers::{AuditRow, Database, Tx, audit, outbox};
use serde_json::Value;
use time::OffsetDateTime;
use tracing::Instrument;

pub use crate::context::{DEFAULT_PROJECT, OperationContext};
pub use crate::error::{ErrorCode, OperationError};
pub use crate::registry::{Call, Effects, Method, Operation, Registry, RegistryBuilder};
pub use crate::requests::OperationRequest;

/// The source of "now" for every operation (replaceable in tests for tied timestamps).
pub type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

/// The registry of the operations this crate provides.
pub fn builtin_operations() -> Result<RegistryBuilder, OperationError> {
    RegistryBuilder::new()
        .register(ops::incidents::IncidentsWrite)?
        .register(ops::incidents::IncidentsQuery)?
        .register(ops::incidents::IncidentsRecurrence)?
        .register(ops::analytics::AnalyticsArtifacts)?
        .register(ops::events::EventsFeed)
}

/// The entry point: a database and a frozen registry.
#[derive(Clone)]
pub struct Spine {
    db: Database,
    registry: Arc<Registry>,
    clock: Clock,
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
    pub fn new(db: Database) -> Result<Self, OperationError> {
        Ok(Self::with_registry(db, builtin_operations()?.freeze()))
    }

    /// A spine over `db` with the given registry (the built-ins plus a host's own, say).
    pub fn with_registry(db: Database, registry: Registry) -> Self {
        Self {
            db,
            registry: Arc::new(registry),
            clock: Arc::new(hoc_contracts::time_format::now_utc),
        }
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

    /// The JSON door: runs `operation.method` with an untrusted payload.
    pub async fn execute(
        &self,
        ctx: &OperationContext,
        operation: &str,
        method: &str,
        payload: Value,
    ) -> Result<Value, OperationError> {
        let span = tracing::info_span!(
            "operation",
            operation,
            method,
            tenant = ctx.tenant_id(),
            request_id = ctx.request_id()
        );
        let result = self
            .run(ctx, operation, method, &payload)
            .instrument(span.clone())
            .await;
        span.in_scope(|| match &result {
            Ok(_) => tracing::debug!("operation succeeded"),
            Err(err @ OperationError::Internal { .. }) => {
                tracing::error!(error = %err, "operation failed")
            }
            Err(err) => {
                tracing::info!(code = err.code().as_str(), error = %err, "operation refused")
            }
        });
        result
    }

    /// The typed door.
    pub async fn call<R: OperationRequest>(
        &self,
        ctx: &OperationContext,
        request: &R,
    ) -> Result<R::Response, OperationError> {
        let payload = serde_json::to_value(request)
            .map_err(|e| OperationError::internal(format!("request does not serialize: {e}")))?;
        let response = self.execute(ctx, R::OPERATION, R::METHOD, payload).await?;
        serde_json::from_value(response)
            .map_err(|e| OperationError::internal(format!("response does not match its type: {e}")))
    }

    async fn run(
        &self,
        ctx: &OperationContext,
        operation: &str,
        method: &str,
        payload: &Value,
    ) -> Result<Value, OperationError> {
        let (op, spec) = self.registry.resolve(operation, method)?;
        let tx = if spec.writes {
            self.db.begin_write().await?
        } else {
            self.db.begin_read().await?
        };
        let now = (self.clock)();
        let effects = op
            .execute(Call {
                ctx,
                tx: &tx,
                method,
                payload,
                now,
            })
            .await?;
        if !spec.writes && (!effects.audit.is_empty() || !effects.events.is_empty()) {
            return Err(OperationError::internal(format!(
                "read method {operation}.{method} tried to write audit entries or events"
            )));
        }
        for draft in effects.audit {
            append_audit(&tx, ctx, now, draft).await?;
        }
        for event in &effects.events {
            emit(&tx, ctx, now, event).await?;
        }
        tx.commit().await?;
        Ok(effects.response)
    }
}

async fn append_audit(
    tx: &Tx,
    ctx: &OperationContext,
    now: OffsetDateTime,
    draft: AuditDraft,
) -> Result<(), OperationError> {
    let json = |v: Option<Value>| v.map(|v| v.to_string());
    audit::append(
        tx,
        AuditRow {
            id: format!("aud_{}", uuid::Uuid::now_v7()),
            tenant_id: ctx.tenant_id().to_owned(),
            entity_type: draft.entity_type.to_owned(),
            entity_id: draft.entity_id,
            action: draft.action.to_owned(),
            actor_type: context::audit_actor_type(ctx.actor().actor_type).to_owned(),
            actor_id: ctx.actor().actor_id.clone(),
            reason: draft.reason,
            before_state: json(draft.before_state),
            after_state: json(draft.after_state),
            request_id: ctx.request_id().to_owned(),
            created_at: now.into(),
        },
    )
    .await?;
    Ok(())
}

/// Numbers, validates and writes one event. An event that fails validation is a bug in its emitter: the
/// whole operation fails and rolls back.
async fn emit(
    tx: &Tx,
    ctx: &OperationContext,
    now: OffsetDateTime,
    event: &DomainEvent,
) -> Result<(), OperationError> {
    let sequence_no = outbox::next_sequence_no(tx, ctx.tenant_id(), ctx.project_id()).await?;
    let envelope = EventEnvelope::new(
        EnvelopeHeader {
            event_id: format!("evt_{}", uuid::Uuid::now_v7()),
            tenant_id: ctx.tenant_id().to_owned(),
            project_id: ctx.project_id().to_owned(),
            actor_type: ctx.actor().actor_type,
            actor_id: ctx.actor().actor_id.clone(),
            occurred_at: now,
        },
        sequence_no,
        event,
    );
    envelope
        .validate()
        .map_err(|e| OperationError::internal(format!("refusing to emit an invalid event: {e}")))?;
    outbox::insert(tx, &envelope).await?;
    Ok(())
}
