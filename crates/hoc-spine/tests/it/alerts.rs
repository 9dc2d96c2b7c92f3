//! Alerts in: Alertmanager deliveries open one incident per group, add occurrences, resolve it when every alert
//! resolved, apply once however often they arrive, never undo an operator's resolve, and refuse a bad body whole.

use hoc_contracts::ActorType;
use hoc_spine::requests::{
    AlertmanagerWebhook, GetIncident, IncidentTimeline, ListAlerts, ListIncidents, ResolveIncident,
};
use hoc_spine::{ErrorCode, OperationContext, Spine};
use serde_json::{Value, json};

use crate::{TestClock, spine};

fn monitor(tenant: &str) -> OperationContext {
    OperationContext::new(tenant, ActorType::System, "alertmanager").expect("valid context")
}

fn alert(fingerprint: &str, status: &str, starts: &str, ends: &str, instance: &str) -> Value {
    json!({
        "status": status,
        "labels": { "alertname": "HighLatency", "severity": "critical", "service": "checkout",
                    "instance": instance, "podName": "web-0" },
        "annotations": { "summary": "Checkout p99 above 2 s", "description": "p99 latency\nabove 2 s" },
        "startsAt": starts,
        "endsAt": ends,
        // An empty generatorURL, as Alertmanager sends for an alert posted without one.
        "generatorURL": if instance == "web-1" { "http://prometheus:9090/graph?g0.expr=latency" } else { "" },
        "fingerprint": fingerprint,
    })
}

fn delivery(alerts: Vec<Value>, external: &str) -> AlertmanagerWebhook {
    let firing = alerts.iter().any(|a| a["status"] == "firing");
    serde_json::from_value(json!({
        "version": "4",
        "groupKey": "{}:{alertname=\"HighLatency\"}",
        "truncatedAlerts": 0,
        "status": if firing { "firing" } else { "resolved" },
        "receiver": "hocd",
        "groupLabels": { "alertname": "HighLatency" },
        "commonLabels": { "alertname": "HighLatency", "severity": "critical" },
        "commonAnnotations": {},
        "externalURL": external,
        "alerts": alerts,
    }))
    .expect("a webhook body")
}

const ZERO: &str = "0001-01-01T00:00:00Z";

async fn send(spine: &Spine, body: &AlertmanagerWebhook) -> Vec<(String, String)> {
    spine
        .call(&monitor("t1"), body)
        .await
        .expect("delivery applied")
        .incidents
        .into_iter()
        .map(|t| {
            (
                t.id,
                serde_json::to_value(t.outcome)
                    .expect("outcome")
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

async fn fetch(spine: &Spine, id: impl Into<String>) -> hoc_incidents::Incident {
    spine
        .call(&crate::ctx("t1"), &GetIncident { id: id.into() })
        .await
        .expect("incident")
        .incident
}

async fn alerts(spine: &Spine, id: &str) -> Vec<(String, String, i64)> {
    spine
        .call(&crate::ctx("t1"), &ListAlerts { id: id.to_owned() })
        .await
        .expect("alerts")
        .items
        .into_iter()
        .map(|a| {
            (
                a.dedup_key,
                serde_json::to_value(a.status)
                    .expect("status")
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                a.occurrences,
            )
        })
        .collect()
}

hoc_drivers::storage_test!(
    a_group_opens_one_incident_that_its_alerts_feed_and_resolve,
    |db| {
        let clock = TestClock::at(time::macros::datetime!(2026-12-01 09:00 UTC));
        let spine = clock.install(spine(&db));

        // The first delivery opens one incident for the group, from the alert's labels and annotations.
        let first = delivery(
            vec![alert(
                "aaaa1111",
                "firing",
                "2026-12-01T08:59:00Z",
                ZERO,
                "web-1",
            )],
            "http://am-1:9093",
        );
        let touched = send(&spine, &first).await;
        assert_eq!(touched.len(), 1);
        assert_eq!(touched[0].1, "created");
        let id = touched[0].0.clone();
        let incident = fetch(&spine, id.clone()).await;
        assert_eq!(incident.title, "Checkout p99 above 2 s");
        assert_eq!(incident.severity.as_str(), "critical");
        assert_eq!(incident.service.as_deref(), Some("checkout"));
        assert_eq!(
            incident.description.as_deref(),
            Some("p99 latency\nabove 2 s")
        );
        // Labels whose keys the incident's rule allows are kept; `podName` (uppercase) stays on the alert only.
        assert_eq!(
            incident.labels.get("instance").map(String::as_str),
            Some("web-1")
        );
        assert!(!incident.labels.contains_key("podName"));

        // The same delivery from the HA peer (another externalURL) changes nothing.
        clock.set(time::macros::datetime!(2026-12-01 09:00:10 UTC));
        let before = hoc_drivers::testing::row_counts(&db).await;
        let copy = delivery(
            vec![alert(
                "aaaa1111",
                "firing",
                "2026-12-01T08:59:00Z",
                ZERO,
                "web-1",
            )],
            "http://am-2:9093",
        );
        assert_eq!(
            send(&spine, &copy).await,
            [(id.clone(), "unchanged".to_owned())]
        );
        assert_eq!(hoc_drivers::testing::row_counts(&db).await, before);

        // A second alert joins the group: the same incident, the first alert named again (one more occurrence).
        clock.set(time::macros::datetime!(2026-12-01 09:05 UTC));
        let second = delivery(
            vec![
                alert("aaaa1111", "firing", "2026-12-01T08:59:00Z", ZERO, "web-1"),
                alert("bbbb2222", "firing", "2026-12-01T09:04:00Z", ZERO, "web-2"),
            ],
            "http://am-1:9093",
        );
        assert_eq!(
            send(&spine, &second).await,
            [(id.clone(), "updated".to_owned())]
        );
        assert_eq!(
            alerts(&spine, &id).await,
            [
                ("aaaa1111".to_owned(), "firing".to_owned(), 2),
                ("bbbb2222".to_owned(), "firing".to_owned(), 1)
            ]
        );
        let listed = spine
            .call(&crate::ctx("t1"), &ListIncidents::default())
            .await
            .expect("list");
        assert_eq!(listed.items.len(), 1, "one incident per group");

        // One alert resolves: the incident stays open; the last one resolves it, as the monitor.
        clock.set(time::macros::datetime!(2026-12-01 09:10 UTC));
        let one_resolved = delivery(
            vec![
                alert(
                    "aaaa1111",
                    "resolved",
                    "2026-12-01T08:59:00Z",
                    "2026-12-01T09:09:00Z",
                    "web-1",
                ),
                alert("bbbb2222", "firing", "2026-12-01T09:04:00Z", ZERO, "web-2"),
            ],
            "http://am-1:9093",
        );
        assert_eq!(
            send(&spine, &one_resolved).await,
            [(id.clone(), "updated".to_owned())]
        );
        clock.set(time::macros::datetime!(2026-12-01 09:15 UTC));
        let all_resolved = delivery(
            vec![
                alert(
                    "aaaa1111",
                    "resolved",
                    "2026-12-01T08:59:00Z",
                    "2026-12-01T09:09:00Z",
                    "web-1",
                ),
                alert(
                    "bbbb2222",
                    "resolved",
                    "2026-12-01T09:04:00Z",
                    "2026-12-01T09:14:00Z",
                    "web-2",
                ),
            ],
            "http://am-1:9093",
        );
        assert_eq!(
            send(&spine, &all_resolved).await,
            [(id.clone(), "resolved".to_owned())]
        );
        let resolved = fetch(&spine, id.clone()).await;
        assert_eq!(resolved.status.as_str(), "resolved");
        assert_eq!(resolved.resolution_type.map(|t| t.as_str()), Some("auto"));
        assert_eq!(resolved.resolved_by.as_deref(), Some("alertmanager"));

        // The timeline tells the alerts' story; the alerts read at an instant show them as they were.
        let timeline = spine
            .call(&crate::ctx("t1"), &IncidentTimeline { id: id.clone() })
            .await
            .expect("timeline");
        let kinds: Vec<String> = timeline
            .items
            .iter()
            .map(|e| e.event_type.as_str().to_owned())
            .collect();
        assert_eq!(
            kinds,
            [
                "created",
                "alert_fired",
                "alert_fired_again",
                "alert_fired",
                "alert_resolved",
                // A new delivery names the still-firing alert: one more occurrence (HTTP API: per delivery identity).
                "alert_fired_again",
                "alert_resolved",
                "resolved"
            ]
        );
        let at_first = spine
            .call(
                &crate::ctx("t1").with_as_of(time::macros::datetime!(2026-12-01 09:01 UTC)),
                &ListAlerts { id: id.clone() },
            )
            .await
            .expect("alerts then");
        assert_eq!(at_first.items.len(), 1);
        assert_eq!(at_first.items[0].occurrences, 1);

        // The same alert firing anew (a new start) after the resolve opens a new incident in the same group.
        clock.set(time::macros::datetime!(2026-12-01 10:00 UTC));
        let again = delivery(
            vec![alert(
                "aaaa1111",
                "firing",
                "2026-12-01T09:58:00Z",
                ZERO,
                "web-1",
            )],
            "http://am-1:9093",
        );
        let touched = send(&spine, &again).await;
        assert_eq!(touched[0].1, "created");
        assert_ne!(touched[0].0, id);
        let new_incident = fetch(&spine, touched[0].0.clone()).await;
        assert_eq!(
            new_incident.recurrence_signature,
            resolved.recurrence_signature
        );
    }
);

hoc_drivers::storage_test!(a_late_replay_never_undoes_an_operators_resolve, |db| {
    let clock = TestClock::at(time::macros::datetime!(2026-12-01 09:00 UTC));
    let spine = clock.install(spine(&db));
    let fire = |instance: &str| {
        delivery(
            vec![alert(
                "cccc3333",
                "firing",
                "2026-12-01T08:59:00Z",
                ZERO,
                instance,
            )],
            "http://am-1:9093",
        )
    };
    let id = send(&spine, &fire("web-9")).await[0].0.clone();
    clock.set(time::macros::datetime!(2026-12-01 09:05 UTC));
    spine
        .call(
            &crate::ctx("t1"),
            &ResolveIncident {
                id: id.clone(),
                resolution_type: Some("rollback".into()),
                ..ResolveIncident::default()
            },
        )
        .await
        .expect("operator resolves");
    // The sender repeats its old notification (here with a changed label, so it is another delivery): the
    // firing it reports is already known, and the operator's resolve stands.
    clock.set(time::macros::datetime!(2026-12-01 09:10 UTC));
    assert_eq!(
        send(&spine, &fire("web-1b")).await,
        [(id.clone(), "unchanged".to_owned())]
    );
    let incident = fetch(&spine, id.clone()).await;
    assert_eq!(incident.status.as_str(), "resolved");
    assert_eq!(
        incident.resolution_type.map(|t| t.as_str()),
        Some("rollback")
    );
    let listed = spine
        .call(&crate::ctx("t1"), &ListIncidents::default())
        .await
        .expect("list");
    assert_eq!(listed.items.len(), 1);
});

hoc_drivers::storage_test!(
    a_bad_delivery_names_every_bad_field_and_writes_nothing,
    |db| {
        let spine = spine(&db);
        let bad: AlertmanagerWebhook = serde_json::from_value(json!({
            "version": "3",
            "groupKey": "",
            "status": "burning",
            "truncatedAlerts": -1,
            "alerts": [
                alert("dddd4444", "firing", "yesterday", ZERO, "web-1"),
                alert("", "resolvd", "2026-12-01T08:59:00Z", "soon", "web-2"),
                alert("eeee5555", "firing", "", ZERO, "web-3"),
            ],
        }))
        .expect("a webhook body");
        let before = db.counters();
        let err = refused_without_writes!(
            db,
            ErrorCode::InvalidInput,
            spine.call(&monitor("t1"), &bad)
        );
        // Parsed before any transaction begins (`PARSES_FIRST`): a bad body never takes a lock, SQLite's write
        // lock included.
        assert_eq!(
            (db.counters() - before).transactions,
            0,
            "a bad delivery began a transaction"
        );
        let hoc_spine::OperationError::InvalidInput { fields } = err else {
            panic!("not invalid input: {err}");
        };
        let fields: Vec<String> = fields.iter().map(|f| f.field.clone()).collect();
        for field in [
            "version",
            "groupKey",
            "truncatedAlerts",
            "status",
            "alerts[0].startsAt",
            "alerts[1].status",
            "alerts[1].endsAt",
            "alerts[1].fingerprint",
            "alerts[2].startsAt",
        ] {
            assert!(
                fields.iter().any(|f| f == field),
                "{field} not named in {fields:?}"
            );
        }
    }
);

hoc_drivers::storage_test!(
    the_ingest_policy_decides_incidents_resolution_reopening_and_titles,
    |db| {
        use hoc_contracts::input::JsonInt;
        use hoc_spine::requests::{GetIngestPolicy, PutIngestPolicy};
        let clock = TestClock::at(time::macros::datetime!(2026-12-01 09:00 UTC));
        let spine = clock.install(spine(&db));
        let operator = crate::ctx("t1");
        let defaults = spine
            .call(&operator, &GetIngestPolicy::default())
            .await
            .expect("policy");
        assert_eq!(
            (defaults.version, defaults.incident_per.as_str()),
            (0, "group")
        );

        // Every bad field at once, nothing written.
        let bad = PutIngestPolicy {
            incident_per: Some("cluster".into()),
            resolve_on: Some("sometimes".into()),
            reopen_window_seconds: Some(JsonInt(-1)),
            severity_map: Some([("P1".to_owned(), "urgent".to_owned())].into()),
            ..PutIngestPolicy::default()
        };
        let err = refused_without_writes!(db, ErrorCode::InvalidInput, spine.call(&operator, &bad));
        let hoc_spine::OperationError::InvalidInput { fields } = err else {
            panic!("not invalid input: {err}");
        };
        let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
        for field in [
            "incident_per",
            "resolve_on",
            "reopen_window_seconds",
            "severity_map",
        ] {
            assert!(names.contains(&field), "{field} not named in {names:?}");
        }

        // One incident per alert, resolved at the first resolution, reopened within ten minutes, titled by template.
        clock.set(time::macros::datetime!(2026-12-01 09:01 UTC));
        let policy = spine
            .call(
                &operator,
                &PutIngestPolicy {
                    incident_per: Some("alert".into()),
                    resolve_on: Some("first".into()),
                    reopen_window_seconds: Some(JsonInt(600)),
                    severity_map: Some([("p1".to_owned(), "critical".to_owned())].into()),
                    severity_label: Some("priority".into()),
                    title_template: Some("{alertname} on {instance}".into()),
                    expected_version: Some(JsonInt(0)),
                    ..PutIngestPolicy::default()
                },
            )
            .await
            .expect("policy written");
        assert_eq!(policy.version, 1);
        let stale = spine
            .call(
                &operator,
                &PutIngestPolicy {
                    expected_version: Some(JsonInt(0)),
                    ..PutIngestPolicy::default()
                },
            )
            .await
            .expect_err("stale");
        assert_eq!(stale.code(), ErrorCode::StaleVersion);

        let mut first = alert("ffff0001", "firing", "2026-12-01T09:01:30Z", ZERO, "db-1");
        first["labels"]["priority"] = json!("P1");
        let second = alert("ffff0002", "firing", "2026-12-01T09:01:30Z", ZERO, "db-2");
        clock.set(time::macros::datetime!(2026-12-01 09:02 UTC));
        let touched = send(
            &spine,
            &delivery(vec![first.clone(), second], "http://am-1:9093"),
        )
        .await;
        assert_eq!(touched.len(), 2, "one incident per alert: {touched:?}");
        let get = |id: String| {
            let spine = spine.clone();
            async move {
                spine
                    .call(&crate::ctx("t1"), &GetIncident { id })
                    .await
                    .expect("incident")
                    .incident
            }
        };
        let one = get(touched[0].0.clone()).await;
        assert_eq!(one.title, "HighLatency on db-1");
        assert_eq!(one.severity.as_str(), "critical");

        // The first alert resolves: its incident is resolved at once; a new firing within the window reopens it.
        clock.set(time::macros::datetime!(2026-12-01 09:03 UTC));
        let mut ended = first.clone();
        ended["status"] = json!("resolved");
        ended["endsAt"] = json!("2026-12-01T09:02:50Z");
        assert_eq!(
            send(&spine, &delivery(vec![ended], "http://am-1:9093")).await,
            [(one.id.clone(), "resolved".to_owned())]
        );
        clock.set(time::macros::datetime!(2026-12-01 09:05 UTC));
        let mut again = first.clone();
        again["startsAt"] = json!("2026-12-01T09:04:30Z");
        assert_eq!(
            send(&spine, &delivery(vec![again], "http://am-1:9093")).await,
            [(one.id.clone(), "created".to_owned())]
        );
        assert_eq!(get(one.id.clone()).await.status.as_str(), "open");

        // The policy in force at an instant is the one read there.
        let then = spine
            .call(
                &crate::ctx("t1").with_as_of(time::macros::datetime!(2026-12-01 09:00:30 UTC)),
                &GetIngestPolicy::default(),
            )
            .await
            .expect("policy then");
        assert_eq!(then.version, 0);
    }
);

hoc_drivers::storage_test!(
    pagerduty_events_trigger_acknowledge_and_resolve_by_dedup_key,
    |db| {
        use hoc_spine::requests::{EventPayload, PagerDutyEvent};
        let clock = TestClock::at(time::macros::datetime!(2026-12-01 09:00 UTC));
        let spine = clock.install(spine(&db));
        let event = |action: &str, key: Option<&str>| PagerDutyEvent {
            routing_key: Some("checked by the host".into()),
            event_action: Some(action.into()),
            dedup_key: key.map(str::to_owned),
            payload: Some(EventPayload {
                summary: Some("Disk 95 % full on db-1".into()),
                source: Some("db-1".into()),
                severity: Some("error".into()),
                component: Some("postgres".into()),
                custom_details: Some(json!({"free": "5 %", "mount": {"path": "/var"}})),
                ..EventPayload::default()
            }),
            ..PagerDutyEvent::default()
        };
        // A trigger without a key gets one and opens an incident (PagerDuty's `error` is our high).
        let first = spine
            .call(&monitor("t1"), &event("trigger", None))
            .await
            .expect("trigger");
        assert_eq!(
            (first.status.as_str(), first.message.as_str()),
            ("success", "Event processed")
        );
        let key = first.dedup_key.clone();
        assert!(key.starts_with("pd_"), "{key}");
        let listed = spine
            .call(&crate::ctx("t1"), &ListIncidents::default())
            .await
            .expect("list");
        assert_eq!(listed.items.len(), 1);
        let incident = listed.items[0].clone();
        assert_eq!(
            (incident.title.as_str(), incident.severity.as_str()),
            ("Disk 95 % full on db-1", "high")
        );
        // The same key again: the same incident, a second occurrence; the details are the alert's annotations.
        clock.set(time::macros::datetime!(2026-12-01 09:01 UTC));
        spine
            .call(&monitor("t1"), &event("trigger", Some(&key)))
            .await
            .expect("trigger again");
        let fed = spine
            .call(
                &crate::ctx("t1"),
                &ListAlerts {
                    id: incident.id.clone(),
                },
            )
            .await
            .expect("alerts");
        assert_eq!(fed.items.len(), 1);
        assert_eq!(fed.items[0].occurrences, 2);
        assert_eq!(fed.items[0].source, "pagerduty");
        assert_eq!(
            fed.items[0].annotations.get("mount").map(String::as_str),
            Some(r#"{"path":"/var"}"#)
        );
        // Acknowledge, then resolve, by the key.
        clock.set(time::macros::datetime!(2026-12-01 09:02 UTC));
        spine
            .call(&monitor("t1"), &event("acknowledge", Some(&key)))
            .await
            .expect("acknowledge");
        let get = || async { fetch(&spine, incident.id.clone()).await };
        assert_eq!(get().await.status.as_str(), "acknowledged");
        clock.set(time::macros::datetime!(2026-12-01 09:03 UTC));
        spine
            .call(&monitor("t1"), &event("resolve", Some(&key)))
            .await
            .expect("resolve");
        let resolved = get().await;
        assert_eq!(resolved.status.as_str(), "resolved");
        assert_eq!(resolved.resolution_type.map(|t| t.as_str()), Some("auto"));
        // An event that breaks PagerDuty's rules names every bad field and writes nothing.
        let bad = PagerDutyEvent {
            routing_key: None,
            event_action: Some("resolve".into()),
            ..PagerDutyEvent::default()
        };
        let err = refused_without_writes!(
            db,
            ErrorCode::InvalidInput,
            spine.call(&monitor("t1"), &bad)
        );
        let hoc_spine::OperationError::InvalidInput { fields } = err else {
            panic!("not invalid input: {err}");
        };
        let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(names, ["routing_key", "dedup_key"]);
        let mut no_payload = event("trigger", None);
        no_payload.payload = Some(EventPayload::default());
        let err = refused_without_writes!(
            db,
            ErrorCode::InvalidInput,
            spine.call(&monitor("t1"), &no_payload)
        );
        let hoc_spine::OperationError::InvalidInput { fields } = err else {
            panic!("not invalid input: {err}");
        };
        let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            names,
            ["payload.summary", "payload.source", "payload.severity"]
        );
    }
);

hoc_drivers::storage_test!(
    the_tenants_alerts_list_by_status_and_source_at_an_instant,
    |db| {
        use hoc_spine::requests::ListTenantAlerts;
        let clock = TestClock::at(time::macros::datetime!(2026-12-01 09:00 UTC));
        let spine = clock.install(spine(&db));
        let firing: Vec<Value> = (1..=3)
            .map(|i| {
                alert(
                    &format!("aa{i:02}"),
                    "firing",
                    "2026-12-01T08:59:00Z",
                    ZERO,
                    &format!("n-{i}"),
                )
            })
            .collect();
        send(&spine, &delivery(firing, "http://am-1:9093")).await;
        clock.set(time::macros::datetime!(2026-12-01 09:10 UTC));
        let ended = alert(
            "aa02",
            "resolved",
            "2026-12-01T08:59:00Z",
            "2026-12-01T09:09:00Z",
            "n-2",
        );
        send(&spine, &delivery(vec![ended], "http://am-1:9093")).await;
        let keys = |query: ListTenantAlerts, at: Option<time::OffsetDateTime>| {
            let spine = spine.clone();
            async move {
                let ctx = match at {
                    Some(at) => crate::ctx("t1").with_as_of(at),
                    None => crate::ctx("t1"),
                };
                let page = spine.call(&ctx, &query).await.expect("alerts");
                (
                    page.items
                        .into_iter()
                        .map(|a| a.dedup_key)
                        .collect::<Vec<_>>(),
                    page.next_cursor,
                )
            }
        };
        let by_status = |status: &str| ListTenantAlerts {
            status: Some(status.to_owned()),
            ..ListTenantAlerts::default()
        };
        // Newest first (all three arrived together: by id, descending) — whatever the order, the sets are exact.
        let (mut now_firing, _) = keys(by_status("firing"), None).await;
        now_firing.sort();
        assert_eq!(now_firing, ["aa01", "aa03"]);
        assert_eq!(keys(by_status("resolved"), None).await.0, ["aa02"]);
        // Before the resolution, all three fired.
        let (then_firing, _) = keys(
            by_status("firing"),
            Some(time::macros::datetime!(2026-12-01 09:05 UTC)),
        )
        .await;
        assert_eq!(then_firing.len(), 3);
        // Pages of two, then the rest; another source has none.
        let (first, cursor) = keys(
            ListTenantAlerts {
                limit: Some(2),
                ..ListTenantAlerts::default()
            },
            None,
        )
        .await;
        assert_eq!(first.len(), 2);
        let (rest, last) = keys(
            ListTenantAlerts {
                limit: Some(2),
                cursor,
                ..ListTenantAlerts::default()
            },
            None,
        )
        .await;
        assert_eq!((rest.len(), last), (1, None));
        assert!(!first.contains(&rest[0]));
        let other = ListTenantAlerts {
            source: Some("pagerduty".into()),
            ..ListTenantAlerts::default()
        };
        assert!(keys(other, None).await.0.is_empty());
    }
);

hoc_drivers::storage_test!(
    resolving_a_group_costs_the_same_statements_for_five_alerts_or_fifty,
    |db| {
        let spine = spine(&db);
        // Statements one delivery that resolves all `n` alerts of a group costs (the tenant's own group).
        let mut costs = Vec::new();
        for (tenant, n) in [("t5", 5), ("t50", 50)] {
            let firing: Vec<Value> = (0..n)
                .map(|i| {
                    alert(
                        &format!("fp{i}"),
                        "firing",
                        "2026-12-06T09:00:00Z",
                        ZERO,
                        "web-0",
                    )
                })
                .collect();
            spine
                .call(&monitor(tenant), &delivery(firing, "http://am"))
                .await
                .expect("fired");
            let ended: Vec<Value> = (0..n)
                .map(|i| {
                    alert(
                        &format!("fp{i}"),
                        "resolved",
                        "2026-12-06T09:00:00Z",
                        "2026-12-06T09:30:00Z",
                        "web-0",
                    )
                })
                .collect();
            let before = db.counters().statements;
            let report = spine
                .call(&monitor(tenant), &delivery(ended, "http://am"))
                .await
                .expect("resolved");
            costs.push(db.counters().statements - before);
            let outcome = serde_json::to_value(report.incidents[0].outcome).expect("outcome");
            assert_eq!(outcome, json!("resolved"));
        }
        // The alerts' versions, their timeline rows, audit rows and events are written in batches, their last
        // versions read in one statement and the incident locked once: the cost does not grow with the alerts.
        assert_eq!(costs[0], costs[1], "statements for 5 and 50 alerts");
    }
);
