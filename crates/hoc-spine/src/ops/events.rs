//! `events.feed`: the tenant's events in sequence order.

use hoc_contracts::EventEnvelope;
use hoc_contracts::input::{After, Limit};
use serde::{Deserialize, Serialize};

use super::{invalid, operation_method, read_at};
use crate::http::{Methods, get};
use crate::{OperationError, Output};

hoc_contracts::request! {
    /// The caller's tenant and project events with `sequence_no > after` that occurred at or before the read's
    /// instant, ascending, without gaps.
    pub struct ListEvents => EventsQuery {
        /// Exclusive lower bound (0, the default, for the start).
        after: Option<i64> => optional After,
        /// Page size (1 to 500, default 50).
        limit: Option<i64> => optional Limit,
    }
}

hoc_contracts::request! {
    /// Where the caller's tenant and project feed ends now: a live follower (the console) starts there instead of
    /// reading the history. Not routed.
    pub struct TailEvents => TailQuery {}
}

/// The end of a feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EventsTail {
    /// The highest `sequence_no` (0: no event yet); pass it as `after` to follow from here.
    pub last_sequence_no: i64,
}

operation_method!(TailEvents => "events.feed"."tail", writes = false, -> EventsTail,
|request, call| {
    let TailQuery {} = request.parse().map_err(invalid)?;
    let last_sequence_no =
        hoc_drivers::outbox::last_sequence_no(call.tx, call.ctx.tenant_id(), call.ctx.project_id()).await?;
    Ok(Output::read(EventsTail { last_sequence_no }))
});

/// A page of events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EventsPage {
    /// The envelopes in sequence order.
    pub items: Vec<EventEnvelope>,
    /// Pass as `after` for the next page.
    pub next_after: i64,
}

pub(crate) fn declare<V: Methods>(v: &mut V) -> Result<(), OperationError> {
    v.route(
        get::<ListEvents>(
            "list_events",
            "/v1/events",
            "The tenant's events in sequence order",
        )
        .as_of(),
    )?;
    v.method::<TailEvents>()
}

operation_method!(ListEvents => "events.feed"."list", writes = false, -> EventsPage,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    let after = input.after.unwrap_or(0);
    let project_id = call.ctx.project_id();
    // Never a shorter list presented as complete: a read from below what retention pruned is refused by name.
    if let Some(mark) =
        hoc_drivers::outbox::prune_mark(call.tx, call.ctx.tenant_id(), project_id).await?
        && after < mark.pruned_through
    {
        return Err(OperationError::HistoryPruned {
            project_id: project_id.to_owned(),
            pruned_through: mark.pruned_through,
            retention_seconds: mark.retention_seconds,
        });
    }
    let items = hoc_drivers::outbox::list_after(
        call.tx,
        call.ctx.tenant_id(),
        Some(project_id),
        after,
        hoc_drivers::DbTime::new(read_at(&call).instant()),
        Limit::or_default(input.limit),
    )
    .await?;
    let next_after = items.last().map_or(after, |e| e.sequence_no);
    Ok(Output::read(EventsPage { items, next_after }))
});
