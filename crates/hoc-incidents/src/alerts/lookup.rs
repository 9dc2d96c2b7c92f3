//! What applying a delivery reads before it needs an instant.
//!
//! An Alertmanager delivery locks its incident keys and reads its alerts' last versions and each key's last
//! incident before the spine takes the tenant clock ([`look_up`]), so the clock, which every write of the tenant
//! holds from its tick to its commit, is not held for those statements. What is read there stays true until the
//! commit: alert rows and the key-to-incident mapping are written only by deliveries holding the key's lock. Locks
//! keep one order: a delivery's key locks (taken in key order, by Alertmanager deliveries only, always before the
//! clock; PagerDuty's keys are another key space), then the clock, then incident rows. The policy the keys come
//! from is read before the clock too, so [`Lookup::policy_version`] is checked again after it (by the caller):
//! a policy changed in between means running the delivery again.

use std::collections::{BTreeMap, HashMap};

use hoc_drivers::alerts as driver;
use hoc_drivers::{AlertRow, Tx};

use super::{AlertStatus, Delivery, IngestPolicy};
use crate::IncidentError;

/// What [`look_up`] read, for [`super::ingest`].
#[derive(Debug, Clone)]
pub struct Lookup {
    /// The version of the policy the keys were computed under.
    pub policy_version: i64,
    /// Each alert's incident key, in the delivery's order.
    pub(super) alert_keys: Vec<String>,
    /// Per dedup key, the alert's last version.
    pub(super) latest: HashMap<String, AlertRow>,
    /// Per incident key of a firing alert, the key's last incident (open or not).
    pub(super) incidents: BTreeMap<String, Option<String>>,
}

/// Locks `delivery`'s incident keys (in key order) and reads its alerts' last versions and each key's last incident.
pub async fn look_up(
    tx: &Tx,
    tenant_id: &str,
    source: &str,
    delivery: &Delivery,
    policy: &IngestPolicy,
) -> Result<Lookup, IncidentError> {
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
    Ok(Lookup {
        policy_version: policy.version,
        alert_keys,
        latest,
        incidents,
    })
}
