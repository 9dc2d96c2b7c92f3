//! `audit.query`: the tenant's audit ledger, oldest first.

use async_trait::async_trait;
use hoc_contracts::input::FieldReader;
use hoc_contracts::paging::ReadAt;
use hoc_drivers::audit::{self, AuditEntry};
use hoc_drivers::paging::{PageRequest, paginate};
use serde_json::json;

use super::{to_response, undispatched};
use crate::OperationError;
use crate::registry::{Call, Effects, Method, Operation};

/// `audit.query`: list.
pub(crate) struct AuditQuery;

#[async_trait]
impl Operation for AuditQuery {
    fn name(&self) -> &'static str {
        "audit.query"
    }

    fn methods(&self) -> &'static [Method] {
        &[Method {
            name: "list",
            writes: false,
        }]
    }

    /// Payload: `{"entity_id"?, "limit"?, "cursor"?}`; entries ordered by (created_at, id).
    async fn execute(&self, call: Call<'_>) -> Result<Effects, OperationError> {
        if call.method != "list" {
            return Err(undispatched(self.name(), call.method));
        }
        let invalid = |fields| OperationError::InvalidInput { fields };
        let mut r = FieldReader::new(call.payload);
        let entity_id = r.optional_str("entity_id", 64);
        let limit = r.optional_limit("limit");
        let cursor = r.optional_cursor("cursor");
        r.finish().map_err(invalid)?;
        let at = ReadAt {
            as_of: call.ctx.as_of(),
            now: call.now,
        };
        let (request, as_of) =
            PageRequest::resolve(limit, cursor.as_ref(), at).map_err(|e| invalid(vec![e]))?;
        let rows = audit::list_page(
            call.tx,
            call.ctx.tenant_id(),
            entity_id.as_deref(),
            &request,
        )
        .await?;
        let entries = rows
            .into_iter()
            .map(AuditEntry::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        let (items, next_cursor) =
            paginate(entries, limit, as_of, |e| (e.created_at, e.id.clone()));
        Ok(Effects::read(json!({
            "items": to_response(&items)?,
            "next_cursor": next_cursor,
            "as_of": hoc_contracts::time_format::format_utc(as_of),
        })))
    }
}
