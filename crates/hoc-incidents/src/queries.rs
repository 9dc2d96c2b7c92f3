//! Read procedures. Every read is tenant-scoped in SQL, lists are keyset-paged over a total order ending in the
//! id, and `as_of` hides rows created after it and is echoed back.

use hoc_contracts::FieldError;
use hoc_contracts::input::FieldReader;
use hoc_contracts::paging::Cursor;
pub use hoc_contracts::paging::ReadAt;
use hoc_contracts::registry::SEVERITIES;
use hoc_drivers::incidents::IncidentFilter;
use hoc_drivers::paging::{PageRequest, paginate};
use hoc_drivers::{DbTime, audit, incidents, timeline as timeline_driver};
use serde_json::Value;
use time::OffsetDateTime;

use crate::procedures::{INCIDENT_ID_MAX_CHARS, find};
use crate::recurrence::{self, CURRENT_VERSION, SignatureInputs};
use crate::{AuditEntry, Incident, IncidentError, Page, RecurrenceGroup, TimelineEntry};

fn invalid(fields: Vec<FieldError>) -> IncidentError {
    IncidentError::InvalidInput { fields }
}

/// Page parameters as read from a payload.
struct PageParams {
    limit: u64,
    cursor: Option<Cursor>,
}

fn read_page(r: &mut FieldReader<'_>) -> PageParams {
    PageParams {
        limit: r.optional_limit("limit"),
        cursor: r.optional_cursor("cursor"),
    }
}

fn page_request(
    params: &PageParams,
    at: ReadAt,
) -> Result<(PageRequest, OffsetDateTime), IncidentError> {
    PageRequest::resolve(params.limit, params.cursor.as_ref(), at).map_err(|e| invalid(vec![e]))
}

fn incidents_from(rows: Vec<hoc_drivers::IncidentRow>) -> Result<Vec<Incident>, IncidentError> {
    rows.into_iter()
        .map(|row| Incident::try_from(row).map_err(IncidentError::from))
        .collect()
}

/// One incident. With an explicit `as_of`, an incident created after it is not found.
pub async fn get(
    tx: &hoc_drivers::Tx,
    tenant_id: &str,
    id: &str,
    as_of: Option<OffsetDateTime>,
) -> Result<Incident, IncidentError> {
    let incident = Incident::try_from(find(tx, tenant_id, id).await?)?;
    if as_of.is_some_and(|as_of| incident.created_at > as_of) {
        return Err(IncidentError::NotFound {
            entity: "incident",
            id: id.to_owned(),
        });
    }
    Ok(incident)
}

/// Reads `{"id"}` from a payload.
pub fn read_id(payload: &Value, name: &'static str) -> Result<String, IncidentError> {
    let mut r = FieldReader::new(payload);
    let id = r.required_str(name, INCIDENT_ID_MAX_CHARS);
    r.finish().map_err(invalid)?;
    Ok(id.unwrap_or_default())
}

/// Lists the tenant's incidents newest first by (created_at desc, id desc). Payload:
/// `{"status"?, "severity"?, "limit"?, "cursor"?}`.
pub async fn list(
    tx: &hoc_drivers::Tx,
    tenant_id: &str,
    payload: &Value,
    at: ReadAt,
) -> Result<Page<Incident>, IncidentError> {
    let mut r = FieldReader::new(payload);
    let status = r.optional_one_of("status", hoc_contracts::registry::INCIDENT_STATES);
    let severity = r.optional_one_of("severity", SEVERITIES);
    let params = read_page(&mut r);
    r.finish().map_err(invalid)?;
    let (request, as_of) = page_request(&params, at)?;
    let filter = IncidentFilter {
        status,
        severity,
        recurrence: None,
    };
    let rows = incidents::list(tx, tenant_id, filter, &request).await?;
    let (items, next_cursor) = paginate(incidents_from(rows)?, params.limit, as_of, |i| {
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
    get(tx, tenant_id, id, at.as_of).await?;
    let as_of = hoc_contracts::time_format::truncate_micros(at.as_of.unwrap_or(at.now));
    let items = timeline_driver::list(tx, tenant_id, id, Some(DbTime::new(as_of)))
        .await?
        .into_iter()
        .map(TimelineEntry::from)
        .collect();
    Ok(Timeline { items, as_of })
}

/// An incident's timeline in ordinal order, as of a point in time.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Timeline {
    /// The entries, ordinal order.
    pub items: Vec<TimelineEntry>,
    /// The point in time the timeline shows (entries after it are hidden).
    #[serde(with = "hoc_contracts::time_format::utc")]
    pub as_of: OffsetDateTime,
}

/// The incident's audit entries, oldest first by (created_at, id). Payload: `{"id", "limit"?, "cursor"?}`.
pub async fn audit_entries(
    tx: &hoc_drivers::Tx,
    tenant_id: &str,
    payload: &Value,
    at: ReadAt,
) -> Result<Page<AuditEntry>, IncidentError> {
    let mut r = FieldReader::new(payload);
    let id = r.required_str("id", INCIDENT_ID_MAX_CHARS);
    let params = read_page(&mut r);
    r.finish().map_err(invalid)?;
    let id = id.unwrap_or_default();
    let (request, as_of) = page_request(&params, at)?;
    find(tx, tenant_id, &id).await?;
    let rows = audit::list_page(tx, tenant_id, Some(&id), &request).await?;
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

/// A recurrence group by signature. Payload: `{"signature", "version"?, "limit"?, "cursor"?}` (version defaults
/// to the current algorithm). A group with no member visible at `as_of` is `not_found`.
pub async fn recurrence_group(
    tx: &hoc_drivers::Tx,
    tenant_id: &str,
    payload: &Value,
    at: ReadAt,
) -> Result<RecurrenceGroup, IncidentError> {
    let mut r = FieldReader::new(payload);
    let signature = r.required_str("signature", crate::limits::SIGNATURE_MAX_CHARS);
    let version = r.optional_str("version", crate::limits::SIGNATURE_VERSION_MAX_CHARS);
    let params = read_page(&mut r);
    if let Some(version) = &version
        && recurrence::algorithm(version).is_none()
    {
        r.push_error(FieldError::new(
            "version",
            format!("`{version}` is not a signature version"),
        ));
    }
    r.finish().map_err(invalid)?;
    let version = version.unwrap_or_else(|| CURRENT_VERSION.to_owned());
    group(
        tx,
        tenant_id,
        &signature.unwrap_or_default(),
        &version,
        &params,
        at,
        None,
    )
    .await
}

/// The recurrence group of one incident, with the canonical inputs that produced its signature. Payload:
/// `{"id", "limit"?, "cursor"?}`.
pub async fn group_for_incident(
    tx: &hoc_drivers::Tx,
    tenant_id: &str,
    payload: &Value,
    at: ReadAt,
) -> Result<RecurrenceGroup, IncidentError> {
    let mut r = FieldReader::new(payload);
    let id = r.required_str("id", INCIDENT_ID_MAX_CHARS);
    let params = read_page(&mut r);
    r.finish().map_err(invalid)?;
    let id = id.unwrap_or_default();
    let row = find(tx, tenant_id, &id).await?;
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
    let (request, as_of) = page_request(params, at)?;
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
    let (items, next_cursor) = paginate(incidents_from(rows)?, params.limit, as_of, |i| {
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
