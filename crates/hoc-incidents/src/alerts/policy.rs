//! The tenant's ingest policy: which alerts share an incident, when they resolve it, how soon a new firing reopens
//! it, and how an alert's labels and annotations become the incident's title, severity and service. Versioned,
//! audited and announced like the grouping configuration; a read at an instant shows the version in force then.

use std::collections::BTreeMap;

use hoc_contracts::DomainEvent;
use hoc_contracts::input::{FreeText, JsonInt, Rule, Text, Vocabulary};
use hoc_contracts::outcome::AuditDraft;
use hoc_contracts::paging::ReadAt;
use hoc_contracts::time_format::{UtcTimestamp, utc};
use hoc_contracts::{FieldError, input::Severity};
use hoc_drivers::alerts as driver;
use hoc_drivers::{DbTime, IngestPolicyRow, Tx};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{Delivery, IncomingAlert};
use crate::procedures::{Caller, Outcome};
use crate::recurrence::sha256_hex;
use crate::{IncidentError, MAX_TEXT_CHARS};

hoc_contracts::vocabulary!(
    /// Which alerts share an incident.
    IncidentPer {
        /// One incident per sender group (Alertmanager's `groupKey`; PagerDuty's `dedup_key`).
        Group = "group",
        /// One incident per alert (its fingerprint).
        Alert = "alert",
    }
);

hoc_contracts::vocabulary!(
    /// When the alerts of an incident resolve it.
    ResolveOn {
        /// When every one of its alerts resolved.
        All = "all",
        /// When the first one resolved.
        First = "first",
        /// Never: an operator resolves it.
        Never = "never",
    }
);

/// Longest reopen window: 30 days.
pub const MAX_REOPEN_WINDOW_SECONDS: i64 = 30 * 24 * 3600;
/// Most entries of a severity map.
pub const MAX_SEVERITY_MAP_ENTRIES: usize = 32;
/// Longest label name the policy names.
pub const LABEL_NAME_MAX_CHARS: usize = 63;
/// Longest title template.
pub const TITLE_TEMPLATE_MAX_CHARS: usize = 255;

/// How a tenant's alerts become incidents (the HTTP API's ingest-policy object).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct IngestPolicy {
    /// Its version: 1, 2, … for each change; 0 for a tenant that never set one (the defaults).
    pub version: i64,
    /// Which alerts share an incident: `group` or `alert`.
    #[schemars(with = "String")]
    pub incident_per: IncidentPer,
    /// When the alerts resolve their incident: `all`, `first` or `never`.
    #[schemars(with = "String")]
    pub resolve_on: ResolveOn,
    /// A new firing within this many seconds of its incident's resolution reopens it (0: opens a new one).
    pub reopen_window_seconds: i64,
    /// The label whose value names the severity.
    pub severity_label: String,
    /// The sender's severities onto ours (a value that already is one of ours is kept; anything else: medium).
    pub severity_map: BTreeMap<String, String>,
    /// The incident's title, `{name}` replaced by the annotation, else the label, of that name; none: the
    /// `summary` annotation, else the `alertname` label.
    pub title_template: Option<String>,
    /// The label whose value names the service.
    pub service_label: String,
    /// When this version was written (none for the defaults).
    #[serde(with = "utc::option")]
    #[schemars(with = "Option<UtcTimestamp>")]
    pub updated_at: Option<OffsetDateTime>,
    /// Who wrote it (none for the defaults).
    pub updated_by: Option<String>,
}

/// What a policy version stores (the object without its version and authorship).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Stored {
    incident_per: IncidentPer,
    resolve_on: ResolveOn,
    reopen_window_seconds: i64,
    severity_label: String,
    severity_map: BTreeMap<String, String>,
    title_template: Option<String>,
    service_label: String,
}

impl IngestPolicy {
    /// The policy of a tenant that never set one.
    pub fn defaults() -> Self {
        Self {
            version: 0,
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
            title_template: None,
            service_label: "service".to_owned(),
            updated_at: None,
            updated_by: None,
        }
    }

    fn from_row(row: IngestPolicyRow) -> Result<Self, IncidentError> {
        let stored: Stored = serde_json::from_str(&row.policy).map_err(|e| {
            IncidentError::Storage(hoc_drivers::StorageError::Corrupt {
                table: "ingest_policies",
                problem: format!("tenant {} version {}: {e}", row.tenant_id, row.version),
            })
        })?;
        Ok(Self {
            version: row.version,
            incident_per: stored.incident_per,
            resolve_on: stored.resolve_on,
            reopen_window_seconds: stored.reopen_window_seconds,
            severity_label: stored.severity_label,
            severity_map: stored.severity_map,
            title_template: stored.title_template,
            service_label: stored.service_label,
            updated_at: Some(row.created_at.get()),
            updated_by: Some(row.created_by),
        })
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
        self.severity_map
            .get(&raw)
            .cloned()
            .or_else(|| Severity::from_wire(&raw).map(|_| raw))
            .unwrap_or_else(|| "medium".to_owned())
    }

    /// The title template filled in with `value` (an annotation, else a label, by name); `None` without a template.
    pub(super) fn title<'a>(&self, value: impl Fn(&str) -> Option<&'a String>) -> Option<String> {
        let template = self.title_template.as_deref()?;
        let mut out = String::new();
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            match rest[open + 1..].find('}') {
                Some(close) => {
                    let name = rest[open + 1..open + 1 + close].trim();
                    out.push_str(value(name).map_or("", String::as_str));
                    rest = &rest[open + 1 + close + 1..];
                }
                None => {
                    out.push_str(&rest[open..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        Some(out)
    }
}

/// A reopen window in seconds: 0 to 30 days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReopenWindow;

impl Rule for ReopenWindow {
    type Raw = i64;
    type Out = i64;

    fn schema() -> Value {
        json!({ "type": "integer", "minimum": 0, "maximum": MAX_REOPEN_WINDOW_SECONDS })
    }

    fn parse(field: &str, raw: &i64, errors: &mut Vec<FieldError>) -> Option<i64> {
        if (0..=MAX_REOPEN_WINDOW_SECONDS).contains(raw) {
            Some(*raw)
        } else {
            errors.push(FieldError::new(
                field,
                format!("must be 0 to {MAX_REOPEN_WINDOW_SECONDS} seconds"),
            ));
            None
        }
    }
}

/// A severity map: at most 32 entries, each a sender's severity (1–63 characters, stored and matched lowercase) onto one of
/// ours (`critical`, `high`, `medium`, `low`, `info`). Every bad entry is named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeverityMap;

impl Rule for SeverityMap {
    type Raw = BTreeMap<String, String>;
    type Out = BTreeMap<String, String>;

    fn schema() -> Value {
        json!({
            "type": "object",
            "maxProperties": MAX_SEVERITY_MAP_ENTRIES,
            "propertyNames": { "minLength": 1, "maxLength": LABEL_NAME_MAX_CHARS, "pattern": "^[^\\x00-\\x1f\\x7f-\\x9f]+$" },
            "additionalProperties": { "type": "string", "enum": Severity::WIRE },
        })
    }

    fn parse(
        field: &str,
        raw: &BTreeMap<String, String>,
        errors: &mut Vec<FieldError>,
    ) -> Option<BTreeMap<String, String>> {
        let before = errors.len();
        if raw.len() > MAX_SEVERITY_MAP_ENTRIES {
            errors.push(FieldError::new(
                field,
                format!("must have at most {MAX_SEVERITY_MAP_ENTRIES} entries"),
            ));
        }
        for (key, value) in raw {
            let chars = key.chars().count();
            if chars == 0 || chars > LABEL_NAME_MAX_CHARS || key.chars().any(char::is_control) {
                errors.push(FieldError::new(
                    field,
                    format!(
                        "key {key:?} must be 1 to {LABEL_NAME_MAX_CHARS} characters without control characters"
                    ),
                ));
            }
            if Severity::from_wire(value).is_none() {
                errors.push(FieldError::new(
                    field,
                    format!(
                        "value of {key:?} must be one of {}",
                        Severity::WIRE.join(", ")
                    ),
                ));
            }
        }
        (errors.len() == before).then(|| raw.clone())
    }
}

/// A label name the policy reads.
pub type LabelName = Text<{ LABEL_NAME_MAX_CHARS }>;
/// A title template.
pub type TitleTemplate = Text<{ TITLE_TEMPLATE_MAX_CHARS }>;

hoc_contracts::request! {
    /// The tenant's ingest policy (at `as_of`, if given).
    pub struct GetIngestPolicy => IngestPolicyQuery {}
}

hoc_contracts::request! {
    /// Replace the tenant's ingest policy with a new version; a field left out takes its default.
    pub struct PutIngestPolicy => NewIngestPolicy {
        /// Which alerts share an incident: `group` (default) or `alert`.
        incident_per: Option<String> => optional IncidentPer,
        /// When the alerts resolve their incident: `all` (default), `first` or `never`.
        resolve_on: Option<String> => optional ResolveOn,
        /// A new firing within this many seconds of its incident's resolution reopens it (default 0).
        reopen_window_seconds: Option<JsonInt> => optional ReopenWindow,
        /// The label whose value names the severity (default `severity`).
        severity_label: Option<String> => optional LabelName,
        /// The sender's severities onto ours (default: critical, error → high, warning → medium, info).
        severity_map: Option<BTreeMap<String, String>> => optional SeverityMap,
        /// The incident's title, `{name}` replaced by that annotation or label (default: the `summary` annotation,
        /// else `alertname`).
        title_template: Option<String> => optional TitleTemplate,
        /// The label whose value names the service (default `service`).
        service_label: Option<String> => optional LabelName,
        /// Write only if the current policy has this version (0: never set); otherwise `stale_version`.
        expected_version: Option<JsonInt> => optional crate::grouping::ConfigVersion,
        /// Why (recorded in the audit entry).
        reason: Option<String> => optional FreeText<{ MAX_TEXT_CHARS }>,
    }
}

/// The tenant's ingest policy as of the read's instant.
pub async fn get_policy(
    tx: &Tx,
    tenant_id: &str,
    at: ReadAt,
) -> Result<IngestPolicy, IncidentError> {
    policy_at(tx, tenant_id, Some(DbTime::new(at.instant()))).await
}

/// The tenant's policy at `at` (now when none): its newest version written by then, or the defaults.
pub async fn policy_at(
    tx: &Tx,
    tenant_id: &str,
    at: Option<DbTime>,
) -> Result<IngestPolicy, IncidentError> {
    match driver::policy_at(tx, tenant_id, at).await? {
        Some(row) => IngestPolicy::from_row(row),
        None => Ok(IngestPolicy::defaults()),
    }
}

/// Writes a new version of the tenant's ingest policy, audited and announced.
pub async fn put_policy(
    tx: &Tx,
    caller: &Caller<'_>,
    input: NewIngestPolicy,
) -> Result<Outcome<IngestPolicy>, IncidentError> {
    let tenant_id = caller.tenant_id;
    let before = policy_at(tx, tenant_id, None).await?;
    if let Some(expected) = input.expected_version
        && expected != before.version
    {
        return Err(IncidentError::StaleVersion {
            message: format!(
                "the ingest policy is at version {}, not {expected}",
                before.version
            ),
        });
    }
    let defaults = IngestPolicy::defaults();
    let stored = Stored {
        incident_per: input.incident_per.unwrap_or(defaults.incident_per),
        resolve_on: input.resolve_on.unwrap_or(defaults.resolve_on),
        reopen_window_seconds: input
            .reopen_window_seconds
            .unwrap_or(defaults.reopen_window_seconds),
        severity_label: input
            .severity_label
            .map_or(defaults.severity_label, Text::into_string),
        severity_map: input
            .severity_map
            .map(|m| m.into_iter().map(|(k, v)| (k.to_lowercase(), v)).collect())
            .unwrap_or(defaults.severity_map),
        title_template: input.title_template.map(Text::into_string),
        service_label: input
            .service_label
            .map_or(defaults.service_label, Text::into_string),
    };
    let row = IngestPolicyRow {
        tenant_id: tenant_id.to_owned(),
        version: before.version + 1,
        policy: serde_json::to_string(&stored).map_err(|e| {
            IncidentError::Storage(hoc_drivers::StorageError::Corrupt {
                table: "ingest_policies",
                problem: e.to_string(),
            })
        })?,
        created_at: caller.now.into(),
        created_by: caller.actor.actor_id.clone(),
    };
    driver::insert_policy(tx, row.clone()).await?;
    let after = IngestPolicy::from_row(row)?;
    let state = |p: &IngestPolicy| serde_json::to_value(p).unwrap_or(Value::Null);
    Ok(Outcome {
        audit: vec![AuditDraft {
            entity_type: "ingest_policy",
            entity_id: tenant_id.to_owned(),
            action: "incidents.alerts.put_policy",
            reason: input.reason.map(FreeText::into_string),
            before_state: Some(state(&before)),
            after_state: Some(state(&after)),
        }],
        events: vec![DomainEvent::IngestPolicyChanged(
            hoc_contracts::events::IngestPolicyChanged {
                policy_version: after.version,
                incident_per: after.incident_per.as_str().to_owned(),
                resolve_on: after.resolve_on.as_str().to_owned(),
            },
        )],
        response: after,
    })
}
