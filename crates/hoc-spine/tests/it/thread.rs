//! One request, one thread through the records: an event's `request_id` leads to the audit entry and the timeline
//! row its call wrote.

use hoc_spine::requests::{AcknowledgeIncident, IncidentTimeline, ListAudit, ListEvents};

use crate::{create, ctx, spine};

hoc_drivers::storage_test!(
    an_events_request_id_leads_to_its_audit_entry_and_timeline_row,
    |db| {
        let spine = spine(&db);
        let incident = create(&spine, "t1", "Queue backlog").await;
        let acking = ctx("t1")
            .with_request_id("req_thread_ack")
            .expect("sane id");
        spine
            .call(
                &acking,
                &AcknowledgeIncident {
                    id: incident.id.clone(),
                    reason: Some("draining".into()),
                },
            )
            .await
            .expect("acknowledge");

        let events = spine
            .call(&ctx("t1"), &ListEvents::default())
            .await
            .expect("events")
            .items;
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].schema_version, hoc_spine::SCHEMA_VERSION);
        let ack = &events[1];
        assert_eq!(ack.event_type, "incidents.IncidentAcknowledged");
        assert_eq!(ack.request_id, "req_thread_ack");
        assert_ne!(
            events[0].request_id, ack.request_id,
            "each call has its own"
        );

        let audit = spine
            .call(
                &ctx("t1"),
                &ListAudit {
                    request_id: Some(ack.request_id.clone()),
                    ..ListAudit::default()
                },
            )
            .await
            .expect("audit by request")
            .items;
        assert_eq!(audit.len(), 1, "{audit:?}");
        assert_eq!(
            (
                audit[0].action.as_str(),
                audit[0].entity_id.as_str(),
                audit[0].request_id.as_str()
            ),
            (
                "incidents.write.acknowledge",
                incident.id.as_str(),
                "req_thread_ack"
            )
        );

        let timeline = spine
            .call(
                &ctx("t1"),
                &IncidentTimeline {
                    id: incident.id.clone(),
                },
            )
            .await
            .expect("timeline")
            .items;
        let rows: Vec<(&str, Option<&str>)> = timeline
            .iter()
            .map(|row| (row.event_type.as_str(), row.request_id.as_deref()))
            .collect();
        assert_eq!(rows[1], ("acknowledged", Some("req_thread_ack")));
        assert_eq!(rows[0].1, Some(events[0].request_id.as_str()));

        // Another tenant finds nothing under the same request id.
        let foreign = spine
            .call(
                &ctx("t2"),
                &ListAudit {
                    request_id: Some("req_thread_ack".into()),
                    ..ListAudit::default()
                },
            )
            .await
            .expect("audit of t2")
            .items;
        assert!(foreign.is_empty());
    }
);
