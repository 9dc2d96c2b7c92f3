//! One handler per route: authenticate, build the operation payload, call the spine, shape the response.

use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use hoc_spine::{OperationContext, Replayable, StoredResponse};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::request::{RequestId, authorize, idempotency, read_json, read_query, with_as_of};
use crate::{ApiError, AppState, Route, route_named};

type Result<T, E = ApiError> = std::result::Result<T, E>;

fn route(name: &str) -> Result<&'static Route> {
    route_named(name).ok_or_else(|| ApiError::malformed(format!("route {name} is not registered")))
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// How a write's spine response becomes an HTTP status and body.
type Respond = fn(&Value) -> StoredResponse;

fn ok(body: &Value) -> StoredResponse {
    StoredResponse {
        status: 200,
        body: body.clone(),
    }
}

fn created(body: &Value) -> StoredResponse {
    StoredResponse {
        status: 201,
        body: body.clone(),
    }
}

/// `{postmortem, created}` → 201 with the postmortem when created, else 200.
fn postmortem_response(body: &Value) -> StoredResponse {
    let status = if body["created"] == json!(true) {
        201
    } else {
        200
    };
    StoredResponse {
        status,
        body: body["postmortem"].clone(),
    }
}

/// `{status, artifact}` → 201 with the artifact when created, else 200 (identical replay).
fn artifact_response(body: &Value) -> StoredResponse {
    let status = if body["status"] == json!("created") {
        201
    } else {
        200
    };
    StoredResponse {
        status,
        body: body["artifact"].clone(),
    }
}

fn stored(response: StoredResponse, replayed: bool) -> Response {
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::OK);
    let mut http = json_response(status, response.body);
    if replayed {
        http.headers_mut().insert(
            "idempotent-replayed",
            axum::http::HeaderValue::from_static("true"),
        );
    }
    http
}

/// Authenticates a write route (before its body is read, so a stranger's large body is a 401, not a 413).
async fn write_context(
    state: &AppState,
    headers: &HeaderMap,
    request_id: &RequestId,
    name: &str,
) -> Result<(OperationContext, &'static Route)> {
    let route = route(name)?;
    Ok((authorize(state, headers, request_id, route).await?, route))
}

/// Runs a write route: idempotency, spine call, response shaping.
#[allow(clippy::too_many_arguments)]
async fn write(
    state: &AppState,
    ctx: &OperationContext,
    route: &Route,
    headers: &HeaderMap,
    request_id: &RequestId,
    uri: &Uri,
    payload: Value,
    respond: Respond,
) -> Result<Response> {
    let fail = |e| ApiError::from_operation(e, &request_id.0);
    match idempotency(headers, route.method, uri.path(), &payload)? {
        Some(key) => {
            match state
                .spine
                .execute_idempotent(
                    ctx,
                    route.operation,
                    route.operation_method,
                    payload,
                    &key,
                    respond,
                )
                .await
                .map_err(fail)?
            {
                Replayable::Fresh(response) => Ok(stored(response, false)),
                Replayable::Replayed(response) => Ok(stored(response, true)),
            }
        }
        None => {
            let response = state
                .spine
                .execute(ctx, route.operation, route.operation_method, payload)
                .await
                .map_err(fail)?;
            Ok(stored(respond(&response), false))
        }
    }
}

/// Runs a read route.
async fn read(
    state: &AppState,
    ctx: &OperationContext,
    request_id: &RequestId,
    route: &Route,
    payload: Value,
) -> Result<Response> {
    let response = state
        .spine
        .execute(ctx, route.operation, route.operation_method, payload)
        .await
        .map_err(|e| ApiError::from_operation(e, &request_id.0))?;
    Ok(json_response(StatusCode::OK, response))
}

/// Authenticates a read route and applies its `as_of`.
async fn read_context(
    state: &AppState,
    headers: &HeaderMap,
    request_id: &RequestId,
    name: &str,
    as_of: Option<&str>,
) -> Result<(OperationContext, &'static Route)> {
    let route = route(name)?;
    let ctx = authorize(state, headers, request_id, route).await?;
    Ok((with_as_of(ctx, as_of, &request_id.0)?, route))
}

fn with_fields(body: impl Serialize, extra: &[(&str, &str)]) -> Result<Value> {
    let mut payload = serde_json::to_value(body).map_err(|e| ApiError::malformed(e.to_string()))?;
    if let Value::Object(map) = &mut payload {
        map.retain(|_, v| !v.is_null());
        for (k, v) in extra {
            map.insert((*k).to_owned(), Value::String((*v).to_owned()));
        }
    }
    Ok(payload)
}

// ---- bodies and query strings (unknown fields and wrong types are 400) ----

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateIncidentBody {
    title: Option<String>,
    severity: Option<String>,
    category: Option<String>,
    trigger_type: Option<String>,
    source_type: Option<String>,
    source_ref: Option<String>,
    error_code: Option<String>,
    error_message: Option<String>,
    description: Option<String>,
    fingerprint: Option<Vec<String>>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReasonBody {
    reason: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResolveBody {
    resolution_type: Option<String>,
    resolution_summary: Option<String>,
    postmortem_artifact_id: Option<String>,
    reason: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PostmortemBody {
    title: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ArtifactBody {
    input_window_hash: Option<String>,
    as_of: Option<String>,
    compute_code_version: Option<String>,
    window_start: Option<String>,
    window_end: Option<String>,
    code_dirty: Option<bool>,
    inputs: Option<Vec<String>>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    status: Option<String>,
    severity: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
    #[serde(skip_serializing)]
    as_of: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AsOfQuery {
    #[serde(skip_serializing)]
    as_of: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GroupQuery {
    version: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
    #[serde(skip_serializing)]
    as_of: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PageQuery {
    limit: Option<i64>,
    cursor: Option<String>,
    #[serde(skip_serializing)]
    as_of: Option<String>,
}

/// Artifact get: here `as_of` is the point in time the artifact's own `as_of` must not pass.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ArtifactGetQuery {
    version: Option<String>,
    as_of: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ArtifactListQuery {
    dataset_id: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
    #[serde(skip_serializing)]
    as_of: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EventsQuery {
    after: Option<i64>,
    limit: Option<i64>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditQuery {
    entity_id: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
    #[serde(skip_serializing)]
    as_of: Option<String>,
}

// ---- incidents ----

pub(crate) async fn create_incident(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Result<Response> {
    let (ctx, route) = write_context(&state, &headers, &rid, "create_incident").await?;
    let body: CreateIncidentBody = read_json(body, state.body_limit).await?;
    write(
        &state,
        &ctx,
        route,
        &headers,
        &rid,
        &uri,
        with_fields(body, &[])?,
        created,
    )
    .await
}

pub(crate) async fn list_incidents(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response> {
    let query: ListQuery = read_query(&uri)?;
    let (ctx, route) = read_context(
        &state,
        &headers,
        &rid,
        "list_incidents",
        query.as_of.as_deref(),
    )
    .await?;
    read(&state, &ctx, &rid, route, with_fields(&query, &[])?).await
}

pub(crate) async fn get_incident(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<Response> {
    let query: AsOfQuery = read_query(&uri)?;
    let (ctx, route) = read_context(
        &state,
        &headers,
        &rid,
        "get_incident",
        query.as_of.as_deref(),
    )
    .await?;
    read(&state, &ctx, &rid, route, json!({ "id": id })).await
}

async fn transition<B: Serialize + serde::de::DeserializeOwned>(
    state: AppState,
    rid: RequestId,
    headers: HeaderMap,
    uri: Uri,
    id: String,
    body: Body,
    name: &str,
) -> Result<Response> {
    let (ctx, route) = write_context(&state, &headers, &rid, name).await?;
    let body: B = read_json(body, state.body_limit).await?;
    write(
        &state,
        &ctx,
        route,
        &headers,
        &rid,
        &uri,
        with_fields(body, &[("id", &id)])?,
        ok,
    )
    .await
}

pub(crate) async fn acknowledge_incident(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response> {
    transition::<ReasonBody>(state, rid, headers, uri, id, body, "acknowledge_incident").await
}

pub(crate) async fn resolve_incident(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response> {
    transition::<ResolveBody>(state, rid, headers, uri, id, body, "resolve_incident").await
}

pub(crate) async fn close_incident(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response> {
    transition::<ReasonBody>(state, rid, headers, uri, id, body, "close_incident").await
}

pub(crate) async fn reopen_incident(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response> {
    transition::<ReasonBody>(state, rid, headers, uri, id, body, "reopen_incident").await
}

pub(crate) async fn incident_timeline(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<Response> {
    let query: AsOfQuery = read_query(&uri)?;
    let (ctx, route) = read_context(
        &state,
        &headers,
        &rid,
        "incident_timeline",
        query.as_of.as_deref(),
    )
    .await?;
    read(&state, &ctx, &rid, route, json!({ "id": id })).await
}

pub(crate) async fn create_postmortem(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response> {
    let (ctx, route) = write_context(&state, &headers, &rid, "create_postmortem").await?;
    let body: PostmortemBody = read_json(body, state.body_limit).await?;
    let payload = with_fields(body, &[("incident_id", &id)])?;
    write(
        &state,
        &ctx,
        route,
        &headers,
        &rid,
        &uri,
        payload,
        postmortem_response,
    )
    .await
}

pub(crate) async fn incident_recurrence(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<Response> {
    let query: PageQuery = read_query(&uri)?;
    let (ctx, route) = read_context(
        &state,
        &headers,
        &rid,
        "incident_recurrence",
        query.as_of.as_deref(),
    )
    .await?;
    read(
        &state,
        &ctx,
        &rid,
        route,
        with_fields(&query, &[("id", &id)])?,
    )
    .await
}

pub(crate) async fn recurrence_group(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    uri: Uri,
    Path(signature): Path<String>,
) -> Result<Response> {
    let query: GroupQuery = read_query(&uri)?;
    let (ctx, route) = read_context(
        &state,
        &headers,
        &rid,
        "recurrence_group",
        query.as_of.as_deref(),
    )
    .await?;
    read(
        &state,
        &ctx,
        &rid,
        route,
        with_fields(&query, &[("signature", &signature)])?,
    )
    .await
}

// ---- analytics ----

pub(crate) async fn save_artifact(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    uri: Uri,
    Path((dataset_id, dataset_version)): Path<(String, String)>,
    body: Body,
) -> Result<Response> {
    let (ctx, route) = write_context(&state, &headers, &rid, "save_artifact").await?;
    let body: ArtifactBody = read_json(body, state.body_limit).await?;
    let payload = with_fields(
        body,
        &[
            ("dataset_id", &dataset_id),
            ("dataset_version", &dataset_version),
        ],
    )?;
    write(
        &state,
        &ctx,
        route,
        &headers,
        &rid,
        &uri,
        payload,
        artifact_response,
    )
    .await
}

pub(crate) async fn get_artifact(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    uri: Uri,
    Path(dataset_id): Path<String>,
) -> Result<Response> {
    let query: ArtifactGetQuery = read_query(&uri)?;
    let (ctx, route) = read_context(&state, &headers, &rid, "get_artifact", None).await?;
    read(
        &state,
        &ctx,
        &rid,
        route,
        with_fields(&query, &[("dataset_id", &dataset_id)])?,
    )
    .await
}

pub(crate) async fn list_artifacts(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response> {
    let query: ArtifactListQuery = read_query(&uri)?;
    let (ctx, route) = read_context(
        &state,
        &headers,
        &rid,
        "list_artifacts",
        query.as_of.as_deref(),
    )
    .await?;
    read(&state, &ctx, &rid, route, with_fields(&query, &[])?).await
}

// ---- events and audit ----

pub(crate) async fn list_events(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response> {
    let query: EventsQuery = read_query(&uri)?;
    let (ctx, route) = read_context(&state, &headers, &rid, "list_events", None).await?;
    read(&state, &ctx, &rid, route, with_fields(&query, &[])?).await
}

pub(crate) async fn list_audit(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response> {
    let query: AuditQuery = read_query(&uri)?;
    let (ctx, route) =
        read_context(&state, &headers, &rid, "list_audit", query.as_of.as_deref()).await?;
    read(&state, &ctx, &rid, route, with_fields(&query, &[])?).await
}

// ---- operations ----

pub(crate) async fn healthz(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
) -> Response {
    match state.spine.database().ping().await {
        Ok(()) => json_response(StatusCode::OK, json!({ "status": "ok" })),
        Err(err) => {
            tracing::warn!(request_id = %rid.0, error = %err, "health check failed");
            ApiError::from_operation(
                hoc_spine::OperationError::Unavailable {
                    message: "database does not answer".to_owned(),
                },
                &rid.0,
            )
            .into_response()
        }
    }
}

pub(crate) async fn openapi_json() -> Response {
    json_response(StatusCode::OK, crate::openapi::document())
}

pub(crate) async fn no_route() -> Response {
    ApiError::no_route().into_response()
}
