//! Read procedures. Every read is tenant-scoped in SQL, lists are keyset-paged over a total order ending in the
//! id, and `as_of` hides rows created after it and is echoed back.

use hoc_contracts::input::{
    GroupPageCursor, IncidentState, LabelFilter, Limit, PageCursor, Severity, Text, Timestamp,
    label_needle,
};
pub use hoc_contracts::paging::ReadAt;
use hoc_contracts::paging::{Cursor, GroupCursor};
use hoc_contracts::time_format::UtcTimestamp;
use hoc_drivers::incidents::IncidentFilter;
use hoc_drivers::paging::{PageRequest, paginate};
use hoc_drivers::{DbTime, audit, incidents, timeline as timeline_driver};
use time::OffsetDateTime;

use crate::limits::SIGNATURE_MAX_CHARS;
use crate::procedures::IncidentId;
use crate::recurrence::SignatureInputs;
use crate::{
    AssigneeId, AuditEntry, Incident, IncidentAt, IncidentError, Page, RecurrenceGroup, Service,
    TimelineEntry,
};

hoc_contracts::vocabulary!(
    /// The recurrence signature algorithms (see `docs/recurrence-signatures.md`).
    SignatureVersion {
        /// The first algorithm.
        RsigV1 = "rsig-v1",
        /// Message templates, the code dominating, titles when there is neither.
        RsigV2 = "rsig-v2",
        /// A generic tokenizer: words with digits, paths, addresses and quoted words are variables.
        RsigV3 = "rsig-v3",
    }
);

hoc_contracts::request! {
    /// Get one incident.
    pub struct GetIncident => IncidentRef {
        /// The incident.
        id: String => required IncidentId,
    }
}

hoc_contracts::request! {
    /// The tenant's incidents, newest first by (created_at, id).
    pub struct ListIncidents => IncidentQuery {
        /// Only incidents in this state.
        status: Option<String> => optional IncidentState,
        /// Only incidents of this severity.
        severity: Option<String> => optional Severity,
        /// Only incidents created at or after this instant (RFC 3339).
        created_after: Option<String> => optional Timestamp,
        /// Only incidents created before this instant (RFC 3339); a window that ends where or before it starts
        /// lists nothing.
        created_before: Option<String> => optional Timestamp,
        /// Only incidents of this service.
        service: Option<String> => optional Service,
        /// Only incidents assigned to this actor.
        assignee: Option<String> => optional AssigneeId,
        /// Only incidents with this label, as `key:value` (repeatable: every one must match).
        label: Option<Vec<String>> => optional LabelFilter,
        /// Full text: only incidents whose title, description, error message or notes contain every word (by
        /// English word stem, case-insensitive), best first by `rank`, ties newest first. Words are letters and
        /// digits; a query without one lists nothing.
        q: Option<String> => optional Text<{ SEARCH_MAX_CHARS }>,
        /// Page size (1 to 500, default 50).
        limit: Option<i64> => optional Limit,
        /// From a previous page's `next_cursor`.
        cursor: Option<String> => optional PageCursor,
    }
}

hoc_contracts::request! {
    /// An incident's timeline in ordinal order.
    pub struct IncidentTimeline => TimelineQuery {
        /// The incident.
        id: String => required IncidentId,
    }
}

hoc_contracts::request! {
    /// An incident's audit entries, oldest first by (created_at, id).
    pub struct IncidentAudit => IncidentAuditQuery {
        /// The incident.
        id: String => required IncidentId,
        /// Page size (1 to 500, default 50).
        limit: Option<i64> => optional Limit,
        /// From a previous page's `next_cursor`.
        cursor: Option<String> => optional PageCursor,
    }
}

hoc_contracts::request! {
    /// A recurrence group by signature: its summary and one page of members, newest first.
    pub struct GetRecurrenceGroup => GroupQuery {
        /// The recurrence signature.
        signature: String => required Text<{ SIGNATURE_MAX_CHARS }>,
        /// The signature algorithm (default: the tenant's primary algorithm at `as_of`).
        version: Option<String> => optional SignatureVersion,
        /// Page size (1 to 500, default 50).
        limit: Option<i64> => optional Limit,
        /// From a previous page's `next_cursor`.
        cursor: Option<String> => optional PageCursor,
    }
}

hoc_contracts::vocabulary!(
    /// Which groups a group list shows by their members' states.
    GroupStatus {
        /// Groups with at least one open or acknowledged member.
        Open = "open",
        /// Groups whose members are all resolved or closed.
        Closed = "closed",
    }
);

hoc_contracts::vocabulary!(
    /// The order of a group list (descending; ties broken by last seen, version and signature).
    GroupListOrder {
        /// Most recently seen first.
        LastSeen = "last_seen",
        /// Most members first.
        Count = "count",
    }
);

hoc_contracts::request! {
    /// The tenant's recurrence groups with their summaries ("which incidents keep coming back?"), most recently
    /// seen or largest first.
    pub struct ListRecurrenceGroups => GroupListQuery {
        /// Only groups of this signature algorithm (default: all).
        version: Option<String> => optional SignatureVersion,
        /// `open`: only groups with an open or acknowledged member; `closed`: only groups without one.
        status: Option<String> => optional GroupStatus,
        /// `last_seen` (default) or `count`.
        order: Option<String> => optional GroupListOrder,
        /// Page size (1 to 500, default 50).
        limit: Option<i64> => optional Limit,
        /// From a previous page's `next_cursor`.
        cursor: Option<String> => optional GroupPageCursor,
    }
}

/// One recurrence group in the group list.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct GroupSummary {
    /// The signature.
    pub recurrence_signature: String,
    /// Its algorithm.
    pub signature_version: String,
    /// Members at `as_of`.
    pub count: u64,
    /// Of those, the open or acknowledged ones.
    pub open_count: u64,
    /// When the oldest member was created.
    #[serde(with = "hoc_contracts::time_format::utc")]
    #[schemars(with = "UtcTimestamp")]
    pub first_seen: OffsetDateTime,
    /// When the newest member was created.
    #[serde(with = "hoc_contracts::time_format::utc")]
    #[schemars(with = "UtcTimestamp")]
    pub last_seen: OffsetDateTime,
    /// The newest member's title.
    pub sample_title: Option<String>,
}

/// The tenant's recurrence groups as they were at the read's instant (or the cursor's), one page.
pub async fn list_groups(
    tx: &hoc_drivers::Tx,
    tenant_id: &str,
    query: GroupListQuery,
    at: ReadAt,
) -> Result<Page<GroupSummary>, IncidentError> {
    use hoc_drivers::grouping::{self, GroupListRequest, GroupOrder};
    let limit = Limit::or_default(query.limit);
    let as_of = hoc_contracts::time_format::truncate_micros(
        at.as_of
            .or(query.cursor.as_ref().map(|c| c.as_of))
            .unwrap_or(at.now),
    );
    let order = match query.order {
        Some(GroupListOrder::Count) => GroupOrder::Count,
        _ => GroupOrder::LastSeen,
    };
    let request = GroupListRequest {
        as_of: DbTime::new(as_of),
        version: query.version.map(SignatureVersion::as_str),
        open: query.status.map(|s| s == GroupStatus::Open),
        order,
        after: query.cursor.map(|c| {
            (
                i64::try_from(c.count).unwrap_or(i64::MAX),
                DbTime::new(c.last_seen),
                c.version,
                c.signature,
            )
        }),
        limit: limit.saturating_add(1),
    };
    let mut rows = grouping::list_groups(tx, tenant_id, &request).await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next_cursor = rows.last().filter(|_| more).map(|last| {
        GroupCursor {
            as_of,
            count: if order == GroupOrder::Count {
                last.member_count.unsigned_abs()
            } else {
                0
            },
            last_seen: last.last_seen.get(),
            version: last.signature_version.clone(),
            signature: last.recurrence_signature.clone(),
        }
        .encode()
    });
    Ok(Page {
        items: rows
            .into_iter()
            .map(|row| GroupSummary {
                recurrence_signature: row.recurrence_signature,
                signature_version: row.signature_version,
                count: row.member_count.unsigned_abs(),
                open_count: row.open_count.unsigned_abs(),
                first_seen: row.first_seen.get(),
                last_seen: row.last_seen.get(),
                sample_title: row.sample_title,
            })
            .collect(),
        next_cursor,
        as_of,
    })
}

hoc_contracts::request! {
    /// The recurrence group of one incident, with the signature inputs that put it there.
    pub struct GroupForIncident => IncidentGroupQuery {
        /// The incident.
        id: String => required IncidentId,
        /// Page size (1 to 500, default 50).
        limit: Option<i64> => optional Limit,
        /// From a previous page's `next_cursor`.
        cursor: Option<String> => optional PageCursor,
    }
}

/// Page parameters of a parsed request.
pub(crate) struct PageParams {
    pub(crate) limit: u64,
    cursor: Option<Cursor>,
}

impl PageParams {
    pub(crate) fn new(limit: Option<Limit>, cursor: Option<Cursor>) -> Self {
        Self {
            limit: Limit::or_default(limit),
            cursor,
        }
    }
}

pub(crate) fn page_request(params: &PageParams, at: ReadAt) -> (PageRequest, OffsetDateTime) {
    PageRequest::resolve(params.limit, params.cursor.as_ref(), at)
}

fn incidents_from(rows: Vec<hoc_drivers::IncidentRow>) -> Vec<Incident> {
    rows.into_iter().map(Incident::from).collect()
}

/// One incident as it was at the read's instant (its `as_of`, or the call's); one that did not exist yet then is
/// not found.
pub async fn get(
    tx: &hoc_drivers::Tx,
    tenant_id: &str,
    id: &str,
    at: ReadAt,
) -> Result<IncidentAt, IncidentError> {
    Ok(IncidentAt {
        incident: Incident::from(find_at(tx, tenant_id, id, at).await?),
        as_of: at.instant(),
    })
}

/// The incident's row as it was at the read's instant, or not found.
async fn find_at(
    tx: &hoc_drivers::Tx,
    tenant_id: &str,
    id: &str,
    at: ReadAt,
) -> Result<hoc_drivers::IncidentRow, IncidentError> {
    let as_of = DbTime::new(at.instant());
    incidents::find_at(tx, tenant_id, id, as_of)
        .await?
        .ok_or_else(|| IncidentError::NotFound {
            entity: "incident",
            id: id.to_owned(),
        })
}

/// Longest text search query.
pub const SEARCH_MAX_CHARS: usize = 200;

/// Lists the tenant's incidents newest first by (created_at desc, id desc); with a text query, its hits best first
/// by (rank desc, created_at desc, id desc).
pub async fn list(
    tx: &hoc_drivers::Tx,
    tenant_id: &str,
    query: IncidentQuery,
    at: ReadAt,
) -> Result<Page<Incident>, IncidentError> {
    let after_rank = query.cursor.as_ref().and_then(|c| c.rank);
    let params = PageParams::new(query.limit, query.cursor);
    let (request, as_of) = page_request(&params, at);
    let labels: Vec<String> = query
        .label
        .iter()
        .flatten()
        .map(|l| label_needle(&l.key, &l.value))
        .collect();
    let filter = IncidentFilter {
        status: query.status,
        severity: query.severity,
        created_from: query.created_after.map(DbTime::new),
        created_before: query.created_before.map(DbTime::new),
        service: query.service.as_ref().map(|s| s.as_str()),
        assignee: query.assignee.as_ref().map(|a| a.as_str()),
        labels: &labels,
        ..IncidentFilter::default()
    };
    if let Some(text) = &query.q {
        let terms = hoc_drivers::search::terms(text.as_str());
        let hits = hoc_drivers::search::search(tx, tenant_id, &terms, filter, &request, after_rank)
            .await?;
        let mut items: Vec<Incident> = hits
            .into_iter()
            .map(|(row, rank)| Incident {
                rank: Some(rank),
                ..Incident::from(row)
            })
            .collect();
        let limit = usize::try_from(params.limit).unwrap_or(usize::MAX);
        let next_cursor = (items.len() > limit)
            .then(|| {
                items.truncate(limit);
                items.last().map(|last| {
                    Cursor {
                        as_of,
                        created_at: last.created_at,
                        id: last.id.clone(),
                        rank: last.rank,
                    }
                    .encode()
                })
            })
            .flatten();
        return Ok(Page {
            items,
            next_cursor,
            as_of,
        });
    }
    let rows = incidents::list(tx, tenant_id, filter, &request).await?;
    let (items, next_cursor) = paginate(incidents_from(rows), params.limit, as_of, |i| {
        (i.created_at, i.id.clone())
    });
    Ok(Page {
        items,
        next_cursor,
        as_of,
    })
}

/// The incident's timeline in ordinal order; rows after `as_of` (the caller's, or now) are hidden.
pub async fn timeline(
    tx: &hoc_drivers::Tx,
    tenant_id: &str,
    id: &str,
    at: ReadAt,
) -> Result<Timeline, IncidentError> {
    get(tx, tenant_id, id, at).await?;
    let as_of = at.instant();
    let items = timeline_driver::list(tx, tenant_id, id, Some(DbTime::new(as_of)))
        .await?
        .into_iter()
        .map(TimelineEntry::from)
        .collect();
    Ok(Timeline { items, as_of })
}

/// An incident's timeline in ordinal order, as of a point in time.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct Timeline {
    /// The entries, ordinal order.
    pub items: Vec<TimelineEntry>,
    /// The point in time the timeline shows (entries after it are hidden).
    #[serde(with = "hoc_contracts::time_format::utc")]
    #[schemars(with = "UtcTimestamp")]
    pub as_of: OffsetDateTime,
}

/// The incident's audit entries, oldest first by (created_at, id).
pub async fn audit_entries(
    tx: &hoc_drivers::Tx,
    tenant_id: &str,
    query: IncidentAuditQuery,
    at: ReadAt,
) -> Result<Page<AuditEntry>, IncidentError> {
    let params = PageParams::new(query.limit, query.cursor);
    let id = query.id.into_string();
    let (request, as_of) = page_request(&params, at);
    find_at(tx, tenant_id, &id, at).await?;
    let filter = audit::AuditFilter {
        entity_id: Some(&id),
        request_id: None,
    };
    let rows = audit::list_page(tx, tenant_id, filter, &request).await?;
    let entries = rows
        .into_iter()
        .map(|row| AuditEntry::try_from(row).map_err(IncidentError::from))
        .collect::<Result<Vec<_>, _>>()?;
    let (items, next_cursor) = paginate(entries, params.limit, as_of, |e| {
        (e.created_at, e.id.clone())
    });
    Ok(Page {
        items,
        next_cursor,
        as_of,
    })
}

/// A recurrence group by signature (version defaults to the tenant's primary algorithm at `as_of`). A group with no
/// member visible at `as_of` is `not_found`.
pub async fn recurrence_group(
    tx: &hoc_drivers::Tx,
    tenant_id: &str,
    query: GroupQuery,
    at: ReadAt,
) -> Result<RecurrenceGroup, IncidentError> {
    let params = PageParams::new(query.limit, query.cursor);
    let version = match query.version {
        Some(version) => version.as_str().to_owned(),
        None => {
            crate::grouping::config_at(tx, tenant_id, Some(DbTime::new(at.instant())))
                .await?
                .primary_version
        }
    };
    group(
        tx,
        tenant_id,
        query.signature.as_str(),
        &version,
        &params,
        at,
        None,
    )
    .await
}

/// The recurrence group of one incident, with the canonical inputs that produced its signature.
pub async fn group_for_incident(
    tx: &hoc_drivers::Tx,
    tenant_id: &str,
    query: IncidentGroupQuery,
    at: ReadAt,
) -> Result<RecurrenceGroup, IncidentError> {
    let params = PageParams::new(query.limit, query.cursor);
    let id = query.id.into_string();
    let row = find_at(tx, tenant_id, &id, at).await?;
    let not_grouped = || IncidentError::NotFound {
        entity: "recurrence group of incident",
        id: id.clone(),
    };
    let (Some(signature), Some(version), Some(inputs)) = (
        row.recurrence_signature,
        row.signature_version,
        row.signature_inputs,
    ) else {
        return Err(not_grouped());
    };
    let inputs: SignatureInputs = serde_json::from_str(&inputs).map_err(|e| {
        IncidentError::Storage(hoc_drivers::StorageError::Corrupt {
            table: "incidents",
            problem: format!("signature inputs of {id}: {e}"),
        })
    })?;
    group(
        tx,
        tenant_id,
        &signature,
        &version,
        &params,
        at,
        Some(inputs),
    )
    .await
}

async fn group(
    tx: &hoc_drivers::Tx,
    tenant_id: &str,
    signature: &str,
    version: &str,
    params: &PageParams,
    at: ReadAt,
    signature_inputs: Option<SignatureInputs>,
) -> Result<RecurrenceGroup, IncidentError> {
    let (request, as_of) = page_request(params, at);
    let stats = incidents::group_stats(tx, tenant_id, version, signature, request.as_of).await?;
    if stats.count == 0 {
        return Err(IncidentError::NotFound {
            entity: "recurrence group",
            id: signature.to_owned(),
        });
    }
    let filter = IncidentFilter {
        recurrence: Some((version, signature)),
        ..IncidentFilter::default()
    };
    let rows = incidents::list(tx, tenant_id, filter, &request).await?;
    let (items, next_cursor) = paginate(incidents_from(rows), params.limit, as_of, |i| {
        (i.created_at, i.id.clone())
    });
    Ok(RecurrenceGroup {
        recurrence_signature: signature.to_owned(),
        signature_version: version.to_owned(),
        count: stats.count,
        open_count: stats.open_count,
        first_seen: stats.first_seen.map(DbTime::get),
        last_seen: stats.last_seen.map(DbTime::get),
        items,
        next_cursor,
        as_of,
        signature_inputs,
    })
}
