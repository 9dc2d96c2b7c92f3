//! The console's pages and the incident page's actions.

use axum::body::Body;
use axum::extract::{Path, RawPathParams};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hoc_spine::ErrorCode;
use hoc_spine::auth::{Scope, constant_time_eq};
use serde_json::{Map, Value, json};

use super::sign_in::same_origin;
use super::{
    ACTIONS, Failure, Refusal, Viewer, encode_segment, error_page, field_map, form, href, page,
    page_viewer, query_pairs, redirect, refused, render, run, take, viewer,
};
use crate::ApiError;
use crate::handlers::Req;

/// The query string's pairs (without `as_of`) and the signed-in viewer at the page's instant, or the answer instead
/// of the page (the sign-in form, an error).
async fn open(req: &Req) -> Result<(Viewer, Vec<(String, String)>), Response> {
    let mut pairs = query_pairs(req);
    let as_of = take(&mut pairs, "as_of");
    Ok((page_viewer(req, as_of).await?, pairs))
}

/// The pairs but those named `name`.
fn without(pairs: &[(String, String)], name: &str) -> Vec<(String, String)> {
    pairs.iter().filter(|(k, _)| k != name).cloned().collect()
}

/// One page of what the API route `route` lists, read with the query string's `pairs` (its parameters, a cursor
/// included), at the page `path`. Puts in `context`: `filters` (every parameter but the cursor, a repeated one as a
/// list, for the filter form), `first_page`, `paged` (a later page), `next_page` (when there is one) and the
/// route's answer as `list`.
async fn listing(
    req: &Req,
    viewer: &Viewer,
    context: &mut Map<String, Value>,
    path: &str,
    (route, route_path): (&str, Vec<(String, String)>),
    pairs: &[(String, String)],
) -> Result<(), Failure> {
    let filters = without(pairs, "cursor");
    let mut values = Map::new();
    for (name, value) in &filters {
        match values.get_mut(name) {
            Some(Value::Array(list)) => list.push(json!(value)),
            Some(one) => *one = json!([one.clone(), value]),
            None if name == "label" => {
                values.insert(name.clone(), json!([value]));
            }
            None => {
                values.insert(name.clone(), json!(value));
            }
        }
    }
    context.insert("filters".into(), Value::Object(values));
    let as_of = viewer.as_of.as_deref();
    context.insert("first_page".into(), json!(href(path, &filters, as_of)));
    context.insert("paged".into(), json!(pairs.len() != filters.len()));
    let list = run(req, viewer, route, route_path, pairs.to_vec()).await?;
    if let Some(next) = list.get("next_cursor").and_then(Value::as_str) {
        let mut next_pairs = filters;
        next_pairs.push(("cursor".into(), next.to_owned()));
        context.insert("next_page".into(), json!(href(path, &next_pairs, as_of)));
    }
    context.insert("list".into(), list);
    Ok(())
}

/// Puts a refused read's errors in `context` (beside the filters, and above them); its status.
fn refused_read(context: &mut Map<String, Value>, failure: &Failure) -> StatusCode {
    context.insert("errors".into(), field_map(failure.fields()));
    context.insert("failure".into(), json!(failure.error().message));
    failure.error().status
}

/// `GET /console`: the incident list, filtered by the API list's parameters in the query string.
pub(super) async fn incidents_page(req: Req) -> Response {
    let (viewer, pairs) = match open(&req).await {
        Ok(opened) => opened,
        Err(response) => return response,
    };
    let mut context = viewer.base();
    let route = ("list_incidents", Vec::new());
    let status = match listing(&req, &viewer, &mut context, "/console", route, &pairs).await {
        Ok(()) => StatusCode::OK,
        Err(failure) => refused_read(&mut context, &failure),
    };
    status_counts(&req, &viewer, &mut context, &pairs).await;
    page("incidents.html", status, context)
}

/// The tenant's incidents by status at the page's instant (`count_incidents`), as `status_counts` in `context`: one
/// link per status (and one for all) to the list with that status filter alone, the current one marked. A failed
/// read says so in their place (`status_counts_unavailable`), as the incident page's parts do.
async fn status_counts(
    req: &Req,
    viewer: &Viewer,
    context: &mut Map<String, Value>,
    pairs: &[(String, String)],
) {
    let counts = match run(req, viewer, "count_incidents", Vec::new(), Vec::new()).await {
        Ok(counts) => counts,
        Err(failure) => {
            context.insert(
                "status_counts_unavailable".into(),
                json!(failure.error().message),
            );
            return;
        }
    };
    let current = pairs
        .iter()
        .find(|(name, value)| name == "status" && !value.is_empty())
        .map(|(_, value)| value.as_str());
    let as_of = viewer.as_of.as_deref();
    let tabs: Vec<Value> = [
        ("all", "total"),
        ("open", "open"),
        ("acknowledged", "acknowledged"),
        ("resolved", "resolved"),
        ("closed", "closed"),
    ]
    .iter()
    .map(|(status, field)| {
        let filter: Vec<(String, String)> = match *status {
            "all" => Vec::new(),
            status => vec![("status".to_owned(), status.to_owned())],
        };
        json!({
            "status": status,
            "count": counts.get(*field).cloned().unwrap_or(Value::Null),
            "href": href("/console", &filter, as_of),
            "current": current == Some(*status) || (current.is_none() && *status == "all"),
        })
    })
    .collect();
    context.insert("status_counts".into(), json!(tabs));
}

/// `GET /console/incidents/{id}`: the incident, its alerts, notes, timeline, duplicates and group, and the forms of
/// its actions.
pub(super) async fn incident_page(req: Req, Path(id): Path<String>) -> Response {
    match open(&req).await {
        Ok((viewer, _)) => incident_view(&req, &viewer, &id, None).await,
        Err(response) => response,
    }
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
            "export": href(&format!("/console/incidents/{}/export", encode_segment(id)), &[], viewer.as_of.as_deref()),
            "group": incident.get("recurrence_signature").and_then(Value::as_str).map(|s| {
                href(&format!("/console/groups/{}", encode_segment(s)), &[], viewer.as_of.as_deref())
            }),
        }),
    );
    context.insert("incident".into(), incident);
    page("incident.html", status, context)
}

/// `POST /console/incidents/{id}/{action}`: one action of the incident page, as the API would run it; then back
/// to the page (303), or the page again with the server's errors beside the form's fields.
pub(super) async fn act(req: Req, params: RawPathParams, body: Body) -> Response {
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
    if !token.is_some_and(|t| constant_time_eq(viewer.csrf.as_bytes(), t.as_bytes())) {
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
pub(super) async fn groups_page(req: Req) -> Response {
    let (viewer, pairs) = match open(&req).await {
        Ok(opened) => opened,
        Err(response) => return response,
    };
    let mut context = viewer.base();
    let as_of = viewer.as_of.as_deref();
    let order = pairs
        .iter()
        .find(|(k, _)| k == "order")
        .map_or("count".to_owned(), |(_, v)| v.clone());
    let keep = without(&without(&pairs, "cursor"), "order");
    let with_order = |order: &str| {
        let mut p = keep.clone();
        p.push(("order".into(), order.to_owned()));
        href("/console/groups", &p, as_of)
    };
    context.insert(
        "orders".into(),
        json!({ "count": with_order("count"), "last_seen": with_order("last_seen") }),
    );
    context.insert("order".into(), json!(order));
    let route = ("list_recurrence_groups", Vec::new());
    let status = match listing(
        &req,
        &viewer,
        &mut context,
        "/console/groups",
        route,
        &pairs,
    )
    .await
    {
        Ok(()) => {
            // Each row links to its group at the same instant.
            let rows: Vec<Value> = context
                .get("list")
                .and_then(|l| l.get("items"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|g| {
                    let signature = g
                        .get("recurrence_signature")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    let link = href(
                        &format!("/console/groups/{}", encode_segment(signature)),
                        &[],
                        as_of,
                    );
                    let mut g = g.clone();
                    if let Value::Object(fields) = &mut g {
                        fields.insert("href".into(), json!(link));
                    }
                    g
                })
                .collect();
            context.insert("groups".into(), Value::Array(rows));
            StatusCode::OK
        }
        Err(failure) => refused_read(&mut context, &failure),
    };
    page("groups.html", status, context)
}

/// The most recent members a group page reads to draw its sparkline (one page of the API's largest size).
const SPARKLINE_MEMBERS: usize = 250;

/// `GET /console/groups/{signature}`: a group's members and a sparkline of its occurrences (all of them when the
/// group has at most [`SPARKLINE_MEMBERS`], else the latest that many).
pub(super) async fn group_page(req: Req, Path(signature): Path<String>) -> Response {
    let (viewer, pairs) = match open(&req).await {
        Ok(opened) => opened,
        Err(response) => return response,
    };
    let path = || vec![("signature".to_owned(), signature.clone())];
    let mut context = viewer.base();
    let here = format!("/console/groups/{}", encode_segment(&signature));
    let route = ("recurrence_group", path());
    if let Err(failure) = listing(&req, &viewer, &mut context, &here, route, &pairs).await {
        return error_page(failure.error(), Some(&viewer));
    }
    // The sparkline's occurrences: the creation times of the newest members, one page.
    let mut p: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| k == "version")
        .cloned()
        .collect();
    p.push(("limit".into(), SPARKLINE_MEMBERS.to_string()));
    let (created, complete) = match run(&req, &viewer, "recurrence_group", path(), p).await {
        Ok(members) => (
            members
                .get("items")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|m| m.get("created_at").and_then(Value::as_str))
                .filter_map(|t| hoc_spine::input::parse_timestamp(t).ok())
                .collect::<Vec<_>>(),
            members.get("next_cursor").is_none_or(Value::is_null),
        ),
        Err(_) => (Vec::new(), false),
    };
    let span = |t: Option<&time::OffsetDateTime>| {
        t.and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
    };
    context.insert(
        "sparkline".into(),
        json!({
            "svg": render::Sparkline::of(&created, 40).points(),
            "drawn_from": created.len(),
            "complete": complete,
            "from": span(created.iter().min()),
            "to": span(created.iter().max()),
        }),
    );
    page("group.html", StatusCode::OK, context)
}

/// `GET /console/audit`: the tenant's audit trail, or one entity's (`entity_id`), searchable by `request_id`.
pub(super) async fn audit_page(req: Req) -> Response {
    let (viewer, pairs) = match open(&req).await {
        Ok(opened) => opened,
        Err(response) => return response,
    };
    let mut context = viewer.base();
    let route = ("list_audit", Vec::new());
    let status = match listing(&req, &viewer, &mut context, "/console/audit", route, &pairs).await {
        Ok(()) => StatusCode::OK,
        Err(failure) => refused_read(&mut context, &failure),
    };
    page("audit.html", status, context)
}

/// `GET /console/events`: the signed-in tenant's new events as server-sent events, from the feed's end (or after
/// `Last-Event-ID` when the browser reconnects); what the console's script follows to update a page live.
pub(super) async fn events(req: Req) -> Response {
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
    let head = match req
        .state
        .spine
        .call(&viewer.ctx, &hoc_spine::requests::TailEvents {})
        .await
    {
        Ok(tail) => tail.last_sequence_no,
        Err(e) => return ApiError::from_operation(e, &req.rid.0).into_response(),
    };
    crate::stream::follow(
        &req.state,
        viewer.ctx,
        resume.unwrap_or(head),
        head,
        &req.rid,
    )
    .await
    .unwrap_or_else(IntoResponse::into_response)
}

/// `GET /console/incidents/{id}/export?as_of=`: the incident's postmortem draft as Markdown (its fields, timeline,
/// notes, alerts and audit at the instant), as a download.
pub(super) async fn export(req: Req, Path(id): Path<String>) -> Response {
    let viewer = match open(&req).await {
        Ok((viewer, _)) => viewer,
        Err(response) => return response,
    };
    let request = hoc_spine::requests::ExportIncident { id: id.clone() };
    match req.state.spine.call(&viewer.ctx, &request).await {
        Ok(export) => {
            let name: String = id
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
                .collect();
            let mut response = export.markdown().into_response();
            let headers = response.headers_mut();
            headers.insert(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("text/markdown; charset=utf-8"),
            );
            if let Ok(value) =
                axum::http::HeaderValue::from_str(&format!("attachment; filename=\"{name}.md\""))
            {
                headers.insert(axum::http::header::CONTENT_DISPOSITION, value);
            }
            super::secure(headers);
            response
        }
        Err(e) => error_page(&ApiError::from_operation(e, &req.rid.0), Some(&viewer)),
    }
}
