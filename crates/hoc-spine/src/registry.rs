//! Operation methods, registered once at start-up by type and then frozen.
//!
//! An operation method is a type: its request. It names its operation and method, says whether it writes, names
//! its response type, and runs inside the spine's transaction ([`OperationMethod`]). [`RegistryBuilder`] is the
//! only type that can add one; [`RegistryBuilder::freeze`] consumes it and returns a [`Registry`], which has no way
//! to add or replace one. A second registration of a name is refused.

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::Arc;

use async_trait::async_trait;
use hoc_contracts::input::RequestSchema;
use hoc_drivers::Tx;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use time::OffsetDateTime;

use crate::{Idempotency, OperationContext, OperationError, Replayable, Spine, StoredResponse};

/// Everything an operation method gets for one call.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// Who is calling.
    pub ctx: &'a OperationContext,
    /// The transaction the spine owns; borrow it, never end it.
    pub tx: &'a Tx,
    /// The time of the call (one value for the whole operation).
    pub now: OffsetDateTime,
    /// What the method's [`OperationMethod::prepare`] read before this transaction began (`None` for a method that
    /// prepares nothing, and in `prepare` itself).
    pub prepared: Option<&'a (dyn std::any::Any + Send + Sync)>,
}

/// What [`OperationMethod::prepare`] read, for [`Call::prepared`].
pub type Prepared = Box<dyn std::any::Any + Send + Sync>;

/// What an operation method did: its response, and the audit entries and events the spine writes before commit
/// (the engines' [`hoc_contracts::outcome::Outcome`], one type from the engine to the spine).
pub type Output<T> = hoc_contracts::outcome::Outcome<T>;

/// An operation method: a request type that names itself and runs in the spine's transaction.
///
/// The request's shape is its serde form (unknown fields refused); its rules are its `parse` (see
/// [`hoc_contracts::request!`]); its JSON Schema comes from the same declaration, so the OpenAPI document of a host
/// cannot drift from what the method accepts.
#[async_trait]
pub trait OperationMethod:
    RequestSchema + Serialize + DeserializeOwned + Send + Sync + 'static
{
    /// The operation, e.g. `incidents.write`.
    const OPERATION: &'static str;
    /// The method, e.g. `resolve`.
    const METHOD: &'static str;
    /// Whether it writes (a write transaction; it may return audit entries and events).
    const WRITES: bool;
    /// What it answers.
    type Response: Serialize + DeserializeOwned + schemars::JsonSchema + Send;

    /// Whether a write reads first, with [`Self::prepare`].
    const PREPARES: bool = false;

    /// Parses the request and runs the method inside the spine's transaction.
    async fn run(&self, call: Call<'_>) -> Result<Output<Self::Response>, OperationError>;

    /// For a write whose reading is long (when [`Self::PREPARES`]): reads what it needs before its write
    /// transaction begins, on a reader at the tenant's last committed instant (`call.now`), so that no write lock
    /// is held while it reads; [`Self::run`] gets the result as [`Call::prepared`] and must check, under its lock,
    /// that what it was read from has not changed since.
    async fn prepare(&self, _call: Call<'_>) -> Result<Prepared, OperationError> {
        Ok(Box::new(()))
    }

    /// Whether a write parses its request before its transaction begins, with [`Self::parse_first`] (a method
    /// that [`Self::PREPARES`] does not).
    const PARSES_FIRST: bool = false;

    /// For a write whose request is long to parse (when [`Self::PARSES_FIRST`]): parses it before the transaction
    /// begins, so no lock is held while it does (on SQLite every write of the database waits for a transaction
    /// that holds the write lock). The result is [`Call::prepared`] in [`Self::before_clock`], or in
    /// [`Self::run`] for a method without it. It reads nothing.
    fn parse_first(&self) -> Result<Prepared, OperationError> {
        Ok(Box::new(()))
    }

    /// Whether a write runs [`Self::before_clock`] in its transaction before the tenant clock is taken.
    const BEFORE_CLOCK: bool = false;

    /// For a write whose first statements need no instant (when [`Self::BEFORE_CLOCK`]): runs in the write
    /// transaction before the spine takes the tenant clock, which every write of the tenant holds from its tick to
    /// its commit, so those statements do not lengthen that queue. It may only read, and take locks that every
    /// holder takes before the clock (the lock order stays: such locks, the clock, then rows); what it reads must
    /// stay true until the commit (guarded by those locks), or be checked again by [`Self::run`], which gets the
    /// result as [`Call::prepared`] (replacing [`Self::prepare`]'s, which `before_clock` itself gets). `call.now`
    /// is the wall clock here, not an instant of the tenant: nothing may be written with it.
    async fn before_clock(&self, _call: Call<'_>) -> Result<Prepared, OperationError> {
        Ok(Box::new(()))
    }
}

/// `operation.method` of a method type.
pub fn method_name<M: OperationMethod>() -> String {
    format!("{}.{}", M::OPERATION, M::METHOD)
}

/// The JSON door onto one registered method: decodes the payload into the method's request type, then takes
/// exactly the typed path.
#[async_trait]
pub(crate) trait JsonMethod: Send + Sync {
    async fn execute(
        &self,
        spine: &Spine,
        ctx: &OperationContext,
        payload: Value,
    ) -> Result<Value, OperationError>;

    async fn execute_idempotent(
        &self,
        spine: &Spine,
        ctx: &OperationContext,
        payload: Value,
        idempotency: &Idempotency,
        respond: Respond,
    ) -> Result<Replayable, OperationError>;
}

/// How the JSON door turns a response into what it stores with an idempotency key.
pub(crate) type Respond = Box<dyn for<'v> Fn(&'v Value) -> StoredResponse + Send + Sync>;

struct Typed<M>(PhantomData<fn() -> M>);

fn decode<M: OperationMethod>(payload: Value) -> Result<M, OperationError> {
    hoc_contracts::input::decode(payload)
        .map_err(|message| OperationError::MalformedRequest { message })
}

pub(crate) fn to_value(value: &impl Serialize) -> Result<Value, OperationError> {
    serde_json::to_value(value)
        .map_err(|e| OperationError::internal(format!("response does not serialize: {e}")))
}

#[async_trait]
impl<M: OperationMethod> JsonMethod for Typed<M> {
    async fn execute(
        &self,
        spine: &Spine,
        ctx: &OperationContext,
        payload: Value,
    ) -> Result<Value, OperationError> {
        let request = decode::<M>(payload)?;
        to_value(&spine.call_registered(ctx, &request).await?)
    }

    async fn execute_idempotent(
        &self,
        spine: &Spine,
        ctx: &OperationContext,
        payload: Value,
        idempotency: &Idempotency,
        respond: Respond,
    ) -> Result<Replayable, OperationError> {
        let request = decode::<M>(payload)?;
        spine
            .call_idempotent_registered(ctx, &request, idempotency, |response| {
                let value = to_value(response)?;
                Ok(respond(&value))
            })
            .await
    }
}

/// Collects operation methods at start-up.
///
/// A host registers its own methods beside the built-ins: a request declared with [`crate::request!`] that
/// implements [`OperationMethod`].
///
/// ```
/// use hoc_spine::input::Text;
/// use hoc_spine::{Call, OperationError, OperationMethod, Output, builtin_operations};
///
/// hoc_spine::request! {
///     /// Say hello.
///     pub struct Hello => HelloInput {
///         /// Who to greet.
///         name: Option<String> => required Text<32>,
///     }
/// }
///
/// #[hoc_spine::async_trait::async_trait]
/// impl OperationMethod for Hello {
///     const OPERATION: &'static str = "host.greetings";
///     const METHOD: &'static str = "hello";
///     const WRITES: bool = false;
///     type Response = String;
///
///     async fn run(&self, _call: Call<'_>) -> Result<Output<String>, OperationError> {
///         let input = self.parse().map_err(OperationError::invalid)?;
///         Ok(Output::read(format!("hello, {}", input.name)))
///     }
/// }
///
/// let registry = builtin_operations().unwrap().register::<Hello>().unwrap().freeze();
/// assert!(registry.contains::<Hello>());
/// // The same name twice is refused.
/// assert!(builtin_operations().unwrap().register::<Hello>().unwrap().register::<Hello>().is_err());
/// ```
#[derive(Default)]
pub struct RegistryBuilder {
    methods: BTreeMap<(&'static str, &'static str), Arc<dyn JsonMethod>>,
}

impl RegistryBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers the method `M`; a name that is already registered is refused.
    pub fn register<M: OperationMethod>(mut self) -> Result<Self, OperationError> {
        self.insert::<M>()?;
        Ok(self)
    }

    fn insert<M: OperationMethod>(&mut self) -> Result<(), OperationError> {
        let key = (M::OPERATION, M::METHOD);
        if self.methods.contains_key(&key) {
            return Err(OperationError::Conflict {
                message: format!("operation `{}` is already registered", method_name::<M>()),
            });
        }
        self.methods.insert(key, Arc::new(Typed::<M>(PhantomData)));
        Ok(())
    }

    /// Ends registration.
    pub fn freeze(self) -> Registry {
        Registry {
            methods: self.methods,
        }
    }
}

impl crate::http::Methods for RegistryBuilder {
    fn method<M: OperationMethod>(&mut self) -> Result<(), OperationError> {
        self.insert::<M>()
    }

    fn route<M: OperationMethod, S: crate::http::Shape<M::Response>>(
        &mut self,
        _route: crate::http::Route<M, S>,
    ) -> Result<(), OperationError> {
        self.insert::<M>()
    }
}

/// The frozen set of operation methods.
#[derive(Clone)]
pub struct Registry {
    methods: BTreeMap<(&'static str, &'static str), Arc<dyn JsonMethod>>,
}

impl Registry {
    /// The method registered as `operation.method`, or `unknown_operation`.
    pub(crate) fn resolve(
        &self,
        operation: &str,
        method: &str,
    ) -> Result<Arc<dyn JsonMethod>, OperationError> {
        self.methods
            .get(&(operation, method))
            .cloned()
            .ok_or_else(|| OperationError::UnknownOperation {
                name: if self.methods.keys().any(|(op, _)| *op == operation) {
                    format!("{operation}.{method}")
                } else {
                    operation.to_owned()
                },
            })
    }

    /// Whether `M` is registered.
    pub fn contains<M: OperationMethod>(&self) -> bool {
        self.methods.contains_key(&(M::OPERATION, M::METHOD))
    }

    /// Every registered `operation.method`, sorted.
    pub fn methods(&self) -> Vec<String> {
        self.methods
            .keys()
            .map(|(op, method)| format!("{op}.{method}"))
            .collect()
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("methods", &self.methods())
            .finish()
    }
}
