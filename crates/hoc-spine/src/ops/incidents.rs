//! `incidents.write`, `incidents.query` and `incidents.recurrence`.

use async_trait::async_trait;
use hoc_incidents::Outcome;
use hoc_incidents::queries::{self, ReadAt};
use serde::Serialize;

use super::{to_response, undispatched};
use crate::OperationError;
use crate::registry::{Call, Effects, Method, Operation};

fn effects<T: Serialize>(outcome: Outcome<T>) -> Result<Effects, OperationError> {
    Ok(Effects {
        response: to_response(&outcome.result)?,
        audit: outcome.audit,
        events: outcome.events,
    })
}

fn read_at(call: &Call<'_>) -> ReadAt {
    ReadAt {
        as_of: call.ctx.as_of(),
        now: call.now,
    }
}

/// `incidents.write`: the lifecycle.
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
            Method {
                name: "resolve",
                writes: true,
            },
            Method {
                name: "close",
                writes: true,
            },
            Method {
                name: "reopen",
                writes: true,
            },
        ]
    }

    async fn execute(&self, call: Call<'_>) -> Result<Effects, OperationError> {
        let (tx, tenant, actor, now, payload) = (
            call.tx,
            call.ctx.tenant_id(),
            call.ctx.actor(),
            call.now,
            call.payload,
        );
        let outcome = match call.method {
            "create" => hoc_incidents::create(tx, tenant, actor, now, payload).await?,
            "acknowledge" => hoc_incidents::acknowledge(tx, tenant, actor, now, payload).await?,
            "resolve" => hoc_incidents::resolve(tx, tenant, actor, now, payload).await?,
            "close" => hoc_incidents::close(tx, tenant, actor, now, payload).await?,
            "reopen" => hoc_incidents::reopen(tx, tenant, actor, now, payload).await?,
            other => return Err(undispatched(self.name(), other)),
        };
        effects(outcome)
    }
}

/// `incidents.query`: get, list, timeline, audit.
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
                name: "list",
                writes: false,
            },
            Method {
                name: "timeline",
                writes: false,
            },
            Method {
                name: "audit",
                writes: false,
            },
        ]
    }

    async fn execute(&self, call: Call<'_>) -> Result<Effects, OperationError> {
        let (tx, tenant) = (call.tx, call.ctx.tenant_id());
        let response = match call.method {
            "get" => {
                let id = queries::read_id(call.payload, "id")?;
                to_response(&queries::get(tx, tenant, &id, call.ctx.as_of()).await?)?
            }
            "list" => to_response(&queries::list(tx, tenant, call.payload, read_at(&call)).await?)?,
            "timeline" => {
                let id = queries::read_id(call.payload, "id")?;
                to_response(&queries::timeline(tx, tenant, &id, read_at(&call)).await?)?
            }
            "audit" => to_response(
                &queries::audit_entries(tx, tenant, call.payload, read_at(&call)).await?,
            )?,
            other => return Err(undispatched(self.name(), other)),
        };
        Ok(Effects::read(response))
    }
}

/// `incidents.recurrence`: recurrence groups and postmortem stubs.
pub(crate) struct IncidentsRecurrence;

#[async_trait]
impl Operation for IncidentsRecurrence {
    fn name(&self) -> &'static str {
        "incidents.recurrence"
    }

    fn methods(&self) -> &'static [Method] {
        &[
            Method {
                name: "get_recurrence_group",
                writes: false,
            },
            Method {
                name: "group_for_incident",
                writes: false,
            },
            Method {
                name: "create_postmortem_stub",
                writes: true,
            },
        ]
    }

    async fn execute(&self, call: Call<'_>) -> Result<Effects, OperationError> {
        let (tx, tenant) = (call.tx, call.ctx.tenant_id());
        match call.method {
            "get_recurrence_group" => Ok(Effects::read(to_response(
                &queries::recurrence_group(tx, tenant, call.payload, read_at(&call)).await?,
            )?)),
            "group_for_incident" => Ok(Effects::read(to_response(
                &queries::group_for_incident(tx, tenant, call.payload, read_at(&call)).await?,
            )?)),
            "create_postmortem_stub" => effects(
                hoc_incidents::create_postmortem_stub(
                    tx,
                    tenant,
                    call.ctx.actor(),
                    call.now,
                    call.payload,
                )
                .await?,
            ),
            other => Err(undispatched(self.name(), other)),
        }
    }
}
