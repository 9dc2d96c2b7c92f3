//! The HTTP error body and the mapping from spine error codes to statuses (HTTP API document, "Errors").

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hoc_spine::{ErrorCode, OperationError};
use serde_json::{Value, json};

/// An error as the API returns it: `{"error": {"code", "message", "details"}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable code.
    pub code: &'static str,
    /// A message for people; never internals.
    pub message: String,
    /// Machine-readable details (`fields`, `from`/`to`, …).
    pub details: Value,
    /// Answered as PagerDuty's Events API answers a refusal (`{"status": "invalid event", "message", "errors"}`).
    pagerduty: bool,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: json!({}),
            pagerduty: false,
        }
    }

    /// 400: the request is not understood (not JSON, wrong JSON types, unknown parameters).
    pub fn malformed(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed_request", message)
    }

    /// 401: no key, or an unknown or revoked one.
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "a valid API key is required: Authorization: Bearer <key>",
        )
    }

    /// 403: the key's scope is too small.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404 for a path no route serves.
    pub fn no_route() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such route")
    }

    /// 415: a body that is not `application/json`.
    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the request body must be JSON: Content-Type: application/json",
        )
    }

    /// 413: the body is over the limit.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the request body is over the limit of {limit} bytes"),
        )
    }

    /// The error as an alert integration answers it: a delivery that breaks a rule is 400 `malformed_request` (with
    /// the same `details.fields`), as senders expect of a bad body; everything else is unchanged.
    pub fn for_integration(mut self) -> Self {
        if self.code == "invalid_input" {
            self.status = StatusCode::BAD_REQUEST;
            self.code = "malformed_request";
        }
        self
    }

    /// The error as PagerDuty's Events API answers it: a refusal (any 4xx but 413 and 429: a bad field, a
    /// `routing_key` that is not a live `ingest` key) is 400 `{"status": "invalid event", "message", "errors"}`
    /// with every bad field named; a 5xx stays one (senders retry it).
    pub fn for_pagerduty(mut self) -> Self {
        if self.status.is_client_error()
            && self.status != StatusCode::PAYLOAD_TOO_LARGE
            && self.status != StatusCode::TOO_MANY_REQUESTS
        {
            if matches!(self.code, "unauthenticated" | "forbidden") {
                self.message = format!("routing_key: {}", self.message);
            }
            self.status = StatusCode::BAD_REQUEST;
            self.pagerduty = true;
        }
        self
    }

    /// 500, carrying the request id for the operator and nothing else.
    pub fn internal(request_id: &str) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("internal error; quote request id {request_id}"),
        )
    }

    /// Translates a spine error. Internals are logged here and never reach the client.
    pub fn from_operation(err: OperationError, request_id: &str) -> Self {
        let status = match err.code() {
            ErrorCode::MalformedRequest => StatusCode::BAD_REQUEST,
            ErrorCode::InvalidInput => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::InvalidTransition
            | ErrorCode::ReproducibilityConflict
            | ErrorCode::IdempotencyKeyReused
            | ErrorCode::StaleVersion => StatusCode::CONFLICT,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::HistoryPruned => StatusCode::GONE,
            // A storage-level conflict (a lost race on a unique key) is transient: retrying is safe.
            ErrorCode::Unavailable | ErrorCode::Conflict => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::UnknownOperation | ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(request_id, error = %err, "request failed with an internal error");
            return Self::internal(request_id);
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            tracing::warn!(request_id, error = %err, "request failed: unavailable");
            return Self::new(
                status,
                "unavailable",
                "the service is busy or storage is unavailable; retry",
            );
        }
        let message = match &err {
            OperationError::MalformedRequest { message } => message.clone(),
            other => other.to_string(),
        };
        let details = match &err {
            OperationError::InvalidInput { fields } => json!({ "fields": fields }),
            OperationError::InvalidTransition { from, to } => json!({ "from": from, "to": to }),
            OperationError::ReproducibilityConflict {
                dataset_id,
                dataset_version,
                fields,
            } => {
                json!({ "dataset_id": dataset_id, "dataset_version": dataset_version, "fields": fields })
            }
            OperationError::HistoryPruned {
                project_id,
                pruned_through,
                retention_seconds,
            } => json!({
                "project_id": project_id,
                "pruned_through": pruned_through,
                "retention_hours": retention_seconds / 3600,
            }),
            _ => json!({}),
        };
        Self {
            status,
            code: err.code().as_str(),
            message,
            details,
            pagerduty: false,
        }
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        if self.pagerduty {
            let errors: Vec<String> = match self.details.get("fields").and_then(Value::as_array) {
                Some(fields) => fields
                    .iter()
                    .map(|f| {
                        format!(
                            "{}: {}",
                            f["field"].as_str().unwrap_or_default(),
                            f["problem"].as_str().unwrap_or_default()
                        )
                    })
                    .collect(),
                None => vec![self.message.clone()],
            };
            return json!({ "status": "invalid event", "message": "Event object is invalid", "errors": errors });
        }
        json!({ "error": { "code": self.code, "message": self.message, "details": self.details } })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let unavailable = self.status == StatusCode::SERVICE_UNAVAILABLE;
        let mut response = (self.status, axum::Json(self.body())).into_response();
        if unavailable {
            retry_after(&mut response);
        }
        response
    }
}

/// Seconds a client should wait before retrying a 503.
pub(crate) const RETRY_AFTER_SECONDS: u32 = 1;

/// Adds `Retry-After` to a 503.
pub(crate) fn retry_after(response: &mut Response) {
    response.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from(RETRY_AFTER_SECONDS),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_carry_the_request_id_and_nothing_else() {
        let err = ApiError::from_operation(
            OperationError::Internal {
                message: "sqlx: relation \"incidents\" does not exist at 10.0.0.5".into(),
            },
            "req_42",
        );
        assert_eq!(err.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            err.body(),
            json!({"error": {"code": "internal", "message": "internal error; quote request id req_42", "details": {}}})
        );
    }

    #[test]
    fn codes_map_to_the_documented_statuses() {
        let cases = [
            (
                OperationError::NotFound {
                    entity: "incident",
                    id: "x".into(),
                },
                404,
                "not_found",
            ),
            (
                OperationError::InvalidTransition {
                    from: "open".into(),
                    to: "open".into(),
                },
                409,
                "invalid_transition",
            ),
            (
                OperationError::IdempotencyKeyReused { key: "k".into() },
                409,
                "idempotency_key_reused",
            ),
            (
                OperationError::Unavailable {
                    message: "pool timed out".into(),
                },
                503,
                "unavailable",
            ),
            (
                OperationError::Conflict {
                    message: "ux_x".into(),
                },
                503,
                "unavailable",
            ),
            (
                OperationError::UnknownOperation { name: "x".into() },
                500,
                "internal",
            ),
        ];
        for (err, status, code) in cases {
            let api = ApiError::from_operation(err, "req");
            assert_eq!((api.status.as_u16(), api.code), (status, code));
            assert!(
                !api.message.contains("pool timed out") && !api.message.contains("ux_x"),
                "{}",
                api.message
            );
        }
    }
}
