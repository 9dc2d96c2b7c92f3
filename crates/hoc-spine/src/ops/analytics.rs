//! `analytics.artifacts`: save, get, list.

use async_trait::async_trait;
use hoc_analytics::ReadAt;

use super::{to_response, undispatched};
use crate::OperationError;
use crate::registry::{Call, Effects, Method, Operation};

/// `analytics.artifacts`.
pub(crate) struct AnalyticsArtifacts;

#[async_trait]
impl Operation for AnalyticsArtifacts {
    fn name(&self) -> &'static str {
        "analytics.artifacts"
    }

    fn methods(&self) -> &'static [Method] {
        &[
            Method {
                name: "save",
                writes: true,
            },
            Method {
                name: "get",
                writes: false,
            },
            Method {
                name: "list",
                writes: false,
            },
        ]
    }

    async fn execute(&self, call: Call<'_>) -> Result<Effects, OperationError> {
        let (tx, tenant) = (call.tx, call.ctx.tenant_id());
        let at = ReadAt {
            as_of: call.ctx.as_of(),
            now: call.now,
        };
        match call.method {
            "save" => {
                let outcome = hoc_analytics::save(tx, tenant, call.now, call.payload).await?;
                Ok(Effects {
                    response: to_response(&outcome.result)?,
                    audit: outcome.audit,
                    events: outcome.events,
                })
            }
            "get" => Ok(Effects::read(to_response(
                &hoc_analytics::get(tx, tenant, call.payload, at).await?,
            )?)),
            "list" => Ok(Effects::read(to_response(
                &hoc_analytics::list(tx, tenant, call.payload, at).await?,
            )?)),
            other => Err(undispatched(self.name(), other)),
        }
    }
}
