//! Request plumbing: request ids, authentication, bodies with a size limit, strict query strings, idempotency.

use std::time::Instant;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Uri};
use axum::middleware::Next;
use axum::response::Response;
use hoc_spine::auth::Scope;
use hoc_spine::{FieldError, Idempotency, OperationContext, OperationError};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tracing::Instrument;

use crate::{ApiError, AppState, Route};

/// The id of one request: the caller's `x-request-id` when it is sane, else a new one. Echoed on every response.
#[derive(Debug, Clone)]
pub(crate) struct RequestId(pub(crate) String);

fn sane_request_id(value: &str) -> bool {
    (1..=128).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_graphic())
}

/// Middleware: assigns the request id, logs one structured line per request, and echoes the id.
pub(crate) async fn request_id_layer(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| sane_request_id(v))
        .map_or_else(|| format!("req_{}", uuid::Uuid::now_v7()), str::to_owned);
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id);
    let started = Instant::now();
    // The route's template, never the raw path: label values stay bounded whatever clients send.
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let mut response = next.run(req).instrument(span.clone()).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("hoc_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("hoc_http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "request finished"
        );
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

/// Middleware: a request that runs longer than the state's `request_timeout` is answered 503 with `Retry-After`;
/// its work is dropped, which rolls back its transaction.
pub(crate) async fn timeout_layer(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map_or_else(String::new, |id| id.0.clone());
    match tokio::time::timeout(state.request_timeout, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(
                request_id,
                timeout_ms = state.request_timeout.as_millis() as u64,
                "request timed out; its work was dropped"
            );
            axum::response::IntoResponse::into_response(ApiError::from_operation(
                OperationError::Unavailable {
                    message: "the request timed out".to_owned(),
                },
                &request_id,
            ))
        }
    }
}

/// Authenticates the bearer key and checks the route's scope; returns the operation context of the key.
pub(crate) async fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    request_id: &RequestId,
    route: &Route,
) -> Result<OperationContext, ApiError> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    authorize_key(state, token, request_id, route).await
}

/// Authenticates `token` (none: 401) and checks the route's scope; returns the operation context of the key.
pub(crate) async fn authorize_key(
    state: &AppState,
    token: Option<&str>,
    request_id: &RequestId,
    route: &Route,
) -> Result<OperationContext, ApiError> {
    let token = token.ok_or_else(ApiError::unauthenticated)?;
    let identity = state
        .spine
        .authenticate(token)
        .await
        .map_err(|e| ApiError::from_operation(e, &request_id.0))?
        .ok_or_else(ApiError::unauthenticated)?;
    // Open routes (no scope) never ask for a key; a route that does needs at least `read`.
    let needed = route.scope.unwrap_or(Scope::Read);
    if !identity.scope.allows(needed) {
        return Err(ApiError::forbidden(format!(
            "this key has scope `{}`; {} {} needs `{}`",
            identity.scope.as_str(),
            route.method,
            route.path,
            needed.as_str()
        )));
    }
    identity
        .context()
        .and_then(|ctx| ctx.with_request_id(&request_id.0))
        .map_err(|e| ApiError::from_operation(e, &request_id.0))
}

/// Reads a body of at most `limit` bytes (over the limit: 413).
pub(crate) async fn read_body(body: Body, limit: usize) -> Result<axum::body::Bytes, ApiError> {
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::too_large(limit))
}

/// A write's body must be declared JSON: a `Content-Type` other than `application/json` (parameters such as
/// `charset` aside) is 415, and so is a non-empty body without one.
pub(crate) fn require_json(headers: &HeaderMap, body: &[u8]) -> Result<(), ApiError> {
    match headers.get(axum::http::header::CONTENT_TYPE) {
        Some(value) => {
            let essence = value
                .to_str()
                .ok()
                .and_then(|v| v.split(';').next())
                .map(|v| v.trim().to_ascii_lowercase());
            if essence.as_deref() == Some("application/json") {
                Ok(())
            } else {
                Err(ApiError::unsupported_media_type())
            }
        }
        None if body.iter().all(u8::is_ascii_whitespace) => Ok(()),
        None => Err(ApiError::unsupported_media_type()),
    }
}

/// The read's point in time as given: the query parameter's name and its text.
pub(crate) type AsOfParam = (&'static str, String);

/// Parses the path parameters and the query string into the request type `M` (unknown parameters, repeated ones
/// and wrong types: 400). Where the route takes the read's point in time (`as_of`, the parameter named by
/// `as_of_param`), it is taken out and returned for the context.
pub(crate) fn read_query<M: serde::de::DeserializeOwned>(
    uri: &Uri,
    path: Vec<(String, String)>,
    as_of_param: Option<&'static str>,
) -> Result<(M, Option<AsOfParam>), ApiError> {
    let bad = |message: String| ApiError::malformed(format!("bad query string: {message}"));
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(uri.query().unwrap_or("")).map_err(|e| bad(e.to_string()))?;
    let mut as_of = None;
    let mut fields = path;
    for (name, value) in pairs {
        if let Some(param) = as_of_param.filter(|p| *p == name) {
            if as_of.replace((param, value)).is_some() {
                return Err(bad(format!("{name}: given twice")));
            }
        } else if fields.iter().any(|(n, _)| *n == name) {
            return Err(bad(format!("{name}: given twice or also in the path")));
        } else {
            fields.push((name, value));
        }
    }
    let encoded = serde_urlencoded::to_string(&fields).map_err(|e| bad(e.to_string()))?;
    let deserializer =
        serde_urlencoded::Deserializer::new(form_urlencoded::parse(encoded.as_bytes()));
    let request = serde_path_to_error::deserialize(deserializer).map_err(|e| {
        bad(hoc_spine::input::shape_message(
            &e.path().to_string(),
            &e.into_inner().to_string(),
        ))
    })?;
    Ok((request, as_of))
}

/// Parses the path parameters and the query string of a read into its request type `M`, each parameter typed by
/// the field's schema ([`typed_object`]). Where the route takes the read's point in time (`as_of_param`), it is
/// taken out and returned for the context.
pub(crate) fn read_request_query<M: hoc_spine::OperationMethod>(
    uri: &Uri,
    path: Vec<(String, String)>,
    as_of_param: Option<&'static str>,
) -> Result<(M, Option<AsOfParam>), ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(uri.query().unwrap_or(""))
        .map_err(|e| ApiError::malformed(format!("bad query string: {e}")))?;
    let (object, as_of) = typed_object(&M::fields(), path, pairs, as_of_param)?;
    let request =
        serde_path_to_error::deserialize(serde_json::Value::Object(object)).map_err(|e| {
            ApiError::malformed(format!(
                "bad query string: {}",
                hoc_spine::input::shape_message(&e.path().to_string(), &e.into_inner().to_string())
            ))
        })?;
    Ok((request, as_of))
}

/// The JSON object of a request's fields from text pairs (a query string, a form), each typed by the field's
/// schema in `fields`: an integer or a boolean as such, a list field (`label=`) from every repetition of its name,
/// any other as text. The path's parameters come first and cannot be repeated. A repeated parameter that is not a
/// list or a wrong type is 400. The pair named `as_of_param`, if any, is taken out and returned.
pub(crate) fn typed_object(
    fields: &[hoc_spine::input::FieldSchema],
    path: Vec<(String, String)>,
    pairs: Vec<(String, String)>,
    as_of_param: Option<&'static str>,
) -> Result<
    (
        serde_json::Map<String, serde_json::Value>,
        Option<AsOfParam>,
    ),
    ApiError,
> {
    use serde_json::Value;
    let bad = |message: String| ApiError::malformed(format!("bad query string: {message}"));
    let kind = |name: &str| -> &'static str {
        let Some(field) = fields.iter().find(|f| f.name == name) else {
            return "string";
        };
        let types = match field.schema.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        ["array", "integer", "boolean"]
            .into_iter()
            .find(|k| types.contains(k))
            .unwrap_or("string")
    };
    let mut as_of = None;
    let mut object = serde_json::Map::new();
    for (name, value) in path {
        object.insert(name, Value::String(value));
    }
    let path_names: Vec<String> = object.keys().cloned().collect();
    for (name, value) in pairs {
        if let Some(param) = as_of_param.filter(|p| *p == name) {
            if as_of.replace((param, value)).is_some() {
                return Err(bad(format!("{name}: given twice")));
            }
            continue;
        }
        let value = match kind(&name) {
            "integer" => value
                .parse::<i64>()
                .map(Value::from)
                .map_err(|e| bad(format!("{name}: {e}")))?,
            "boolean" => value
                .parse::<bool>()
                .map(Value::from)
                .map_err(|e| bad(format!("{name}: {e}")))?,
            _ => Value::String(value),
        };
        match object.get_mut(&name) {
            Some(Value::Array(items)) if !path_names.contains(&name) => items.push(value),
            Some(_) => return Err(bad(format!("{name}: given twice or also in the path"))),
            None if kind(&name) == "array" => {
                object.insert(name, Value::Array(vec![value]));
            }
            None => {
                object.insert(name, value);
            }
        }
    }
    Ok((object, as_of))
}

/// Applies the read's point in time (the query parameter `param`) to the context (RFC 3339; anything else is
/// 422).
pub(crate) fn with_as_of(
    ctx: OperationContext,
    as_of: Option<(&str, &str)>,
    request_id: &str,
) -> Result<OperationContext, ApiError> {
    match as_of {
        None => Ok(ctx),
        Some((param, text)) => parse_time(param, text, request_id).map(|t| ctx.with_as_of(t)),
    }
}

fn parse_time(field: &str, text: &str, request_id: &str) -> Result<OffsetDateTime, ApiError> {
    hoc_spine::input::parse_timestamp(text).map_err(|problem| {
        ApiError::from_operation(
            OperationError::InvalidInput {
                fields: vec![FieldError::new(field, problem)],
            },
            request_id,
        )
    })
}

/// The `Idempotency-Key` of a write, with the fingerprint of the request: method, path and the parsed request.
pub(crate) fn idempotency(
    headers: &HeaderMap,
    method: &str,
    path: &str,
    request: &impl serde::Serialize,
) -> Result<Option<Idempotency>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| (1..=128).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::malformed("Idempotency-Key must be 1 to 128 visible ASCII characters")
        })?;
    let payload = serde_json::to_string(request).map_err(|e| ApiError::malformed(e.to_string()))?;
    let digest = Sha256::digest(format!("{method} {path}\n{payload}").as_bytes());
    Ok(Some(Idempotency {
        key: key.to_owned(),
        fingerprint: digest.iter().map(|b| format!("{b:02x}")).collect(),
    }))
}
