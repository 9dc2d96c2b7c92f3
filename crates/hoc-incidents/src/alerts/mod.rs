//! Alerts in (issue 23): what monitoring sends becomes alerts that open, feed and resolve incidents.
//!
//! An alert belongs to a tenant and a source (`alertmanager`), has the sender's key verbatim (`dedup_key`), a
//! status, labels, annotations, its start and end, when it was last received and how many distinct firings it had,
//! and the incident it feeds. Every version of it is kept (`incident_alerts`), so the alerts of an incident are
//! read at any instant like its notes.
//!
//! A delivery is applied once: its identity is a digest of its group key and each alert's (key, status, start,
//! end) — nothing about how it was sent — and it is recorded with its answer in the transaction that applies it; a
//! copy from an HA peer or a retry finds that record (under the delivery's key locks, see [`look_up`]) and changes
//! nothing. Within a delivery, under the tenant's [`IngestPolicy`]:
//! - a firing alert whose key's incident is open or acknowledged feeds it (first firing: "alert fired"; again:
//!   "alert fired again", one more occurrence);
//! - otherwise a firing already recorded (same key and start) is a replay and changes nothing — an operator's
//!   resolve is never undone by it; a new firing reopens the key's last incident within the policy's reopen window,
//!   or opens a new incident (the same recurrence group as the key's earlier ones: flapping shows there);
//! - a resolved alert resolves its record ("alert resolved"); the incident is resolved (`resolution_type` `auto`,
//!   by the sender's key's actor) when all its alerts are resolved (`resolve_on: all`, the default), at the first
//!   (`first`), or never.
//!
//! Every change of an alert is audited (entity `alert`) and announced (`AlertFired`, `AlertResolved`); the
//! incidents it opens, reopens or resolves go through the same procedures as an operator's.

pub mod alertmanager;
mod lookup;
mod model;
pub mod pagerduty;
mod policy;

pub use lookup::{Lookup, look_up};
pub use model::*;
pub use policy::*;

use std::collections::BTreeMap;

use hoc_contracts::DomainEvent;
use hoc_contracts::input::{Labels, Rule, TimelineKind, labels_column};
use hoc_contracts::outcome::AuditDraft;
use hoc_contracts::paging::ReadAt;
use hoc_contracts::time_format::format_utc;
use hoc_drivers::alerts as driver;
use hoc_drivers::{AlertRow, DbTime, DeliveryRow, IncidentRow, Tx};
use serde_json::json;

use crate::limits::{SOURCE_REF_MAX_CHARS, TITLE_MAX_CHARS};
use crate::procedures::{append_timeline, new_id, timeline_row};
use crate::{
    Caller, CreateIncident, IncidentError, IncidentId, IncidentState, Outcome, ReopenIncident,
    ResolveIncident,
};

hoc_contracts::request! {
    /// The alerts that feed an incident, oldest first.
    pub struct ListAlerts => AlertsQuery {
        /// The incident.
        id: String => required IncidentId,
    }
}

hoc_contracts::vocabulary!(
    /// An alert's status, as a list filter.
    AlertStatusFilter {
        /// It fires.
        Firing = "firing",
        /// It ended.
        Resolved = "resolved",
    }
);

hoc_contracts::vocabulary!(
    /// An alert source, as a list filter.
    AlertSource {
        /// Alertmanager's webhook.
        Alertmanager = "alertmanager",
        /// PagerDuty's Events API.
        Pagerduty = "pagerduty",
    }
);

hoc_contracts::request! {
    /// The tenant's alerts, newest first by (first received, id), each as it was at `as_of`.
    pub struct ListTenantAlerts => TenantAlertsQuery {
        /// Only alerts with this status then: `firing` or `resolved`.
        status: Option<String> => optional AlertStatusFilter,
        /// Only alerts from this source: `alertmanager` or `pagerduty`.
        source: Option<String> => optional AlertSource,
        /// Page size (1 to 500, default 50).
        limit: Option<i64> => optional hoc_contracts::input::Limit,
        /// From a previous page's `next_cursor`.
        cursor: Option<String> => optional hoc_contracts::input::PageCursor,
    }
}

/// One page of the tenant's alerts as they were at the read's instant.
pub async fn list_tenant_alerts(
    tx: &Tx,
    tenant_id: &str,
    query: TenantAlertsQuery,
    at: ReadAt,
) -> Result<crate::Page<Alert>, IncidentError> {
    let params = crate::queries::PageParams::new(query.limit, query.cursor);
    let (request, as_of) = crate::queries::page_request(&params, at);
    let rows = driver::list(
        tx,
        tenant_id,
        query.status.map(AlertStatusFilter::as_str),
        query.source.map(AlertSource::as_str),
        &request,
    )
    .await?;
    let (items, next_cursor) = hoc_drivers::paging::paginate(
        rows.into_iter().map(Alert::from).collect(),
        params.limit,
        as_of,
        |a: &Alert| (a.first_received_at, a.alert_id.clone()),
    );
    Ok(crate::Page {
        items,
        next_cursor,
        as_of,
    })
}

/// The alerts of an incident as they were at the read's instant.
pub async fn list_alerts(
    tx: &Tx,
    tenant_id: &str,
    input: AlertsQuery,
    at: ReadAt,
) -> Result<Alerts, IncidentError> {
    let as_of = at.instant();
    let id = input.id.into_string();
    crate::queries::get(tx, tenant_id, &id, at).await?;
    let rows = driver::of_incident(tx, tenant_id, &id, Some(DbTime::new(as_of))).await?;
    Ok(Alerts {
        items: rows.into_iter().map(Alert::from).collect(),
        as_of,
    })
}

/// The alert source Alertmanager's receiver records.
pub const ALERTMANAGER: &str = "alertmanager";

/// A delivery's outcome, and whether this call applied it (not: a copy of a delivery applied before).
#[derive(Debug)]
pub struct Ingested {
    /// The answer, audit entries and events.
    pub outcome: Outcome<IngestReport>,
    /// Whether the delivery was applied by this call.
    pub applied_now: bool,
}

/// Applies a delivery from `source` once, under `policy`, in the caller's transaction.
///
/// `lookup` is what [`look_up`] read for it under the same policy earlier in the transaction, before the tenant
/// clock. It first checks that the policy and grouping configuration are still those (else the transaction is
/// interrupted, to be run again), answers a delivery applied before from its record, and records the delivery with
/// its answer in one insert at the end (a concurrent copy that got there first interrupts it too).
pub async fn ingest(
    tx: &Tx,
    caller: &Caller<'_>,
    source: &str,
    delivery: &Delivery,
    policy: &IngestPolicy,
    lookup: &Lookup,
) -> Result<Ingested, IncidentError> {
    let tenant_id = caller.tenant_id;
    if !lookup.still_current(tx, tenant_id).await? {
        return Err(interrupted(
            "the ingest policy or grouping configuration changed while the delivery waited for the tenant clock",
        ));
    }
    if let Some(applied) = &lookup.applied {
        return Ok(Ingested {
            outcome: Outcome::read(lookup::report_of(applied)),
            applied_now: false,
        });
    }
    let outcome = apply_keyed(
        tx,
        caller,
        source,
        delivery,
        policy,
        &lookup.keyed,
        Some(&lookup.grouping),
    )
    .await?;
    let result = serde_json::to_string(&outcome.response).map_err(|e| corrupt(tenant_id, e))?;
    let record = DeliveryRow {
        tenant_id: tenant_id.to_owned(),
        delivery_id: lookup.identity.clone(),
        source: source.to_owned(),
        received_at: caller.now.into(),
        result,
    };
    if !driver::record_delivery(tx, record).await? {
        return Err(interrupted(
            "a copy of the delivery was applied while this one waited for the tenant clock",
        ));
    }
    Ok(Ingested {
        outcome,
        applied_now: true,
    })
}

fn interrupted(message: &str) -> IncidentError {
    IncidentError::Storage(hoc_drivers::StorageError::interrupted(message))
}

/// Applies a delivery's alerts under `policy` (every time it is called: [`ingest`] makes it once per delivery).
pub(crate) async fn apply(
    tx: &Tx,
    caller: &Caller<'_>,
    source: &str,
    delivery: &Delivery,
    policy: &IngestPolicy,
) -> Result<Outcome<IngestReport>, IncidentError> {
    let keyed = lookup::lock_and_read(tx, caller.tenant_id, source, delivery, policy).await?;
    apply_keyed(tx, caller, source, delivery, policy, &keyed, None).await
}

/// [`apply`] with its keys locked and read; incidents it opens are signed by `grouping` when given.
async fn apply_keyed(
    tx: &Tx,
    caller: &Caller<'_>,
    source: &str,
    delivery: &Delivery,
    policy: &IngestPolicy,
    keyed: &lookup::Keyed,
    grouping: Option<&crate::grouping::Grouping>,
) -> Result<Outcome<IngestReport>, IncidentError> {
    let mut run = Run {
        latest: keyed.latest.clone(),
        pending_alerts: Vec::new(),
        pending_timeline: Vec::new(),
        locked_rows: BTreeMap::new(),
        tx,
        caller,
        source,
        policy,
        delivery,
        report: IngestReport {
            incidents: Vec::new(),
        },
        outcome: Outcome::read(()),
        live: BTreeMap::new(),
        last_incidents: keyed.incidents.clone(),
        grouping,
        resolved_in: Vec::new(),
    };
    for (alert, key) in delivery.alerts.iter().zip(&keyed.alert_keys) {
        match alert.status {
            AlertStatus::Firing => run.firing(alert, key).await?,
            AlertStatus::Resolved => run.resolved(alert).await?,
        }
    }
    run.auto_resolve().await?;
    if delivery.truncated > 0 {
        run.note_truncation().await?;
    }
    let Run {
        report,
        mut outcome,
        ..
    } = run;
    Ok(Outcome {
        response: report,
        audit: std::mem::take(&mut outcome.audit),
        events: std::mem::take(&mut outcome.events),
    })
}

fn corrupt(tenant_id: &str, e: impl std::fmt::Display) -> IncidentError {
    IncidentError::Storage(hoc_drivers::StorageError::Corrupt {
        table: "ingest_deliveries",
        problem: format!("tenant {tenant_id}: {e}"),
    })
}

/// One delivery being applied.
struct Run<'a, 'c> {
    tx: &'a Tx,
    caller: &'a Caller<'c>,
    source: &'a str,
    policy: &'a IngestPolicy,
    delivery: &'a Delivery,
    report: IngestReport,
    outcome: Outcome<()>,
    /// Per incident key, the open or acknowledged incident it feeds (looked up once per delivery).
    live: BTreeMap<String, Option<IncidentRow>>,
    /// Per incident key, its last incident as [`look_up`] found it (taken by the key's first firing alert).
    last_incidents: BTreeMap<String, Option<String>>,
    /// The grouping configuration the delivery's new incidents are signed by (`None`: `create` loads it).
    grouping: Option<&'a crate::grouping::Grouping>,
    /// The incidents an alert of this delivery resolved on, in order.
    resolved_in: Vec<String>,
    /// Per dedup key, the alert's last version (read for the whole delivery, moved on by each write).
    latest: std::collections::HashMap<String, AlertRow>,
    /// Alert versions and their timeline rows not written yet: written together by [`Run::flush`] (one statement
    /// for the alerts, two per incident for the timeline), before anything else touches an incident's timeline.
    pending_alerts: Vec<AlertRow>,
    pending_timeline: Vec<hoc_drivers::TimelineRow>,
    /// The incidents this delivery locked, by id, as last read (a create or reopen of the delivery replaces its
    /// row), so that a hundred alerts resolving on one incident lock and read it once.
    locked_rows: BTreeMap<String, IncidentRow>,
}

fn is_live(row: &IncidentRow) -> bool {
    matches!(
        row.status.get(),
        IncidentState::Open | IncidentState::Acknowledged
    )
}

impl Run<'_, '_> {
    /// Writes the pending alert versions and their timeline rows.
    async fn flush(&mut self) -> Result<(), IncidentError> {
        driver::insert_all(self.tx, std::mem::take(&mut self.pending_alerts)).await?;
        hoc_drivers::timeline::insert_all(self.tx, std::mem::take(&mut self.pending_timeline))
            .await?;
        Ok(())
    }

    fn absorb<T>(&mut self, outcome: Outcome<T>) -> T {
        self.outcome.audit.extend(outcome.audit);
        self.outcome.events.extend(outcome.events);
        outcome.response
    }

    async fn live_incident(&mut self, key: &str) -> Result<Option<IncidentRow>, IncidentError> {
        if let Some(found) = self.live.get(key) {
            return Ok(found.clone());
        }
        let tenant_id = self.caller.tenant_id;
        let last = match self.last_incidents.remove(key) {
            Some(last) => last,
            None => driver::incident_for_key(self.tx, tenant_id, self.source, key).await?,
        };
        let found = match last {
            Some(id) => hoc_drivers::incidents::lock(self.tx, tenant_id, &id)
                .await?
                .filter(is_live),
            None => None,
        };
        self.live.insert(key.to_owned(), found.clone());
        Ok(found)
    }

    async fn firing(&mut self, alert: &IncomingAlert, key: &str) -> Result<(), IncidentError> {
        let tenant_id = self.caller.tenant_id;
        let current = self.latest.get(&alert.dedup_key).cloned();
        let incident = match self.live_incident(key).await? {
            Some(incident) => incident,
            None => {
                // A firing already recorded is a replay of an old notification: it changes nothing (an
                // operator's resolve stays).
                if let Some(known) = current
                    .as_ref()
                    .filter(|c| c.starts_at.get() == alert.starts_at)
                {
                    self.report
                        .touch(&known.incident_id, IngestOutcome::Unchanged);
                    return Ok(());
                }
                let incident = self.open_for(alert, key).await?;
                self.live.insert(key.to_owned(), Some(incident.clone()));
                incident
            }
        };
        let previous = current.filter(|c| c.incident_id == incident.id);
        let now: DbTime = self.caller.now.into();
        let (labels, annotations) = (json_map(&alert.labels), json_map(&alert.annotations));
        let (row, kind) = match &previous {
            Some(prev)
                if prev.status == "firing"
                    && prev.starts_at.get() == alert.starts_at
                    && prev.labels == labels
                    && prev.annotations == annotations =>
            {
                // The same firing in another delivery of its group: received again, one more occurrence.
                (
                    AlertRow {
                        version: prev.version + 1,
                        occurrences: prev.occurrences + 1,
                        last_received_at: now,
                        updated_at: now,
                        request_id: Some(self.caller.request_id.to_owned()),
                        ..prev.clone()
                    },
                    TimelineKind::AlertFiredAgain,
                )
            }
            Some(prev) => (
                AlertRow {
                    version: prev.version + 1,
                    occurrences: prev.occurrences + 1,
                    status: "firing".to_owned(),
                    labels,
                    annotations,
                    starts_at: alert.starts_at.into(),
                    ends_at: None,
                    last_received_at: now,
                    updated_at: now,
                    request_id: Some(self.caller.request_id.to_owned()),
                    ..prev.clone()
                },
                TimelineKind::AlertFiredAgain,
            ),
            None => (
                AlertRow {
                    tenant_id: tenant_id.to_owned(),
                    alert_id: new_id("alr"),
                    version: 1,
                    incident_id: incident.id.clone(),
                    source: self.source.to_owned(),
                    dedup_key: alert.dedup_key.clone(),
                    incident_key: key.to_owned(),
                    status: "firing".to_owned(),
                    labels,
                    annotations,
                    starts_at: alert.starts_at.into(),
                    ends_at: None,
                    last_received_at: now,
                    occurrences: 1,
                    created_at: now,
                    updated_at: now,
                    request_id: Some(self.caller.request_id.to_owned()),
                },
                TimelineKind::AlertFired,
            ),
        };
        self.write_alert(&incident, row, previous.as_ref(), kind, Some(&alert.labels))
            .await?;
        self.report.touch(&incident.id, IngestOutcome::Updated);
        Ok(())
    }

    async fn resolved(&mut self, alert: &IncomingAlert) -> Result<(), IncidentError> {
        let Some(prev) = self.latest.get(&alert.dedup_key).cloned() else {
            // The end of an alert never seen: nothing to resolve.
            return Ok(());
        };
        if prev.status == "resolved" {
            self.report
                .touch(&prev.incident_id, IngestOutcome::Unchanged);
            return Ok(());
        }
        let incident = match self.locked_rows.get(&prev.incident_id) {
            Some(row) => row.clone(),
            None => self.relock(&prev.incident_id).await?,
        };
        let now: DbTime = self.caller.now.into();
        let row = AlertRow {
            version: prev.version + 1,
            status: "resolved".to_owned(),
            ends_at: Some(alert.ends_at.unwrap_or(self.caller.now).into()),
            last_received_at: now,
            updated_at: now,
            request_id: Some(self.caller.request_id.to_owned()),
            ..prev.clone()
        };
        self.write_alert(
            &incident,
            row,
            Some(&prev),
            TimelineKind::AlertResolved,
            None,
        )
        .await?;
        self.report.touch(&incident.id, IngestOutcome::Updated);
        if !self.resolved_in.contains(&incident.id) {
            self.resolved_in.push(incident.id.clone());
        }
        Ok(())
    }

    /// Reopens the key's last incident within the reopen window, or opens a new one from the alert.
    async fn open_for(
        &mut self,
        alert: &IncomingAlert,
        key: &str,
    ) -> Result<IncidentRow, IncidentError> {
        let tenant_id = self.caller.tenant_id;
        if self.policy.reopen_window_seconds > 0
            && let Some(id) = driver::incident_for_key(self.tx, tenant_id, self.source, key).await?
            && let Some(last) = hoc_drivers::incidents::find(self.tx, tenant_id, &id).await?
            && let Some(resolved_at) = last.resolved_at
            && last.status.get() == IncidentState::Resolved
            && (self.caller.now - resolved_at.get()).whole_seconds()
                <= self.policy.reopen_window_seconds
        {
            let request = ReopenIncident {
                id: id.clone(),
                reason: Some(format!("alert {} fired again", alert_name(alert))),
            };
            let input = request
                .parse()
                .map_err(|fields| IncidentError::InvalidInput { fields })?;
            self.flush().await?;
            let outcome = crate::reopen(self.tx, self.caller, input).await?;
            self.absorb(outcome);
            self.report.touch(&id, IngestOutcome::Created);
            return self.relock(&id).await;
        }
        let request = self.incident_from(alert, key);
        let input = request
            .parse()
            .map_err(|fields| IncidentError::InvalidInput { fields })?;
        self.flush().await?;
        let (created, row) = crate::procedures::create_row(
            self.tx,
            self.caller,
            input,
            self.grouping,
            Some(&mut self.pending_timeline),
        )
        .await?;
        self.absorb(created);
        self.report.touch(&row.id, IngestOutcome::Created);
        // Written by this transaction: nobody else sees it before the commit, so it is not read or locked again.
        self.locked_rows.insert(row.id.clone(), row.clone());
        Ok(row)
    }

    /// Locks and reads incident `id` (again), and keeps the row for the rest of the delivery.
    async fn relock(&mut self, id: &str) -> Result<IncidentRow, IncidentError> {
        let row = locked(self.tx, self.caller.tenant_id, id).await?;
        self.locked_rows.insert(id.to_owned(), row.clone());
        Ok(row)
    }

    /// The incident an alert opens: title, severity, service, labels and description from the alert (its own
    /// labels and annotations first, then the delivery's common ones) by the policy.
    fn incident_from(&self, alert: &IncomingAlert, key: &str) -> CreateIncident {
        let label = |name: &str| {
            alert
                .labels
                .get(name)
                .or_else(|| self.delivery.common_labels.get(name))
        };
        let annotation = |name: &str| {
            alert
                .annotations
                .get(name)
                .or_else(|| self.delivery.common_annotations.get(name))
        };
        let title = self
            .policy
            .title(|name| annotation(name).or_else(|| label(name)))
            .map(|t| one_line(&t, TITLE_MAX_CHARS))
            .filter(|t| !t.is_empty())
            .or_else(|| {
                annotation("summary")
                    .or_else(|| label("alertname"))
                    .map(|t| one_line(t, TITLE_MAX_CHARS))
                    .filter(|t| !t.is_empty())
            })
            .unwrap_or_else(|| format!("alert {}", one_line(&alert.dedup_key, 64)));
        let mut labels = BTreeMap::new();
        for (k, v) in &alert.labels {
            let single = BTreeMap::from([(k.clone(), v.clone())]);
            if labels.len() < hoc_contracts::input::MAX_LABELS
                && Labels::parse("labels", &single, &mut Vec::new()).is_some()
            {
                labels.insert(k.clone(), v.clone());
            }
        }
        let service = label(&self.policy.service_label)
            .map(|s| s.trim().to_lowercase())
            .filter(|s| crate::model::Service::parse("service", s, &mut Vec::new()).is_some());
        let mut all_labels = self.delivery.common_labels.clone();
        all_labels.extend(alert.labels.clone());
        CreateIncident {
            title: Some(title),
            severity: Some(self.policy.severity(&all_labels)),
            category: Some("alert".to_owned()),
            trigger_type: Some("alert".to_owned()),
            source_type: Some(self.source.to_owned()),
            // Senders leave fields empty (Alertmanager's API: an alert posted without a `generatorURL`).
            source_ref: alert.generator_url.clone().filter(|u| {
                !u.trim().is_empty()
                    && u.chars().count() <= SOURCE_REF_MAX_CHARS
                    && !u.chars().any(char::is_control)
            }),
            description: annotation("description")
                .map(|d| free_text(d))
                .filter(|d| !d.trim().is_empty()),
            // The key's incidents share a recurrence group: a flapping alert shows as one group's members.
            fingerprint: Some(vec![self.source.to_owned(), key.to_owned()]),
            service,
            labels: (!labels.is_empty()).then_some(labels),
            ..CreateIncident::default()
        }
    }

    async fn write_alert(
        &mut self,
        incident: &IncidentRow,
        row: AlertRow,
        before: Option<&AlertRow>,
        kind: TimelineKind,
        labels: Option<&BTreeMap<String, String>>,
    ) -> Result<(), IncidentError> {
        self.latest.insert(row.dedup_key.clone(), row.clone());
        // The row's labels are `labels` when given (as sent): no need to read its JSON back.
        let name = match labels {
            Some(labels) => name_of(labels, &row.dedup_key),
            None => name_of(&map_of(&row.labels), &row.dedup_key),
        };
        let text = match kind {
            TimelineKind::AlertFired => format!("alert {name} fired"),
            TimelineKind::AlertFiredAgain => {
                format!("alert {name} fired again (occurrence {})", row.occurrences)
            }
            _ => format!("alert {name} resolved"),
        };
        self.pending_timeline.push(timeline_row(
            incident,
            Some(incident.status.get()),
            kind,
            self.caller,
            text,
        ));
        let state = |a: &AlertRow| {
            json!({
                "incident_id": a.incident_id,
                "version": a.version,
                "status": a.status,
                "occurrences": a.occurrences,
                "starts_at": format_utc(a.starts_at.get()),
                "ends_at": a.ends_at.map(|t| format_utc(t.get())),
            })
        };
        self.outcome.audit.push(AuditDraft {
            entity_type: "alert",
            entity_id: row.alert_id.clone(),
            action: "incidents.alerts.ingest",
            reason: None,
            before_state: before.map(state),
            after_state: Some(state(&row)),
        });
        self.outcome
            .events
            .push(if kind == TimelineKind::AlertResolved {
                DomainEvent::AlertResolved(hoc_contracts::events::AlertResolved {
                    incident_id: row.incident_id.clone(),
                    alert_id: row.alert_id.clone(),
                    source: row.source.clone(),
                    dedup_key: row.dedup_key.clone(),
                    alert_version: row.version,
                })
            } else {
                DomainEvent::AlertFired(hoc_contracts::events::AlertFired {
                    incident_id: row.incident_id.clone(),
                    alert_id: row.alert_id.clone(),
                    source: row.source.clone(),
                    dedup_key: row.dedup_key.clone(),
                    alert_version: row.version,
                    occurrences: row.occurrences,
                })
            });
        self.pending_alerts.push(row);
        Ok(())
    }

    /// Resolves the incidents this delivery's resolutions leave without a firing alert (by the policy).
    async fn auto_resolve(&mut self) -> Result<(), IncidentError> {
        self.flush().await?;
        let tenant_id = self.caller.tenant_id;
        for id in std::mem::take(&mut self.resolved_in) {
            let Some(incident) = hoc_drivers::incidents::find(self.tx, tenant_id, &id).await?
            else {
                continue;
            };
            if !is_live(&incident) {
                continue;
            }
            let alerts = driver::of_incident(self.tx, tenant_id, &id, None).await?;
            let firing = alerts.iter().filter(|a| a.status == "firing").count();
            let resolve = match self.policy.resolve_on {
                ResolveOn::All => firing == 0,
                ResolveOn::First => true,
                ResolveOn::Never => false,
            };
            if !resolve {
                continue;
            }
            let request = ResolveIncident {
                id: id.clone(),
                resolution_type: Some("auto".to_owned()),
                resolution_summary: Some(format!(
                    "{} of {} alerts resolved ({})",
                    alerts.len() - firing,
                    alerts.len(),
                    self.source
                )),
                ..ResolveIncident::default()
            };
            let input = request
                .parse()
                .map_err(|fields| IncidentError::InvalidInput { fields })?;
            let outcome = crate::resolve(self.tx, self.caller, input).await?;
            self.absorb(outcome);
            self.report.touch(&id, IngestOutcome::Resolved);
            // A later alert of this delivery under the same key opens a new incident.
            self.live
                .retain(|_, live| live.as_ref().is_none_or(|l| l.id != id));
        }
        Ok(())
    }

    /// Notes on each incident the delivery touched that the sender left alerts out.
    async fn note_truncation(&mut self) -> Result<(), IncidentError> {
        let tenant_id = self.caller.tenant_id;
        let ids: Vec<String> = self.report.incidents.iter().map(|t| t.id.clone()).collect();
        for id in ids {
            if let Some(incident) = hoc_drivers::incidents::lock(self.tx, tenant_id, &id).await? {
                append_timeline(
                    self.tx,
                    &incident,
                    Some(incident.status.get()),
                    TimelineKind::AlertsTruncated,
                    self.caller,
                    format!(
                        "the sender left {} alerts out of this delivery (max_alerts)",
                        self.delivery.truncated
                    ),
                )
                .await?;
            }
        }
        Ok(())
    }
}

async fn locked(tx: &Tx, tenant_id: &str, id: &str) -> Result<IncidentRow, IncidentError> {
    hoc_drivers::incidents::lock(tx, tenant_id, id)
        .await?
        .ok_or_else(|| IncidentError::NotFound {
            entity: "incident",
            id: id.to_owned(),
        })
}

fn json_map(map: &BTreeMap<String, String>) -> String {
    labels_column(map).unwrap_or_else(|| "{}".to_owned())
}

fn alert_name(alert: &IncomingAlert) -> String {
    alert
        .labels
        .get("alertname")
        .map_or_else(|| alert.dedup_key.clone(), |n| one_line(n, 64))
}

/// An alert's name in the timeline: its `alertname` label and dedup key, or the key alone.
fn name_of(labels: &BTreeMap<String, String>, dedup_key: &str) -> String {
    match labels.get("alertname") {
        Some(name) => format!("{} ({dedup_key})", one_line(name, 64)),
        None => dedup_key.to_owned(),
    }
}

/// `text` on one line (control characters become spaces), trimmed, at most `max` characters.
fn one_line(text: &str, max: usize) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .chars()
        .take(max)
        .collect()
}

/// `text` with the control characters free text refuses removed (tab and newline kept), at most 10,000 characters.
fn free_text(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .take(crate::MAX_TEXT_CHARS)
        .collect()
}
