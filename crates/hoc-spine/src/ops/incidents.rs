//! `incidents.write`, `incidents.query` and `incidents.recurrence`.

pub use hoc_incidents::counts::{CountIncidents, IncidentCounts};
pub use hoc_incidents::export::{ExportIncident, IncidentExport};
pub use hoc_incidents::grouping::{
    FingerprintRule, GetGroupingConfig, GetLearnedTemplates, GroupingConfig, LearnProposal,
    LearnTemplates, LearnedTemplates, PreviewLearn, PreviewRegroup, PutGroupingConfig,
    RegroupBatch, RegroupBatchResult, RegroupReport,
};
pub use hoc_incidents::queries::{
    GetIncident, GetRecurrenceGroup, GroupForIncident, GroupSummary, IncidentAudit,
    IncidentTimeline, ListIncidents, ListRecurrenceGroups, SignatureVersion,
};
pub use hoc_incidents::{
    AcknowledgeIncident, AddNote, AssignIncident, ChangeSeverity, CloseIncident, CreateIncident,
    CreatePostmortemStub, DeleteNote, EditIncident, EditNote, ListNotes, MarkDuplicate, Note,
    Notes, RemoveDuplicate, ReopenIncident, ResolveIncident,
};

/// The timeline in ordinal order, with the `as_of` it shows.
pub type TimelinePage = hoc_incidents::queries::Timeline;

use hoc_incidents::grouping;
use hoc_incidents::queries::{self, Timeline};
use hoc_incidents::{
    AuditEntry, Caller, Incident, IncidentAt, Page, PostmortemStub, RecurrenceGroup,
};

use super::{invalid, operation_method, read_at};
use crate::http::{
    Created201, ExportReply, Methods, Ok200, PostmortemReply, delete, get, patch, post, put,
};
use crate::{Call, OperationError, Output};

pub(crate) fn caller<'a>(call: &Call<'a>) -> Caller<'a> {
    Caller {
        tenant_id: call.ctx.tenant_id(),
        actor: call.ctx.actor(),
        request_id: call.ctx.request_id(),
        now: call.now,
    }
}

pub(crate) fn declare<V: Methods>(v: &mut V) -> Result<(), OperationError> {
    v.route(
        post::<CreateIncident, Created201>("create_incident", "/v1/incidents", "Open an incident")
            .example(|| CreateIncident {
                title: Some("Checkout latency above 2 s".into()),
                severity: Some("high".into()),
                category: Some("latency".into()),
                ..CreateIncident::default()
            }),
    )?;
    v.route(
        get::<ListIncidents>(
            "list_incidents",
            "/v1/incidents",
            "List incidents, newest first",
        )
        .as_of(),
    )?;
    v.route(
        get::<CountIncidents>(
            "count_incidents",
            "/v1/incidents/counts",
            "How many incidents are in each status",
        )
        .as_of(),
    )?;
    v.route(
        patch::<EditIncident, Ok200>(
            "edit_incident",
            "/v1/incidents/{id}",
            "Edit an incident's title or description against the version read",
        )
        .example(|| EditIncident {
            expected_version: Some(hoc_contracts::input::JsonInt(1)),
            title: Some("Checkout down in eu-west-1".into()),
            ..EditIncident::default()
        }),
    )?;
    v.route(get::<GetIncident>("get_incident", "/v1/incidents/{id}", "Get an incident").as_of())?;
    v.route(post::<AcknowledgeIncident, Ok200>(
        "acknowledge_incident",
        "/v1/incidents/{id}/acknowledge",
        "Acknowledge an open incident",
    ))?;
    v.route(
        post::<ResolveIncident, Ok200>(
            "resolve_incident",
            "/v1/incidents/{id}/resolve",
            "Resolve an incident with its resolution record",
        )
        .example(|| ResolveIncident {
            resolution_type: Some("rollback".into()),
            resolution_summary: Some("rolled back the connection-pool change".into()),
            ..ResolveIncident::default()
        }),
    )?;
    v.route(
        post::<CloseIncident, Ok200>(
            "close_incident",
            "/v1/incidents/{id}/close",
            "Close an incident by hand",
        )
        .example(|| CloseIncident {
            reason: Some("duplicate of another page".into()),
            ..CloseIncident::default()
        }),
    )?;
    v.route(post::<ReopenIncident, Ok200>(
        "reopen_incident",
        "/v1/incidents/{id}/reopen",
        "Reopen a resolved or closed incident",
    ))?;
    v.route(
        post::<ChangeSeverity, Ok200>(
            "change_severity",
            "/v1/incidents/{id}/severity",
            "Raise or lower an incident's severity, with the reason",
        )
        .example(|| ChangeSeverity {
            severity: Some("critical".into()),
            reason: Some("checkout fails for every EU customer".into()),
            ..ChangeSeverity::default()
        }),
    )?;
    v.route(
        post::<AssignIncident, Ok200>(
            "assign_incident",
            "/v1/incidents/{id}/assign",
            "Assign, reassign or unassign an incident",
        )
        .example(|| AssignIncident {
            assignee: Some("alice".into()),
            reason: Some("on call for checkout".into()),
            ..AssignIncident::default()
        }),
    )?;
    v.route(
        post::<AddNote, Created201>(
            "add_note",
            "/v1/incidents/{id}/notes",
            "Write a note on an incident's timeline",
        )
        .example(|| AddNote {
            body: Some("Connection pool exhausted on db-2; raising max_connections.".into()),
            ..AddNote::default()
        }),
    )?;
    v.route(
        get::<ListNotes>(
            "list_notes",
            "/v1/incidents/{id}/notes",
            "The notes of an incident, oldest first",
        )
        .as_of(),
    )?;
    v.route(
        patch::<EditNote, Ok200>(
            "edit_note",
            "/v1/incidents/{id}/notes/{note_id}",
            "Edit a note you wrote, against the version read",
        )
        .example(|| EditNote {
            body: Some("Connection pool exhausted on db-2 and db-3.".into()),
            expected_version: Some(hoc_contracts::input::JsonInt(1)),
            ..EditNote::default()
        }),
    )?;
    v.route(delete::<DeleteNote, Ok200>(
        "delete_note",
        "/v1/incidents/{id}/notes/{note_id}",
        "Delete a note you wrote (its text stays in history)",
    ))?;
    v.route(
        post::<MarkDuplicate, Ok200>(
            "mark_duplicate",
            "/v1/incidents/{id}/duplicate-of",
            "Close an incident as a duplicate of another open incident",
        )
        .example(|| MarkDuplicate {
            target_id: Some("inc_0192f0c4-7a60-7000-8000-0000000000aa".into()),
            ..MarkDuplicate::default()
        }),
    )?;
    v.route(delete::<RemoveDuplicate, Ok200>(
        "remove_duplicate",
        "/v1/incidents/{id}/duplicate-of",
        "Undo a duplicate link: the duplicate is reopened",
    ))?;
    v.route(
        get::<IncidentTimeline>(
            "incident_timeline",
            "/v1/incidents/{id}/timeline",
            "An incident's timeline in ordinal order",
        )
        .as_of(),
    )?;
    v.method::<IncidentAudit>()?;
    v.route(
        get::<ExportIncident>(
            "export_incident",
            "/v1/incidents/{id}/export",
            "An incident with its timeline, notes, alerts, audit and events; Markdown with Accept: text/markdown",
        )
        .shaped::<ExportReply>()
        .as_of(),
    )?;
    v.route(post::<CreatePostmortemStub, PostmortemReply>(
        "create_postmortem",
        "/v1/incidents/{incident_id}/postmortem",
        "Create (or get) the incident's postmortem stub",
    ))?;
    v.route(
        get::<GroupForIncident>(
            "incident_recurrence",
            "/v1/incidents/{id}/recurrence",
            "The incident's recurrence group and signature inputs",
        )
        .as_of(),
    )?;
    v.route(
        get::<ListRecurrenceGroups>(
            "list_recurrence_groups",
            "/v1/recurrence-groups",
            "The tenant's recurrence groups, most recently seen or largest first",
        )
        .as_of(),
    )?;
    v.route(
        get::<GetRecurrenceGroup>(
            "recurrence_group",
            "/v1/recurrence-groups/{signature}",
            "A recurrence group by signature",
        )
        .as_of(),
    )?;
    v.route(
        get::<GetGroupingConfig>(
            "get_grouping_config",
            "/v1/grouping-config",
            "The tenant's grouping configuration",
        )
        .as_of(),
    )?;
    v.route(put::<PutGroupingConfig, Ok200>(
        "put_grouping_config",
        "/v1/grouping-config",
        "Replace the tenant's grouping configuration (a new version)",
    ))?;
    v.route(
        get::<PreviewRegroup>(
            "preview_regroup",
            "/v1/grouping-config/regroup-preview",
            "What regrouping under another signature algorithm would change (dry run)",
        )
        .as_of(),
    )?;
    v.route(
        get::<PreviewLearn>(
            "preview_learn",
            "/v1/grouping-config/learn-preview",
            "The templates learning from the tenant's incidents would propose (dry run)",
        )
        .as_of(),
    )?;
    v.route(post::<LearnTemplates, Ok200>(
        "learn_templates",
        "/v1/grouping-config/learn",
        "Learn templates from the tenant's incidents and apply them as a new configuration version",
    ))?;
    v.route(
        get::<GetLearnedTemplates>(
            "learned_templates",
            "/v1/grouping-config/templates",
            "The learned templates in force",
        )
        .as_of(),
    )?;
    v.method::<RegroupBatch>()
}

operation_method!(CreateIncident => "incidents.write"."create", writes = true, -> Incident,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    Ok(hoc_incidents::create(call.tx, &caller(&call), input).await?)
});

operation_method!(AcknowledgeIncident => "incidents.write"."acknowledge", writes = true, -> Incident,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    let output = hoc_incidents::acknowledge(call.tx, &caller(&call), input).await?;
    Ok(output)
});

operation_method!(ResolveIncident => "incidents.write"."resolve", writes = true, -> Incident,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    let output = hoc_incidents::resolve(call.tx, &caller(&call), input).await?;
    Ok(output)
});

operation_method!(CloseIncident => "incidents.write"."close", writes = true, -> Incident,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    let output = hoc_incidents::close(call.tx, &caller(&call), input).await?;
    Ok(output)
});

operation_method!(ReopenIncident => "incidents.write"."reopen", writes = true, -> Incident,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    let output = hoc_incidents::reopen(call.tx, &caller(&call), input).await?;
    Ok(output)
});

operation_method!(ChangeSeverity => "incidents.write"."change_severity", writes = true, -> Incident,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    let output = hoc_incidents::change_severity(call.tx, &caller(&call), input).await?;
    Ok(output)
});

operation_method!(EditIncident => "incidents.write"."edit", writes = true, -> Incident,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    let output = hoc_incidents::edit(call.tx, &caller(&call), input).await?;
    Ok(output)
});

operation_method!(AssignIncident => "incidents.write"."assign", writes = true, -> Incident,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    let output = hoc_incidents::assign(call.tx, &caller(&call), input).await?;
    Ok(output)
});

operation_method!(MarkDuplicate => "incidents.links"."mark_duplicate", writes = true, -> Incident,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    let output = hoc_incidents::mark_duplicate(call.tx, &caller(&call), input).await?;
    Ok(output)
});

operation_method!(RemoveDuplicate => "incidents.links"."remove_duplicate", writes = true, -> Incident,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    let output = hoc_incidents::remove_duplicate(call.tx, &caller(&call), input).await?;
    Ok(output)
});

operation_method!(ExportIncident => "incidents.query"."export", writes = false, -> IncidentExport,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    let export =
        hoc_incidents::export::export(call.tx, call.ctx.tenant_id(), input, read_at(&call)).await?;
    Ok(Output::read(export))
});

operation_method!(AddNote => "incidents.notes"."add", writes = true, -> Note,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    Ok(hoc_incidents::add_note(call.tx, &caller(&call), input).await?)
});

operation_method!(EditNote => "incidents.notes"."edit", writes = true, -> Note,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    Ok(hoc_incidents::edit_note(call.tx, &caller(&call), input).await?)
});

operation_method!(DeleteNote => "incidents.notes"."delete", writes = true, -> Note,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    Ok(hoc_incidents::delete_note(call.tx, &caller(&call), input).await?)
});

operation_method!(ListNotes => "incidents.notes"."list", writes = false, -> Notes,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    Ok(Output::read(hoc_incidents::list_notes(call.tx, call.ctx.tenant_id(), input, read_at(&call)).await?))
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

operation_method!(CountIncidents => "incidents.query"."counts", writes = false, -> IncidentCounts,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    let counts =
        hoc_incidents::counts::counts(call.tx, call.ctx.tenant_id(), input, read_at(&call)).await?;
    Ok(Output::read(counts))
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

operation_method!(PreviewLearn => "incidents.grouping"."preview_learn", writes = false, -> LearnProposal,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    let proposal =
        grouping::preview_learn(call.tx, call.ctx.tenant_id(), input, read_at(&call)).await?;
    Ok(Output::read(proposal))
});

/// A learn mines in a read before its write begins (`prepare`), so the write lock is held only to write.
#[async_trait::async_trait]
impl crate::OperationMethod for LearnTemplates {
    const OPERATION: &'static str = "incidents.grouping";
    const METHOD: &'static str = "learn";
    const WRITES: bool = true;
    const PREPARES: bool = true;
    type Response = LearnProposal;

    async fn prepare(&self, call: Call<'_>) -> Result<crate::Prepared, OperationError> {
        let input = self.parse().map_err(invalid)?;
        let mined =
            grouping::mine_for_learn(call.tx, call.ctx.tenant_id(), &input, call.now).await?;
        Ok(Box::new(mined))
    }

    async fn run(&self, call: Call<'_>) -> Result<Output<LearnProposal>, OperationError> {
        let input = self.parse().map_err(invalid)?;
        let mined = call
            .prepared
            .and_then(|prepared| prepared.downcast_ref::<grouping::MinedLearn>());
        Ok(grouping::learn_templates(call.tx, &caller(&call), input, mined).await?)
    }
}

operation_method!(GetLearnedTemplates => "incidents.grouping"."learned_templates", writes = false,
-> LearnedTemplates,
|request, call| {
    request.parse().map_err(invalid)?;
    let templates = grouping::templates_at(call.tx, call.ctx.tenant_id(), read_at(&call)).await?;
    Ok(Output::read(templates))
});

operation_method!(RegroupBatch => "incidents.grouping"."regroup_batch", writes = true,
-> RegroupBatchResult,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    Ok(grouping::regroup_batch(call.tx, &caller(&call), input).await?)
});
