//! L2: the HTTP API of `hocd` over the spine (`docs/API.md`, version 1).
//!
//! [`routes`] is the table of the spine's operation routes, walked from the declarations next to each operation
//! method (`hoc_spine::declare_builtin`; `http::post::<ResolveIncident, Ok200>(…)` in `hoc-spine/src/ops/*.rs`), so
//! a route to a missing operation does not compile, a read route cannot name a writing method, the key scope
//! follows from the method, and the router ([`app`]) and the OpenAPI document ([`openapi::document`]) are both
//! generated from it and the types; it ends with `hocd`'s own routes (health, metrics, the stream, the document). Every
//! handler authenticates the API
//! key, checks its scope, parses path, query and body into the one request type, and calls the spine's typed door —
//! nothing else. Tenant and actor come from the key.

#![warn(missing_docs)]

pub mod console;
mod error;
pub mod fanout;
mod handlers;
pub mod openapi;
mod request;
pub mod serve;
mod stream;

use axum::Router;
use axum::routing::{MethodRouter, get};
use hoc_spine::auth::Scope;
use hoc_spine::http::{self, Methods, Shape};
use hoc_spine::{OperationError, OperationMethod, Spine};

pub use crate::error::ApiError;
pub use crate::serve::{ServeConfig, connection_cap};
pub use hoc_spine::http::HttpMethod;

/// Default request body limit (64 KiB).
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// Default request body limit of the alert integrations (4 MiB): a real Alertmanager delivery of many alerts is far
/// over [`DEFAULT_BODY_LIMIT`], and Alertmanager drops a 4xx without retrying.
pub const DEFAULT_INGEST_BODY_LIMIT: usize = 4 * 1024 * 1024;

/// Default longest time a request may run before it is answered 503.
pub const DEFAULT_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Shared state of every handler.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The spine.
    pub spine: Spine,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// Largest accepted request body of an alert integration route, in bytes.
    pub ingest_body_limit: usize,
    /// Longest time a request may run; past it the request is answered 503 and its work dropped (rolled back).
    pub request_timeout: std::time::Duration,
    /// The event relay's status, when `--nats-url` turned it on (`/readyz` reports NATS).
    pub relay: Option<std::sync::Arc<hoc_relay::RelayStatus>>,
    /// Set to `true` when the server stops: endless responses (event streams) end, so shutdown does not wait
    /// for them.
    pub closing: std::sync::Arc<tokio::sync::watch::Sender<bool>>,
    /// The Prometheus recorder `/metrics` renders (`None`: no recorder installed, `/metrics` is 404).
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// The console's session settings (the sessions are in the database; see [`console::session`]).
    pub console: console::Sessions,
    /// The one watcher of every open event stream of this process.
    pub events: fanout::Fanout,
}

/// What a route serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serves {
    /// A registered spine operation method (`operation`.`method`).
    Operation {
        /// The registered spine operation.
        operation: &'static str,
        /// Its method.
        method: &'static str,
    },
    /// A route of `hocd` itself: health, readiness, metrics, the event stream, the API document.
    Service,
}

/// One route of the API: what it serves, how it is reached, who may call it, how it is documented.
#[derive(Debug, Clone)]
pub struct Route {
    /// A stable name (the OpenAPI `operationId`).
    pub name: &'static str,
    /// The HTTP method.
    pub method: HttpMethod,
    /// The path, with `{param}` placeholders named like the request's fields.
    pub path: &'static str,
    /// What it serves.
    pub serves: Serves,
    /// The key scope the route needs (`write` for writing methods); `None`: no key (health, readiness, metrics,
    /// the document).
    pub scope: Option<Scope>,
    /// What it does.
    pub summary: &'static str,
    /// The query parameter, if any, that carries the point in time of the read (the operation context's
    /// `as_of`): `as_of` on most reads, `read_as_of` where `as_of` already names a field of the request.
    pub as_of: Option<&'static str>,
    /// A valid request body, declared with the route (the document shows it as the body's example).
    pub example: Option<serde_json::Value>,
    /// The statuses a success can have, from the route's [`Shape`].
    pub statuses: &'static [u16],
    /// The body field that carries the key instead of the `Authorization` header (PagerDuty's `routing_key`); such a
    /// route answers every refusal as PagerDuty does (400 `invalid event` naming the fields).
    pub key_in_body: Option<&'static str>,
    /// The request's fields and their schemas (empty for `hocd`'s own routes): how the console types a form.
    pub(crate) fields: fn() -> Vec<hoc_spine::input::FieldSchema>,
    pub(crate) router: fn(&'static Route) -> MethodRouter<AppState>,
    pub(crate) document: Document,
}

/// How a route's OpenAPI operation object is made: from the operation method's types, or written out.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Document {
    Operation(fn(&mut schemars::SchemaGenerator, &Route) -> serde_json::Value),
    Service(fn() -> serde_json::Value),
}

impl Route {
    fn of<M: OperationMethod, S: Shape<M::Response>>(route: http::Route<M, S>) -> Self {
        Self {
            name: route.name,
            method: route.method,
            path: route.path,
            serves: Serves::Operation {
                operation: M::OPERATION,
                method: M::METHOD,
            },
            scope: Some(if route.ingest {
                Scope::Ingest
            } else if M::WRITES {
                Scope::Write
            } else {
                Scope::Read
            }),
            summary: route.summary,
            as_of: route.as_of,
            example: route
                .example
                .and_then(|example| body_of(&example(), route.path)),
            statuses: S::STATUSES,
            key_in_body: route.key_in_body,
            fields: M::fields,
            router: handlers::router::<M, S>,
            document: Document::Operation(openapi::operation::<M, S>),
        }
    }

    /// A `GET` route of `hocd` itself.
    fn service(
        name: &'static str,
        path: &'static str,
        summary: &'static str,
        scope: Option<Scope>,
        router: fn(&'static Route) -> MethodRouter<AppState>,
        document: fn() -> serde_json::Value,
    ) -> Self {
        Self {
            name,
            method: HttpMethod::Get,
            path,
            serves: Serves::Service,
            scope,
            summary,
            as_of: None,
            example: None,
            statuses: &[200],
            key_in_body: None,
            fields: Vec::new,
            router,
            document: Document::Service(document),
        }
    }

    /// The names of the path's `{param}` placeholders.
    pub fn path_params(&self) -> Vec<&'static str> {
        self.path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect()
    }
}

/// The body of `request` sent to `path`: its fields without the path's parameters and without the absent ones.
fn body_of(request: &impl serde::Serialize, path: &str) -> Option<serde_json::Value> {
    let serde_json::Value::Object(mut fields) = serde_json::to_value(request).ok()? else {
        return None;
    };
    fields.retain(|name, value| !value.is_null() && !path.contains(&format!("{{{name}}}")));
    Some(serde_json::Value::Object(fields))
}

/// Collects the routed operation methods the spine declares.
struct Collect(Vec<Route>);

impl Methods for Collect {
    fn method<M: OperationMethod>(&mut self) -> Result<(), OperationError> {
        Ok(())
    }

    fn route<M: OperationMethod, S: Shape<M::Response>>(
        &mut self,
        route: http::Route<M, S>,
    ) -> Result<(), OperationError> {
        self.0.push(Route::of(route));
        Ok(())
    }
}

static ROUTES: std::sync::LazyLock<Vec<Route>> = std::sync::LazyLock::new(|| {
    let mut routes = Collect(Vec::new());
    // `Collect` never refuses a declaration, so the walk cannot fail.
    let _ = hoc_spine::declare_builtin(&mut routes);
    let mut routes = routes.0;
    routes.extend([
        Route::service(
            "healthz",
            "/healthz",
            "Liveness: the process answers (never touches the database)",
            None,
            |_| get(handlers::healthz),
            openapi::healthz_document,
        ),
        Route::service(
            "readyz",
            "/readyz",
            "Readiness: the database (and NATS, with the relay) answer",
            None,
            |_| get(handlers::readyz),
            openapi::readyz_document,
        ),
        Route::service(
            "metrics",
            "/metrics",
            "Prometheus metrics",
            None,
            |_| get(handlers::metrics),
            openapi::metrics_document,
        ),
        Route::service(
            "stream_events",
            "/v1/events/stream",
            "The tenant's events as server-sent events, live",
            Some(Scope::Read),
            |_| get(stream::events_stream),
            openapi::stream_document,
        ),
        Route::service(
            "openapi",
            "/openapi.json",
            "This document",
            None,
            |_| get(handlers::openapi_json),
            openapi::openapi_document,
        ),
    ]);
    routes
});

/// Every route of the API, the one table [`app`] serves and [`openapi::document`] describes: each operation
/// method the spine declares with an HTTP route (`hoc_spine::declare_builtin`), in declaration order, then
/// `hocd`'s own routes (health, readiness, metrics, the event stream, the document).
pub fn routes() -> &'static [Route] {
    &ROUTES
}

/// The route named `name`.
pub fn route_named(name: &str) -> Option<&'static Route> {
    routes().iter().find(|r| r.name == name)
}

/// The whole application: [`routes`], `/healthz`, `/readyz`, `/openapi.json`, the console (`/console`), JSON 404s,
/// request ids and the body limit.
pub fn app(state: AppState) -> Router {
    let mut router: Router<AppState> = Router::new();
    for route in routes() {
        router = router.route(route.path, (route.router)(route));
    }
    router
        .merge(console::router())
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
        body_limit: DEFAULT_BODY_LIMIT,
        ingest_body_limit: DEFAULT_INGEST_BODY_LIMIT,
        request_timeout: DEFAULT_REQUEST_TIMEOUT,
        relay: None,
        closing: std::sync::Arc::new(tokio::sync::watch::Sender::new(false)),
        metrics: None,
        console: console::Sessions::default(),
        events: fanout::Fanout::new(spine.clone()),
        spine,
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
