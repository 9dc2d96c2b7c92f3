//! `events.feed`: the tenant's events in sequence order.

use async_trait::async_trait;
use hoc_contracts::input::FieldReader;
use serde_json::json;

use super::{to_response, undispatched};
use crate::OperationError;
use crate::registry::{Call, Effects, Method, Operation};

/// `events.feed`: list.
pub(crate) struct EventsFeed;

#[async_trait]
impl Operation for EventsFeed {
    fn name(&self) -> &'static str {
        "events.feed"
    }

    fn methods(&self) -> &'static [Method] {
        &[Method {
            name: "list",
            writes: false,
        }]
    }

    async fn execute(&self, call: Call<'_>) -> Result<Effects, OperationError> {
        if call.method != "list" {
            return Err(undispatched(self.name(), call.method));
        }
        let mut r = FieldReader::new(call.payload);
        let after = r.optional_int("after", 0, i64::MAX).unwrap_or(0);
        let limit = r.optional_limit("limit");
        r.finish()
            .map_err(|fields| OperationError::InvalidInput { fields })?;
        let items = hoc_drivers::outbox::list_after(
            call.tx,
            call.ctx.tenant_id(),
            Some(call.ctx.project_id()),
            after,
            limit,
        )
        .await?;
        let next_after = items.last().map_or(after, |e| e.sequence_no);
        Ok(Effects::read(
            json!({ "items": to_response(&items)?, "next_after": next_after }),
        ))
    }
}
