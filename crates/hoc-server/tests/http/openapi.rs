//! The OpenAPI document lists exactly the routes the router serves.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use hoc_server::{app, openapi, routes, state};
use tower::ServiceExt;

#[test]
fn route_names_are_unique() {
    let names: BTreeSet<&str> = routes().iter().map(|r| r.name).collect();
    assert_eq!(names.len(), routes().len(), "route names are unique");
}

#[test]
fn each_stream_event_is_described_as_it_is_sent() {
    let doc = openapi::document();
    let content = &doc["paths"]["/v1/events/stream"]["get"]["responses"]["200"]["content"]["text/event-stream"];
    // Not "a string": each event has an id (the sequence_no), an event type and the envelope as JSON data.
    assert!(content.get("schema").is_none(), "{content}");
    let item = &content["itemSchema"];
    assert_eq!(item, &openapi::stream_event_schema());
    assert_eq!(item["required"], serde_json::json!(["id", "event", "data"]));
    assert_eq!(
        item["properties"]["data"]["contentMediaType"],
        "application/json"
    );
    // The data's schema is the one `/v1/events` lists its items with, and it exists.
    let envelope = item["properties"]["data"]["contentSchema"]["$ref"]
        .as_str()
        .expect("a $ref");
    let feed_items = doc["paths"]["/v1/events"]["get"]["responses"]["200"]["content"]
        ["application/json"]["schema"]["$ref"]
        .as_str()
        .and_then(|r| r.rsplit('/').next())
        .map(|name| doc["components"]["schemas"][name]["properties"]["items"]["items"]["$ref"].clone());
    assert_eq!(feed_items, Some(serde_json::json!(envelope)));
    let name = envelope.rsplit('/').next().unwrap_or_default();
    assert!(doc["components"]["schemas"][name]["properties"]["sequence_no"].is_object());
}

#[test]
fn the_document_lists_exactly_the_routes() {
    let doc = openapi::document();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            documented.insert((method.to_ascii_uppercase(), path.clone()));
        }
    }
    let served: BTreeSet<(String, String)> = routes()
        .iter()
        .map(|r| (r.method.as_str().to_owned(), r.path.to_owned()))
        .collect();
    assert_eq!(documented, served);
    // Every documented operation is named like its route; a route that needs a key says so; an operation route
    // names the spine operation it dispatches.
    for route in routes() {
        let op = &doc["paths"][route.path][route.method.openapi_key()];
        assert_eq!(op["operationId"], route.name);
        assert_eq!(
            op.get("security").is_some(),
            route.scope.is_some(),
            "{}",
            route.path
        );
        if let hoc_server::Serves::Operation { operation, method } = route.serves {
            let expected = format!("`{operation}.{method}`");
            assert!(
                op["description"].as_str().unwrap_or("").contains(&expected),
                "{}",
                route.name
            );
        }
    }
    // Every link names a documented operation and only parameters it takes.
    for (from, status, name, to, parameters) in openapi::LINKS {
        let route = routes()
            .iter()
            .find(|r| r.name == *from)
            .expect("link source");
        let link = &doc["paths"][route.path][route.method.openapi_key()]["responses"][status]["links"]
            [name];
        assert_eq!(link["operationId"], *to, "{from} {status} {name}");
        let target = routes()
            .iter()
            .find(|r| r.name == *to)
            .expect("link target");
        let op = &doc["paths"][target.path][target.method.openapi_key()];
        for (parameter, _) in *parameters {
            assert!(
                op["parameters"]
                    .as_array()
                    .expect("parameters")
                    .iter()
                    .any(|p| p["name"] == *parameter),
                "{to} takes no parameter {parameter}"
            );
        }
    }
    let text = doc.to_string();
    for piece in text.split("\"#/components/schemas/").skip(1) {
        let name = piece.split('"').next().unwrap_or("");
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "dangling $ref to {name}"
        );
    }
}

hoc_spine::storage_test!(the_router_serves_every_documented_route, |db| {
    let spine = hoc_spine::Spine::new(db.clone()).expect("spine");
    let app = app(state(spine));
    for route in routes().iter().filter(|r| r.scope.is_some()) {
        let path = route
            .path
            .replace("{id}", "inc_x")
            .replace("{incident_id}", "inc_x")
            .replace("{signature}", "sig")
            .replace("{dataset_id}", "ds")
            .replace("{dataset_version}", "v1");
        let request = Request::builder()
            .method(route.method.as_str())
            .uri(&path)
            .body(Body::empty())
            .expect("request");
        let response = app.clone().oneshot(request).await.expect("answered");
        // A route whose key is a body field (PagerDuty's) refuses a request without it as PagerDuty does: 400.
        let refused = if route.key_in_body.is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(
            response.status(),
            refused,
            "{} {} is not served",
            route.method,
            route.path
        );
        assert!(response.headers().contains_key("x-request-id"));
    }
    for (method, path) in [
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/openapi.json"),
    ] {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .expect("request");
        assert_eq!(
            app.clone()
                .oneshot(request)
                .await
                .expect("answered")
                .status(),
            StatusCode::OK,
            "{path}"
        );
    }
    let request = Request::builder()
        .uri("/v2/incidents")
        .body(Body::empty())
        .expect("request");
    assert_eq!(
        app.clone()
            .oneshot(request)
            .await
            .expect("answered")
            .status(),
        StatusCode::NOT_FOUND
    );
});
