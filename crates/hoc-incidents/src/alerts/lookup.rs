//! What applying a delivery reads before it needs an instant.
//!
//! An Alertmanager delivery locks its incident keys and reads its alerts' last versions and each key's last
//! incident before the spine takes the tenant clock ([`look_up`]), so the clock, which every write of the tenant
//! holds from its tick to its commit, is not held for those statements. What is read there stays true until the
//! commit: alert rows and the key-to-incident mapping are written only by deliveries holding the key's lock. Locks
//! keep one order: a delivery's key locks (taken in key order, by Alertmanager deliveries only, always before the
//! clock; PagerDuty's keys are another key space), then the clock, then incident rows. Whether the delivery was
//! applied before is read under the key locks too (a copy in flight holds them until it commits). The policy the keys
//! come from and the grouping configuration are read before the clock as well, so [`Lookup::still_current`] checks
//! them after it in one statement: a change in between means running the delivery again.

use std::collections::{BTreeMap, HashMap};

use hoc_drivers::alerts as driver;
use hoc_drivers::{AlertRow, DeliveryRow, Tx};

use super::{AlertStatus, Delivery, IngestOutcome, IngestPolicy, IngestReport};
use crate::IncidentError;
use crate::grouping::Grouping;

/// What [`look_up`] read, for [`super::ingest`].
pub struct Lookup {
    /// The version of the policy the keys were computed under.
    pub policy_version: i64,
    /// The delivery's identity ([`Delivery::identity`]).
    pub(super) identity: String,
    /// The delivery as applied before (read under its keys' locks, so a copy in flight was waited for).
    pub(super) applied: Option<DeliveryRow>,
    /// The tenant's grouping configuration, for the incidents the delivery opens.
    pub(super) grouping: Grouping,
    /// Whether `grouping` is the defaults of a tenant without incidents.
    pub(super) before_first_incident: bool,
    /// What it read under its keys' locks.
    pub(super) keyed: Keyed,
}

/// Locks `delivery`'s incident keys (in key order) and reads whether it was applied before, its alerts' last
/// versions, each key's last incident and the grouping configuration.
pub async fn look_up(
    tx: &Tx,
    tenant_id: &str,
    source: &str,
    delivery: &Delivery,
    policy: &IngestPolicy,
) -> Result<Lookup, IncidentError> {
    let keyed = lock_and_read(tx, tenant_id, source, delivery, policy).await?;
    let identity = delivery.identity();
    let applied = driver::delivery(tx, tenant_id, &identity).await?;
    let (grouping, before_first_incident) = Grouping::load_with_origin(tx, tenant_id).await?;
    Ok(Lookup {
        policy_version: policy.version,
        identity,
        applied,
        grouping,
        before_first_incident,
        keyed,
    })
}

/// What a delivery reads under its keys' locks.
pub(super) struct Keyed {
    /// Each alert's incident key, in the delivery's order.
    pub(super) alert_keys: Vec<String>,
    /// Per dedup key, the alert's last version.
    pub(super) latest: HashMap<String, AlertRow>,
    /// Per incident key of a firing alert, the key's last incident (open or not).
    pub(super) incidents: BTreeMap<String, Option<String>>,
}

/// Locks `delivery`'s incident keys (in key order) and reads its alerts' last versions and each firing key's last
/// incident.
pub(super) async fn lock_and_read(
    tx: &Tx,
    tenant_id: &str,
    source: &str,
    delivery: &Delivery,
    policy: &IngestPolicy,
) -> Result<Keyed, IncidentError> {
    let alert_keys: Vec<String> = delivery
        .alerts
        .iter()
        .map(|a| policy.incident_key(source, delivery, a))
        .collect();
    let mut keys: Vec<&String> = alert_keys.iter().collect();
    keys.sort();
    keys.dedup();
    // Deliveries of one key are applied one at a time (two could otherwise each open an incident).
    for key in &keys {
        driver::lock_key(tx, tenant_id, key).await?;
    }
    let dedup_keys: Vec<&str> = delivery
        .alerts
        .iter()
        .map(|a| a.dedup_key.as_str())
        .collect();
    let latest = driver::latest_by_keys(tx, tenant_id, source, &dedup_keys).await?;
    // Only a firing alert looks for its key's incident.
    let mut incidents = BTreeMap::new();
    for (alert, key) in delivery.alerts.iter().zip(&alert_keys) {
        if alert.status == AlertStatus::Firing && !incidents.contains_key(key) {
            let last = driver::incident_for_key(tx, tenant_id, source, key).await?;
            incidents.insert(key.clone(), last);
        }
    }
    Ok(Keyed {
        alert_keys,
        latest,
        incidents,
    })
}

impl Lookup {
    /// Whether what it read under `policy_version` and its grouping configuration still holds (after the clock:
    /// one statement). The key-guarded reads hold by the key locks; the configuration and policy are checked here.
    pub async fn still_current(&self, tx: &Tx, tenant_id: &str) -> Result<bool, IncidentError> {
        let now = driver::versions_now(tx, tenant_id).await?;
        Ok(now.policy == self.policy_version
            && now.grouping == self.grouping.version()
            && !(self.before_first_incident && now.has_incidents))
    }
}

/// The answer to a delivery applied before, from its record: the incidents it touched, each unchanged now.
pub(super) fn report_of(row: &DeliveryRow) -> IngestReport {
    let mut report: IngestReport = serde_json::from_str(&row.result).unwrap_or(IngestReport {
        incidents: Vec::new(),
    });
    for touched in &mut report.incidents {
        touched.outcome = IngestOutcome::Unchanged;
    }
    report
}
