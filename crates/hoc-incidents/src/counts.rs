//! How many incidents the tenant has in each status, at an instant: the list's counts (the console's status tabs).
//! Kept per change by storage (`incident_status_counts`), so a read is one seek per status at any number of
//! incidents, and `as_of` gives the counts as they were.

use hoc_contracts::paging::ReadAt;
use hoc_drivers::{DbTime, incidents};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::IncidentError;

hoc_contracts::request! {
    /// How many of the tenant's incidents are in each status (at `as_of`, if given).
    pub struct CountIncidents => CountQuery {}
}

/// The tenant's incidents by status at an instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct IncidentCounts {
    /// Open (not yet acknowledged).
    pub open: i64,
    /// Acknowledged.
    pub acknowledged: i64,
    /// Resolved.
    pub resolved: i64,
    /// Closed.
    pub closed: i64,
    /// All of them.
    pub total: i64,
    /// The instant counted.
    #[serde(with = "hoc_contracts::time_format::utc")]
    #[schemars(with = "hoc_contracts::time_format::UtcTimestamp")]
    pub as_of: OffsetDateTime,
}

/// The statuses counted, in the order of [`IncidentCounts`].
const STATUSES: [&str; 4] = ["open", "acknowledged", "resolved", "closed"];

/// The tenant's counts at the read's instant.
pub async fn counts(
    tx: &hoc_drivers::Tx,
    tenant_id: &str,
    _query: CountQuery,
    at: ReadAt,
) -> Result<IncidentCounts, IncidentError> {
    let as_of = at.instant();
    let counts = incidents::status_counts_at(tx, tenant_id, &STATUSES, DbTime::new(as_of)).await?;
    let [open, acknowledged, resolved, closed] =
        [0, 1, 2, 3].map(|i| counts.get(i).copied().unwrap_or(0));
    Ok(IncidentCounts {
        open,
        acknowledged,
        resolved,
        closed,
        total: open + acknowledged + resolved + closed,
        as_of,
    })
}
