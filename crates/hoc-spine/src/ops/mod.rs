//! The operation methods the spine provides, one file per domain: one `operation_method!` per request type, and
//! one `declare` that names each method once — with its HTTP route where it has one (`crate::http`) — and that
//! [`crate::declare_builtin`] walks for the registry and for hosts.
pub(crate) mod alerts;
pub(crate) mod analytics;
pub(crate) mod audit;
pub(crate) mod events;
pub(crate) mod incidents;

use hoc_contracts::FieldError;
use hoc_contracts::paging::ReadAt;

use crate::{Call, OperationError};

/// When a read happens: the context's `as_of`, if any, and the call's time.
pub(crate) fn read_at(call: &Call<'_>) -> ReadAt {
    ReadAt {
        as_of: call.ctx.as_of(),
        now: call.now,
    }
}

/// Every bad field of a request, as the spine's error.
pub(crate) fn invalid(fields: Vec<FieldError>) -> OperationError {
    OperationError::invalid(fields)
}

/// Implements [`crate::OperationMethod`] for a request type: name, whether it writes, response, and the body
/// that runs with `$request` (the request) and `$call` (the [`crate::Call`]).
macro_rules! operation_method {
    ($request:ty => $operation:literal . $method:literal, writes = $writes:literal, -> $response:ty,
     |$this:ident, $call:ident| $body:expr) => {
        #[async_trait::async_trait]
        impl $crate::OperationMethod for $request {
            const OPERATION: &'static str = $operation;
            const METHOD: &'static str = $method;
            const WRITES: bool = $writes;
            type Response = $response;

            async fn run(
                &self,
                $call: $crate::Call<'_>,
            ) -> Result<$crate::Output<$response>, $crate::OperationError> {
                let $this = self;
                $body
            }
        }
    };
}

pub(crate) use operation_method;
