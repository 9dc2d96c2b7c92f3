//! One generic handler per kind of route: authenticate, parse path, query and body into the route's request type
//! once, call the spine's typed door, shape the response.

use axum::Extension;
use axum::body::Body;
use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{FromRequestParts, RawPathParams, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};
use hoc_spine::http::Shape;
use hoc_spine::{OperationMethod, Replayable, StoredResponse};
use serde_json::{Map, Value, json};

use crate::request::{
    RequestId, authorize, authorize_key, idempotency, read_body, read_request_query, require_json,
    with_as_of,
};
use crate::{ApiError, AppState, HttpMethod, Route};

type Result<T, E = ApiError> = std::result::Result<T, E>;

fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
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
    pub(crate) state: AppState,
    pub(crate) rid: RequestId,
    pub(crate) headers: HeaderMap,
    pub(crate) uri: Uri,
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

/// The router of one route: `M`'s request parsed once from path, query and body, then the typed door.
pub(crate) fn router<M: OperationMethod, S: Shape<M::Response>>(
    route: &'static Route,
) -> MethodRouter<AppState> {
    let filter = match route.method {
        HttpMethod::Get => MethodFilter::GET,
        HttpMethod::Post => MethodFilter::POST,
        HttpMethod::Put => MethodFilter::PUT,
        HttpMethod::Patch => MethodFilter::PATCH,
        HttpMethod::Delete => MethodFilter::DELETE,
    };
    on(
        filter,
        move |req: Req,
              params: std::result::Result<RawPathParams, RawPathParamsRejection>,
              method: Method,
              body: Body| async move {
            let result = match params {
                Err(_) => Err(ApiError::malformed("the path is not valid UTF-8")),
                Ok(params) => {
                    let params: Vec<(String, String)> = params
                        .iter()
                        .map(|(k, v)| (k.to_owned(), v.to_owned()))
                        .collect();
                    if method == Method::GET {
                        read::<M, S>(route, &req, params).await
                    } else {
                        write::<M, S>(route, &req, params, body).await
                    }
                }
            };
            result.unwrap_or_else(IntoResponse::into_response)
        },
    )
}

fn fail(rid: &RequestId) -> impl Fn(hoc_spine::OperationError) -> ApiError + '_ {
    |e| ApiError::from_operation(e, &rid.0)
}

/// The typed response shaped by `S`; a response that does not serialize is a bug (500 with the request id).
fn shaped<R, S: Shape<R>>(response: &R, rid: &RequestId) -> Result<StoredResponse> {
    S::respond(response).map_err(|e| {
        tracing::error!(request_id = %rid.0, error = %e, "response does not serialize");
        ApiError::internal(&rid.0)
    })
}

/// Whether the caller asks for Markdown (`Accept: text/markdown`, as its only or its first choice).
fn accepts_markdown(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .is_some_and(|first| first.trim().starts_with("text/markdown"))
}

/// A read: strict query string (plus `as_of` where the route takes it), key and scope, then the spine.
async fn read<M: OperationMethod, S: Shape<M::Response>>(
    route: &'static Route,
    req: &Req,
    path: Vec<(String, String)>,
) -> Result<Response> {
    let (request, as_of) = read_request_query::<M>(&req.uri, path, route.as_of)?;
    let ctx = authorize(&req.state, &req.headers, &req.rid, route).await?;
    let ctx = with_as_of(
        ctx,
        as_of.as_ref().map(|(param, text)| (*param, text.as_str())),
        &req.rid.0,
    )?;
    let response = req
        .state
        .spine
        .call(&ctx, &request)
        .await
        .map_err(fail(&req.rid))?;
    if accepts_markdown(&req.headers)
        && let Some(markdown) = S::markdown(&response)
    {
        return Ok((
            StatusCode::OK,
            [(
                axum::http::header::CONTENT_TYPE,
                "text/markdown; charset=utf-8",
            )],
            markdown,
        )
            .into_response());
    }
    Ok(stored(shaped::<_, S>(&response, &req.rid)?, false))
}

/// A write: key and scope first (so a stranger's large body is a 401, not a 413), then the media type and the
/// body, then the spine — with the stored response when an `Idempotency-Key` came along.
async fn write<M: OperationMethod, S: Shape<M::Response>>(
    route: &'static Route,
    req: &Req,
    path: Vec<(String, String)>,
    body: Body,
) -> Result<Response> {
    let ingest = route.scope == Some(hoc_spine::auth::Scope::Ingest);
    write_any::<M, S>(route, req, path, body, ingest)
        .await
        .map_err(|e| match (route.key_in_body, ingest) {
            (Some(_), _) => e.for_pagerduty(),
            (None, true) => e.for_integration(),
            (None, false) => e,
        })
}

async fn write_any<M: OperationMethod, S: Shape<M::Response>>(
    route: &'static Route,
    req: &Req,
    path: Vec<(String, String)>,
    body: Body,
    ingest: bool,
) -> Result<Response> {
    let limit = if ingest {
        req.state.ingest_body_limit
    } else {
        req.state.body_limit
    };
    // The key: from the header, checked before the body is read (a stranger's large body is a 401, not a 413) —
    // or, for a sender that cannot set a header, from the body.
    let (ctx, bytes) = match route.key_in_body {
        None => {
            let ctx = authorize(&req.state, &req.headers, &req.rid, route).await?;
            (ctx, read_body(body, limit).await?)
        }
        Some(field) => {
            let bytes = read_body(body, limit).await?;
            let token = serde_json::from_slice::<Value>(&bytes)
                .ok()
                .and_then(|v| v.get(field).and_then(Value::as_str).map(str::to_owned));
            let ctx = authorize_key(&req.state, token.as_deref(), &req.rid, route).await?;
            (ctx, bytes)
        }
    };
    require_json(&req.headers, &bytes)?;
    let mut object = if bytes.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(object)) => object,
            Ok(_) => {
                return Err(ApiError::malformed(
                    "the request body must be a JSON object",
                ));
            }
            Err(e) => {
                return Err(ApiError::malformed(format!(
                    "the request body is not JSON: {e}"
                )));
            }
        }
    };
    for (name, value) in path {
        if object.contains_key(&name) {
            return Err(ApiError::malformed(format!(
                "{name}: unknown field (it is a path parameter)"
            )));
        }
        object.insert(name, Value::String(value));
    }
    let request: M =
        hoc_spine::input::decode(Value::Object(object)).map_err(ApiError::malformed)?;
    let spine = &req.state.spine;
    match idempotency(
        &req.headers,
        route.method.as_str(),
        req.uri.path(),
        &request,
    )? {
        Some(key) => match spine
            .call_idempotent(&ctx, &request, &key, S::respond)
            .await
            .map_err(fail(&req.rid))?
        {
            Replayable::Fresh(response) => Ok(stored(response, false)),
            Replayable::Replayed(response) => Ok(stored(response, true)),
        },
        None => {
            let response = spine.call(&ctx, &request).await.map_err(fail(&req.rid))?;
            Ok(stored(shaped::<_, S>(&response, &req.rid)?, false))
        }
    }
}

// ---- operations ----

/// Liveness: 200 while the process serves. Never touches the database, so a slow or locked database cannot make
/// an orchestrator restart a process that would recover by itself.
pub(crate) async fn healthz() -> Response {
    json_response(StatusCode::OK, json!({ "status": "ok" }))
}

/// How long `/readyz` waits for each dependency.
const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Readiness: 200 when the database (and NATS, when the relay is on) answers, else 503 naming each check and
/// whether it passed. Each read replica has a check too (`replica:host:port`: `ok` or what is wrong; all probed side
/// by side within the same 2 s), which never makes it 503.
pub(crate) async fn readyz(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
) -> Response {
    let database = match tokio::time::timeout(READY_TIMEOUT, state.spine.database().ping()).await {
        Ok(Ok(())) => "ok",
        Ok(Err(err)) => {
            tracing::warn!(request_id = %rid.0, error = %err, "readiness: the database does not answer");
            "unavailable"
        }
        Err(_) => {
            tracing::warn!(request_id = %rid.0, "readiness: the database did not answer within 2 s");
            "unavailable"
        }
    };
    let mut checks = serde_json::Map::new();
    checks.insert("database".to_owned(), json!(database));
    if let Some(relay) = &state.relay {
        let nats = if relay.connected() {
            "ok"
        } else {
            "unavailable"
        };
        if nats != "ok" {
            tracing::warn!(request_id = %rid.0, "readiness: NATS is not connected; events wait in the outbox");
        }
        checks.insert("nats".to_owned(), json!(nats));
    }
    let ready = checks.values().all(|v| v == "ok");
    // Replicas are reported, never a reason to be unready: reads they cannot answer go to the primary.
    for replica in state.spine.database().probe_replicas(READY_TIMEOUT).await {
        let check = replica.problem.unwrap_or_else(|| "ok".to_owned());
        checks.insert(format!("replica:{}", replica.name), json!(check));
    }
    let body = json!({
        "status": if ready { "ok" } else { "unavailable" },
        "checks": checks,
    });
    let mut response = json_response(
        if ready {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        body,
    );
    if !ready {
        crate::error::retry_after(&mut response);
    }
    response
}

/// `GET /metrics`: the Prometheus text format (HTTP requests by route and status with latency histograms; the
/// relay's published events, backlog and commit-to-PubAck lag).
pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    for replica in state.spine.database().replica_status() {
        metrics::counter!("hoc_replica_reads_total", "replica" => replica.name.clone())
            .absolute(replica.reads);
        metrics::counter!("hoc_replica_failovers_total", "replica" => replica.name)
            .absolute(replica.failovers);
    }
    match &state.metrics {
        Some(handle) => (
            StatusCode::OK,
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            handle.render(),
        )
            .into_response(),
        None => no_route().await,
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
