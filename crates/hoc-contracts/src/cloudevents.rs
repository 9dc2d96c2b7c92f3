//! Rendering an envelope as a CloudEvents 1.0 structured-mode JSON document.
//!
//! Attribute names are lowercase alphanumerics, as the CloudEvents spec requires. The envelope fields that have a
//! CloudEvents equivalent map onto it (`event_id` → `id`, `event_type` → `type`, `occurred_at` → `time`); the rest
//! become extension attributes with their underscores removed (`tenant_id` → `tenantid`). The event type's
//! extension fields travel in `data`.

use serde_json::{Map, Value, json};

use crate::time_format::format_utc;
use crate::{EventEnvelope, validate_event_payload};

/// The CloudEvents spec version produced.
pub const CLOUDEVENTS_SPEC_VERSION: &str = "1.0";

/// Renders `envelope` as CloudEvents 1.0 structured JSON.
pub fn to_cloudevent(envelope: &EventEnvelope) -> Value {
    json!({
        "specversion": CLOUDEVENTS_SPEC_VERSION,
        "id": envelope.event_id,
        "source": format!("/hoc/tenants/{}/projects/{}", envelope.tenant_id, envelope.project_id),
        "type": envelope.event_type,
        "time": format_utc(envelope.occurred_at),
        "datacontenttype": "application/json",
        "dataschema": format!("urn:hoc:events:{}:{}", envelope.event_type, envelope.schema_version),
        "tenantid": envelope.tenant_id,
        "projectid": envelope.project_id,
        "actortype": envelope.actor_type.as_str(),
        "actorid": envelope.actor_id,
        "decisionowner": envelope.decision_owner,
        "sequenceno": envelope.sequence_no,
        "schemaversion": envelope.schema_version,
        "requestid": envelope.request_id,
        "data": Value::Object(envelope.data.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<Map<_, _>>()),
    })
}

/// Reads back what [`to_cloudevent`] rendered (a consumer's side): the envelope, validated like any event payload.
/// Names every problem: a missing or wrong attribute, or an envelope that does not validate.
pub fn from_cloudevent(event: &Value) -> Result<EventEnvelope, String> {
    let object = event
        .as_object()
        .ok_or_else(|| "a CloudEvent must be a JSON object".to_owned())?;
    if object.get("specversion") != Some(&json!(CLOUDEVENTS_SPEC_VERSION)) {
        return Err(format!("specversion must be {CLOUDEVENTS_SPEC_VERSION}"));
    }
    let mut envelope = Map::new();
    for (attribute, field) in [
        ("id", "event_id"),
        ("type", "event_type"),
        ("time", "occurred_at"),
        ("tenantid", "tenant_id"),
        ("projectid", "project_id"),
        ("actortype", "actor_type"),
        ("actorid", "actor_id"),
        ("decisionowner", "decision_owner"),
        ("sequenceno", "sequence_no"),
        ("schemaversion", "schema_version"),
        ("requestid", "request_id"),
        ("data", "data"),
    ] {
        if let Some(value) = object.get(attribute) {
            envelope.insert(field.to_owned(), value.clone());
        }
    }
    let envelope = Value::Object(envelope);
    validate_event_payload(&envelope).map_err(|e| e.to_string())?;
    serde_json::from_value(envelope).map_err(|e| e.to_string())
}
