//! `audit.query`: the tenant's audit ledger, oldest first.

use hoc_contracts::input::{Limit, PageCursor, Text};
use hoc_drivers::audit::{self, AuditEntry};
use hoc_drivers::paging::{PageRequest, paginate};
use hoc_incidents::Page;

use super::{invalid, operation_method, read_at};
use crate::http::{Methods, get};
use crate::{OperationError, Output};

hoc_contracts::request! {
    /// The tenant's audit entries, oldest first by (created_at, id).
    pub struct ListAudit => AuditListQuery {
        /// Only entries about this entity (an incident or artifact id).
        entity_id: Option<String> => optional Text<64>,
        /// Only entries written by this request (an event's `request_id`, or a response's `x-request-id`).
        request_id: Option<String> => optional Text<128>,
        /// Page size (1 to 500, default 50).
        limit: Option<i64> => optional Limit,
        /// From a previous page's `next_cursor`.
        cursor: Option<String> => optional PageCursor,
    }
}

pub(crate) fn declare<V: Methods>(v: &mut V) -> Result<(), OperationError> {
    v.route(get::<ListAudit>("list_audit", "/v1/audit", "Audit entries, oldest first").as_of())
}

operation_method!(ListAudit => "audit.query"."list", writes = false, -> Page<AuditEntry>,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    let limit = Limit::or_default(input.limit);
    let (page, as_of) = PageRequest::resolve(limit, input.cursor.as_ref(), read_at(&call));
    let filter = audit::AuditFilter {
        entity_id: input.entity_id.as_ref().map(Text::as_str),
        request_id: input.request_id.as_ref().map(Text::as_str),
    };
    let rows = audit::list_page(call.tx, call.ctx.tenant_id(), filter, &page).await?;
    let entries = rows
        .into_iter()
        .map(AuditEntry::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    let (items, next_cursor) = paginate(entries, limit, as_of, |e| (e.created_at, e.id.clone()));
    Ok(Output::read(Page { items, next_cursor, as_of }))
});
