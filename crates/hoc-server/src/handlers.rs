//! One handler per route: authenticate, build the operation payload, call the spine, shape the response.

use axum::Extension;
use axum::body::Body;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use hoc_spine::{Replayable, StoredResponse};
use serde::de::DeserializeOwned;
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

/// What every route handler needs from the request: state, request id, headers and URI.
pub(crate) struct Req {
    state: AppState,
    rid: RequestId,
    headers: HeaderMap,
    uri: Uri,
}

impl FromRequestParts<AppState> for Req {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let rid = parts
            .extensions
            .get::<RequestId>()
            .cloned()
            .unwrap_or_else(|| RequestId(format!("req_{}", uuid::Uuid::now_v7())));
        Ok(Self {
            state: state.clone(),
            rid,
            headers: parts.headers.clone(),
            uri: parts.uri.clone(),
        })
    }
}

impl Req {
    fn fail(&self) -> impl Fn(hoc_spine::OperationError) -> ApiError + '_ {
        |e| ApiError::from_operation(e, &self.rid.0)
    }

    /// A read route: strict query string, key and scope, `as_of`, then the spine.
    async fn read<Q: DeserializeOwned + Serialize + AsOf>(
        &self,
        name: &str,
        path: &[(&str, &str)],
    ) -> Result<Response> {
        let query: Q = read_query(&self.uri)?;
        let route = route(name)?;
        let ctx = authorize(&self.state, &self.headers, &self.rid, route).await?;
        let ctx = with_as_of(ctx, query.as_of(), &self.rid.0)?;
        let response = self
            .state
            .spine
            .execute(
                &ctx,
                route.operation,
                route.operation_method,
                with_fields(&query, path)?,
            )
            .await
            .map_err(self.fail())?;
        Ok(json_response(StatusCode::OK, response))
    }

    /// A write route: key and scope first (so a stranger's large body is a 401, not a 413), then the body, then
    /// the spine — with the stored response when an `Idempotency-Key` came along.
    async fn write<B: DeserializeOwned + Serialize>(
        &self,
        name: &str,
        body: Body,
        path: &[(&str, &str)],
        respond: Respond,
    ) -> Result<Response> {
        let route = route(name)?;
        let ctx = authorize(&self.state, &self.headers, &self.rid, route).await?;
        let body: B = read_json(body, self.state.body_limit).await?;
        let payload = with_fields(body, path)?;
        let spine = &self.state.spine;
        match idempotency(&self.headers, route.method, self.uri.path(), &payload)? {
            Some(key) => match spine
                .execute_idempotent(
                    &ctx,
                    route.operation,
                    route.operation_method,
                    payload,
                    &key,
                    respond,
                )
                .await
                .map_err(self.fail())?
            {
                Replayable::Fresh(response) => Ok(stored(response, false)),
                Replayable::Replayed(response) => Ok(stored(response, true)),
            },
            None => {
                let response = spine
                    .execute(&ctx, route.operation, route.operation_method, payload)
                    .await
                    .map_err(self.fail())?;
                Ok(stored(respond(&response), false))
            }
        }
    }
}

/// The `as_of` of a query string that moves the read's point in time.
pub(crate) trait AsOf {
    fn as_of(&self) -> Option<&str> {
        None
    }
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

macro_rules! as_of_field {
    ($($ty:ty),*) => {
        $(impl AsOf for $ty {
            fn as_of(&self) -> Option<&str> {
                self.as_of.as_deref()
            }
        })*
    };
}

as_of_field!(
    ListQuery,
    AsOfQuery,
    GroupQuery,
    PageQuery,
    ArtifactListQuery,
    AuditQuery
);
/// For artifacts, `as_of` is the point in time the artifact's own `as_of` must not pass; it goes in the payload.
impl AsOf for ArtifactGetQuery {}
impl AsOf for EventsQuery {}

// ---- the handlers: one line each ----

pub(crate) async fn create_incident(req: Req, body: Body) -> Result<Response> {
    req.write::<CreateIncidentBody>("create_incident", body, &[], created)
        .await
}

pub(crate) async fn list_incidents(req: Req) -> Result<Response> {
    req.read::<ListQuery>("list_incidents", &[]).await
}

pub(crate) async fn get_incident(req: Req, Path(id): Path<String>) -> Result<Response> {
    req.read::<AsOfQuery>("get_incident", &[("id", &id)]).await
}

pub(crate) async fn acknowledge_incident(
    req: Req,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response> {
    req.write::<ReasonBody>("acknowledge_incident", body, &[("id", &id)], ok)
        .await
}

pub(crate) async fn resolve_incident(
    req: Req,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response> {
    req.write::<ResolveBody>("resolve_incident", body, &[("id", &id)], ok)
        .await
}

pub(crate) async fn close_incident(
    req: Req,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response> {
    req.write::<ReasonBody>("close_incident", body, &[("id", &id)], ok)
        .await
}

pub(crate) async fn reopen_incident(
    req: Req,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response> {
    req.write::<ReasonBody>("reopen_incident", body, &[("id", &id)], ok)
        .await
}

pub(crate) async fn incident_timeline(req: Req, Path(id): Path<String>) -> Result<Response> {
    req.read::<AsOfQuery>("incident_timeline", &[("id", &id)])
        .await
}

pub(crate) async fn create_postmortem(
    req: Req,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response> {
    req.write::<PostmortemBody>(
        "create_postmortem",
        body,
        &[("incident_id", &id)],
        postmortem_response,
    )
    .await
}

pub(crate) async fn incident_recurrence(req: Req, Path(id): Path<String>) -> Result<Response> {
    req.read::<PageQuery>("incident_recurrence", &[("id", &id)])
        .await
}

pub(crate) async fn recurrence_group(req: Req, Path(signature): Path<String>) -> Result<Response> {
    req.read::<GroupQuery>("recurrence_group", &[("signature", &signature)])
        .await
}

pub(crate) async fn save_artifact(
    req: Req,
    Path((dataset, version)): Path<(String, String)>,
    body: Body,
) -> Result<Response> {
    let path = [
        ("dataset_id", dataset.as_str()),
        ("dataset_version", version.as_str()),
    ];
    req.write::<ArtifactBody>("save_artifact", body, &path, artifact_response)
        .await
}

pub(crate) async fn get_artifact(req: Req, Path(dataset_id): Path<String>) -> Result<Response> {
    req.read::<ArtifactGetQuery>("get_artifact", &[("dataset_id", &dataset_id)])
        .await
}

pub(crate) async fn list_artifacts(req: Req) -> Result<Response> {
    req.read::<ArtifactListQuery>("list_artifacts", &[]).await
}

pub(crate) async fn list_events(req: Req) -> Result<Response> {
    req.read::<EventsQuery>("list_events", &[]).await
}

pub(crate) async fn list_audit(req: Req) -> Result<Response> {
    req.read::<AuditQuery>("list_audit", &[]).await
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

pub(crate) async fn method_not_allowed() -> Response {
    let mut error = ApiError::malformed("this route does not take that method");
    error.status = StatusCode::METHOD_NOT_ALLOWED;
    error.into_response()
}

pub(crate) async fn no_route() -> Response {
    ApiError::no_route().into_response()
}
