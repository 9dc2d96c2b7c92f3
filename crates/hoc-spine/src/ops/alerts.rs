//! `incidents.alerts`: alerts in from monitoring (Alertmanager's webhook), and the alerts of an incident.

pub use hoc_incidents::alerts::alertmanager::AlertmanagerWebhook;
pub use hoc_incidents::alerts::pagerduty::{EventAccepted, EventPayload, PagerDutyEvent};
pub use hoc_incidents::alerts::{
    Alert, Alerts, GetIngestPolicy, IngestPolicy, IngestReport, ListAlerts, ListTenantAlerts,
    PutIngestPolicy,
};

use std::sync::Arc;

use hoc_incidents::alerts::{self, Delivery};

use super::{invalid, operation_method, read_at};
use crate::http::{Accepted202, Methods, Ok200, get, post, put};
use crate::{Call, OperationError, Output};

pub(crate) fn declare<V: Methods>(v: &mut V) -> Result<(), OperationError> {
    v.route(
        post::<AlertmanagerWebhook, Ok200>(
            "alertmanager_webhook",
            "/v1/integrations/alertmanager",
            "Alertmanager's webhook (version 4): alerts open, feed and resolve incidents; a delivery applies once",
        )
        .ingest()
        .example(|| serde_json::from_value(example_delivery()).unwrap_or_default()),
    )?;
    v.route(
        post::<PagerDutyEvent, Accepted202>(
            "pagerduty_enqueue",
            "/v1/integrations/pagerduty/enqueue",
            "PagerDuty's Events API v2: trigger, acknowledge and resolve by dedup_key; the routing_key is an ingest key",
        )
        .ingest()
        .key_in_body("routing_key")
        .example(|| PagerDutyEvent {
            routing_key: Some("hoc_ingest_key".into()),
            event_action: Some("trigger".into()),
            dedup_key: Some("disk-full/db-1".into()),
            payload: Some(EventPayload {
                summary: Some("Disk 95 % full on db-1".into()),
                source: Some("db-1".into()),
                severity: Some("error".into()),
                ..EventPayload::default()
            }),
            ..PagerDutyEvent::default()
        }),
    )?;
    v.route(
        get::<ListAlerts>(
            "list_incident_alerts",
            "/v1/incidents/{id}/alerts",
            "The alerts that feed an incident, oldest first",
        )
        .as_of(),
    )?;
    v.route(
        get::<ListTenantAlerts>(
            "list_alerts",
            "/v1/alerts",
            "The tenant's alerts, newest first, each as it was at as_of",
        )
        .as_of(),
    )?;
    v.route(
        get::<GetIngestPolicy>(
            "get_ingest_policy",
            "/v1/ingest-policy",
            "The tenant's ingest policy (version 0: the defaults)",
        )
        .as_of(),
    )?;
    v.route(
        put::<PutIngestPolicy, Ok200>(
            "put_ingest_policy",
            "/v1/ingest-policy",
            "Replace the tenant's ingest policy (a new version)",
        )
        .example(|| PutIngestPolicy {
            incident_per: Some("alert".into()),
            resolve_on: Some("first".into()),
            reopen_window_seconds: Some(hoc_contracts::input::JsonInt(600)),
            ..PutIngestPolicy::default()
        }),
    )
}

/// A delivery as Alertmanager sends it (the API document's example).
fn example_delivery() -> serde_json::Value {
    serde_json::json!({
        "version": "4",
        "groupKey": "{}:{alertname=\"HighLatency\"}",
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "hocd",
        "groupLabels": { "alertname": "HighLatency" },
        "commonLabels": { "alertname": "HighLatency", "severity": "critical", "service": "checkout" },
        "commonAnnotations": { "summary": "Checkout p99 above 2 s" },
        "externalURL": "http://alertmanager:9093",
        "alerts": [{
            "status": "firing",
            "labels": { "alertname": "HighLatency", "severity": "critical", "service": "checkout", "instance": "web-1" },
            "annotations": { "summary": "Checkout p99 above 2 s" },
            "startsAt": "2026-12-06T09:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph",
            "fingerprint": "5ef77f1f8a3ecfa9"
        }]
    })
}

/// A delivery locks its keys and looks up its alerts before the tenant clock (`before_clock`): the clock is held
/// only for what needs the instant.
#[async_trait::async_trait]
impl crate::OperationMethod for AlertmanagerWebhook {
    const OPERATION: &'static str = "incidents.alerts";
    const METHOD: &'static str = "alertmanager";
    const WRITES: bool = true;
    const BEFORE_CLOCK: bool = true;
    const PARSES_FIRST: bool = true;
    type Response = IngestReport;

    /// A delivery of a hundred alerts is parsed before the transaction, not while it holds a lock.
    fn parse_first(&self) -> Result<crate::Prepared, OperationError> {
        Ok(Box::new(Arc::new(self.parse().map_err(invalid)?)))
    }

    async fn before_clock(&self, call: Call<'_>) -> Result<crate::Prepared, OperationError> {
        let delivery = match call
            .prepared
            .and_then(|p| p.downcast_ref::<Arc<Delivery>>())
        {
            Some(parsed) => Arc::clone(parsed),
            None => Arc::new(self.parse().map_err(invalid)?),
        };
        let tenant_id = call.ctx.tenant_id();
        let policy = alerts::policy_at(call.tx, tenant_id, None).await?;
        let lookup =
            alerts::look_up(call.tx, tenant_id, alerts::ALERTMANAGER, &delivery, &policy).await?;
        Ok(Box::new((policy, lookup, delivery)))
    }

    async fn run(&self, call: Call<'_>) -> Result<Output<IngestReport>, OperationError> {
        let caller = super::incidents::caller(&call);
        let looked_up = call
            .prepared
            .and_then(|p| p.downcast_ref::<(IngestPolicy, alerts::Lookup, Arc<Delivery>)>());
        let truncated = looked_up.map_or(0, |(_, _, delivery)| delivery.truncated);
        let ingested = match looked_up {
            // Checked against the policy and configuration now, answered from the record of a copy applied before.
            Some((policy, lookup, delivery)) => {
                alerts::ingest(
                    call.tx,
                    &caller,
                    alerts::ALERTMANAGER,
                    delivery,
                    policy,
                    lookup,
                )
                .await?
            }
            // `before_clock` always runs for this method: without its lookup the keys would be locked after the
            // clock, out of order.
            None => {
                return Err(OperationError::internal(
                    "an Alertmanager delivery reached its run without its lookup",
                ));
            }
        };
        // Counted once per delivery, when the transaction that applied it commits (not for a copy, nor a
        // rolled-back attempt).
        if ingested.applied_now && truncated > 0 {
            let left_out = u64::try_from(truncated).unwrap_or(0);
            call.tx.after_commit(move || {
                metrics::counter!("hoc_ingest_truncated_alerts_total", "source" => alerts::ALERTMANAGER)
                    .increment(left_out);
            });
        }
        Ok(ingested.outcome)
    }
}

operation_method!(ListAlerts => "incidents.alerts"."list", writes = false, -> Alerts,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    Ok(Output::read(alerts::list_alerts(call.tx, call.ctx.tenant_id(), input, read_at(&call)).await?))
});

operation_method!(GetIngestPolicy => "incidents.alerts"."get_policy", writes = false, -> IngestPolicy,
|request, call| {
    request.parse().map_err(invalid)?;
    Ok(Output::read(alerts::get_policy(call.tx, call.ctx.tenant_id(), read_at(&call)).await?))
});

operation_method!(PutIngestPolicy => "incidents.alerts"."put_policy", writes = true, -> IngestPolicy,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    Ok(alerts::put_policy(call.tx, &super::incidents::caller(&call), input).await?)
});

operation_method!(PagerDutyEvent => "incidents.alerts"."pagerduty", writes = true, -> EventAccepted,
|request, call| {
    let event = request.parse(call.now).map_err(invalid)?;
    let policy = alerts::policy_at(call.tx, call.ctx.tenant_id(), None).await?;
    let caller = super::incidents::caller(&call);
    Ok(alerts::pagerduty::enqueue(call.tx, &caller, event, &policy).await?)
});

operation_method!(ListTenantAlerts => "incidents.alerts"."list_tenant", writes = false, -> hoc_incidents::Page<Alert>,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    Ok(Output::read(alerts::list_tenant_alerts(call.tx, call.ctx.tenant_id(), input, read_at(&call)).await?))
});
