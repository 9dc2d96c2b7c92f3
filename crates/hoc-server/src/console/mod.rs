//! The operator console at `/console`: server-rendered HTML over the same spine operations the JSON API serves.
//!
//! Every page reads through a route of [`crate::routes`] (found by name, its request typed from the query string by
//! the route's own field schemas, run through the spine's JSON door), so the console shows what the API answers and
//! takes the API's parameter names. Templates are `minijinja` with escaping on for every `.html` template; nothing
//! user-supplied is marked safe. The only script is `assets/console.js`, served from here (the Content-Security-
//! Policy allows no other, and no inline script). Sign-in exchanges an API key for a session ([`session`]); every
//! POST needs the session's CSRF token and a same-origin request; a page read at `?as_of=` has no form but sign-out.

mod render;
pub mod session;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawPathParams};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hoc_spine::auth::Scope;
use hoc_spine::{ErrorCode, OperationContext, OperationError};
use serde_json::{Map, Value, json};

use crate::handlers::Req;
use crate::request::{read_body, typed_object, with_as_of};
use crate::{ApiError, AppState, Serves, route_named};

pub use session::Sessions;

/// The console's routes (merged into [`crate::app`]; not part of the JSON API's table or document).
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(incidents_page))
        .route("/console/sign-in", get(sign_in_page).post(sign_in))
        .route("/console/sign-out", post(sign_out))
        .route("/console/incidents/{id}", get(incident_page))
        .route("/console/incidents/{id}/{action}", post(act))
        .route("/console/groups", get(groups_page))
        .route("/console/groups/{signature}", get(group_page))
        .route("/console/audit", get(audit_page))
        .route("/console/events", get(events))
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
    let Some(found) = req.state.console.find(&id) else {
        return Err(Refusal::SignIn);
    };
    let identity = match req.state.spine.authenticate(&found.key).await {
        Ok(Some(identity)) if identity.scope != Scope::Ingest => identity,
        Ok(_) => {
            req.state.console.end(&id);
            return Err(Refusal::SignIn);
        }
        Err(e) => {
            return Err(Refusal::Page(error_page(
                &ApiError::from_operation(e, &req.rid.0),
                None,
            )));
        }
    };
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

/// What running a route's operation can say.
enum Failure {
    /// The request as given is refused, field by field (`invalid_input`) or as a whole.
    Refused(ApiError, Vec<(String, String)>),
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
        Failure::Refused(ApiError::from_operation(err, rid), fields)
    }

    fn api(err: ApiError) -> Self {
        Failure::Refused(err, Vec::new())
    }

    fn error(&self) -> &ApiError {
        let Failure::Refused(err, _) = self;
        err
    }

    fn fields(&self) -> &[(String, String)] {
        let Failure::Refused(_, fields) = self;
        fields
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

fn secure(headers: &mut HeaderMap) {
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

// ---- sign-in and sign-out ----

/// Whether a POST comes from this origin: `Sec-Fetch-Site` (when the browser sends it) must be `same-origin` or
/// `none`, and `Origin` (when sent) must name the host the request was sent to.
fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        if !matches!(site.to_str(), Ok("same-origin" | "none")) {
            return false;
        }
    }
    match headers.get(header::ORIGIN) {
        None => true,
        Some(origin) => {
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
            let origin_host = origin
                .to_str()
                .ok()
                .and_then(|o| o.split_once("://"))
                .map(|(_, rest)| rest);
            matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
        }
    }
}

/// Where to go after signing in: a console path only (never another site).
fn next_page(next: Option<&str>) -> String {
    next.filter(|n| n.starts_with("/console") && !n.starts_with("//") && !n.contains('\\'))
        .unwrap_or("/console")
        .to_owned()
}

/// The session cookie: HttpOnly, SameSite=Strict, the console's path, `Secure` when the request came over TLS
/// (a proxy in front says so with `X-Forwarded-Proto: https`).
fn session_cookie(headers: &HeaderMap, value: &str, max_age: u64) -> Option<HeaderValue> {
    let secure = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    HeaderValue::from_str(&format!(
        "{}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        session::COOKIE,
        if secure { "; Secure" } else { "" }
    ))
    .ok()
}

async fn sign_in_page(req: Req) -> Response {
    let mut pairs = query_pairs(&req);
    let next = next_page(take(&mut pairs, "next").as_deref());
    sign_in_form(StatusCode::OK, &next, None)
}

fn sign_in_form(status: StatusCode, next: &str, error: Option<&str>) -> Response {
    let mut context = Map::new();
    context.insert("next".into(), json!(next));
    context.insert("error".into(), json!(error));
    page("sign_in.html", status, context)
}

/// The pairs of an `application/x-www-form-urlencoded` body (at most the state's body limit).
async fn form(req: &Req, body: Body) -> Result<Vec<(String, String)>, ApiError> {
    let bytes = read_body(body, req.state.body_limit).await?;
    Ok(form_urlencoded::parse(&bytes)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect())
}

async fn sign_in(req: Req, body: Body) -> Response {
    if !same_origin(&req.headers) {
        return refused("a sign-in from another site");
    }
    let mut pairs = match form(&req, body).await {
        Ok(pairs) => pairs,
        Err(e) => return error_page(&e, None),
    };
    let next = next_page(take(&mut pairs, "next").as_deref());
    let key = take(&mut pairs, "api_key").unwrap_or_default();
    let key = key.trim();
    if key.is_empty() {
        return sign_in_form(
            StatusCode::UNPROCESSABLE_ENTITY,
            &next,
            Some("api_key: is required"),
        );
    }
    match req.state.spine.authenticate(key).await {
        Ok(Some(identity)) if identity.scope == Scope::Ingest => sign_in_form(
            StatusCode::FORBIDDEN,
            &next,
            Some("api_key: an ingest key only sends alerts; sign in with a read or write key"),
        ),
        Ok(Some(_)) => {
            let id = req.state.console.open(key);
            let mut response = redirect(&next);
            if let Some(cookie) =
                session_cookie(&req.headers, &id, req.state.console.idle().as_secs().max(1))
            {
                response.headers_mut().insert(header::SET_COOKIE, cookie);
            }
            response
        }
        Ok(None) => sign_in_form(
            StatusCode::UNAUTHORIZED,
            &next,
            Some("api_key: this key is not valid (unknown, revoked or mistyped)"),
        ),
        Err(e) => error_page(&ApiError::from_operation(e, &req.rid.0), None),
    }
}

/// 403: a state-changing request the console refuses (no session, no valid CSRF token, another origin).
fn refused(what: &str) -> Response {
    let mut err = ApiError::forbidden(format!("{what} is refused; nothing was changed"));
    err.status = StatusCode::FORBIDDEN;
    error_page(&err, None)
}

async fn sign_out(req: Req, body: Body) -> Response {
    if !same_origin(&req.headers) {
        return refused("a sign-out from another site");
    }
    let pairs = match form(&req, body).await {
        Ok(pairs) => pairs,
        Err(e) => return error_page(&e, None),
    };
    if let Some(id) = session_id(&req.headers) {
        let token = pairs
            .iter()
            .find(|(k, _)| k == "csrf_token")
            .map(|(_, v)| v.as_str());
        match (req.state.console.find(&id), token) {
            (Some(found), Some(token)) if session::same_token(&found.csrf, token) => {
                req.state.console.end(&id);
            }
            (Some(_), _) => return refused("a form without a valid csrf_token"),
            (None, _) => {}
        }
    }
    let mut response = redirect("/console/sign-in");
    if let Some(cookie) = session_cookie(&req.headers, "", 0) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

// ---- pages ----

/// `GET /console`: the incident list, filtered by the API list's parameters in the query string.
async fn incidents_page(req: Req) -> Response {
    let mut pairs = query_pairs(&req);
    let as_of = take(&mut pairs, "as_of");
    let viewer = match page_viewer(&req, as_of).await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let mut context = viewer.base();
    let filters: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| k != "cursor")
        .cloned()
        .collect();
    let mut filter_values = Map::new();
    for (name, value) in &filters {
        if name == "label" {
            let labels = filter_values
                .entry("label")
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(labels) = labels {
                labels.push(json!(value));
            }
        } else {
            filter_values.insert(name.clone(), json!(value));
        }
    }
    context.insert("filters".into(), Value::Object(filter_values));
    context.insert(
        "first_page".into(),
        json!(href("/console", &filters, viewer.as_of.as_deref())),
    );
    let status = match run(&req, &viewer, "list_incidents", Vec::new(), pairs.clone()).await {
        Ok(list) => {
            if let Some(next) = list.get("next_cursor").and_then(Value::as_str) {
                let mut next_pairs = filters.clone();
                next_pairs.push(("cursor".into(), next.to_owned()));
                context.insert(
                    "next_page".into(),
                    json!(href("/console", &next_pairs, viewer.as_of.as_deref())),
                );
            }
            context.insert(
                "paged".into(),
                json!(pairs.iter().any(|(k, _)| k == "cursor")),
            );
            context.insert("list".into(), list);
            StatusCode::OK
        }
        Err(failure) => {
            context.insert("errors".into(), field_map(failure.fields()));
            context.insert("failure".into(), json!(failure.error().message));
            failure.error().status
        }
    };
    page("incidents.html", status, context)
}

fn field_map(fields: &[(String, String)]) -> Value {
    Value::Object(fields.iter().map(|(f, p)| (f.clone(), json!(p))).collect())
}

/// `GET /console/incidents/{id}`: the incident, its alerts, notes, timeline, duplicates and group, and the forms of
/// its actions.
async fn incident_page(req: Req, Path(id): Path<String>) -> Response {
    let mut pairs = query_pairs(&req);
    let as_of = take(&mut pairs, "as_of");
    let viewer = match page_viewer(&req, as_of).await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    incident_view(&req, &viewer, &id, None).await
}

/// A failed action, shown on the incident page: which form, the values it sent, what was wrong.
struct Attempt {
    action: String,
    values: Vec<(String, String)>,
    failure: Failure,
}

async fn incident_view(req: &Req, viewer: &Viewer, id: &str, attempt: Option<Attempt>) -> Response {
    let path = || vec![("id".to_owned(), id.to_owned())];
    let incident = match run(req, viewer, "get_incident", path(), Vec::new()).await {
        Ok(incident) => incident,
        Err(failure) => return error_page(failure.error(), Some(viewer)),
    };
    let mut context = viewer.base();
    // The rest of the page: each part a read of its own at the same instant; a part that fails says so in place.
    let parts = [
        ("timeline", "incident_timeline", Vec::new()),
        ("alerts", "list_incident_alerts", Vec::new()),
        ("notes", "list_notes", Vec::new()),
        (
            "group",
            "incident_recurrence",
            vec![("limit".to_owned(), "10".to_owned())],
        ),
    ];
    for (name, route, pairs) in parts {
        let value = match run(req, viewer, route, path(), pairs).await {
            Ok(value) => value,
            Err(failure) => json!({ "unavailable": failure.error().message }),
        };
        context.insert(name.into(), value);
    }
    let status = match &attempt {
        None => StatusCode::OK,
        Some(attempt) => {
            context.insert(
                "attempt".into(),
                json!({
                    "action": attempt.action,
                    "values": Value::Object(attempt.values.iter().map(|(k, v)| (k.clone(), json!(v))).collect()),
                    "errors": field_map(attempt.failure.fields()),
                    "message": attempt.failure.error().message,
                }),
            );
            attempt.failure.error().status
        }
    };
    context.insert(
        "links".into(),
        json!({
            "audit": href("/console/audit", &[("entity_id".into(), id.to_owned())], viewer.as_of.as_deref()),
            "group": incident.get("recurrence_signature").and_then(Value::as_str).map(|s| {
                href(&format!("/console/groups/{}", encode_segment(s)), &[], viewer.as_of.as_deref())
            }),
        }),
    );
    context.insert("incident".into(), incident);
    page("incident.html", status, context)
}

/// `s` as one path segment.
fn encode_segment(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// `POST /console/incidents/{id}/{action}`: one action of the incident page, as the API would run it; then back
/// to the page (303), or the page again with the server's errors beside the form's fields.
async fn act(req: Req, params: RawPathParams, body: Body) -> Response {
    let params: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (id, action) = (get("id"), get("action"));
    if !same_origin(&req.headers) {
        return refused("a form posted from another site");
    }
    let viewer = match viewer(&req, None).await {
        Ok(viewer) => viewer,
        Err(Refusal::SignIn) => return refused("a form posted without a session"),
        Err(Refusal::Page(page)) => return page,
    };
    let mut pairs = match form(&req, body).await {
        Ok(pairs) => pairs,
        Err(e) => return error_page(&e, Some(&viewer)),
    };
    let token = take(&mut pairs, "csrf_token");
    if !token.is_some_and(|t| session::same_token(&viewer.csrf, &t)) {
        return refused("a form without a valid csrf_token");
    }
    let Some((_, route)) = ACTIONS.iter().find(|(a, _)| *a == action) else {
        return error_page(&ApiError::no_route(), Some(&viewer));
    };
    if !viewer.scope.allows(Scope::Write) {
        return error_page(
            &ApiError::forbidden(format!(
                "this key has scope `{}`; {action} needs `write`",
                viewer.scope.as_str()
            )),
            Some(&viewer),
        );
    }
    let values: Vec<(String, String)> = pairs.clone();
    let sent: Vec<(String, String)> = pairs
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .collect();
    match run(
        &req,
        &viewer,
        route,
        vec![("id".to_owned(), id.clone())],
        sent,
    )
    .await
    {
        Ok(_) => redirect(&format!(
            "/console/incidents/{}#timeline",
            encode_segment(&id)
        )),
        Err(failure) if failure.error().code == ErrorCode::NotFound.as_str() => {
            error_page(failure.error(), Some(&viewer))
        }
        Err(failure) => {
            incident_view(
                &req,
                &viewer,
                &id,
                Some(Attempt {
                    action,
                    values,
                    failure,
                }),
            )
            .await
        }
    }
}

/// `GET /console/groups`: the recurrence groups by count or last seen.
async fn groups_page(req: Req) -> Response {
    let mut pairs = query_pairs(&req);
    let as_of = take(&mut pairs, "as_of");
    let viewer = match page_viewer(&req, as_of).await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let mut context = viewer.base();
    let order = pairs
        .iter()
        .find(|(k, _)| k == "order")
        .map_or("count".to_owned(), |(_, v)| v.clone());
    context.insert("order".into(), json!(order));
    let keep: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| k != "cursor" && k != "order")
        .cloned()
        .collect();
    let with_order = |order: &str| {
        let mut p = keep.clone();
        p.push(("order".into(), order.to_owned()));
        href("/console/groups", &p, viewer.as_of.as_deref())
    };
    context.insert(
        "orders".into(),
        json!({ "count": with_order("count"), "last_seen": with_order("last_seen") }),
    );
    let status = match run(
        &req,
        &viewer,
        "list_recurrence_groups",
        Vec::new(),
        pairs.clone(),
    )
    .await
    {
        Ok(list) => {
            if let Some(next) = list.get("next_cursor").and_then(Value::as_str) {
                let mut next_pairs: Vec<(String, String)> = pairs
                    .iter()
                    .filter(|(k, _)| k != "cursor")
                    .cloned()
                    .collect();
                next_pairs.push(("cursor".into(), next.to_owned()));
                context.insert(
                    "next_page".into(),
                    json!(href(
                        "/console/groups",
                        &next_pairs,
                        viewer.as_of.as_deref()
                    )),
                );
            }
            let rows: Vec<Value> = list
                .get("items")
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .map(|g| {
                            let signature = g
                                .get("recurrence_signature")
                                .and_then(Value::as_str)
                                .unwrap_or_default();
                            let mut g = g.clone();
                            if let Value::Object(fields) = &mut g {
                                fields.insert(
                                    "href".into(),
                                    json!(href(
                                        &format!("/console/groups/{}", encode_segment(signature)),
                                        &[],
                                        viewer.as_of.as_deref()
                                    )),
                                );
                            }
                            g
                        })
                        .collect()
                })
                .unwrap_or_default();
            context.insert("groups".into(), Value::Array(rows));
            StatusCode::OK
        }
        Err(failure) => {
            context.insert("failure".into(), json!(failure.error().message));
            failure.error().status
        }
    };
    page("groups.html", status, context)
}

/// The most members a group page reads to draw its sparkline.
const SPARKLINE_MEMBERS: usize = 2_000;

/// `GET /console/groups/{signature}`: a group's members and a sparkline of its occurrences.
async fn group_page(req: Req, Path(signature): Path<String>) -> Response {
    let mut pairs = query_pairs(&req);
    let as_of = take(&mut pairs, "as_of");
    let viewer = match page_viewer(&req, as_of).await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let path = || vec![("signature".to_owned(), signature.clone())];
    let group = match run(&req, &viewer, "recurrence_group", path(), pairs.clone()).await {
        Ok(group) => group,
        Err(failure) => return error_page(failure.error(), Some(&viewer)),
    };
    let mut context = viewer.base();
    // The sparkline's occurrences: the members' creation times, page after page, up to a bound.
    let version: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| k == "version")
        .cloned()
        .collect();
    let mut created = Vec::new();
    let mut cursor: Option<String> = None;
    let mut complete = false;
    while created.len() < SPARKLINE_MEMBERS {
        let mut p = version.clone();
        p.push(("limit".into(), "500".into()));
        if let Some(c) = &cursor {
            p.push(("cursor".into(), c.clone()));
        }
        let Ok(members) = run(&req, &viewer, "recurrence_group", path(), p).await else {
            break;
        };
        created.extend(
            members
                .get("items")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|m| m.get("created_at").and_then(Value::as_str))
                .filter_map(|t| hoc_spine::input::parse_timestamp(t).ok()),
        );
        cursor = members
            .get("next_cursor")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if cursor.is_none() {
            complete = true;
            break;
        }
    }
    context.insert(
        "sparkline".into(),
        json!({
            "svg": render::Sparkline::of(&created, 40).points(),
            "drawn_from": created.len(),
            "complete": complete,
        }),
    );
    if let Some(next) = group.get("next_cursor").and_then(Value::as_str) {
        let mut next_pairs: Vec<(String, String)> = pairs
            .iter()
            .filter(|(k, _)| k != "cursor")
            .cloned()
            .collect();
        next_pairs.push(("cursor".into(), next.to_owned()));
        context.insert(
            "next_page".into(),
            json!(href(
                &format!("/console/groups/{}", encode_segment(&signature)),
                &next_pairs,
                viewer.as_of.as_deref()
            )),
        );
    }
    context.insert("group".into(), group);
    page("group.html", StatusCode::OK, context)
}

/// `GET /console/audit`: the tenant's audit trail, or one entity's (`entity_id`), searchable by `request_id`.
async fn audit_page(req: Req) -> Response {
    let mut pairs = query_pairs(&req);
    let as_of = take(&mut pairs, "as_of");
    let viewer = match page_viewer(&req, as_of).await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let mut context = viewer.base();
    let filters: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| k != "cursor")
        .cloned()
        .collect();
    context.insert(
        "filters".into(),
        Value::Object(filters.iter().map(|(k, v)| (k.clone(), json!(v))).collect()),
    );
    let status = match run(&req, &viewer, "list_audit", Vec::new(), pairs.clone()).await {
        Ok(list) => {
            if let Some(next) = list.get("next_cursor").and_then(Value::as_str) {
                let mut next_pairs = filters.clone();
                next_pairs.push(("cursor".into(), next.to_owned()));
                context.insert(
                    "next_page".into(),
                    json!(href("/console/audit", &next_pairs, viewer.as_of.as_deref())),
                );
            }
            context.insert("list".into(), list);
            StatusCode::OK
        }
        Err(failure) => {
            context.insert("errors".into(), field_map(failure.fields()));
            context.insert("failure".into(), json!(failure.error().message));
            failure.error().status
        }
    };
    page("audit.html", status, context)
}

/// `GET /console/events`: the signed-in tenant's new events as server-sent events, from the feed's end (or after
/// `Last-Event-ID` when the browser reconnects); what the console's script follows to update a page live.
async fn events(req: Req) -> Response {
    let viewer = match viewer(&req, None).await {
        Ok(viewer) => viewer,
        Err(Refusal::SignIn) => return ApiError::unauthenticated().into_response(),
        Err(Refusal::Page(page)) => return page,
    };
    let resume = req
        .headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|n| *n >= 0);
    let after = match resume {
        Some(after) => after,
        None => match req
            .state
            .spine
            .call(&viewer.ctx, &hoc_spine::requests::TailEvents {})
            .await
        {
            Ok(tail) => tail.last_sequence_no,
            Err(e) => return ApiError::from_operation(e, &req.rid.0).into_response(),
        },
    };
    crate::stream::follow(&req.state, viewer.ctx, after, &req.rid)
        .await
        .unwrap_or_else(IntoResponse::into_response)
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
