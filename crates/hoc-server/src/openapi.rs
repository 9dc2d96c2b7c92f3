//! The OpenAPI 3.1 document of the API, generated from [`crate::ROUTES`] so it cannot miss a route.

use serde_json::{Map, Value, json};

use crate::{ROUTES, Route};

fn string() -> Value {
    json!({ "type": "string" })
}

fn nullable_string() -> Value {
    json!({ "type": ["string", "null"] })
}

fn timestamp() -> Value {
    json!({ "type": "string", "format": "date-time" })
}

fn nullable_timestamp() -> Value {
    json!({ "type": ["string", "null"], "format": "date-time" })
}

fn object(properties: &[(&str, Value)], required: &[&str]) -> Value {
    let props: Map<String, Value> = properties
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    json!({ "type": "object", "properties": props, "required": required })
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn page_of(item: &str) -> Value {
    object(
        &[
            (
                "items",
                json!({ "type": "array", "items": schema_ref(item) }),
            ),
            ("next_cursor", nullable_string()),
            ("as_of", timestamp()),
        ],
        &["items", "next_cursor", "as_of"],
    )
}

fn components() -> Value {
    let incident_fields: Vec<(&str, Value)> = vec![
        ("id", string()),
        ("tenant_id", string()),
        ("title", string()),
        (
            "severity",
            json!({ "enum": ["critical", "high", "medium", "low", "info"] }),
        ),
        ("category", string()),
        (
            "status",
            json!({ "enum": ["open", "acknowledged", "resolved", "closed"] }),
        ),
        ("trigger_type", nullable_string()),
        ("source_type", nullable_string()),
        ("source_ref", nullable_string()),
        ("error_code", nullable_string()),
        ("error_message", nullable_string()),
        ("description", nullable_string()),
        ("recurrence_signature", nullable_string()),
        ("signature_version", nullable_string()),
        ("resolution_type", nullable_string()),
        ("resolution_summary", nullable_string()),
        ("resolution_method", nullable_string()),
        ("close_reason", nullable_string()),
        ("postmortem_artifact_id", nullable_string()),
        ("acknowledged_at", nullable_timestamp()),
        ("acknowledged_by", nullable_string()),
        ("resolved_at", nullable_timestamp()),
        ("resolved_by", nullable_string()),
        ("closed_at", nullable_timestamp()),
        ("closed_by", nullable_string()),
        ("created_at", timestamp()),
        ("updated_at", timestamp()),
        ("version", json!({ "type": "integer" })),
    ];
    let incident_required: Vec<&str> = incident_fields.iter().map(|(k, _)| *k).collect();
    json!({
        "schemas": {
            "Error": object(&[("error", object(&[
                ("code", json!({ "enum": [
                    "malformed_request", "invalid_input", "unauthenticated", "forbidden", "not_found",
                    "invalid_transition", "reproducibility_conflict", "idempotency_key_reused",
                    "payload_too_large", "unavailable", "internal"
                ] })),
                ("message", string()),
                ("details", json!({ "type": "object" })),
            ], &["code", "message", "details"]))], &["error"]),
            "Incident": object(&incident_fields, &incident_required),
            "IncidentPage": page_of("Incident"),
            "TimelineEntry": object(&[
                ("ordinal", json!({ "type": "integer" })),
                ("event_type", string()),
                ("from_state", nullable_string()),
                ("to_state", string()),
                ("actor_type", string()),
                ("actor_id", string()),
                ("description", string()),
                ("created_at", timestamp()),
            ], &["ordinal", "event_type", "from_state", "to_state", "actor_type", "actor_id", "description", "created_at"]),
            "Timeline": object(&[
                ("items", json!({ "type": "array", "items": schema_ref("TimelineEntry") })),
                ("as_of", timestamp()),
            ], &["items", "as_of"]),
            "Postmortem": object(&[
                ("id", string()), ("tenant_id", string()), ("incident_id", string()), ("title", string()),
                ("status", string()), ("created_by", string()), ("created_at", timestamp()),
            ], &["id", "tenant_id", "incident_id", "title", "status", "created_by", "created_at"]),
            "RecurrenceGroup": object(&[
                ("recurrence_signature", string()),
                ("signature_version", string()),
                ("count", json!({ "type": "integer" })),
                ("open_count", json!({ "type": "integer" })),
                ("first_seen", nullable_timestamp()),
                ("last_seen", nullable_timestamp()),
                ("items", json!({ "type": "array", "items": schema_ref("Incident") })),
                ("next_cursor", nullable_string()),
                ("as_of", timestamp()),
                ("signature_inputs", json!({ "type": "object" })),
            ], &["recurrence_signature", "signature_version", "count", "open_count", "first_seen", "last_seen", "items", "next_cursor", "as_of"]),
            "Artifact": object(&[
                ("id", string()), ("tenant_id", string()), ("dataset_id", string()), ("dataset_version", string()),
                ("input_window_hash", json!({ "type": "string", "pattern": "^[0-9a-f]{64}$" })),
                ("as_of", timestamp()), ("compute_code_version", string()),
                ("window_start", nullable_timestamp()), ("window_end", nullable_timestamp()),
                ("code_dirty", json!({ "type": ["boolean", "null"] })), ("created_at", timestamp()),
            ], &["id", "tenant_id", "dataset_id", "dataset_version", "input_window_hash", "as_of", "compute_code_version", "window_start", "window_end", "code_dirty", "created_at"]),
            "ArtifactPage": page_of("Artifact"),
            "Event": object(&[
                ("event_id", string()), ("event_type", string()), ("tenant_id", string()), ("project_id", string()),
                ("actor_type", json!({ "enum": ["user", "system", "sdk", "founder"] })), ("actor_id", string()),
                ("decision_owner", string()), ("sequence_no", json!({ "type": "integer" })),
                ("schema_version", string()), ("occurred_at", timestamp()), ("data", json!({ "type": "object" })),
            ], &["event_id", "event_type", "tenant_id", "project_id", "actor_type", "actor_id", "decision_owner", "sequence_no", "schema_version", "occurred_at", "data"]),
            "EventPage": object(&[
                ("items", json!({ "type": "array", "items": schema_ref("Event") })),
                ("next_after", json!({ "type": "integer" })),
            ], &["items", "next_after"]),
            "AuditEntry": object(&[
                ("id", string()), ("entity_type", string()), ("entity_id", string()), ("action", string()),
                ("actor_type", json!({ "enum": ["HUMAN", "SYSTEM", "AGENT"] })), ("actor_id", string()),
                ("reason", nullable_string()), ("before_state", json!({ "type": ["object", "null"] })),
                ("after_state", json!({ "type": ["object", "null"] })), ("request_id", string()), ("created_at", timestamp()),
            ], &["id", "entity_type", "entity_id", "action", "actor_type", "actor_id", "request_id", "created_at"]),
            "AuditPage": page_of("AuditEntry"),
            "CreateIncident": object(&[
                ("title", json!({ "type": "string", "minLength": 1, "maxLength": 255 })),
                ("severity", json!({ "enum": ["critical", "high", "medium", "low", "info"] })),
                ("category", json!({ "type": "string", "minLength": 1, "maxLength": 64 })),
                ("trigger_type", string()), ("source_type", string()), ("source_ref", string()),
                ("error_code", string()), ("error_message", string()), ("description", string()),
                ("fingerprint", json!({ "type": "array", "items": string() })),
            ], &["title", "severity", "category"]),
            "Reason": object(&[("reason", string())], &[]),
            "RequiredReason": object(&[("reason", string())], &["reason"]),
            "Resolve": object(&[
                ("resolution_type", json!({ "enum": ["manual", "auto", "rollback", "hotfix", "config_change", "mitigated", "duplicate", "false_positive", "other"] })),
                ("resolution_summary", string()),
                ("postmortem_artifact_id", json!({ "type": "string", "maxLength": 64 })),
                ("reason", string()),
            ], &["resolution_type"]),
            "CreatePostmortem": object(&[("title", string())], &[]),
            "SaveArtifact": object(&[
                ("input_window_hash", json!({ "type": "string", "pattern": "^[0-9a-f]{64}$" })),
                ("as_of", timestamp()), ("compute_code_version", string()),
                ("window_start", timestamp()), ("window_end", timestamp()),
                ("code_dirty", json!({ "type": "boolean" })),
                ("inputs", json!({ "type": "array", "items": string() })),
            ], &["input_window_hash", "as_of", "compute_code_version"]),
        },
        "securitySchemes": { "apiKey": { "type": "http", "scheme": "bearer" } },
    })
}

/// Query parameters of each route.
fn query_params(route: &Route) -> &'static [(&'static str, &'static str)] {
    match route.name {
        "list_incidents" => &[
            ("status", "string"),
            ("severity", "string"),
            ("limit", "integer"),
            ("cursor", "string"),
            ("as_of", "string"),
        ],
        "get_incident" | "incident_timeline" => &[("as_of", "string")],
        "incident_recurrence" => &[
            ("limit", "integer"),
            ("cursor", "string"),
            ("as_of", "string"),
        ],
        "recurrence_group" => &[
            ("version", "string"),
            ("limit", "integer"),
            ("cursor", "string"),
            ("as_of", "string"),
        ],
        "get_artifact" => &[("version", "string"), ("as_of", "string")],
        "list_artifacts" => &[
            ("dataset_id", "string"),
            ("limit", "integer"),
            ("cursor", "string"),
            ("as_of", "string"),
        ],
        "list_events" => &[("after", "integer"), ("limit", "integer")],
        "list_audit" => &[
            ("entity_id", "string"),
            ("limit", "integer"),
            ("cursor", "string"),
            ("as_of", "string"),
        ],
        _ => &[],
    }
}

/// Request body schema and success responses of each route.
fn body_and_responses(route: &Route) -> (Option<&'static str>, Vec<(&'static str, &'static str)>) {
    match route.name {
        "create_incident" => (Some("CreateIncident"), vec![("201", "Incident")]),
        "list_incidents" => (None, vec![("200", "IncidentPage")]),
        "get_incident" => (None, vec![("200", "Incident")]),
        "acknowledge_incident" | "reopen_incident" => (Some("Reason"), vec![("200", "Incident")]),
        "close_incident" => (Some("RequiredReason"), vec![("200", "Incident")]),
        "resolve_incident" => (Some("Resolve"), vec![("200", "Incident")]),
        "incident_timeline" => (None, vec![("200", "Timeline")]),
        "create_postmortem" => (
            Some("CreatePostmortem"),
            vec![("201", "Postmortem"), ("200", "Postmortem")],
        ),
        "incident_recurrence" | "recurrence_group" => (None, vec![("200", "RecurrenceGroup")]),
        "save_artifact" => (
            Some("SaveArtifact"),
            vec![("201", "Artifact"), ("200", "Artifact")],
        ),
        "get_artifact" => (None, vec![("200", "Artifact")]),
        "list_artifacts" => (None, vec![("200", "ArtifactPage")]),
        "list_events" => (None, vec![("200", "EventPage")]),
        "list_audit" => (None, vec![("200", "AuditPage")]),
        _ => (None, vec![]),
    }
}

fn operation(route: &Route) -> Value {
    let mut parameters: Vec<Value> = route
        .path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": string() }))
        .collect();
    for (name, ty) in query_params(route) {
        parameters.push(
            json!({ "name": name, "in": "query", "required": false, "schema": { "type": ty } }),
        );
    }
    if route.scope == hoc_spine::auth::Scope::Write {
        parameters.push(json!({
            "name": "Idempotency-Key", "in": "header", "required": false,
            "schema": { "type": "string", "maxLength": 128 },
        }));
    }
    let (body, successes) = body_and_responses(route);
    let mut responses = Map::new();
    for (status, schema) in successes {
        responses.insert(
            status.to_owned(),
            json!({ "description": status, "content": { "application/json": { "schema": schema_ref(schema) } } }),
        );
    }
    let error = json!({ "description": "error", "content": { "application/json": { "schema": schema_ref("Error") } } });
    let mut errors = vec!["400", "401", "404", "422", "503", "500"];
    if route.scope == hoc_spine::auth::Scope::Write {
        errors.extend(["403", "409", "413"]);
    }
    for status in errors {
        responses.insert(status.to_owned(), error.clone());
    }
    let mut op = json!({
        "operationId": route.name,
        "summary": route.summary,
        "description": format!("Dispatches the spine operation `{}.{}`; needs a `{}` key.", route.operation, route.operation_method, route.scope.as_str()),
        "security": [{ "apiKey": [] }],
        "parameters": parameters,
        "responses": responses,
    });
    if let Some(body) = body {
        op["requestBody"] = json!({ "required": false, "content": { "application/json": { "schema": schema_ref(body) } } });
    }
    op
}

/// The whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        let entry = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| json!({}));
        entry[route.method.to_ascii_lowercase()] = operation(route);
    }
    paths.insert(
        "/healthz".to_owned(),
        json!({ "get": { "operationId": "healthz", "summary": "200 when the database answers", "responses": {
            "200": { "description": "healthy" },
            "503": { "description": "unavailable", "content": { "application/json": { "schema": schema_ref("Error") } } },
        } } }),
    );
    paths.insert(
        "/openapi.json".to_owned(),
        json!({ "get": { "operationId": "openapi", "summary": "This document", "responses": { "200": { "description": "the OpenAPI document" } } } }),
    );
    json!({
        "openapi": "3.1.0",
        "info": { "title": "hocd", "version": "1", "description": "The incident and analytics core over HTTP." },
        "paths": paths,
        "components": components(),
    })
}
