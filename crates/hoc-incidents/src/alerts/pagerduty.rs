//! PagerDuty's Events API v2 (`/v2/enqueue`), the body and answers as PagerDuty defines them: a `trigger` opens or
//! feeds the incident its `dedup_key` names (one more occurrence per trigger), `acknowledge` acknowledges it and
//! `resolve` resolves it. Many senders speak it (Alertmanager's `pagerduty_configs`, Grafana, Zabbix).
//!
//! The `routing_key` is an `ingest` key; the host authenticates it before the event reaches [`enqueue`].

use std::collections::BTreeMap;

use hoc_contracts::FieldError;
use hoc_contracts::input::{FieldSchema, RequestSchema, parse_timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{AlertStatus, Delivery, IncomingAlert, IngestPolicy, MAX_DEDUP_KEY_CHARS};
use crate::procedures::{Caller, Outcome, new_id};
use crate::{AcknowledgeIncident, IncidentError, IncidentState};

/// The alert source PagerDuty events are recorded under.
pub const PAGERDUTY: &str = "pagerduty";
/// Longest `payload.summary` (PagerDuty's limit).
pub const MAX_SUMMARY_CHARS: usize = 1024;
/// Longest `payload.source`, `component`, `group` and `class`.
pub const MAX_FIELD_CHARS: usize = 255;

/// An event's `payload`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventPayload {
    /// What is wrong (the incident's title).
    #[serde(default)]
    pub summary: Option<String>,
    /// Where it happens (a host, a service).
    #[serde(default)]
    pub source: Option<String>,
    /// `critical`, `error`, `warning` or `info`.
    #[serde(default)]
    pub severity: Option<String>,
    /// When it was detected (RFC 3339).
    #[serde(default)]
    pub timestamp: Option<String>,
    /// The part of the source that is affected.
    #[serde(default)]
    pub component: Option<String>,
    /// A cluster or grouping of sources.
    #[serde(default)]
    pub group: Option<String>,
    /// The class or type of the event.
    #[serde(default)]
    pub class: Option<String>,
    /// Anything else, kept as the alert's annotations.
    #[serde(default)]
    pub custom_details: Option<Value>,
}

/// PagerDuty's Events API v2 body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PagerDutyEvent {
    /// The integration key: here an `ingest` API key.
    #[serde(default)]
    pub routing_key: Option<String>,
    /// `trigger`, `acknowledge` or `resolve`.
    #[serde(default)]
    pub event_action: Option<String>,
    /// The alert's key (generated for a trigger without one, and answered).
    #[serde(default)]
    pub dedup_key: Option<String>,
    /// What the event says (required for a trigger).
    #[serde(default)]
    pub payload: Option<EventPayload>,
    /// The sending tool's name.
    #[serde(default)]
    pub client: Option<String>,
    /// The sending tool's page for the event.
    #[serde(default)]
    pub client_url: Option<String>,
    /// Links to show with the alert.
    #[serde(default)]
    pub links: Option<Vec<Value>>,
    /// Images to show with the alert.
    #[serde(default)]
    pub images: Option<Vec<Value>>,
}

/// What an event asks, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventAction {
    /// Open or feed the key's incident with this alert.
    Trigger(IncomingAlert),
    /// Acknowledge the key's incident.
    Acknowledge(String),
    /// Resolve the key's alert (and so, by the policy, its incident).
    Resolve(String),
}

/// PagerDuty's answer to an accepted event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EventAccepted {
    /// `success`.
    pub status: String,
    /// `Event processed`.
    pub message: String,
    /// The alert's key (the one generated for a trigger sent without one).
    pub dedup_key: String,
}

fn text(
    field: &str,
    raw: Option<&str>,
    max: usize,
    required: bool,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    match raw.map(str::trim) {
        Some(value) if !value.is_empty() && value.chars().count() <= max => Some(value.to_owned()),
        None | Some("") if !required => None,
        _ => {
            errors.push(FieldError::new(
                field,
                format!("must be 1 to {max} characters"),
            ));
            None
        }
    }
}

impl PagerDutyEvent {
    /// Every rule PagerDuty states for an event: every bad field is named.
    pub fn parse(
        &self,
        now: time::OffsetDateTime,
    ) -> Result<(EventAction, String), Vec<FieldError>> {
        let mut errors = Vec::new();
        text(
            "routing_key",
            self.routing_key.as_deref(),
            128,
            true,
            &mut errors,
        );
        let action = self.event_action.as_deref();
        if !matches!(action, Some("trigger" | "acknowledge" | "resolve")) {
            errors.push(FieldError::new(
                "event_action",
                "must be trigger, acknowledge or resolve",
            ));
        }
        let trigger = action == Some("trigger");
        let dedup_key = text(
            "dedup_key",
            self.dedup_key.as_deref(),
            MAX_DEDUP_KEY_CHARS,
            matches!(action, Some("acknowledge" | "resolve")),
            &mut errors,
        );
        let parsed = if trigger {
            self.trigger(dedup_key.clone(), now, &mut errors)
        } else {
            None
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        match (action, parsed, dedup_key) {
            (Some("trigger"), Some(alert), _) => {
                let key = alert.dedup_key.clone();
                Ok((EventAction::Trigger(alert), key))
            }
            (Some("acknowledge"), _, Some(key)) => Ok((EventAction::Acknowledge(key.clone()), key)),
            (Some("resolve"), _, Some(key)) => Ok((EventAction::Resolve(key.clone()), key)),
            _ => Err(vec![FieldError::new("event_action", "is incomplete")]),
        }
    }

    fn trigger(
        &self,
        dedup_key: Option<String>,
        now: time::OffsetDateTime,
        errors: &mut Vec<FieldError>,
    ) -> Option<IncomingAlert> {
        let Some(payload) = &self.payload else {
            errors.push(FieldError::new("payload", "is required for a trigger"));
            return None;
        };
        let summary = text(
            "payload.summary",
            payload.summary.as_deref(),
            MAX_SUMMARY_CHARS,
            true,
            errors,
        );
        let source = text(
            "payload.source",
            payload.source.as_deref(),
            MAX_FIELD_CHARS,
            true,
            errors,
        );
        let severity = match payload.severity.as_deref() {
            Some(s @ ("critical" | "error" | "warning" | "info")) => Some(s.to_owned()),
            _ => {
                errors.push(FieldError::new(
                    "payload.severity",
                    "must be critical, error, warning or info",
                ));
                None
            }
        };
        let starts_at = match payload.timestamp.as_deref() {
            None | Some("") => Some(now),
            Some(raw) => match parse_timestamp(raw) {
                Ok(t) => Some(t),
                Err(problem) => {
                    errors.push(FieldError::new("payload.timestamp", problem));
                    None
                }
            },
        };
        let mut labels = BTreeMap::new();
        for (name, value) in [
            ("component", &payload.component),
            ("group", &payload.group),
            ("class", &payload.class),
        ] {
            if let Some(value) = text(
                &format!("payload.{name}"),
                value.as_deref(),
                MAX_FIELD_CHARS,
                false,
                errors,
            ) {
                labels.insert(name.to_owned(), value);
            }
        }
        let mut annotations = BTreeMap::new();
        match &payload.custom_details {
            Some(Value::Object(details)) => {
                for (k, v) in details {
                    let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                    annotations.insert(k.clone(), v);
                }
            }
            Some(Value::Null) | None => {}
            Some(other) => {
                annotations.insert(
                    "details".to_owned(),
                    other
                        .as_str()
                        .map_or_else(|| other.to_string(), str::to_owned),
                );
            }
        }
        if let Some(client) = &self.client {
            annotations.insert("client".to_owned(), client.clone());
        }
        let (summary, source, severity, starts_at) = (summary?, source?, severity?, starts_at?);
        labels.insert("source".to_owned(), source);
        labels.insert("severity".to_owned(), severity);
        annotations.insert("summary".to_owned(), summary);
        Some(IncomingAlert {
            dedup_key: dedup_key.unwrap_or_else(|| new_id("pd")),
            status: AlertStatus::Firing,
            labels,
            annotations,
            starts_at,
            ends_at: None,
            generator_url: self.client_url.clone(),
        })
    }
}

fn delivery(key: &str, alert: IncomingAlert) -> Delivery {
    Delivery {
        group_key: key.to_owned(),
        truncated: 0,
        common_labels: BTreeMap::new(),
        common_annotations: BTreeMap::new(),
        alerts: vec![alert],
    }
}

/// Applies one event under `policy`: every trigger counts (PagerDuty has no delivery identity), an acknowledge or
/// resolve for a key never seen changes nothing.
pub async fn enqueue(
    tx: &hoc_drivers::Tx,
    caller: &Caller<'_>,
    event: (EventAction, String),
    policy: &IngestPolicy,
) -> Result<Outcome<EventAccepted>, IncidentError> {
    let (action, dedup_key) = event;
    let mut outcome = Outcome::read(());
    match action {
        EventAction::Trigger(alert) => {
            let applied =
                super::apply(tx, caller, PAGERDUTY, &delivery(&dedup_key, alert), policy).await?;
            outcome.audit = applied.audit;
            outcome.events = applied.events;
        }
        EventAction::Resolve(key) => {
            let alert = IncomingAlert {
                dedup_key: key.clone(),
                status: AlertStatus::Resolved,
                labels: BTreeMap::new(),
                annotations: BTreeMap::new(),
                starts_at: caller.now,
                ends_at: Some(caller.now),
                generator_url: None,
            };
            let applied =
                super::apply(tx, caller, PAGERDUTY, &delivery(&key, alert), policy).await?;
            outcome.audit = applied.audit;
            outcome.events = applied.events;
        }
        EventAction::Acknowledge(key) => {
            let current =
                hoc_drivers::alerts::latest_by_key(tx, caller.tenant_id, PAGERDUTY, &key).await?;
            if let Some(alert) = current {
                let incident =
                    hoc_drivers::incidents::find(tx, caller.tenant_id, &alert.incident_id).await?;
                if incident.is_some_and(|i| i.status.get() == IncidentState::Open) {
                    let request = AcknowledgeIncident {
                        id: alert.incident_id.clone(),
                        reason: Some(format!("acknowledged by the sender of {key}")),
                    };
                    let input = request
                        .parse()
                        .map_err(|fields| IncidentError::InvalidInput { fields })?;
                    let acknowledged = crate::acknowledge(tx, caller, input).await?;
                    outcome.audit = acknowledged.audit;
                    outcome.events = acknowledged.events;
                }
            }
        }
    }
    Ok(Outcome {
        response: EventAccepted {
            status: "success".to_owned(),
            message: "Event processed".to_owned(),
            dedup_key,
        },
        audit: outcome.audit,
        events: outcome.events,
    })
}

impl RequestSchema for PagerDutyEvent {
    fn fields() -> Vec<FieldSchema> {
        let string = |max: usize| json!({ "type": "string", "maxLength": max });
        let payload = json!({
            "type": "object",
            "properties": {
                "summary": string(MAX_SUMMARY_CHARS),
                "source": string(MAX_FIELD_CHARS),
                "severity": { "type": "string", "enum": ["critical", "error", "warning", "info"] },
                "timestamp": { "type": "string", "format": "date-time" },
                "component": string(MAX_FIELD_CHARS),
                "group": string(MAX_FIELD_CHARS),
                "class": string(MAX_FIELD_CHARS),
                "custom_details": {},
            },
        });
        let field = |name: &'static str,
                     required: bool,
                     description: &'static str,
                     schema: Value| FieldSchema {
            name,
            required,
            description,
            schema,
        };
        vec![
            field("routing_key", true, "An `ingest` API key.", string(128)),
            field(
                "event_action",
                true,
                "`trigger`, `acknowledge` or `resolve`.",
                json!({ "type": "string", "enum": ["trigger", "acknowledge", "resolve"] }),
            ),
            field(
                "dedup_key",
                false,
                "The alert's key (required for acknowledge and resolve).",
                string(MAX_DEDUP_KEY_CHARS),
            ),
            field(
                "payload",
                false,
                "What happens (required for a trigger: summary, source, severity).",
                payload,
            ),
            field(
                "client",
                false,
                "The sending tool.",
                json!({ "type": "string" }),
            ),
            field(
                "client_url",
                false,
                "The sending tool's page.",
                json!({ "type": "string" }),
            ),
            field("links", false, "Links.", json!({ "type": "array" })),
            field("images", false, "Images.", json!({ "type": "array" })),
        ]
    }

    fn description() -> &'static str {
        "PagerDuty's Events API v2 body, as PagerDuty defines it."
    }
}
