//! Keyset paging over `(created_at, id)`: the total order every list uses, `id` breaking ties.

use hoc_contracts::paging::{Cursor, ReadAt};
use hoc_contracts::time_format::truncate_micros;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, ExprTrait};
use time::OffsetDateTime;

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

/// `created_at <= as_of AND (created_at, id) beyond after`, the bound written as one row comparison
/// (`(created_at, id) < (t, x)`), which both databases use as an index bound: a page at any depth is a seek, not a
/// scan that filters away every row before it (`created_at < t OR (created_at = t AND id < x)` is not).
pub(crate) fn keyset_condition<C: ColumnTrait>(
    created_at: C,
    id: C,
    page: &PageRequest,
    direction: Direction,
) -> Condition {
    let mut condition = Condition::all().add(created_at.lte(page.as_of));
    if let Some((at, last_id)) = &page.after {
        let key = Expr::tuple([Expr::col(created_at), Expr::col(id)]);
        let bound = Expr::tuple([Expr::val(*at), Expr::val(last_id.as_str())]);
        condition = condition.add(match direction {
            Direction::Descending => key.lt(bound),
            Direction::Ascending => key.gt(bound),
        });
    }
    condition
}

impl PageRequest {
    /// Decides the `as_of` of a listing — the caller's, else the cursor's, else now — and builds the request,
    /// asking for one row more than `limit` so [`paginate`] can tell whether another page follows. A cursor
    /// remembers the `as_of` of its listing, so following it alone gives the next page of the same snapshot; an
    /// explicit `as_of` with a cursor reads on from the cursor's position in the listing at that `as_of`.
    pub fn resolve(limit: u64, cursor: Option<&Cursor>, at: ReadAt) -> (Self, OffsetDateTime) {
        let as_of = at.as_of.or(cursor.map(|c| c.as_of)).unwrap_or(at.now);
        let as_of = truncate_micros(as_of);
        let request = Self {
            as_of: DbTime::new(as_of),
            after: cursor.map(|c| (DbTime::new(c.created_at), c.id.clone())),
            limit: limit.saturating_add(1),
        };
        (request, as_of)
    }
}

/// Cuts the extra row [`PageRequest::resolve`] asked for and makes the cursor of the next page from the last
/// row's `(created_at, id)`.
pub fn paginate<T>(
    mut rows: Vec<T>,
    limit: u64,
    as_of: OffsetDateTime,
    key: impl Fn(&T) -> (OffsetDateTime, String),
) -> (Vec<T>, Option<String>) {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if rows.len() <= limit {
        return (rows, None);
    }
    rows.truncate(limit);
    let next = rows.last().map(|last| {
        let (created_at, id) = key(last);
        Cursor {
            as_of,
            created_at,
            id,
        }
        .encode()
    });
    (rows, next)
}
