//! `incidents.write`, `incidents.query` and `incidents.recurrence`.

use hoc_incidents::grouping::{
    self, GetGroupingConfig, GroupingConfig, PreviewRegroup, PutGroupingConfig, RegroupBatch,
    RegroupBatchResult, RegroupReport,
};
use hoc_incidents::queries::{
    self, GetIncident, GetRecurrenceGroup, GroupForIncident, GroupSummary, IncidentAudit,
    IncidentTimeline, ListIncidents, ListRecurrenceGroups, Timeline,
};
use hoc_incidents::{
    AcknowledgeIncident, AuditEntry, Caller, CloseIncident, CreateIncident, CreatePostmortemStub,
    Incident, IncidentAt, Page, PostmortemStub, RecurrenceGroup, ReopenIncident, ResolveIncident,
};

use super::{invalid, operation_method, read_at};
use crate::{Call, OperationError, Output, RegistryBuilder};

fn caller<'a>(call: &Call<'a>) -> Caller<'a> {
    Caller {
        tenant_id: call.ctx.tenant_id(),
        actor: call.ctx.actor(),
        request_id: call.ctx.request_id(),
        now: call.now,
    }
}

pub(crate) fn register(builder: RegistryBuilder) -> Result<RegistryBuilder, OperationError> {
    builder
        .register::<CreateIncident>()?
        .register::<AcknowledgeIncident>()?
        .register::<ResolveIncident>()?
        .register::<CloseIncident>()?
        .register::<ReopenIncident>()?
        .register::<GetIncident>()?
        .register::<ListIncidents>()?
        .register::<IncidentTimeline>()?
        .register::<IncidentAudit>()?
        .register::<GetRecurrenceGroup>()?
        .register::<GroupForIncident>()?
        .register::<ListRecurrenceGroups>()?
        .register::<GetGroupingConfig>()?
        .register::<PutGroupingConfig>()?
        .register::<PreviewRegroup>()?
        .register::<RegroupBatch>()?
        .register::<CreatePostmortemStub>()
}

operation_method!(CreateIncident => "incidents.write"."create", writes = true, -> Incident,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    Ok(hoc_incidents::create(call.tx, &caller(&call), input).await?)
});

operation_method!(AcknowledgeIncident => "incidents.write"."acknowledge", writes = true, -> Incident,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    Ok(hoc_incidents::acknowledge(call.tx, &caller(&call), input).await?)
});

operation_method!(ResolveIncident => "incidents.write"."resolve", writes = true, -> Incident,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    Ok(hoc_incidents::resolve(call.tx, &caller(&call), input).await?)
});

operation_method!(CloseIncident => "incidents.write"."close", writes = true, -> Incident,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    Ok(hoc_incidents::close(call.tx, &caller(&call), input).await?)
});

operation_method!(ReopenIncident => "incidents.write"."reopen", writes = true, -> Incident,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    Ok(hoc_incidents::reopen(call.tx, &caller(&call), input).await?)
});

operation_method!(CreatePostmortemStub => "incidents.recurrence"."create_postmortem_stub", writes = true,
-> PostmortemStub,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    Ok(hoc_incidents::create_postmortem_stub(call.tx, &caller(&call), input).await?)
});

operation_method!(GetIncident => "incidents.query"."get", writes = false, -> IncidentAt,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    let incident =
        queries::get(call.tx, call.ctx.tenant_id(), input.id.as_str(), read_at(&call)).await?;
    Ok(Output::read(incident))
});

operation_method!(ListIncidents => "incidents.query"."list", writes = false, -> Page<Incident>,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    Ok(Output::read(queries::list(call.tx, call.ctx.tenant_id(), input, read_at(&call)).await?))
});

operation_method!(IncidentTimeline => "incidents.query"."timeline", writes = false, -> Timeline,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    let timeline =
        queries::timeline(call.tx, call.ctx.tenant_id(), input.id.as_str(), read_at(&call)).await?;
    Ok(Output::read(timeline))
});

operation_method!(IncidentAudit => "incidents.query"."audit", writes = false, -> Page<AuditEntry>,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    let page = queries::audit_entries(call.tx, call.ctx.tenant_id(), input, read_at(&call)).await?;
    Ok(Output::read(page))
});

operation_method!(GetRecurrenceGroup => "incidents.recurrence"."get_recurrence_group", writes = false,
-> RecurrenceGroup,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    let group =
        queries::recurrence_group(call.tx, call.ctx.tenant_id(), input, read_at(&call)).await?;
    Ok(Output::read(group))
});

operation_method!(GroupForIncident => "incidents.recurrence"."group_for_incident", writes = false,
-> RecurrenceGroup,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    let group =
        queries::group_for_incident(call.tx, call.ctx.tenant_id(), input, read_at(&call)).await?;
    Ok(Output::read(group))
});

operation_method!(ListRecurrenceGroups => "incidents.recurrence"."list_groups", writes = false,
-> Page<GroupSummary>,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    let page = queries::list_groups(call.tx, call.ctx.tenant_id(), input, read_at(&call)).await?;
    Ok(Output::read(page))
});

operation_method!(GetGroupingConfig => "incidents.grouping"."get_config", writes = false, -> GroupingConfig,
|request, call| {
    request.parse().map_err(invalid)?;
    let config = grouping::get_config(call.tx, call.ctx.tenant_id(), read_at(&call)).await?;
    Ok(Output::read(config))
});

operation_method!(PutGroupingConfig => "incidents.grouping"."put_config", writes = true, -> GroupingConfig,
|request, call| {
    let input = request.validate().map_err(invalid)?;
    Ok(grouping::put_config(call.tx, &caller(&call), input).await?)
});

operation_method!(PreviewRegroup => "incidents.grouping"."preview_regroup", writes = false, -> RegroupReport,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    let report =
        grouping::preview_regroup(call.tx, call.ctx.tenant_id(), input, read_at(&call)).await?;
    Ok(Output::read(report))
});

operation_method!(RegroupBatch => "incidents.grouping"."regroup_batch", writes = true,
-> RegroupBatchResult,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    Ok(grouping::regroup_batch(call.tx, &caller(&call), input).await?)
});
