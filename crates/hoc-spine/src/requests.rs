//! Every built-in request type, in one place: each is an [`crate::OperationMethod`] (it names its operation, says
//! whether it writes, and names its response), so `spine.call(&ctx, &request)` needs nothing else. Each domain's
//! `ops` file re-exports its own request and response types; this module gathers them.

pub use crate::ops::alerts::*;
pub use crate::ops::analytics::*;
pub use crate::ops::audit::*;
pub use crate::ops::events::*;
pub use crate::ops::incidents::*;
