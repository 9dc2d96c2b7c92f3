//! How an operation method is reached over HTTP, declared next to the method itself (`ops/*.rs`): its method,
//! path, name and summary ([`Route`]) and how its typed response becomes a status and a body ([`Shape`]).
//!
//! The spine never serves HTTP; a host walks the declarations with a [`Methods`] visitor
//! ([`crate::declare_builtin`]) and builds its router and its API document from them, so a route exists exactly
//! when its method is declared with one.

use std::marker::PhantomData;

use crate::{
    OperationError, OperationMethod, Postmortem, PostmortemStub, SaveOutcome, SaveStatus,
    StoredResponse,
};
use hoc_analytics::Artifact;

/// The HTTP methods routes use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    /// A read.
    Get,
    /// A write that creates or acts.
    Post,
    /// A write that records or replaces at a known key.
    Put,
    /// A write that changes some fields of a resource.
    Patch,
    /// A write that removes a resource or a link (its effect is recorded, never erased).
    Delete,
}

impl HttpMethod {
    /// `GET`, `POST`, `PUT`, `PATCH` or `DELETE`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }

    /// The OpenAPI path-item key: `get`, `post`, `put`, `patch` or `delete`.
    pub const fn openapi_key(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Post => "post",
            Self::Put => "put",
            Self::Patch => "patch",
            Self::Delete => "delete",
        }
    }
}

impl std::fmt::Display for HttpMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a route's typed response becomes an HTTP status and body — by the response's type, never by reading a JSON
/// field back by name (so renaming a field cannot silently change a status or answer `null`).
pub trait Shape<R>: 'static {
    /// The statuses a success can have (the API document lists them).
    const STATUSES: &'static [u16];

    /// The status and body of `response`.
    fn respond(response: &R) -> Result<StoredResponse, serde_json::Error>;

    /// The schema of the body.
    fn schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema;

    /// Whether [`Shape::markdown`] gives a Markdown form (the API document lists `text/markdown` then).
    const MARKDOWN: bool = false;

    /// `response` as Markdown, for a caller that accepts `text/markdown`; `None`: the shape has no Markdown form.
    fn markdown(_response: &R) -> Option<String> {
        None
    }
}

fn with_status(
    status: u16,
    body: &impl serde::Serialize,
) -> Result<StoredResponse, serde_json::Error> {
    Ok(StoredResponse {
        status,
        body: serde_json::to_value(body)?,
    })
}

/// 200 with the response.
#[derive(Debug)]
pub struct Ok200;

impl<R: serde::Serialize + schemars::JsonSchema> Shape<R> for Ok200 {
    const STATUSES: &'static [u16] = &[200];

    fn respond(response: &R) -> Result<StoredResponse, serde_json::Error> {
        with_status(200, response)
    }

    fn schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        generator.subschema_for::<R>()
    }
}

/// 201 with the response: a route whose every success creates.
#[derive(Debug)]
pub struct Created201;

impl<R: serde::Serialize + schemars::JsonSchema> Shape<R> for Created201 {
    const STATUSES: &'static [u16] = &[201];

    fn respond(response: &R) -> Result<StoredResponse, serde_json::Error> {
        with_status(201, response)
    }

    fn schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        generator.subschema_for::<R>()
    }
}

/// 202 with the response: a route that accepts work (PagerDuty's Events API answers so).
#[derive(Debug)]
pub struct Accepted202;

impl<R: serde::Serialize + schemars::JsonSchema> Shape<R> for Accepted202 {
    const STATUSES: &'static [u16] = &[202];

    fn respond(response: &R) -> Result<StoredResponse, serde_json::Error> {
        with_status(202, response)
    }

    fn schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        generator.subschema_for::<R>()
    }
}

/// An incident's export: 200 with the JSON document, or its Markdown postmortem draft for `Accept: text/markdown`.
#[derive(Debug)]
pub struct ExportReply;

impl Shape<hoc_incidents::export::IncidentExport> for ExportReply {
    const STATUSES: &'static [u16] = &[200];
    const MARKDOWN: bool = true;

    fn respond(
        response: &hoc_incidents::export::IncidentExport,
    ) -> Result<StoredResponse, serde_json::Error> {
        with_status(200, response)
    }

    fn schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        generator.subschema_for::<hoc_incidents::export::IncidentExport>()
    }

    fn markdown(response: &hoc_incidents::export::IncidentExport) -> Option<String> {
        Some(response.markdown())
    }
}

/// A postmortem stub: 201 with the postmortem when this call created it, else 200 with the existing one.
#[derive(Debug)]
pub struct PostmortemReply;

impl Shape<PostmortemStub> for PostmortemReply {
    const STATUSES: &'static [u16] = &[201, 200];

    fn respond(response: &PostmortemStub) -> Result<StoredResponse, serde_json::Error> {
        with_status(
            if response.created { 201 } else { 200 },
            &response.postmortem,
        )
    }

    fn schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        generator.subschema_for::<Postmortem>()
    }
}

/// A saved artifact: 201 with the artifact when this call recorded it, 200 on an identical replay.
#[derive(Debug)]
pub struct ArtifactReply;

impl Shape<SaveOutcome> for ArtifactReply {
    const STATUSES: &'static [u16] = &[201, 200];

    fn respond(response: &SaveOutcome) -> Result<StoredResponse, serde_json::Error> {
        let status = match response.status {
            SaveStatus::Created => 201,
            SaveStatus::Unchanged => 200,
        };
        with_status(status, &response.artifact)
    }

    fn schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        generator.subschema_for::<Artifact>()
    }
}

/// A metrics recording: 201 with the artifact and the metrics when this call recorded them, 200 when the same
/// recording existed.
#[derive(Debug)]
pub struct MetricsReply;

impl Shape<hoc_analytics::RecordedMetrics> for MetricsReply {
    const STATUSES: &'static [u16] = &[201, 200];

    fn respond(
        response: &hoc_analytics::RecordedMetrics,
    ) -> Result<StoredResponse, serde_json::Error> {
        with_status(if response.created { 201 } else { 200 }, response)
    }

    fn schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        generator.subschema_for::<hoc_analytics::RecordedMetrics>()
    }
}

/// The HTTP route of the operation method `M`, its response shaped by `S`. Built by [`get`], [`post`] and
/// [`put`] and [`patch`], which refuse at compile time a `GET` of a writing method and a write method of a
/// reading one.
#[derive(Debug)]
pub struct Route<M, S> {
    /// A stable name (the API document's `operationId`).
    pub name: &'static str,
    /// The HTTP method.
    pub method: HttpMethod,
    /// The path, with `{param}` placeholders named like the request's fields.
    pub path: &'static str,
    /// What it does.
    pub summary: &'static str,
    /// The query parameter, if any, that carries the point in time of the read (the operation context's
    /// `as_of`): `as_of` on most reads, `read_as_of` where `as_of` already names a field of the request.
    pub as_of: Option<&'static str>,
    /// A valid request (the API document shows it; tests send it where a route needs a body to get past
    /// validation).
    pub example: Option<fn() -> M>,
    /// Whether the route is an alert integration: reachable with an `ingest` key only (and no other route is).
    pub ingest: bool,
    /// The body field that carries the key, for a sender that cannot set a header (PagerDuty's `routing_key`).
    pub key_in_body: Option<&'static str>,
    types: PhantomData<fn() -> (M, S)>,
}

impl<M, S> Route<M, S> {
    /// The read takes `?as_of=` into the operation context.
    pub const fn as_of(self) -> Self {
        self.as_of_named("as_of")
    }

    /// The read takes the point in time of the read from the query parameter `name`.
    pub const fn as_of_named(mut self, name: &'static str) -> Self {
        self.as_of = Some(name);
        self
    }

    /// An alert integration: only an `ingest` key reaches it, with the integrations' larger body limit.
    pub const fn ingest(mut self) -> Self {
        self.ingest = true;
        self
    }

    /// The key comes in the body field `field` (PagerDuty's `routing_key`) instead of the `Authorization` header.
    pub const fn key_in_body(mut self, field: &'static str) -> Self {
        self.key_in_body = Some(field);
        self
    }

    /// A valid request of the route, for its documentation and its tests.
    pub const fn example(mut self, example: fn() -> M) -> Self {
        self.example = Some(example);
        self
    }

    /// The same route, its response shaped by `T` instead.
    pub const fn shaped<T>(self) -> Route<M, T> {
        Route {
            name: self.name,
            method: self.method,
            path: self.path,
            summary: self.summary,
            as_of: self.as_of,
            example: self.example,
            ingest: self.ingest,
            key_in_body: self.key_in_body,
            types: PhantomData,
        }
    }
}

const fn route<M, S>(
    method: HttpMethod,
    name: &'static str,
    path: &'static str,
    summary: &'static str,
) -> Route<M, S> {
    Route {
        name,
        method,
        path,
        summary,
        as_of: None,
        example: None,
        ingest: false,
        key_in_body: None,
        types: PhantomData,
    }
}

/// A `GET` route of a reading method, answered 200 with its response.
pub const fn get<M: OperationMethod>(
    name: &'static str,
    path: &'static str,
    summary: &'static str,
) -> Route<M, Ok200>
where
    M::Response: serde::Serialize + schemars::JsonSchema,
{
    const { assert!(!M::WRITES, "a GET route must serve a reading method") };
    route(HttpMethod::Get, name, path, summary)
}

/// A `POST` route of a writing method whose response the [`Shape`] `S` turns into a status and a body.
pub const fn post<M: OperationMethod, S: Shape<M::Response>>(
    name: &'static str,
    path: &'static str,
    summary: &'static str,
) -> Route<M, S> {
    const { assert!(M::WRITES, "a POST route must serve a writing method") };
    route(HttpMethod::Post, name, path, summary)
}

/// A `PUT` route of a writing method whose response the [`Shape`] `S` turns into a status and a body.
pub const fn put<M: OperationMethod, S: Shape<M::Response>>(
    name: &'static str,
    path: &'static str,
    summary: &'static str,
) -> Route<M, S> {
    const { assert!(M::WRITES, "a PUT route must serve a writing method") };
    route(HttpMethod::Put, name, path, summary)
}

/// A `PATCH` route of a writing method whose response the [`Shape`] `S` turns into a status and a body.
pub const fn patch<M: OperationMethod, S: Shape<M::Response>>(
    name: &'static str,
    path: &'static str,
    summary: &'static str,
) -> Route<M, S> {
    const { assert!(M::WRITES, "a PATCH route must serve a writing method") };
    route(HttpMethod::Patch, name, path, summary)
}

/// A `DELETE` route of a writing method whose response the [`Shape`] `S` turns into a status and a body.
pub const fn delete<M: OperationMethod, S: Shape<M::Response>>(
    name: &'static str,
    path: &'static str,
    summary: &'static str,
) -> Route<M, S> {
    const { assert!(M::WRITES, "a DELETE route must serve a writing method") };
    route(HttpMethod::Delete, name, path, summary)
}

/// What walks the declared operation methods: the registry (it registers each) and a host (it serves the routed
/// ones). Each domain declares its methods once, in its `ops` file, as calls on a `Methods`.
pub trait Methods {
    /// The method `M`, reachable only through the spine's doors.
    fn method<M: OperationMethod>(&mut self) -> Result<(), OperationError>;

    /// The method `M`, also reachable over HTTP at `route`.
    fn route<M: OperationMethod, S: Shape<M::Response>>(
        &mut self,
        route: Route<M, S>,
    ) -> Result<(), OperationError>;
}
