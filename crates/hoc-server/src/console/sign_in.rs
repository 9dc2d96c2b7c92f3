//! Signing in and out: an API key exchanged for a session cookie, and the same-origin rule of every POST.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use hoc_spine::auth::{Scope, constant_time_eq};
use serde_json::{Map, json};

use super::{error_page, form, page, query_pairs, redirect, refused, session, session_id, take};
use crate::ApiError;
use crate::handlers::Req;

/// Whether a POST comes from this origin: `Sec-Fetch-Site` (when the browser sends it) must be `same-origin` or
/// `none`, and `Origin` (when sent) must name the host the request was sent to.
pub(super) fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site")
        && !matches!(site.to_str(), Ok("same-origin" | "none"))
    {
        return false;
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

pub(super) async fn sign_in_page(req: Req) -> Response {
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

pub(super) async fn sign_in(req: Req, body: Body) -> Response {
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
        Ok(Some(identity)) => {
            let idle = req.state.console.idle();
            let id = match req.state.spine.open_console_session(&identity, idle).await {
                Ok(id) => id,
                Err(e) => return error_page(&ApiError::from_operation(e, &req.rid.0), None),
            };
            let mut response = redirect(&next);
            if let Some(cookie) = session_cookie(&req.headers, &id, idle.as_secs().max(1)) {
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

pub(super) async fn sign_out(req: Req, body: Body) -> Response {
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
        let idle = req.state.console.idle();
        match (req.state.spine.console_session(&id, idle).await, token) {
            (Ok(Some(found)), Some(token))
                if constant_time_eq(found.csrf.as_bytes(), token.as_bytes()) =>
            {
                if let Err(e) = req.state.spine.end_console_session(&id).await {
                    return error_page(&ApiError::from_operation(e, &req.rid.0), None);
                }
            }
            (Ok(Some(_)), _) => return refused("a form without a valid csrf_token"),
            (Ok(None), _) => {}
            (Err(e), _) => return error_page(&ApiError::from_operation(e, &req.rid.0), None),
        }
    }
    let mut response = redirect("/console/sign-in");
    if let Some(cookie) = session_cookie(&req.headers, "", 0) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}
