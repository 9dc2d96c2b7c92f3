//! What alerts are: a delivery and its alerts as parsed, an alert as stored and read, and what a delivery did.

use std::collections::BTreeMap;

use hoc_contracts::time_format::{UtcTimestamp, format_utc, utc};
use hoc_drivers::{AlertRow, DbTime};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;

use crate::recurrence::sha256_hex;

/// Longest sender key kept (PagerDuty's `dedup_key` limit).
pub const MAX_DEDUP_KEY_CHARS: usize = 255;

/// Whether an alert fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    /// It fires.
    Firing,
    /// It ended.
    Resolved,
}

impl AlertStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Firing => "firing",
            Self::Resolved => "resolved",
        }
    }
}

/// One alert of a delivery, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingAlert {
    /// The sender's key, verbatim.
    pub dedup_key: String,
    /// Firing or resolved.
    pub status: AlertStatus,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Its annotations.
    pub annotations: BTreeMap<String, String>,
    /// When it started.
    pub starts_at: OffsetDateTime,
    /// When it ended (none while firing).
    pub ends_at: Option<OffsetDateTime>,
    /// The sender's page of its rule.
    pub generator_url: Option<String>,
}

/// A delivery of alerts, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The group the sender routed the alerts in.
    pub group_key: String,
    /// How many alerts the sender left out.
    pub truncated: i64,
    /// The labels every alert has.
    pub common_labels: BTreeMap<String, String>,
    /// The annotations every alert has.
    pub common_annotations: BTreeMap<String, String>,
    /// The alerts, in the sender's order.
    pub alerts: Vec<IncomingAlert>,
}

impl Delivery {
    /// Its identity: SHA-256 (hex) of the group key and each alert's (key, status, start, end), the alerts sorted.
    /// Nothing else counts: an HA peer's copy (another `externalURL`) is the same delivery.
    pub fn identity(&self) -> String {
        let mut alerts: Vec<[String; 4]> = self
            .alerts
            .iter()
            .map(|a| {
                [
                    a.dedup_key.clone(),
                    a.status.as_str().to_owned(),
                    format_utc(a.starts_at),
                    a.ends_at.map(format_utc).unwrap_or_default(),
                ]
            })
            .collect();
        alerts.sort();
        sha256_hex(&json!([self.group_key, alerts]).to_string())
    }
}

/// What a delivery did to one incident.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum IngestOutcome {
    /// Nothing (a duplicate delivery, a replay).
    Unchanged,
    /// Its alerts changed.
    Updated,
    /// It was resolved by its alerts.
    Resolved,
    /// It was opened (or reopened) by the delivery.
    Created,
}

/// One incident a delivery touched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct IncidentTouched {
    /// The incident.
    pub id: String,
    /// What happened to it.
    pub outcome: IngestOutcome,
}

/// The answer to a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct IngestReport {
    /// The incidents the delivery touched, in the order it first named them.
    pub incidents: Vec<IncidentTouched>,
}

impl IngestReport {
    pub(super) fn touch(&mut self, id: &str, outcome: IngestOutcome) {
        match self.incidents.iter_mut().find(|t| t.id == id) {
            Some(t) => t.outcome = t.outcome.max(outcome),
            None => self.incidents.push(IncidentTouched {
                id: id.to_owned(),
                outcome,
            }),
        }
    }
}

/// An alert (the HTTP API's alert object).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Alert {
    /// Its id.
    pub alert_id: String,
    /// Who sent it: `alertmanager`.
    pub source: String,
    /// The sender's key, verbatim (Alertmanager's `fingerprint`).
    pub dedup_key: String,
    /// Firing or resolved.
    pub status: AlertStatus,
    /// Its labels as sent.
    pub labels: BTreeMap<String, String>,
    /// Its annotations as sent.
    pub annotations: BTreeMap<String, String>,
    /// When it started firing.
    #[serde(with = "utc")]
    #[schemars(with = "UtcTimestamp")]
    pub starts_at: OffsetDateTime,
    /// When it ended.
    #[serde(with = "utc::option")]
    #[schemars(with = "Option<UtcTimestamp>")]
    pub ends_at: Option<OffsetDateTime>,
    /// When a delivery last named it.
    #[serde(with = "utc")]
    #[schemars(with = "UtcTimestamp")]
    pub last_received_at: OffsetDateTime,
    /// When it first arrived (the order of the alert lists).
    #[serde(with = "utc")]
    #[schemars(with = "UtcTimestamp")]
    pub first_received_at: OffsetDateTime,
    /// Its distinct firings, from 1.
    pub occurrences: i64,
    /// The incident it feeds.
    pub incident_id: String,
    /// The version of the alert shown, from 1.
    pub version: i64,
}

pub(super) fn map_of(column: &str) -> BTreeMap<String, String> {
    serde_json::from_str(column).unwrap_or_default()
}

impl From<AlertRow> for Alert {
    fn from(row: AlertRow) -> Self {
        Self {
            status: if row.status == "resolved" {
                AlertStatus::Resolved
            } else {
                AlertStatus::Firing
            },
            labels: map_of(&row.labels),
            annotations: map_of(&row.annotations),
            alert_id: row.alert_id,
            source: row.source,
            dedup_key: row.dedup_key,
            starts_at: row.starts_at.get(),
            ends_at: row.ends_at.map(DbTime::get),
            last_received_at: row.last_received_at.get(),
            first_received_at: row.created_at.get(),
            occurrences: row.occurrences,
            incident_id: row.incident_id,
            version: row.version,
        }
    }
}

/// The alerts of an incident at an instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Alerts {
    /// The alerts, oldest first by (first received, id), each as it was at `as_of`.
    pub items: Vec<Alert>,
    /// The point in time the read shows.
    #[serde(with = "utc")]
    #[schemars(with = "UtcTimestamp")]
    pub as_of: OffsetDateTime,
}
