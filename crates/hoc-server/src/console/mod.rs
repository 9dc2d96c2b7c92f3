//! The operator console at `/console`: server-rendered HTML over the same spine operations the JSON API serves.
//!
//! Every page reads through a route of [`crate::routes`] (found by name, its request typed from the query string by
//! the route's own field schemas, run through the spine's JSON door), so the console shows what the API answers and
//! takes the API's parameter names. Templates are `minijinja` with escaping on for every `.html` template; nothing
//! user-supplied is marked safe. The only script is `assets/console.js`, served from here (the Content-Security-
//! Policy allows no other, and no inline script). Sign-in exchanges an API key for a session ([`session`]); every
//! POST needs the session's CSRF token and a same-origin request; a page read at `?as_of=` has no form but sign-out.

mod pages;
mod render;
pub mod session;
mod sign_in;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hoc_spine::auth::Scope;
use hoc_spine::{OperationContext, OperationError};
use serde_json::{Map, Value, json};

use crate::handlers::Req;
use crate::request::{read_body, typed_object, with_as_of};
use crate::{ApiError, AppState, Serves, route_named};

pub use session::Sessions;

/// The console's routes (merged into [`crate::app`]; not part of the JSON API's table or document).
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(pages::incidents_page))
        .route(
            "/console/sign-in",
            get(sign_in::sign_in_page).post(sign_in::sign_in),
        )
        .route("/console/sign-out", post(sign_in::sign_out))
        .route("/console/incidents/{id}", get(pages::incident_page))
        .route("/console/incidents/{id}/{action}", post(pages::act))
        .route("/console/incidents/{id}/export", get(pages::export))
        .route("/console/groups", get(pages::groups_page))
        .route("/console/groups/{signature}", get(pages::group_page))
        .route("/console/audit", get(pages::audit_page))
        .route("/console/events", get(pages::events))
        .route("/console/assets/console.js", get(script))
        .route("/console/assets/console.css", get(stylesheet))
}

/// The incident page's actions: the path segment a form posts to, and the API route it runs.
const ACTIONS: &[(&str, &str)] = &[
    ("acknowledge", "acknowledge_incident"),
    ("resolve", "resolve_incident"),
    ("close", "close_incident"),
    ("reopen", "reopen_incident"),
    ("notes", "add_note"),
    ("assign", "assign_incident"),
    ("severity", "change_severity"),
    ("duplicate-of", "mark_duplicate"),
    ("remove-duplicate", "remove_duplicate"),
];

/// Who is looking: the signed-in key's context (with the page's `as_of`), what it may do, its CSRF token.
struct Viewer {
    ctx: OperationContext,
    actor: String,
    tenant: String,
    scope: Scope,
    csrf: String,
    /// The instant the page shows, as given (`None`: now).
    as_of: Option<String>,
}

impl Viewer {
    /// The context every template gets: who, the CSRF token, the instant and whether it is the past.
    fn base(&self) -> Map<String, Value> {
        let mut base = Map::new();
        base.insert(
            "viewer".into(),
            json!({
                "actor": self.actor,
                "tenant": self.tenant,
                "scope": self.scope.as_str(),
                "can_write": self.scope.allows(Scope::Write) && self.as_of.is_none(),
            }),
        );
        base.insert("csrf_token".into(), json!(self.csrf));
        base.insert("as_of".into(), json!(self.as_of));
        base.insert("past".into(), json!(self.as_of.is_some()));
        base
    }
}

/// The session id the request's cookie carries.
fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == session::COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// Why a request has no viewer.
enum Refusal {
    /// Not signed in (no session, an ended one, a revoked key).
    SignIn,
    /// The key or the storage said no; the page to show.
    Page(Response),
}

/// The signed-in viewer of a request, its key authenticated again (a revoked key ends the session).
async fn viewer(req: &Req, as_of: Option<String>) -> Result<Viewer, Refusal> {
    let Some(id) = session_id(&req.headers) else {
        return Err(Refusal::SignIn);
    };
    let found = match req
        .state
        .spine
        .console_session(&id, req.state.console.idle())
        .await
    {
        Ok(Some(found)) if found.identity.scope != Scope::Ingest => found,
        Ok(_) => return Err(Refusal::SignIn),
        Err(e) => {
            return Err(Refusal::Page(error_page(
                &ApiError::from_operation(e, &req.rid.0),
                None,
            )));
        }
    };
    let identity = found.identity;
    let ctx = identity
        .context()
        .and_then(|ctx| ctx.with_request_id(&req.rid.0))
        .map_err(|e| Refusal::Page(error_page(&ApiError::from_operation(e, &req.rid.0), None)))?;
    let ctx = with_as_of(ctx, as_of.as_deref().map(|t| ("as_of", t)), &req.rid.0)
        .map_err(|e| Refusal::Page(error_page(&e, None)))?;
    Ok(Viewer {
        ctx,
        actor: identity.actor_id,
        tenant: identity.tenant_id,
        scope: identity.scope,
        csrf: found.csrf,
        as_of,
    })
}

/// A page's viewer, or the answer instead of the page: the sign-in form (a redirect that comes back here) or an
/// error page.
async fn page_viewer(req: &Req, as_of: Option<String>) -> Result<Viewer, Response> {
    viewer(req, as_of).await.map_err(|refusal| match refusal {
        Refusal::SignIn => {
            let back = req
                .uri
                .path_and_query()
                .map_or("/console", |pq| pq.as_str());
            let location = format!(
                "/console/sign-in?{}",
                form_urlencoded::Serializer::new(String::new())
                    .append_pair("next", back)
                    .finish()
            );
            redirect(&location)
        }
        Refusal::Page(page) => page,
    })
}

/// 303 See Other to `location`.
fn redirect(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// The query string's pairs; empty values dropped (an empty filter field is no filter).
fn query_pairs(req: &Req) -> Vec<(String, String)> {
    form_urlencoded::parse(req.uri.query().unwrap_or("").as_bytes())
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Takes `name` out of `pairs` (its last value).
fn take(pairs: &mut Vec<(String, String)>, name: &str) -> Option<String> {
    let mut value = None;
    pairs.retain(|(k, v)| {
        if k == name {
            value = Some(v.clone());
            false
        } else {
            true
        }
    });
    value
}

/// Why running a route's operation was refused: the API's error, and the fields it names (`invalid_input`).
struct Failure {
    error: ApiError,
    fields: Vec<(String, String)>,
}

impl Failure {
    fn of(err: OperationError, rid: &str) -> Self {
        let fields = match &err {
            OperationError::InvalidInput { fields } => fields
                .iter()
                .map(|f| (f.field.clone(), f.problem.clone()))
                .collect(),
            _ => Vec::new(),
        };
        Self {
            error: ApiError::from_operation(err, rid),
            fields,
        }
    }

    fn api(error: ApiError) -> Self {
        Self {
            error,
            fields: Vec::new(),
        }
    }

    fn error(&self) -> &ApiError {
        &self.error
    }

    fn fields(&self) -> &[(String, String)] {
        &self.fields
    }
}

/// Runs the API route `name` for the viewer: its request typed from `path` and `pairs` by the route's field
/// schemas, through the spine's JSON door. The answer is the API's body.
async fn run(
    req: &Req,
    viewer: &Viewer,
    name: &str,
    path: Vec<(String, String)>,
    pairs: Vec<(String, String)>,
) -> Result<Value, Failure> {
    let route = route_named(name).ok_or_else(|| Failure::api(ApiError::internal(&req.rid.0)))?;
    let Serves::Operation { operation, method } = route.serves else {
        return Err(Failure::api(ApiError::internal(&req.rid.0)));
    };
    let (object, _) = typed_object(&(route.fields)(), path, pairs, None).map_err(Failure::api)?;
    req.state
        .spine
        .execute(&viewer.ctx, operation, method, Value::Object(object))
        .await
        .map_err(|e| Failure::of(e, &req.rid.0))
}

/// A page of the console: security headers on every one (the policy allows this origin's script and style only).
fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    secure(headers);
    response
}

pub(super) fn secure(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// Renders `template` with `context`, or the error page when the template fails (a bug, logged).
fn page(template: &str, status: StatusCode, context: Map<String, Value>) -> Response {
    match render::render(template, &Value::Object(context)) {
        Ok(body) => html(status, body),
        Err(e) => {
            tracing::error!(template, error = %e, "a console template failed");
            html(
                StatusCode::INTERNAL_SERVER_ERROR,
                "<!doctype html><title>Error</title><p>The page could not be drawn.</p>".to_owned(),
            )
        }
    }
}

/// A page that only says what went wrong (the API's status and message; never internals).
fn error_page(err: &ApiError, viewer: Option<&Viewer>) -> Response {
    let mut context = viewer.map(Viewer::base).unwrap_or_default();
    context.insert("status".into(), json!(err.status.as_u16()));
    context.insert("code".into(), json!(err.code));
    context.insert("message".into(), json!(err.message));
    page("error.html", err.status, context)
}

fn query_of(pairs: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// `path` with `pairs` and the viewer's `as_of` as its query string.
fn href(path: &str, pairs: &[(String, String)], as_of: Option<&str>) -> String {
    let mut all: Vec<(String, String)> = pairs.to_vec();
    if let Some(as_of) = as_of {
        all.push(("as_of".into(), as_of.to_owned()));
    }
    if all.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", query_of(&all))
    }
}

/// The pairs of an `application/x-www-form-urlencoded` body (at most the state's body limit).
pub(super) async fn form(req: &Req, body: Body) -> Result<Vec<(String, String)>, ApiError> {
    let bytes = read_body(body, req.state.body_limit).await?;
    Ok(form_urlencoded::parse(&bytes)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect())
}

/// 403: a state-changing request the console refuses (no session, no valid CSRF token, another origin).
fn refused(what: &str) -> Response {
    let mut err = ApiError::forbidden(format!("{what} is refused; nothing was changed"));
    err.status = StatusCode::FORBIDDEN;
    error_page(&err, None)
}

fn field_map(fields: &[(String, String)]) -> Value {
    Value::Object(fields.iter().map(|(f, p)| (f.clone(), json!(p))).collect())
}

/// `s` as one path segment.
fn encode_segment(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

async fn script() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("assets/console.js"),
    )
}

async fn stylesheet() -> Response {
    asset(
        "text/css; charset=utf-8",
        include_str!("assets/console.css"),
    )
}
