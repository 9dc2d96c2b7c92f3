//! Full-text search over incidents, by the databases' own engines (migration 11): SQLite FTS5 with the Porter
//! stemmer, PostgreSQL `to_tsvector('english', …)` with its GIN index. A search at an instant matches the text each
//! incident had then (`incident_search`, one row per version of the text) and applies the list's filters to the
//! incident's version valid then; hits come best first by a rank that depends on the document and the query alone
//! (never on the rest of the corpus, so a read at an instant and its cursors stay stable as later incidents are
//! written), ties newest first.
//!
//! Ranks: on SQLite how many times the query's words occur in the text by stem (`hoc_instances`, an FTS5 function
//! of ours that counts from the token positions the match loaded: FTS5's `bm25` weighs by the whole corpus, which
//! later writes change); on PostgreSQL `ts_rank` × 10⁶ over the stored words (migration 12), rounded.
//!
//! On SQLite a search in the present without other filters reads the present's index (migration 21), whose rowids
//! are the incidents' keys: the tenant is a key range, ties are broken by the key (the order of creation within the
//! tenant), so the hits are matched, ranked and paged without reading a row, and only the page's keys are looked
//! up. A search in the past, or with filters, reads the history's index and each hit's row; both give the same
//! ranks in the same order.

use hoc_sqlite_ext::INSTANCES;
use migration::SEARCH_KEY_SPAN;
use sea_orm::sea_query::{
    Alias, Asterisk, Expr, ExprTrait, JoinType, Order, Query, SelectStatement,
};
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Iterable, QueryResult, Statement};

use crate::entity::incident_search::{Column as S, Entity as SearchEntity};
use crate::entity::incidents::Column;
use crate::incidents::{IncidentFilter, V, VERSIONS, v, versions_at};
use crate::paging::PageRequest;
use crate::{DbTime, IncidentRow, StorageError, Tx};

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
/// stem), matching `filter` at that instant, best first with their ranks: by (rank desc, created_at desc, id desc)
/// on PostgreSQL, by (rank desc, key desc) on SQLite, where the key follows the order of creation within a tenant
/// (migration 21). `after_rank` is the rank of the last hit of the previous page (with `page.after`).
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
    let unfiltered = filter == IncidentFilter::default();
    let cursor = after_rank.zip(page.after.as_ref());
    let h = |c: &str| Expr::col((Alias::new("h"), Alias::new(c)));
    // The hits (`h`), and the keyset bound of the page when it is chosen after the filters.
    let (hits, bound) = if backend == DbBackend::Postgres {
        let hits = postgres_hits(tenant_id, terms, page);
        // The keyset bound of a page on (rank, created_at, id), over the hits (`h`) or the versions (`v`).
        let beyond = |created_at: Expr, id: Expr| {
            cursor.map(|(rank, (at, last))| {
                h("rank").lt(rank).or(h("rank").eq(rank).and(
                    Expr::tuple([created_at, id])
                        .lt(Expr::tuple([Expr::val(*at), Expr::val(last.as_str())])),
                ))
            })
        };
        if unfiltered {
            // Without other filters every hit is a result: the page is chosen among the hits, and only its rows
            // are joined with their versions (a common word's thousands of hits are ranked, not each looked up).
            let hits = page_of(
                hits,
                beyond(h("created_at"), h("incident_id")),
                [h("rank"), h("created_at"), h("incident_id")],
                page.limit,
            );
            (hits, None)
        } else {
            (hits, beyond(v(Column::CreatedAt), v(Column::Id)))
        }
    } else {
        let Some(tenant_no) = sqlite_tenant_no(tx, tenant_id, page.as_of).await? else {
            // The tenant never wrote a text.
            return Ok(Vec::new());
        };
        // The keyset bound of a page on (rank, key): the key of the cursor's incident, by its primary key.
        let beyond = |rank_of: Expr, key_of: Expr| {
            cursor.map(|(rank, (_, last))| {
                let last_key = Expr::cust_with_values(
                    "(SELECT c.search_key FROM incident_search c WHERE c.tenant_id = ? AND c.incident_id = ? \
                     LIMIT 1)",
                    [tenant_id, last.as_str()],
                );
                rank_of
                    .clone()
                    .lt(rank)
                    .or(rank_of.eq(rank).and(key_of.lt(last_key)))
            })
        };
        match tenant_no {
            Sqlite::Present(no) if unfiltered => (
                present_hits(
                    tenant_id,
                    no,
                    terms,
                    beyond(h("rank"), h("ord")),
                    page.limit,
                ),
                None,
            ),
            _ => {
                let hits = history_hits(tenant_id, terms, page);
                if unfiltered {
                    let hits = page_of(
                        hits,
                        beyond(h("rank"), h("ord")),
                        [h("rank"), h("ord")],
                        page.limit,
                    );
                    (hits, None)
                } else {
                    (hits, beyond(h("rank"), h("ord")))
                }
            }
        }
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
    // The page's keyset bounds are on the rank and the hits' order, not on (created_at, id) alone.
    let unbounded = PageRequest {
        after: None,
        ..page.clone()
    };
    versions_at(backend, &mut select, tenant_id, filter, &unbounded);
    if let Some(bound) = bound {
        select.and_where(bound);
    }
    select.order_by_expr(h("rank"), Order::Desc);
    if backend == DbBackend::Postgres {
        select
            .order_by((Alias::new(V), Column::CreatedAt), Order::Desc)
            .order_by((Alias::new(V), Column::Id), Order::Desc);
    } else {
        select.order_by_expr(h("ord"), Order::Desc);
    }
    select.limit(page.limit);
    let rows = conn
        .query_all_raw(backend.build(&select))
        .await
        .map_err(StorageError::from_db)?;
    rows.iter().map(hit).collect()
}

/// PostgreSQL's hits (`tenant_id`, `incident_id`, `created_at`, `rank`): the search rows valid at the page's
/// instant whose stored words match, ranked by `ts_rank` × 10⁶ over the stored words.
fn postgres_hits(tenant_id: &str, terms: &[String], page: &PageRequest) -> SelectStatement {
    let text = terms.join(" ");
    let mut hits = Query::select();
    hits.column(("s", S::TenantId))
        .column(("s", S::IncidentId))
        .column(("s", S::CreatedAt))
        .expr_as(
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
    valid_at(&mut hits, tenant_id, page);
    hits
}

/// The search rows of `tenant_id` valid at the page's instant.
fn valid_at(hits: &mut SelectStatement, tenant_id: &str, page: &PageRequest) {
    let s = |c: S| Expr::col(("s", c));
    hits.and_where(s(S::TenantId).eq(tenant_id))
        .and_where(s(S::ValidFrom).lte(page.as_of))
        .and_where(s(S::ValidTo).is_null().or(s(S::ValidTo).gt(page.as_of)));
}

/// An FTS5 query for `terms`: each word a quoted phrase (so no word is read as FTS5 syntax), all of them required.
fn fts_query(terms: &[String]) -> String {
    terms
        .iter()
        .map(|t| format!("\"{t}\""))
        .collect::<Vec<_>>()
        .join(" ")
}

/// SQLite's hits at any instant (`tenant_id`, `incident_id`, `ord`: the incident's key, `rank`): the search rows
/// valid at the page's instant whose text the history's index matches, ranked by the query's instances in it.
fn history_hits(tenant_id: &str, terms: &[String], page: &PageRequest) -> SelectStatement {
    let mut hits = Query::select();
    hits.column(("s", S::TenantId))
        .column(("s", S::IncidentId))
        .expr_as(Expr::cust("s.search_key"), Alias::new("ord"))
        .expr_as(
            Expr::cust(format!("{INSTANCES}(incident_search_fts)")),
            Alias::new("rank"),
        )
        .from(Alias::new("incident_search_fts"))
        .join_as(
            JoinType::InnerJoin,
            SearchEntity,
            Alias::new("s"),
            Expr::cust("s.rowid = incident_search_fts.rowid"),
        )
        .and_where(Expr::cust_with_values(
            "incident_search_fts MATCH ?",
            [fts_query(terms)],
        ));
    valid_at(&mut hits, tenant_id, page);
    hits
}

/// SQLite's page of hits in the present, from the present's index alone (migration 21): the tenant's key range
/// bounds the match, the rank is the query's instances, the order is (rank, key); only the page's keys are looked
/// up to their incidents, in the index of keys.
fn present_hits(
    tenant_id: &str,
    tenant_no: i64,
    terms: &[String],
    beyond: Option<Expr>,
    limit: u64,
) -> SelectStatement {
    let mut matches = Query::select();
    matches
        .expr_as(Expr::cust("rowid"), Alias::new("ord"))
        .expr_as(
            Expr::cust(format!("{INSTANCES}(incident_search_fts_now)")),
            Alias::new("rank"),
        )
        .from(Alias::new("incident_search_fts_now"))
        .and_where(Expr::cust_with_values(
            "incident_search_fts_now MATCH ?",
            [fts_query(terms)],
        ))
        .and_where(Expr::cust_with_values(
            "rowid > ? AND rowid < ?",
            [
                tenant_no.saturating_mul(SEARCH_KEY_SPAN),
                tenant_no.saturating_add(1).saturating_mul(SEARCH_KEY_SPAN),
            ],
        ));
    let page = page_of(
        matches,
        beyond,
        [
            Expr::col((Alias::new("h"), Alias::new("rank"))),
            Expr::col((Alias::new("h"), Alias::new("ord"))),
        ],
        limit,
    );
    // After the page is chosen (a column computed beside the rank would be computed for every hit before the sort).
    let mut keyed = Query::select();
    keyed
        .column(("k", S::TenantId))
        .column(("k", S::IncidentId))
        .column((Alias::new("p"), Alias::new("rank")))
        .column((Alias::new("p"), Alias::new("ord")))
        .from_subquery(page, Alias::new("p"))
        // CROSS: SQLite keeps the page as the outer loop (an inner join may be planned the other way round,
        // walking the tenant's every key to probe the page). sea-query writes no ON for a cross join: the
        // condition is the WHERE's.
        .join_as(
            JoinType::CrossJoin,
            SearchEntity,
            Alias::new("k"),
            Expr::cust("TRUE"),
        )
        .and_where(Expr::col(("k", S::TenantId)).eq(tenant_id))
        .and_where(Expr::cust("k.search_key = p.ord"))
        .and_where(Expr::col(("k", S::Version)).eq(1));
    keyed
}

/// The first `limit` of `hits` (as `h`) past `beyond`, ordered by `order`, each descending.
fn page_of<const N: usize>(
    hits: SelectStatement,
    beyond: Option<Expr>,
    order: [Expr; N],
    limit: u64,
) -> SelectStatement {
    let mut page = Query::select();
    page.column(Asterisk).from_subquery(hits, Alias::new("h"));
    if let Some(bound) = beyond {
        page.and_where(bound);
    }
    for expr in order {
        page.order_by_expr(expr, Order::Desc);
    }
    page.limit(limit);
    page
}

/// Where SQLite's search of a tenant reads from.
enum Sqlite {
    /// The read is in the present (no text was written after its instant): the present's index answers, and the
    /// tenant's keys are the ones of this number.
    Present(i64),
    /// The read is in the past: the history's index answers.
    Past,
}

/// The tenant's number in the present's index and whether the page's instant is the present for it (the tenant's
/// clock is not past it), in one statement; none when the tenant never wrote a text.
async fn sqlite_tenant_no(
    tx: &Tx,
    tenant_id: &str,
    as_of: DbTime,
) -> Result<Option<Sqlite>, StorageError> {
    let conn = tx.conn();
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            format!(
                "SELECT (SELECT search_no FROM incident_search_tenants WHERE tenant_id = ?) AS search_no, \
                 ({}) AS last_micros",
                crate::tenant_clock::last_sql("?")
            ),
            [tenant_id.into(), tenant_id.into()],
        ))
        .await
        .map_err(StorageError::from_db)?;
    let Some(row) = row else {
        return Ok(None);
    };
    let no: Option<i64> = row
        .try_get("", "search_no")
        .map_err(StorageError::from_db)?;
    let last: Option<i64> = row
        .try_get("", "last_micros")
        .map_err(StorageError::from_db)?;
    Ok(no.map(|no| match last {
        Some(last) if last <= crate::tenant_clock::micros(as_of.get()) => Sqlite::Present(no),
        _ => Sqlite::Past,
    }))
}

fn hit(row: &QueryResult) -> Result<(IncidentRow, i64), StorageError> {
    let incident = IncidentRow::from_query_result(row, "").map_err(StorageError::from_db)?;
    let rank: i64 = row.try_get("", "rank").map_err(StorageError::from_db)?;
    Ok((incident, rank))
}
