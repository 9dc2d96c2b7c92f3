use hoc_contracts::{ActorType, FieldError};
use hoc_incidents::Actor;
use time::OffsetDateTime;

use crate::OperationError;

/// The project events belong to when the caller names none.
pub const DEFAULT_PROJECT: &str = "default";

/// Who is calling and on whose behalf: tenant, authenticated actor, request id, optional `as_of`.
///
/// The host builds it from authentication (an API key, a service identity), never from a request payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationContext {
    tenant_id: String,
    project_id: String,
    actor: Actor,
    request_id: String,
    as_of: Option<OffsetDateTime>,
}

fn check_id(field: &'static str, value: &str, max: usize, errors: &mut Vec<FieldError>) {
    if value.trim().is_empty() {
        errors.push(FieldError::new(field, "must not be empty"));
    } else if value.chars().count() > max {
        errors.push(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    } else if value.trim() != value {
        errors.push(FieldError::new(
            field,
            "must not start or end with whitespace",
        ));
    }
}

impl OperationContext {
    /// A context for `tenant_id` and the authenticated actor, with a fresh request id and the default project.
    pub fn new(
        tenant_id: &str,
        actor_type: ActorType,
        actor_id: &str,
    ) -> Result<Self, OperationError> {
        let mut errors = Vec::new();
        check_id("tenant_id", tenant_id, 64, &mut errors);
        check_id("actor_id", actor_id, 64, &mut errors);
        if !errors.is_empty() {
            return Err(OperationError::InvalidInput { fields: errors });
        }
        Ok(Self {
            tenant_id: tenant_id.to_owned(),
            project_id: DEFAULT_PROJECT.to_owned(),
            actor: Actor {
                actor_type,
                actor_id: actor_id.to_owned(),
            },
            request_id: format!("req_{}", uuid::Uuid::now_v7()),
            as_of: None,
        })
    }

    /// Names the project (events are numbered per tenant and project).
    pub fn with_project(mut self, project_id: &str) -> Result<Self, OperationError> {
        let mut errors = Vec::new();
        check_id("project_id", project_id, 64, &mut errors);
        if !errors.is_empty() {
            return Err(OperationError::InvalidInput { fields: errors });
        }
        self.project_id = project_id.to_owned();
        Ok(self)
    }

    /// Uses the caller's request id (e.g. from `x-request-id`).
    pub fn with_request_id(mut self, request_id: &str) -> Result<Self, OperationError> {
        let mut errors = Vec::new();
        check_id("request_id", request_id, 128, &mut errors);
        if !errors.is_empty() {
            return Err(OperationError::InvalidInput { fields: errors });
        }
        self.request_id = request_id.to_owned();
        Ok(self)
    }

    /// Reads as of a point in time.
    pub fn with_as_of(mut self, as_of: OffsetDateTime) -> Self {
        self.as_of = Some(hoc_contracts::time_format::truncate_micros(as_of));
        self
    }

    /// The tenant.
    pub fn tenant_id(&self) -> &str {
        &self.tenant_id
    }

    /// The project.
    pub fn project_id(&self) -> &str {
        &self.project_id
    }

    /// The authenticated actor.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// The request id (echoed in audit rows and logs).
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// The point in time reads are made at, if the caller gave one.
    pub fn as_of(&self) -> Option<OffsetDateTime> {
        self.as_of
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_context_fields_are_all_reported() {
        match OperationContext::new(" ", ActorType::User, &"a".repeat(65)) {
            Err(OperationError::InvalidInput { fields }) => assert_eq!(
                fields,
                [
                    FieldError::new("tenant_id", "must not be empty"),
                    FieldError::new("actor_id", "must be at most 64 characters"),
                ]
            ),
            other => panic!("expected invalid input, got {other:?}"),
        }
    }

    #[test]
    fn defaults_and_overrides() {
        let ctx = OperationContext::new("t1", ActorType::Sdk, "svc")
            .and_then(|c| c.with_project("p1"))
            .and_then(|c| c.with_request_id("req-1"))
            .expect("valid");
        assert_eq!(
            (ctx.tenant_id(), ctx.project_id(), ctx.request_id()),
            ("t1", "p1", "req-1")
        );
        assert_eq!(ctx.as_of(), None);
        assert!(
            OperationContext::new("t1", ActorType::User, "u")
                .expect("valid")
                .request_id()
                .starts_with("req_")
        );
    }
}
