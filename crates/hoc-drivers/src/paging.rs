//! Keyset paging over `(created_at, id)`: the total order every list uses, `id` breaking ties.

use sea_orm::sea_query::{IntoCondition, SimpleExpr};
use sea_orm::{ColumnTrait, Condition};

use crate::DbTime;

/// Which way a list runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Oldest first.
    Ascending,
    /// Newest first.
    Descending,
}

/// One page request: rows created at or before `as_of`, strictly after the `after` key in list order, at most
/// `limit` of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Rows created after this are invisible.
    pub as_of: DbTime,
    /// The last key of the previous page.
    pub after: Option<(DbTime, String)>,
    /// At most this many rows.
    pub limit: u64,
}

/// `created_at <= as_of AND (created_at, id) beyond after`.
pub(crate) fn keyset_condition<C: ColumnTrait>(
    created_at: C,
    id: C,
    page: &PageRequest,
    direction: Direction,
) -> Condition {
    let mut condition = Condition::all().add(created_at.lte(page.as_of));
    if let Some((at, last_id)) = &page.after {
        let (beyond_at, beyond_id): (SimpleExpr, SimpleExpr) = match direction {
            Direction::Descending => (created_at.lt(*at), id.lt(last_id.as_str())),
            Direction::Ascending => (created_at.gt(*at), id.gt(last_id.as_str())),
        };
        condition = condition.add(
            Condition::any()
                .add(beyond_at)
                .add(Condition::all().add(created_at.eq(*at)).add(beyond_id))
                .into_condition(),
        );
    }
    condition
}
