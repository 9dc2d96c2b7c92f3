//! A failure after the state change rolls back the change, its timeline row and its audit row.

use async_trait::async_trait;
use hoc_contracts::DomainEvent;
use hoc_drivers::testing::row_counts;
use hoc_incidents::IncidentStatus;
use hoc_spine::requests::{GetIncident, ListEvents};
use hoc_spine::{
    Call, Effects, ErrorCode, Method, Operation, OperationError, Spine, builtin_operations,
};
use serde_json::json;

use crate::{create, ctx};

/// Acknowledges for real, then breaks in the way the method name says.
struct Sabotage;

#[async_trait]
impl Operation for Sabotage {
    fn name(&self) -> &'static str {
        "test.sabotage"
    }
    fn methods(&self) -> &'static [Method] {
        &[
            Method {
                name: "invalid_event",
                writes: true,
            },
            Method {
                name: "error_after_write",
                writes: true,
            },
            Method {
                name: "read_that_emits",
                writes: false,
            },
        ]
    }
    async fn execute(&self, call: Call<'_>) -> Result<Effects, OperationError> {
        let outcome = hoc_incidents::acknowledge(
            call.tx,
            call.ctx.tenant_id(),
            call.ctx.actor(),
            call.now,
            call.payload,
        )
        .await
        .map_err(|e| OperationError::Internal {
            message: e.to_string(),
        })?;
        let mut effects = Effects {
            response: json!({}),
            audit: outcome.audit,
            events: outcome.events,
        };
        match call.method {
            // A second event whose id is empty: validation refuses it after the change, timeline and audit
            // were written and a valid event was already in the outbox.
            "invalid_event" => {
                effects.events.push(DomainEvent::IncidentAcknowledged {
                    incident_id: String::new(),
                    incident_state: "acknowledged".into(),
                });
                Ok(effects)
            }
            "error_after_write" => Err(OperationError::Conflict {
                message: "late failure".into(),
            }),
            _ => Ok(effects),
        }
    }
}

fn sabotaged(db: &hoc_drivers::Database) -> Spine {
    let registry = builtin_operations()
        .and_then(|b| b.register(Sabotage))
        .expect("registers")
        .freeze();
    Spine::with_registry(db.clone(), registry)
}

hoc_drivers::storage_test!(failures_after_the_state_change_roll_everything_back, |db| {
    let spine = sabotaged(&db);
    let incident = create(&spine, "t1", "Cache stampede").await;
    for (method, code, message) in [
        (
            "invalid_event",
            ErrorCode::Internal,
            "invalid `data.incident_id`: must not be empty",
        ),
        ("error_after_write", ErrorCode::Conflict, "late failure"),
        (
            "read_that_emits",
            ErrorCode::Internal,
            "read method test.sabotage.read_that_emits tried to write",
        ),
    ] {
        let before = row_counts(&db).await;
        let err = spine
            .execute(
                &ctx("t1"),
                "test.sabotage",
                method,
                json!({"id": incident.id}),
            )
            .await
            .expect_err("sabotage fails");
        assert_eq!(err.code(), code, "{method}: {err}");
        assert!(err.to_string().contains(message), "{method}: {err}");
        assert_eq!(row_counts(&db).await, before, "{method} left rows behind");
        let now = spine
            .call(
                &ctx("t1"),
                &GetIncident {
                    id: incident.id.clone(),
                },
            )
            .await
            .expect("get");
        assert_eq!(
            (now.status, now.version),
            (IncidentStatus::Open, 1),
            "{method} changed the incident"
        );
    }
    // The sequence counter was rolled back too: the next event is number 2, not 5.
    spine
        .call(
            &ctx("t1"),
            &hoc_spine::requests::AcknowledgeIncident {
                id: incident.id.clone(),
                reason: None,
            },
        )
        .await
        .expect("a clean acknowledge still works");
    let seqs: Vec<i64> = spine
        .call(&ctx("t1"), &ListEvents::default())
        .await
        .expect("events")
        .items
        .iter()
        .map(|e| e.sequence_no)
        .collect();
    assert_eq!(seqs, [1, 2]);
});
