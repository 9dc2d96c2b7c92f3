//! The OpenAPI 3.1 document of the API, generated from [`crate::routes`] and the request and response types the
//! server parses and answers with, so it cannot miss a route, a bound or a field.
//!
//! Request parameters and bodies come from each request's declaration (`hoc_spine::request!`: every field's
//! rule states its JSON Schema — lengths from the one limits table, vocabularies as enums, `date-time`, page
//! sizes 1 to 500, `additionalProperties: false`); responses from their `schemars` derivations.

use hoc_spine::OperationMethod;
use schemars::SchemaGenerator;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use crate::{Document, Route, routes};

/// What one route contributes to the document.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteSchemas {
    /// Path and query parameters.
    pub parameters: Vec<Value>,
    /// The request body schema and whether a body is required.
    pub body: Option<(Value, bool)>,
    /// The success response schema.
    pub response: Value,
}

/// Every error code the API answers with.
pub const ERROR_CODES: &[&str] = &[
    "malformed_request",
    "invalid_input",
    "unauthenticated",
    "forbidden",
    "not_found",
    "invalid_transition",
    "reproducibility_conflict",
    "idempotency_key_reused",
    "stale_version",
    "history_pruned",
    "payload_too_large",
    "unsupported_media_type",
    "unavailable",
    "internal",
];

/// One OpenAPI link: (route, status, link name, target route, [(target parameter, runtime expression)]).
pub type Link = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// OpenAPI links: what a response lets a client (and schemathesis's stateful phase) call next.
pub const LINKS: &[Link] = &[
    (
        "create_incident",
        "201",
        "GetIncident",
        "get_incident",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_incident",
        "201",
        "AcknowledgeIncident",
        "acknowledge_incident",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_incident",
        "201",
        "ResolveIncident",
        "resolve_incident",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_incident",
        "201",
        "CloseIncident",
        "close_incident",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_incident",
        "201",
        "IncidentTimeline",
        "incident_timeline",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_incident",
        "201",
        "IncidentRecurrence",
        "incident_recurrence",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_incident",
        "201",
        "CreatePostmortem",
        "create_postmortem",
        &[("incident_id", "$response.body#/id")],
    ),
    (
        "create_incident",
        "201",
        "AddNote",
        "add_note",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_incident",
        "201",
        "AssignIncident",
        "assign_incident",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_incident",
        "201",
        "MarkDuplicate",
        "mark_duplicate",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_incident",
        "201",
        "ExportIncident",
        "export_incident",
        &[("id", "$response.body#/id")],
    ),
    (
        "mark_duplicate",
        "200",
        "RemoveDuplicate",
        "remove_duplicate",
        &[("id", "$response.body#/id")],
    ),
    (
        "add_note",
        "201",
        "EditNote",
        "edit_note",
        &[
            ("id", "$response.body#/incident_id"),
            ("note_id", "$response.body#/note_id"),
        ],
    ),
    (
        "add_note",
        "201",
        "DeleteNote",
        "delete_note",
        &[
            ("id", "$response.body#/incident_id"),
            ("note_id", "$response.body#/note_id"),
        ],
    ),
    (
        "resolve_incident",
        "200",
        "ReopenIncident",
        "reopen_incident",
        &[("id", "$response.body#/id")],
    ),
    (
        "close_incident",
        "200",
        "ReopenIncident",
        "reopen_incident",
        &[("id", "$response.body#/id")],
    ),
    (
        "incident_recurrence",
        "200",
        "RecurrenceGroup",
        "recurrence_group",
        &[
            ("signature", "$response.body#/recurrence_signature"),
            ("version", "$response.body#/signature_version"),
        ],
    ),
    (
        "save_artifact",
        "201",
        "GetArtifact",
        "get_artifact",
        &[("dataset_id", "$response.body#/dataset_id")],
    ),
    (
        "save_artifact",
        "200",
        "GetArtifact",
        "get_artifact",
        &[("dataset_id", "$response.body#/dataset_id")],
    ),
];

/// A parameter cannot be `null`: drop it from an optional field's schema.
fn without_null(mut schema: Value) -> Value {
    if let Some(object) = schema.as_object_mut() {
        if let Some(Value::Array(types)) = object.get_mut("type") {
            types.retain(|t| t != "null");
            if types.len() == 1 {
                let only = types[0].clone();
                object.insert("type".to_owned(), only);
            }
        }
        if let Some(Value::Array(values)) = object.get_mut("enum") {
            values.retain(|v| !v.is_null());
        }
    }
    schema
}

fn parameter(
    name: &str,
    location: &str,
    required: bool,
    description: &str,
    schema: Value,
) -> Value {
    json!({
        "name": name,
        "in": location,
        "required": required,
        "description": hoc_spine::input::doc_text(description),
        "schema": without_null(schema),
    })
}

/// The parameters, body and response of the route serving `M`.
fn schemas<M: OperationMethod, S: hoc_spine::http::Shape<M::Response>>(
    generator: &mut SchemaGenerator,
    route: &Route,
) -> RouteSchemas {
    let path = route.path_params();
    let fields = M::fields();
    let mut parameters: Vec<Value> = path
        .iter()
        .filter_map(|name| fields.iter().find(|f| f.name == *name))
        .map(|f| parameter(f.name, "path", true, f.description, f.schema.clone()))
        .collect();
    let mut body = None;
    if route.method == crate::HttpMethod::Get {
        for field in fields.iter().filter(|f| !path.contains(&f.name)) {
            parameters.push(parameter(
                field.name,
                "query",
                field.required,
                field.description,
                field.schema.clone(),
            ));
        }
        if let Some(name) = route.as_of {
            parameters.push(parameter(
                name,
                "query",
                false,
                "The point in time the read shows (RFC 3339); echoed in the response. Default: now.",
                json!({ "type": "string", "format": "date-time" }),
            ));
        }
    } else {
        let required = fields.iter().any(|f| f.required && !path.contains(&f.name));
        let any = fields.iter().any(|f| !path.contains(&f.name));
        // A DELETE whose request is all path takes no body.
        if any || route.method != crate::HttpMethod::Delete {
            body = Some((M::object_schema(|name| !path.contains(&name)), required));
        }
    }
    let response = S::schema(generator);
    RouteSchemas {
        parameters,
        body,
        response: response.to_value(),
    }
}

/// `GET /healthz`.
pub(crate) fn healthz_document() -> Value {
    json!({ "operationId": "healthz", "summary": "Liveness: 200 while the process serves (never touches the database)", "responses": {
        "200": { "description": "alive", "content": { "application/json": { "schema": {
            "type": "object", "required": ["status"], "properties": { "status": { "const": "ok" } } } } } },
    } })
}

/// `GET /v1/events/stream`.
pub(crate) fn stream_document() -> Value {
    json!({
        "operationId": "stream_events",
        "summary": "The tenant's events as Server-Sent Events (id: sequence_no, event: event type, data: envelope JSON), resumable with Last-Event-ID",
        "security": [{ "apiKey": [] }],
        "parameters": stream_parameters(),
        "responses": {
            "200": { "description": "an endless event stream; heartbeat comments while idle", "content": { "text/event-stream": {
                // Each event, as OpenAPI 3.2's `itemSchema` describes a sequential media type (schemathesis
                // validates every event received against it): `id` the sequence_no, `event` the event type,
                // `data` the envelope as JSON.
                "itemSchema": stream_event_schema(),
            } } },
            "400": { "description": "malformed", "content": { "application/json": { "schema": schema_ref("Error") } } },
            "401": { "description": "no valid key", "content": { "application/json": { "schema": schema_ref("Error") } } },
            "410": { "description": "history_pruned: the stream would start below what event retention pruned; details.pruned_through", "content": { "application/json": { "schema": schema_ref("Error") } } },
            "422": { "description": "invalid", "content": { "application/json": { "schema": schema_ref("Error") } } },
            "503": { "description": "unavailable", "content": { "application/json": { "schema": schema_ref("Error") } } },
        },
    })
}

/// `GET /metrics`.
pub(crate) fn metrics_document() -> Value {
    json!({ "operationId": "metrics", "summary": "Prometheus text format: HTTP requests by route and status with latency histograms, the event relay's published events, backlog and commit-to-PubAck lag", "responses": {
        "200": { "description": "the metrics", "content": { "text/plain": { "schema": { "type": "string" } } } },
    } })
}

/// `GET /readyz`.
pub(crate) fn readyz_document() -> Value {
    let ready = json!({ "type": "object", "required": ["status", "checks"], "properties": {
        "status": { "enum": ["ok", "unavailable"] },
        "checks": { "type": "object", "required": ["database"],
            "additionalProperties": { "enum": ["ok", "unavailable"] } },
    } });
    json!({ "operationId": "readyz", "summary": "Readiness: 200 when the database answers, else 503 naming what fails", "responses": {
        "200": { "description": "ready", "content": { "application/json": { "schema": ready } } },
        "503": { "description": "a dependency does not answer", "content": { "application/json": { "schema": ready } } },
    } })
}

/// `GET /openapi.json`.
pub(crate) fn openapi_document() -> Value {
    json!({ "operationId": "openapi", "summary": "This document", "responses": {
        "200": { "description": "the OpenAPI document", "content": { "application/json": { "schema": { "type": "object" } } } },
    } })
}

/// The stream's query parameters, from the request type the handler parses them into, and `Last-Event-ID`, which
/// takes the same values as `after`.
fn stream_parameters() -> Vec<Value> {
    use hoc_spine::RequestSchema as _;
    let fields = crate::stream::StreamQuery::fields();
    let mut parameters: Vec<Value> = fields
        .iter()
        .map(|f| parameter(f.name, "query", f.required, f.description, f.schema.clone()))
        .collect();
    if let Some(after) = fields.iter().find(|f| f.name == "after") {
        parameters.push(parameter(
            "Last-Event-ID",
            "header",
            false,
            "The id of the last event received: the stream resumes after it (wins over `after`).",
            after.schema.clone(),
        ));
    }
    parameters
}

/// One Server-Sent Event of `GET /v1/events/stream`.
pub fn stream_event_schema() -> Value {
    json!({
        "type": "object",
        "required": ["id", "event", "data"],
        "properties": {
            "id": { "type": "string", "pattern": "^[1-9][0-9]*$", "description": "the event's sequence_no" },
            "event": { "type": "string", "minLength": 1, "description": "the event type" },
            "data": {
                "type": "string",
                "contentMediaType": "application/json",
                "contentSchema": schema_ref("EventEnvelope"),
                "description": "the envelope, as in GET /v1/events",
            },
        },
    })
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn error_schema() -> Value {
    json!({
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "details"],
                "properties": {
                    "code": { "type": "string", "enum": ERROR_CODES },
                    "message": { "type": "string" },
                    "details": {
                        "type": "object",
                        "description": "`fields` (a list of {field, problem}) for invalid_input; `from`/`to` for invalid_transition; `dataset_id`, `dataset_version`, `fields` for reproducibility_conflict.",
                    },
                },
            },
        },
    })
}

/// The operation object of the route serving `M`, its response shaped by `S`.
pub(crate) fn operation<M: OperationMethod, S: hoc_spine::http::Shape<M::Response>>(
    generator: &mut SchemaGenerator,
    route: &Route,
) -> Value {
    let schemas = schemas::<M, S>(generator, route);
    let mut parameters = schemas.parameters;
    let writes = M::WRITES;
    if writes {
        parameters.push(json!({
            "name": "Idempotency-Key", "in": "header", "required": false,
            "description": "Replays the first response of the same request; another request with the same key is 409.",
            "schema": { "type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[!-~]{1,128}$" },
        }));
    }
    let mut responses = Map::new();
    for status in route.statuses {
        let mut response = json!({ "description": if *status == 201 { "created" } else { "ok" }, "content": { "application/json": { "schema": schemas.response.clone() } } });
        if S::MARKDOWN {
            response["content"]["text/markdown"] = json!({ "schema": { "type": "string" } });
        }
        let status = status.to_string();
        let links: Map<String, Value> = LINKS
            .iter()
            .filter(|(from, on, ..)| *from == route.name && *on == status)
            .map(|(_, _, name, to, parameters)| {
                let parameters: Map<String, Value> = parameters
                    .iter()
                    .map(|(p, expr)| ((*p).to_owned(), json!(expr)))
                    .collect();
                (
                    (*name).to_owned(),
                    json!({ "operationId": to, "parameters": parameters }),
                )
            })
            .collect();
        if !links.is_empty() {
            response["links"] = Value::Object(links);
        }
        responses.insert(status, response);
    }
    let error = |description: &str| json!({ "description": description, "content": { "application/json": { "schema": schema_ref("Error") } } });
    let mut errors = vec![
        (
            "400",
            "malformed_request: not JSON, not an object, an unknown field or parameter, a wrong JSON type",
        ),
        (
            "401",
            "unauthenticated: no key, or an unknown or revoked one",
        ),
        ("404", "not_found: no such resource in the key's tenant"),
        ("422", "invalid_input: every bad field in details.fields"),
        ("500", "internal: a bug; the message carries the request id"),
        ("503", "unavailable: storage down or busy; retry"),
    ];
    if writes {
        errors.extend([
            ("403", "forbidden: the key's scope is read"),
            (
                "409",
                "invalid_transition, reproducibility_conflict, idempotency_key_reused or stale_version",
            ),
            ("413", "payload_too_large: the body is over the limit"),
            (
                "415",
                "unsupported_media_type: the body is not application/json",
            ),
        ]);
    }
    if M::OPERATION == "events.feed" {
        errors.push((
            "410",
            "history_pruned: the read starts below what event retention pruned; details.pruned_through",
        ));
    }
    if route.key_in_body.is_some() {
        // PagerDuty's answers: every refusal is 400 `invalid event`; only 413 and 5xx keep this API's error.
        errors.retain(|(status, _)| matches!(*status, "413" | "500" | "503"));
    }
    for (status, description) in errors {
        responses.insert(status.to_owned(), error(description));
    }
    if let Some(field) = route.key_in_body {
        responses.insert(
            "400".to_owned(),
            json!({
                "description": format!("invalid event: a bad field, or a `{field}` that is not a live ingest key; `errors` names each"),
                "content": { "application/json": { "schema": schema_ref("PagerDutyError") } },
            }),
        );
    }
    let scope = match route.scope {
        Some(hoc_spine::auth::Scope::Ingest) => "ingest",
        _ if writes => "write",
        _ => "read",
    };
    let security = match route.key_in_body {
        Some(_) => json!([]),
        None => json!([{ "apiKey": [] }]),
    };
    let mut op = json!({
        "operationId": route.name,
        "summary": route.summary,
        "description": format!(
            "Serves the spine operation `{}.{}`; needs an `{}` key{}.",
            M::OPERATION,
            M::METHOD,
            scope,
            route.key_in_body.map_or_else(String::new, |f| format!(", sent as the body's `{f}`"))
        ),
        "security": security,
        "parameters": parameters,
        "responses": responses,
    });
    if let Some((body, required)) = schemas.body {
        let mut content = json!({ "schema": body });
        if let Some(example) = &route.example {
            content["example"] = example.clone();
        }
        op["requestBody"] =
            json!({ "required": required, "content": { "application/json": content } });
    }
    op
}

/// The whole document.
pub fn document() -> Value {
    let mut generator = SchemaSettings::draft2020_12()
        .with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        })
        .for_serialize()
        .into_generator();
    let mut paths = Map::new();
    for route in routes() {
        let op = match route.document {
            Document::Operation(document) => document(&mut generator, route),
            Document::Service(document) => document(),
        };
        let entry = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| json!({}));
        entry[route.method.openapi_key()] = op;
    }
    let mut schemas = generator.take_definitions(true);
    schemas.insert("Error".to_owned(), error_schema());
    schemas.insert(
        "PagerDutyError".to_owned(),
        json!({
            "type": "object",
            "required": ["status", "message", "errors"],
            "properties": {
                "status": { "const": "invalid event" },
                "message": { "type": "string" },
                "errors": { "type": "array", "items": { "type": "string" } },
            },
        }),
    );
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "hocd",
            "version": "1",
            "description": "The incident and analytics core over HTTP. See docs/API.md in the repository.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": { "apiKey": { "type": "http", "scheme": "bearer" } },
        },
    })
}
