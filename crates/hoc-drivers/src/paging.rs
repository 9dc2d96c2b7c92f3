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

/// The bounds a page puts on `(created_at, id)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyBounds<'a> {
    /// `created_at <= as_of`, when nothing else implies it.
    pub(crate) created_at_most: Option<DbTime>,
    /// `(created_at, id) < (t, x)` (descending) or `> (t, x)` (ascending): the cursor's row comparison.
    pub(crate) beyond: Option<(DbTime, &'a str)>,
}

impl PageRequest {
    /// The bounds of this page, each written only when the others do not imply it. The row comparison
    /// `(created_at, id) < (t, x)` is an index bound on both databases, so a page at any depth is a seek — but only
    /// if it is the bound the planner takes: next to a second upper bound on `created_at` (the listing's `as_of`,
    /// which every cursor carries) SQLite takes `created_at <= as_of` as the index range and filters the row
    /// comparison row by row, a deep page costing its depth. Newest first, the two are never both needed: a cursor
    /// at or before `as_of` implies the `as_of` bound, and a cursor after it is implied by it. Oldest first, the
    /// cursor is the lower bound and `as_of` the upper one, and both are index bounds.
    pub(crate) fn bounds(&self, direction: Direction) -> KeyBounds<'_> {
        match (&self.after, direction) {
            (None, _) => KeyBounds {
                created_at_most: Some(self.as_of),
                beyond: None,
            },
            (Some((at, id)), Direction::Descending) if *at <= self.as_of => KeyBounds {
                created_at_most: None,
                beyond: Some((*at, id.as_str())),
            },
            (Some(_), Direction::Descending) => KeyBounds {
                created_at_most: Some(self.as_of),
                beyond: None,
            },
            (Some((at, id)), Direction::Ascending) => KeyBounds {
                created_at_most: Some(self.as_of),
                beyond: Some((*at, id.as_str())),
            },
        }
    }
}

/// [`PageRequest::bounds`] as a sea-query condition on `created_at` and `id`.
pub(crate) fn keyset_condition<C: ColumnTrait>(
    created_at: C,
    id: C,
    page: &PageRequest,
    direction: Direction,
) -> Condition {
    let bounds = page.bounds(direction);
    let mut condition = Condition::all();
    if let Some(as_of) = bounds.created_at_most {
        condition = condition.add(created_at.lte(as_of));
    }
    if let Some((at, last_id)) = bounds.beyond {
        let key = Expr::tuple([Expr::col(created_at), Expr::col(id)]);
        let bound = Expr::tuple([Expr::val(at), Expr::val(last_id)]);
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
            rank: None,
        }
        .encode()
    });
    (rows, next)
}
