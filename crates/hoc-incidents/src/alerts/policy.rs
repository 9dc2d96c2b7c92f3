//! The tenant's ingest policy: which alerts share an incident, when they resolve it, and how an alert's labels become
//! the incident's severity and service.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Delivery, IncomingAlert};
use crate::recurrence::sha256_hex;

/// Which alerts share an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IncidentPer {
    /// One incident per sender group (Alertmanager's `groupKey`).
    Group,
    /// One incident per alert.
    Alert,
}

/// When the alerts of an incident resolve it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResolveOn {
    /// When every one of its alerts resolved.
    All,
    /// When the first one resolved.
    First,
    /// Never: an operator resolves it.
    Never,
}

/// How a tenant's alerts become incidents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct IngestPolicy {
    /// Which alerts share an incident.
    pub incident_per: IncidentPer,
    /// When the alerts resolve their incident.
    pub resolve_on: ResolveOn,
    /// A new firing within this many seconds of its incident's resolution reopens it (0: opens a new one).
    pub reopen_window_seconds: i64,
    /// The label whose value names the severity.
    pub severity_label: String,
    /// The sender's severities onto ours (a value that already is one of ours is kept).
    pub severity_map: BTreeMap<String, String>,
    /// The label whose value names the service.
    pub service_label: String,
}

impl IngestPolicy {
    /// The policy of a tenant that never set one.
    pub fn defaults() -> Self {
        Self {
            incident_per: IncidentPer::Group,
            resolve_on: ResolveOn::All,
            reopen_window_seconds: 0,
            severity_label: "severity".to_owned(),
            severity_map: [
                ("critical", "critical"),
                ("error", "high"),
                ("warning", "medium"),
                ("info", "info"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
            service_label: "service".to_owned(),
        }
    }

    /// The digest of the key an alert's incident is found by.
    pub(super) fn incident_key(
        &self,
        source: &str,
        delivery: &Delivery,
        alert: &IncomingAlert,
    ) -> String {
        match self.incident_per {
            IncidentPer::Group => {
                sha256_hex(&json!([source, "group", delivery.group_key]).to_string())
            }
            IncidentPer::Alert => {
                sha256_hex(&json!([source, "alert", alert.dedup_key]).to_string())
            }
        }
    }

    pub(super) fn severity(&self, labels: &BTreeMap<String, String>) -> String {
        let raw = labels
            .get(&self.severity_label)
            .map(|s| s.trim().to_lowercase())
            .unwrap_or_default();
        const OURS: [&str; 5] = ["critical", "high", "medium", "low", "info"];
        self.severity_map
            .get(&raw)
            .cloned()
            .or_else(|| OURS.contains(&raw.as_str()).then_some(raw))
            .unwrap_or_else(|| "medium".to_owned())
    }
}
