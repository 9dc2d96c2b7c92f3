//! Full-text search over incidents, by the databases' own engines (migration 11): SQLite FTS5 with the Porter
//! stemmer, PostgreSQL `to_tsvector('english', …)` with its GIN index. A search at an instant matches the text each
//! incident had then (`incident_search`, one row per version of the text) and applies the list's filters to the
//! incident's version valid then; hits come best first by a rank that depends on the document and the query alone
//! (never on the rest of the corpus, so a read at an instant and its cursors stay stable as later incidents are
//! written), ties newest first.
//!
//! Ranks: on SQLite how often the roots of the query's words occur in the text (FTS5's `bm25` weighs by the whole
//! corpus, which later writes change, and both it and `highlight` cost more than the search itself on a common
//! word); on PostgreSQL `ts_rank` × 10⁶ over the stored words (migration 12), rounded.

use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, JoinType, Order, Query};
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Iterable, QueryResult};

use crate::entity::incident_search::{Column as S, Entity as SearchEntity};
use crate::entity::incidents::Column;
use crate::incidents::{IncidentFilter, V, VERSIONS, v, versions_at};
use crate::paging::PageRequest;
use crate::{IncidentRow, StorageError, Tx};

/// Most words of a query that are searched for.
pub const MAX_TERMS: usize = 16;

/// The words of a free-text query, lowercase, in order, at most [`MAX_TERMS`] (every other character separates).
pub fn terms(query: &str) -> Vec<String> {
    query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .take(MAX_TERMS)
        .collect()
}

/// One page of the incidents of `tenant_id` whose text at `page.as_of` contains every one of `terms` (by word
/// stem), matching `filter` at that instant, best first by (rank desc, created_at desc, id desc), with their
/// ranks. `after_rank` is the rank of the last hit of the previous page (with `page.after`).
pub async fn search(
    tx: &Tx,
    tenant_id: &str,
    terms: &[String],
    filter: IncidentFilter<'_>,
    page: &PageRequest,
    after_rank: Option<i64>,
) -> Result<Vec<(IncidentRow, i64)>, StorageError> {
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    let conn = tx.conn();
    let backend = conn.get_database_backend();
    let s = |c: S| Expr::col(("s", c));
    let mut hits = Query::select();
    hits.column(("s", S::TenantId))
        .column(("s", S::IncidentId))
        .column(("s", S::CreatedAt));
    match backend {
        DbBackend::Postgres => {
            let text = terms.join(" ");
            hits.expr_as(
                Expr::cust_with_values(
                    "(ts_rank(s.words, plainto_tsquery('english', $1)) * 1000000)::bigint",
                    [text.clone()],
                ),
                Alias::new("rank"),
            )
            .from_as(SearchEntity, "s")
            .and_where(Expr::cust_with_values(
                "s.words @@ plainto_tsquery('english', $1)",
                [text],
            ));
        }
        _ => {
            // Each word a quoted phrase (so no word is read as FTS5 syntax), all of them required.
            let text = terms
                .iter()
                .map(|t| format!("\"{t}\""))
                .collect::<Vec<_>>()
                .join(" ");
            hits.expr_as(occurrences(terms), Alias::new("rank"))
                .from(Alias::new("incident_search_fts"))
                .join_as(
                    JoinType::InnerJoin,
                    SearchEntity,
                    Alias::new("s"),
                    Expr::cust("s.rowid = incident_search_fts.rowid"),
                )
                .and_where(Expr::cust_with_values(
                    "incident_search_fts MATCH ?",
                    [text],
                ));
        }
    }
    hits.and_where(s(S::TenantId).eq(tenant_id))
        .and_where(s(S::ValidFrom).lte(page.as_of))
        .and_where(s(S::ValidTo).is_null().or(s(S::ValidTo).gt(page.as_of)));

    let h = |c: &str| Expr::col((Alias::new("h"), Alias::new(c)));
    // The keyset bound of a page on (rank, created_at, id), over the hits (`h`) or the versions (`v`).
    let beyond = |created_at: Expr, id: Expr| {
        after_rank
            .zip(page.after.as_ref())
            .map(|(rank, (at, last))| {
                h("rank").lt(rank).or(h("rank").eq(rank).and(
                    Expr::tuple([created_at, id])
                        .lt(Expr::tuple([Expr::val(*at), Expr::val(last.as_str())])),
                ))
            })
    };
    // Without other filters every hit is a result: the page is chosen among the hits, and only its rows are joined
    // with their versions (a common word's thousands of hits are ranked, not each looked up).
    let unfiltered = filter == IncidentFilter::default();
    let hits = if unfiltered {
        let mut page_of_hits = Query::select();
        page_of_hits
            .column(Asterisk)
            .from_subquery(hits, Alias::new("h"));
        if let Some(bound) = beyond(h("created_at"), h("incident_id")) {
            page_of_hits.and_where(bound);
        }
        page_of_hits
            .order_by_expr(h("rank"), Order::Desc)
            .order_by_expr(h("created_at"), Order::Desc)
            .order_by_expr(h("incident_id"), Order::Desc)
            .limit(page.limit);
        page_of_hits
    } else {
        hits
    };
    let mut select = Query::select();
    select
        .columns(Column::iter().map(|c| (V, c)))
        .column((Alias::new("h"), Alias::new("rank")))
        .from_subquery(hits, Alias::new("h"))
        .join_as(
            JoinType::InnerJoin,
            Alias::new(VERSIONS),
            Alias::new(V),
            v(Column::TenantId)
                .equals((Alias::new("h"), Alias::new("tenant_id")))
                .and(v(Column::Id).equals((Alias::new("h"), Alias::new("incident_id")))),
        );
    // The page's keyset bounds are on (rank, created_at, id), not on (created_at, id) alone.
    let unbounded = PageRequest {
        after: None,
        ..page.clone()
    };
    versions_at(backend, &mut select, tenant_id, filter, &unbounded);
    if !unfiltered && let Some(bound) = beyond(v(Column::CreatedAt), v(Column::Id)) {
        select.and_where(bound);
    }
    select
        .order_by_expr(h("rank"), Order::Desc)
        .order_by((Alias::new(V), Column::CreatedAt), Order::Desc)
        .order_by((Alias::new(V), Column::Id), Order::Desc)
        .limit(page.limit);
    let rows = conn
        .query_all_raw(backend.build(&select))
        .await
        .map_err(StorageError::from_db)?;
    rows.iter().map(hit).collect()
}

/// The root of a query word for ranking on SQLite: the word without one plural or verbal ending (`-es`, `-s`,
/// `-ed`, `-ing`) when at least three letters remain.
fn root(term: &str) -> &str {
    ["ing", "ed", "es", "s"]
        .iter()
        .find_map(|ending| {
            term.strip_suffix(ending)
                .filter(|rest| rest.chars().count() >= 3)
        })
        .unwrap_or(term)
}

/// SQLite's rank of a hit: how often the roots of `terms` occur in its document, ignoring ASCII case (the document
/// is stored lowercase, migration 20, so no hit's text is lowercased at search time). Counting substrings of the
/// stored text costs a fraction of FTS5's own auxiliary functions (`highlight`, `bm25`), which load every hit's
/// token positions (a common word's thousand hits: 3.6 ms against 2.2 ms).
fn occurrences(terms: &[String]) -> Expr {
    let mut sql = Vec::with_capacity(terms.len());
    let mut values = Vec::with_capacity(terms.len());
    for term in terms {
        let root = root(term);
        sql.push(format!(
            "(length(s.document) - length(replace(s.document, ?, ''))) / {}",
            root.chars().count()
        ));
        values.push(root.to_owned());
    }
    Expr::cust_with_values(sql.join(" + "), values)
}

fn hit(row: &QueryResult) -> Result<(IncidentRow, i64), StorageError> {
    let incident = IncidentRow::from_query_result(row, "").map_err(StorageError::from_db)?;
    let rank: i64 = row.try_get("", "rank").map_err(StorageError::from_db)?;
    Ok((incident, rank))
}
