//! Grouping people can steer: each tenant's grouping configuration (the primary signature algorithm, an optional
//! secondary one during a transition, and ordered fingerprint rules), how a new incident is assigned to a group
//! under it, and regrouping a tenant's incidents under another algorithm with a preview first.
//! See `docs/recurrence-signatures.md` ("Grouping configuration", "Regroup").

mod assign;
mod config;
mod learned;
mod regroup;
mod rules;
#[cfg(test)]
mod tests;

pub use assign::*;
pub use config::*;
pub use learned::*;
pub use regroup::*;
pub use rules::*;
