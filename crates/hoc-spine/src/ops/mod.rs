//! The operations the spine registers at start-up.

pub(crate) mod analytics;
pub(crate) mod audit;
pub(crate) mod events;
pub(crate) mod incidents;

use serde::Serialize;
use serde_json::Value;

use crate::OperationError;

/// Serializes a response; failing to is a bug.
pub(crate) fn to_response(value: &impl Serialize) -> Result<Value, OperationError> {
    serde_json::to_value(value)
        .map_err(|e| OperationError::internal(format!("response does not serialize: {e}")))
}

/// A method name the operation declared but does not dispatch: a bug in the operation.
pub(crate) fn undispatched(operation: &str, method: &str) -> OperationError {
    OperationError::internal(format!(
        "{operation} declares `{method}` but does not dispatch it"
    ))
}
