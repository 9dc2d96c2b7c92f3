//! Alertmanager's webhook body, version 4, as Alertmanager sends it, and its parsing into a [`Delivery`].
//!
//! Fields Alertmanager may add in later versions are ignored (a receiver that refused them would lose alerts:
//! Alertmanager never retries a 4xx); every field it sends today is read or kept.

use std::collections::BTreeMap;

use hoc_contracts::FieldError;
use hoc_contracts::input::{FieldSchema, JsonInt, RequestSchema, parse_timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{AlertStatus, Delivery, IncomingAlert, MAX_DEDUP_KEY_CHARS};

/// Most alerts one delivery may carry.
pub const MAX_ALERTS: usize = 10_000;
/// Longest group key read (Alertmanager's are a route path and label set, well under this).
pub const MAX_GROUP_KEY_CHARS: usize = 8_192;

/// One alert of a webhook body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookAlert {
    /// `firing` or `resolved`.
    #[serde(default)]
    pub status: Option<String>,
    /// The alert's labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The alert's annotations.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// When it started firing (RFC 3339).
    #[serde(default)]
    pub starts_at: Option<String>,
    /// When it ended (RFC 3339; Alertmanager sends `0001-01-01T00:00:00Z` for a firing alert without one).
    #[serde(default)]
    pub ends_at: Option<String>,
    /// The rule's page in the sender.
    #[serde(default, rename = "generatorURL")]
    pub generator_url: Option<String>,
    /// The sender's identity of the alert (a hash of its labels), kept verbatim as the dedup key.
    #[serde(default)]
    pub fingerprint: Option<String>,
}

/// Alertmanager's webhook body, version 4.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertmanagerWebhook {
    /// The body's version: `4`.
    #[serde(default)]
    pub version: Option<String>,
    /// The group the alerts were routed in; with the policy's default it names the incident.
    #[serde(default)]
    pub group_key: Option<String>,
    /// How many alerts the sender left out (`max_alerts`).
    #[serde(default)]
    pub truncated_alerts: Option<JsonInt>,
    /// `firing` while any alert of the group fires, else `resolved`.
    #[serde(default)]
    pub status: Option<String>,
    /// The receiver's name.
    #[serde(default)]
    pub receiver: Option<String>,
    /// The labels the group is grouped by.
    #[serde(default)]
    pub group_labels: BTreeMap<String, String>,
    /// The labels every alert of the delivery has.
    #[serde(default)]
    pub common_labels: BTreeMap<String, String>,
    /// The annotations every alert of the delivery has.
    #[serde(default)]
    pub common_annotations: BTreeMap<String, String>,
    /// The sending Alertmanager's address (differs between HA peers; not part of a delivery's identity).
    #[serde(default, rename = "externalURL")]
    pub external_url: Option<String>,
    /// The alerts.
    #[serde(default)]
    pub alerts: Vec<WebhookAlert>,
}

fn status(field: &str, raw: Option<&str>, errors: &mut Vec<FieldError>) -> Option<AlertStatus> {
    match raw {
        Some("firing") => Some(AlertStatus::Firing),
        Some("resolved") => Some(AlertStatus::Resolved),
        Some(other) => {
            errors.push(FieldError::new(
                field,
                format!("must be firing or resolved (got {other:?})"),
            ));
            None
        }
        None => {
            errors.push(FieldError::new(field, "is required"));
            None
        }
    }
}

/// A time as sent; for an optional one, `None` when absent or Alertmanager's zero time (year 1): "no end".
fn time(
    field: &str,
    raw: Option<&str>,
    required: bool,
    errors: &mut Vec<FieldError>,
) -> Option<Option<OffsetDateTime>> {
    match raw {
        None | Some("") if !required => Some(None),
        None | Some("") => {
            errors.push(FieldError::new(field, "is required"));
            None
        }
        Some(raw) => match parse_timestamp(raw) {
            // Alertmanager's zero time means "no end"; a start is kept as sent.
            Ok(t) if t.year() <= 1 && !required => Some(None),
            Ok(t) => Some(Some(t)),
            Err(problem) => {
                errors.push(FieldError::new(field, problem));
                None
            }
        },
    }
}

impl AlertmanagerWebhook {
    /// Every field's rule: every bad field is named (`alerts[3].startsAt`), nothing is applied unless all pass.
    pub fn parse(&self) -> Result<Delivery, Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.version.as_deref() != Some("4") {
            errors.push(FieldError::new("version", "must be \"4\""));
        }
        let group_key = match self.group_key.as_deref() {
            Some(key) if !key.is_empty() && key.chars().count() <= MAX_GROUP_KEY_CHARS => {
                Some(key.to_owned())
            }
            _ => {
                errors.push(FieldError::new(
                    "groupKey",
                    format!("must be 1 to {MAX_GROUP_KEY_CHARS} characters"),
                ));
                None
            }
        };
        let truncated = match self.truncated_alerts {
            None => 0,
            Some(JsonInt(n)) if n >= 0 => n,
            Some(_) => {
                errors.push(FieldError::new("truncatedAlerts", "must be ≥ 0"));
                0
            }
        };
        status("status", self.status.as_deref(), &mut errors);
        if self.alerts.is_empty() || self.alerts.len() > MAX_ALERTS {
            errors.push(FieldError::new(
                "alerts",
                format!(
                    "must hold 1 to {MAX_ALERTS} alerts (got {})",
                    self.alerts.len()
                ),
            ));
        }
        let mut alerts = Vec::with_capacity(self.alerts.len());
        for (i, alert) in self.alerts.iter().enumerate() {
            let field = |name: &str| format!("alerts[{i}].{name}");
            let status = status(&field("status"), alert.status.as_deref(), &mut errors);
            let starts_at = time(
                &field("startsAt"),
                alert.starts_at.as_deref(),
                true,
                &mut errors,
            );
            let ends_at = time(
                &field("endsAt"),
                alert.ends_at.as_deref(),
                false,
                &mut errors,
            );
            let fingerprint = match alert.fingerprint.as_deref() {
                Some(key)
                    if !key.trim().is_empty() && key.chars().count() <= MAX_DEDUP_KEY_CHARS =>
                {
                    Some(key.to_owned())
                }
                _ => {
                    errors.push(FieldError::new(
                        field("fingerprint"),
                        format!("must be 1 to {MAX_DEDUP_KEY_CHARS} characters"),
                    ));
                    None
                }
            };
            if let (Some(status), Some(Some(starts_at)), Some(ends_at), Some(dedup_key)) =
                (status, starts_at, ends_at, fingerprint)
            {
                alerts.push(IncomingAlert {
                    dedup_key,
                    status,
                    labels: alert.labels.clone(),
                    annotations: alert.annotations.clone(),
                    starts_at,
                    ends_at,
                    generator_url: alert.generator_url.clone(),
                });
            }
        }
        match group_key {
            Some(group_key) if errors.is_empty() => Ok(Delivery {
                group_key,
                truncated,
                common_labels: self.common_labels.clone(),
                common_annotations: self.common_annotations.clone(),
                alerts,
            }),
            _ => Err(errors),
        }
    }
}

fn string_map() -> Value {
    json!({ "type": "object", "additionalProperties": { "type": "string" } })
}

impl RequestSchema for AlertmanagerWebhook {
    fn fields() -> Vec<FieldSchema> {
        let field =
            |name: &'static str, required: bool, description: &'static str, schema: Value| {
                FieldSchema {
                    name,
                    required,
                    description,
                    schema,
                }
            };
        let alert = json!({
            "type": "object",
            "required": ["status", "startsAt", "fingerprint"],
            "properties": {
                "status": { "type": "string", "enum": ["firing", "resolved"] },
                "labels": string_map(),
                "annotations": string_map(),
                "startsAt": { "type": "string", "format": "date-time" },
                "endsAt": { "type": "string", "format": "date-time" },
                "generatorURL": { "type": "string" },
                "fingerprint": { "type": "string", "minLength": 1, "maxLength": MAX_DEDUP_KEY_CHARS, "pattern": "\\S" },
            },
        });
        vec![
            field(
                "version",
                true,
                "The body's version: `4`.",
                json!({ "type": "string", "enum": ["4"] }),
            ),
            field(
                "groupKey",
                true,
                "The group the alerts were routed in.",
                json!({ "type": "string", "minLength": 1, "maxLength": MAX_GROUP_KEY_CHARS }),
            ),
            field(
                "truncatedAlerts",
                false,
                "How many alerts the sender left out.",
                json!({ "type": "integer", "minimum": 0, "maximum": i64::MAX }),
            ),
            field(
                "status",
                true,
                "`firing` or `resolved`.",
                json!({ "type": "string", "enum": ["firing", "resolved"] }),
            ),
            field(
                "receiver",
                false,
                "The receiver's name.",
                json!({ "type": "string" }),
            ),
            field(
                "groupLabels",
                false,
                "The labels the group is grouped by.",
                string_map(),
            ),
            field(
                "commonLabels",
                false,
                "The labels every alert has.",
                string_map(),
            ),
            field(
                "commonAnnotations",
                false,
                "The annotations every alert has.",
                string_map(),
            ),
            field(
                "externalURL",
                false,
                "The sending Alertmanager.",
                json!({ "type": "string" }),
            ),
            field(
                "alerts",
                true,
                "The alerts.",
                json!({ "type": "array", "minItems": 1, "maxItems": MAX_ALERTS, "items": alert }),
            ),
        ]
    }

    fn description() -> &'static str {
        "Alertmanager's webhook body, version 4, as Alertmanager sends it."
    }
}
