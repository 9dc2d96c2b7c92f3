//! Named operations, registered once at start-up and then frozen.
//!
//! [`RegistryBuilder`] is the only type that can add an operation; [`RegistryBuilder::freeze`] consumes it and
//! returns a [`Registry`], which has no way to add or replace one. A second registration of a name is refused.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use hoc_contracts::DomainEvent;
use hoc_drivers::Tx;
use hoc_drivers::audit::AuditDraft;
use serde_json::Value;
use time::OffsetDateTime;

use crate::{OperationContext, OperationError};

/// One method of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Method {
    /// The method name, e.g. `acknowledge`.
    pub name: &'static str,
    /// Whether it writes (a write transaction; it may return audit entries and events).
    pub writes: bool,
}

/// Everything an operation gets for one call.
#[derive(Debug)]
pub struct Call<'a> {
    /// Who is calling.
    pub ctx: &'a OperationContext,
    /// The transaction the spine owns; borrow it, never end it.
    pub tx: &'a Tx,
    /// The method called.
    pub method: &'a str,
    /// The untrusted request payload.
    pub payload: &'a Value,
    /// The time of the call (one value for the whole operation).
    pub now: OffsetDateTime,
}

/// What an operation did: its response, and the audit entries and events the spine writes before commit.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Effects {
    /// The response payload.
    pub response: Value,
    /// Audit entries to append.
    pub audit: Vec<AuditDraft>,
    /// Domain events to write to the outbox.
    pub events: Vec<DomainEvent>,
}

impl Effects {
    /// A response with no audit entries or events (reads).
    pub fn read(response: Value) -> Self {
        Self {
            response,
            ..Self::default()
        }
    }
}

/// A named operation.
#[async_trait]
pub trait Operation: Send + Sync {
    /// The registered name, e.g. `incidents.write`.
    fn name(&self) -> &'static str;
    /// Its methods.
    fn methods(&self) -> &'static [Method];
    /// Runs one method inside the spine's transaction.
    async fn execute(&self, call: Call<'_>) -> Result<Effects, OperationError>;
}

/// Collects operations at start-up.
#[derive(Default)]
pub struct RegistryBuilder {
    operations: BTreeMap<&'static str, Arc<dyn Operation>>,
}

impl RegistryBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers an operation; a name that is already registered is refused.
    pub fn register(mut self, operation: impl Operation + 'static) -> Result<Self, OperationError> {
        let name = operation.name();
        if self.operations.contains_key(name) {
            return Err(OperationError::Conflict {
                message: format!("operation `{name}` is already registered"),
            });
        }
        self.operations.insert(name, Arc::new(operation));
        Ok(self)
    }

    /// Ends registration.
    pub fn freeze(self) -> Registry {
        Registry {
            operations: self.operations,
        }
    }
}

/// The frozen set of operations.
#[derive(Clone)]
pub struct Registry {
    operations: BTreeMap<&'static str, Arc<dyn Operation>>,
}

impl Registry {
    /// The operation and method spec, or `unknown_operation`.
    pub(crate) fn resolve(
        &self,
        operation: &str,
        method: &str,
    ) -> Result<(&dyn Operation, Method), OperationError> {
        let op =
            self.operations
                .get(operation)
                .ok_or_else(|| OperationError::UnknownOperation {
                    name: operation.to_owned(),
                })?;
        let spec = op
            .methods()
            .iter()
            .find(|m| m.name == method)
            .copied()
            .ok_or_else(|| OperationError::UnknownOperation {
                name: format!("{operation}.{method}"),
            })?;
        Ok((op.as_ref(), spec))
    }

    /// Every registered `operation.method`, sorted.
    pub fn methods(&self) -> Vec<String> {
        let mut methods: Vec<String> = self
            .operations
            .values()
            .flat_map(|op| {
                op.methods()
                    .iter()
                    .map(move |m| format!("{}.{}", op.name(), m.name))
            })
            .collect();
        methods.sort();
        methods
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("methods", &self.methods())
            .finish()
    }
}
