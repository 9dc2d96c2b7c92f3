//! `incidents.write` and `incidents.query`.

use async_trait::async_trait;
use hoc_contracts::input::FieldReader;
use hoc_incidents::Outcome;
use serde_json::json;

use super::{to_response, undispatched};
use crate::OperationError;
use crate::registry::{Call, Effects, Method, Operation};

/// `incidents.write`: create, acknowledge.
pub(crate) struct IncidentsWrite;

#[async_trait]
impl Operation for IncidentsWrite {
    fn name(&self) -> &'static str {
        "incidents.write"
    }

    fn methods(&self) -> &'static [Method] {
        &[
            Method {
                name: "create",
                writes: true,
            },
            Method {
                name: "acknowledge",
                writes: true,
            },
        ]
    }

    async fn execute(&self, call: Call<'_>) -> Result<Effects, OperationError> {
        let tenant = call.ctx.tenant_id();
        let actor = call.ctx.actor();
        let outcome: Outcome = match call.method {
            "create" => {
                hoc_incidents::create(call.tx, tenant, actor, call.now, call.payload).await?
            }
            "acknowledge" => {
                hoc_incidents::acknowledge(call.tx, tenant, actor, call.now, call.payload).await?
            }
            other => return Err(undispatched(self.name(), other)),
        };
        Ok(Effects {
            response: to_response(&outcome.incident)?,
            audit: outcome.audit,
            events: outcome.events,
        })
    }
}

/// `incidents.query`: get, timeline.
pub(crate) struct IncidentsQuery;

#[async_trait]
impl Operation for IncidentsQuery {
    fn name(&self) -> &'static str {
        "incidents.query"
    }

    fn methods(&self) -> &'static [Method] {
        &[
            Method {
                name: "get",
                writes: false,
            },
            Method {
                name: "timeline",
                writes: false,
            },
        ]
    }

    async fn execute(&self, call: Call<'_>) -> Result<Effects, OperationError> {
        let mut r = FieldReader::new(call.payload);
        let id = r.required_str("id", 64);
        r.finish()
            .map_err(|fields| OperationError::InvalidInput { fields })?;
        let id = id.unwrap_or_default();
        let tenant = call.ctx.tenant_id();
        let response = match call.method {
            "get" => to_response(&hoc_incidents::get(call.tx, tenant, &id).await?)?,
            "timeline" => {
                json!({ "items": to_response(&hoc_incidents::timeline(call.tx, tenant, &id).await?)? })
            }
            other => return Err(undispatched(self.name(), other)),
        };
        Ok(Effects::read(response))
    }
}
