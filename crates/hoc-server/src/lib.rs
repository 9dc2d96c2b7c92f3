//! L2: the HTTP API of `hocd` over the spine (`../shared/design/HTTP_API.md`, version 1).
//!
//! Every route in [`ROUTES`] authenticates the API key, checks its scope, turns path, query and body into one
//! operation payload and calls the registered spine operation it names — nothing else. Tenant and actor come
//! from the key. The OpenAPI document is generated from [`ROUTES`] ([`openapi::document`]).

mod error;
mod handlers;
pub mod openapi;
mod request;

use axum::Router;
use axum::routing::{MethodRouter, get, post, put};
use hoc_spine::Spine;
use hoc_spine::auth::Scope;

pub use crate::error::ApiError;

/// Default request body limit (64 KiB).
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// Shared state of every handler.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The spine.
    pub spine: Spine,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
}

/// One route of the API and the spine operation it dispatches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// A stable name (the OpenAPI `operationId`).
    pub name: &'static str,
    /// `GET`, `POST` or `PUT`.
    pub method: &'static str,
    /// The path, with `{param}` placeholders.
    pub path: &'static str,
    /// The registered spine operation.
    pub operation: &'static str,
    /// Its method.
    pub operation_method: &'static str,
    /// The key scope the route needs.
    pub scope: Scope,
    /// What it does.
    pub summary: &'static str,
}

const fn route(
    name: &'static str,
    method: &'static str,
    path: &'static str,
    operation: &'static str,
    operation_method: &'static str,
    scope: Scope,
    summary: &'static str,
) -> Route {
    Route {
        name,
        method,
        path,
        operation,
        operation_method,
        scope,
        summary,
    }
}

use Scope::{Read, Write};

/// Every authenticated route of the API.
pub static ROUTES: &[Route] = &[
    route(
        "create_incident",
        "POST",
        "/v1/incidents",
        "incidents.write",
        "create",
        Write,
        "Open an incident",
    ),
    route(
        "list_incidents",
        "GET",
        "/v1/incidents",
        "incidents.query",
        "list",
        Read,
        "List incidents, newest first",
    ),
    route(
        "get_incident",
        "GET",
        "/v1/incidents/{id}",
        "incidents.query",
        "get",
        Read,
        "Get an incident",
    ),
    route(
        "acknowledge_incident",
        "POST",
        "/v1/incidents/{id}/acknowledge",
        "incidents.write",
        "acknowledge",
        Write,
        "Acknowledge an open incident",
    ),
    route(
        "resolve_incident",
        "POST",
        "/v1/incidents/{id}/resolve",
        "incidents.write",
        "resolve",
        Write,
        "Resolve an incident with its resolution record",
    ),
    route(
        "close_incident",
        "POST",
        "/v1/incidents/{id}/close",
        "incidents.write",
        "close",
        Write,
        "Close an incident by hand",
    ),
    route(
        "reopen_incident",
        "POST",
        "/v1/incidents/{id}/reopen",
        "incidents.write",
        "reopen",
        Write,
        "Reopen a resolved or closed incident",
    ),
    route(
        "incident_timeline",
        "GET",
        "/v1/incidents/{id}/timeline",
        "incidents.query",
        "timeline",
        Read,
        "An incident's timeline in ordinal order",
    ),
    route(
        "create_postmortem",
        "POST",
        "/v1/incidents/{id}/postmortem",
        "incidents.recurrence",
        "create_postmortem_stub",
        Write,
        "Create (or get) the incident's postmortem stub",
    ),
    route(
        "incident_recurrence",
        "GET",
        "/v1/incidents/{id}/recurrence",
        "incidents.recurrence",
        "group_for_incident",
        Read,
        "The incident's recurrence group and signature inputs",
    ),
    route(
        "recurrence_group",
        "GET",
        "/v1/recurrence-groups/{signature}",
        "incidents.recurrence",
        "get_recurrence_group",
        Read,
        "A recurrence group by signature",
    ),
    route(
        "save_artifact",
        "PUT",
        "/v1/analytics/artifacts/{dataset_id}/{dataset_version}",
        "analytics.artifacts",
        "save",
        Write,
        "Record an analytics artifact",
    ),
    route(
        "get_artifact",
        "GET",
        "/v1/analytics/artifacts/{dataset_id}",
        "analytics.artifacts",
        "get",
        Read,
        "Get an artifact: a version, the latest, or the latest at a point in time",
    ),
    route(
        "list_artifacts",
        "GET",
        "/v1/analytics/artifacts",
        "analytics.artifacts",
        "list",
        Read,
        "List artifacts, newest first",
    ),
    route(
        "list_events",
        "GET",
        "/v1/events",
        "events.feed",
        "list",
        Read,
        "The tenant's events in sequence order",
    ),
    route(
        "list_audit",
        "GET",
        "/v1/audit",
        "audit.query",
        "list",
        Read,
        "Audit entries, oldest first",
    ),
];

/// The route named `name`.
pub fn route_named(name: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.name == name)
}

fn method_router(route: &Route) -> Option<MethodRouter<AppState>> {
    use handlers::*;
    Some(match route.name {
        "create_incident" => post(create_incident),
        "list_incidents" => get(list_incidents),
        "get_incident" => get(get_incident),
        "acknowledge_incident" => post(acknowledge_incident),
        "resolve_incident" => post(resolve_incident),
        "close_incident" => post(close_incident),
        "reopen_incident" => post(reopen_incident),
        "incident_timeline" => get(incident_timeline),
        "create_postmortem" => post(create_postmortem),
        "incident_recurrence" => get(incident_recurrence),
        "recurrence_group" => get(recurrence_group),
        "save_artifact" => put(save_artifact),
        "get_artifact" => get(get_artifact),
        "list_artifacts" => get(list_artifacts),
        "list_events" => get(list_events),
        "list_audit" => get(list_audit),
        _ => return None,
    })
}

/// The names of [`ROUTES`] entries that have no handler (must be empty; a test checks it).
pub fn unrouted() -> Vec<&'static str> {
    ROUTES
        .iter()
        .filter(|r| method_router(r).is_none())
        .map(|r| r.name)
        .collect()
}

/// The whole application: [`ROUTES`], `/healthz`, `/openapi.json`, JSON 404s, request ids and the body limit.
pub fn app(state: AppState) -> Router {
    let mut router: Router<AppState> = Router::new();
    for route in ROUTES {
        if let Some(method_router) = method_router(route) {
            router = router.route(route.path, method_router);
        }
    }
    router
        .route("/healthz", get(handlers::healthz))
        .route("/openapi.json", get(handlers::openapi_json))
        .fallback(handlers::no_route)
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .layer(axum::middleware::from_fn(request::request_id_layer))
        .with_state(state)
}

/// Builds the state for a spine.
pub fn state(spine: Spine) -> AppState {
    AppState {
        spine,
        body_limit: DEFAULT_BODY_LIMIT,
    }
}

/// Serves `app` on `listener` until `shutdown` completes; in-flight requests finish first.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
