//! L2: the HTTP API of `hocd` over the spine (`docs/API.md`, version 1).
//!
//! [`ROUTES`] is the one table of routes. Each names the request type of the spine operation method it serves
//! (`Route::post::<ResolveIncident>(…)`), so a route to a missing operation does not compile, a read route cannot
//! name a writing method, the key scope follows from the method, and the router ([`app`]) and the OpenAPI document
//! ([`openapi::document`]) are both generated from the table and the types. Every handler authenticates the API
//! key, checks its scope, parses path, query and body into the one request type, and calls the spine's typed door —
//! nothing else. Tenant and actor come from the key.

#![warn(missing_docs)]

mod error;
mod handlers;
pub mod openapi;
mod request;
pub mod serve;
mod stream;

use axum::Router;
use axum::routing::{MethodRouter, get};
use hoc_spine::auth::Scope;
use hoc_spine::requests::{
    AcknowledgeIncident, CloseIncident, CreateIncident, CreatePostmortemStub, GetArtifact,
    GetGroupingConfig, GetIncident, GetRecurrenceGroup, GroupForIncident, IncidentTimeline,
    ListArtifacts, ListAudit, ListEvents, ListIncidents, ListRecurrenceGroups, PreviewRegroup,
    PutGroupingConfig, ReopenIncident, ResolveIncident, SaveArtifact,
};
use hoc_spine::{OperationMethod, Spine};

pub use crate::error::ApiError;
pub use crate::handlers::{ArtifactReply, Created201, Ok200, PostmortemReply, Shape};
pub use crate::serve::{ServeConfig, connection_cap};

/// Default request body limit (64 KiB).
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// Default longest time a request may run before it is answered 503.
pub const DEFAULT_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Shared state of every handler.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The spine.
    pub spine: Spine,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// Longest time a request may run; past it the request is answered 503 and its work dropped (rolled back).
    pub request_timeout: std::time::Duration,
    /// The event relay's status, when `--nats-url` turned it on (`/readyz` reports NATS).
    pub relay: Option<std::sync::Arc<hoc_relay::RelayStatus>>,
    /// Set to `true` when the server stops: endless responses (event streams) end, so shutdown does not wait
    /// for them.
    pub closing: std::sync::Arc<tokio::sync::watch::Sender<bool>>,
    /// The Prometheus recorder `/metrics` renders (`None`: no recorder installed, `/metrics` is 404).
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
}

/// The HTTP methods routes use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    /// A read.
    Get,
    /// A write that creates or acts.
    Post,
    /// A write that records or replaces at a known key.
    Put,
}

impl HttpMethod {
    /// `GET`, `POST` or `PUT`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
        }
    }

    /// The OpenAPI path-item key: `get`, `post` or `put`.
    pub const fn openapi_key(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Post => "post",
            Self::Put => "put",
        }
    }
}

impl std::fmt::Display for HttpMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One route of the API and the spine operation method it serves.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// A stable name (the OpenAPI `operationId`).
    pub name: &'static str,
    /// The HTTP method.
    pub method: HttpMethod,
    /// The path, with `{param}` placeholders named like the request's fields.
    pub path: &'static str,
    /// The registered spine operation.
    pub operation: &'static str,
    /// Its method.
    pub operation_method: &'static str,
    /// The key scope the route needs (`write` for writing methods).
    pub scope: Scope,
    /// What it does.
    pub summary: &'static str,
    /// The query parameter, if any, that carries the point in time of the read (the operation context's
    /// `as_of`): `as_of` on most reads, `read_as_of` where `as_of` already names a field of the request.
    pub as_of: Option<&'static str>,
    /// The statuses a success can have, from the route's [`Shape`].
    pub statuses: &'static [u16],
    pub(crate) router: fn(&'static Route) -> MethodRouter<AppState>,
    pub(crate) schemas: fn(&mut schemars::SchemaGenerator, &Route) -> openapi::RouteSchemas,
}

impl Route {
    const fn new<M: OperationMethod, S: Shape<M::Response>>(
        name: &'static str,
        method: HttpMethod,
        path: &'static str,
        summary: &'static str,
    ) -> Self {
        Self {
            name,
            method,
            path,
            operation: M::OPERATION,
            operation_method: M::METHOD,
            scope: if M::WRITES { Scope::Write } else { Scope::Read },
            summary,
            as_of: None,
            statuses: S::STATUSES,
            router: handlers::router::<M, S>,
            schemas: openapi::schemas::<M, S>,
        }
    }

    /// A `GET` route of a reading method.
    pub const fn get<M: OperationMethod>(
        name: &'static str,
        path: &'static str,
        summary: &'static str,
    ) -> Self {
        assert!(!M::WRITES, "a GET route must serve a reading method");
        Self::new::<M, Ok200>(name, HttpMethod::Get, path, summary)
    }

    /// A `POST` route of a writing method, answered 200 with its response.
    pub const fn post<M: OperationMethod>(
        name: &'static str,
        path: &'static str,
        summary: &'static str,
    ) -> Self
    where
        M::Response: serde::Serialize + schemars::JsonSchema,
    {
        Self::post_as::<M, Ok200>(name, path, summary)
    }

    /// A `POST` route of a writing method whose response the [`Shape`] `S` turns into a status and a body.
    pub const fn post_as<M: OperationMethod, S: Shape<M::Response>>(
        name: &'static str,
        path: &'static str,
        summary: &'static str,
    ) -> Self {
        assert!(M::WRITES, "a POST route must serve a writing method");
        Self::new::<M, S>(name, HttpMethod::Post, path, summary)
    }

    /// A `PUT` route of a writing method, answered 200 with its response.
    pub const fn put<M: OperationMethod>(
        name: &'static str,
        path: &'static str,
        summary: &'static str,
    ) -> Self
    where
        M::Response: serde::Serialize + schemars::JsonSchema,
    {
        Self::put_as::<M, Ok200>(name, path, summary)
    }

    /// A `PUT` route of a writing method whose response the [`Shape`] `S` turns into a status and a body.
    pub const fn put_as<M: OperationMethod, S: Shape<M::Response>>(
        name: &'static str,
        path: &'static str,
        summary: &'static str,
    ) -> Self {
        assert!(M::WRITES, "a PUT route must serve a writing method");
        Self::new::<M, S>(name, HttpMethod::Put, path, summary)
    }

    /// The read takes `?as_of=` into the operation context.
    pub const fn as_of(self) -> Self {
        self.as_of_named("as_of")
    }

    /// The read takes the point in time of the read from the query parameter `name`.
    pub const fn as_of_named(mut self, name: &'static str) -> Self {
        self.as_of = Some(name);
        self
    }

    /// The names of the path's `{param}` placeholders.
    pub fn path_params(&self) -> Vec<&'static str> {
        self.path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect()
    }
}

/// Every authenticated route of the API.
pub static ROUTES: &[Route] = &[
    Route::post_as::<CreateIncident, Created201>(
        "create_incident",
        "/v1/incidents",
        "Open an incident",
    ),
    Route::get::<ListIncidents>(
        "list_incidents",
        "/v1/incidents",
        "List incidents, newest first",
    )
    .as_of(),
    Route::get::<GetIncident>("get_incident", "/v1/incidents/{id}", "Get an incident").as_of(),
    Route::post::<AcknowledgeIncident>(
        "acknowledge_incident",
        "/v1/incidents/{id}/acknowledge",
        "Acknowledge an open incident",
    ),
    Route::post::<ResolveIncident>(
        "resolve_incident",
        "/v1/incidents/{id}/resolve",
        "Resolve an incident with its resolution record",
    ),
    Route::post::<CloseIncident>(
        "close_incident",
        "/v1/incidents/{id}/close",
        "Close an incident by hand",
    ),
    Route::post::<ReopenIncident>(
        "reopen_incident",
        "/v1/incidents/{id}/reopen",
        "Reopen a resolved or closed incident",
    ),
    Route::get::<IncidentTimeline>(
        "incident_timeline",
        "/v1/incidents/{id}/timeline",
        "An incident's timeline in ordinal order",
    )
    .as_of(),
    Route::post_as::<CreatePostmortemStub, PostmortemReply>(
        "create_postmortem",
        "/v1/incidents/{incident_id}/postmortem",
        "Create (or get) the incident's postmortem stub",
    ),
    Route::get::<GroupForIncident>(
        "incident_recurrence",
        "/v1/incidents/{id}/recurrence",
        "The incident's recurrence group and signature inputs",
    )
    .as_of(),
    Route::get::<ListRecurrenceGroups>(
        "list_recurrence_groups",
        "/v1/recurrence-groups",
        "The tenant's recurrence groups, most recently seen or largest first",
    )
    .as_of(),
    Route::get::<GetGroupingConfig>(
        "get_grouping_config",
        "/v1/grouping-config",
        "The tenant's grouping configuration",
    )
    .as_of(),
    Route::put::<PutGroupingConfig>(
        "put_grouping_config",
        "/v1/grouping-config",
        "Replace the tenant's grouping configuration (a new version)",
    ),
    Route::get::<PreviewRegroup>(
        "preview_regroup",
        "/v1/grouping-config/regroup-preview",
        "What regrouping under another signature algorithm would change (dry run)",
    )
    .as_of(),
    Route::get::<GetRecurrenceGroup>(
        "recurrence_group",
        "/v1/recurrence-groups/{signature}",
        "A recurrence group by signature",
    )
    .as_of(),
    Route::put_as::<SaveArtifact, ArtifactReply>(
        "save_artifact",
        "/v1/analytics/artifacts/{dataset_id}/{dataset_version}",
        "Record an analytics artifact",
    ),
    Route::get::<GetArtifact>(
        "get_artifact",
        "/v1/analytics/artifacts/{dataset_id}",
        "Get an artifact: a version, the latest, or the latest at a point in time",
    )
    .as_of_named("read_as_of"),
    Route::get::<ListArtifacts>(
        "list_artifacts",
        "/v1/analytics/artifacts",
        "List artifacts, newest first",
    )
    .as_of(),
    Route::get::<ListEvents>(
        "list_events",
        "/v1/events",
        "The tenant's events in sequence order",
    )
    .as_of(),
    Route::get::<ListAudit>("list_audit", "/v1/audit", "Audit entries, oldest first").as_of(),
];

/// A `GET` route that is not an operation method of the spine: health, metrics, the event stream, this document.
#[derive(Debug, Clone, Copy)]
pub struct ServiceRoute {
    /// The OpenAPI `operationId`.
    pub name: &'static str,
    /// The path.
    pub path: &'static str,
    /// Whether it needs an API key (the stream: a `read` key).
    pub authenticated: bool,
    pub(crate) router: fn() -> MethodRouter<AppState>,
    /// Its OpenAPI operation object.
    pub document: fn() -> serde_json::Value,
}

/// Every route that is not in [`ROUTES`]: [`app`] serves them and [`openapi::document`] describes them from this
/// one table.
pub static SERVICE_ROUTES: &[ServiceRoute] = &[
    ServiceRoute {
        name: "healthz",
        path: "/healthz",
        authenticated: false,
        router: || get(handlers::healthz),
        document: openapi::healthz_document,
    },
    ServiceRoute {
        name: "readyz",
        path: "/readyz",
        authenticated: false,
        router: || get(handlers::readyz),
        document: openapi::readyz_document,
    },
    ServiceRoute {
        name: "metrics",
        path: "/metrics",
        authenticated: false,
        router: || get(handlers::metrics),
        document: openapi::metrics_document,
    },
    ServiceRoute {
        name: "stream_events",
        path: "/v1/events/stream",
        authenticated: true,
        router: || get(stream::events_stream),
        document: openapi::stream_document,
    },
    ServiceRoute {
        name: "openapi",
        path: "/openapi.json",
        authenticated: false,
        router: || get(handlers::openapi_json),
        document: openapi::openapi_document,
    },
];

/// The route named `name`.
pub fn route_named(name: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.name == name)
}

/// The whole application: [`ROUTES`], `/healthz`, `/readyz`, `/openapi.json`, JSON 404s, request ids and the body limit.
pub fn app(state: AppState) -> Router {
    let mut router: Router<AppState> = Router::new();
    for route in ROUTES {
        router = router.route(route.path, (route.router)(route));
    }
    for route in SERVICE_ROUTES {
        router = router.route(route.path, (route.router)());
    }
    router
        .fallback(handlers::no_route)
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            request::timeout_layer,
        ))
        .layer(axum::middleware::from_fn(request::request_id_layer))
        .with_state(state)
}

/// Installs the process-wide Prometheus recorder (once; later calls return `None`) with histogram buckets for
/// request latencies (5 ms to 10 s) and the relay's commit-to-PubAck lag.
pub fn install_metrics() -> Option<metrics_exporter_prometheus::PrometheusHandle> {
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets(&[
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ])
        .and_then(metrics_exporter_prometheus::PrometheusBuilder::install_recorder)
        .map_err(|e| tracing::warn!(error = %e, "no metrics recorder"))
        .ok()
}

/// Builds the state for a spine.
pub fn state(spine: Spine) -> AppState {
    AppState {
        spine,
        body_limit: DEFAULT_BODY_LIMIT,
        request_timeout: DEFAULT_REQUEST_TIMEOUT,
        relay: None,
        closing: std::sync::Arc::new(tokio::sync::watch::Sender::new(false)),
        metrics: None,
    }
}

/// Serves `app` on `listener` with the default [`ServeConfig`] until `shutdown` completes; in-flight requests
/// finish first.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve::serve(listener, app, ServeConfig::default(), shutdown).await
}
