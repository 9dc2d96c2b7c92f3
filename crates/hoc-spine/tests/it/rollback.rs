//! A failure after the state change rolls back the change, its timeline row and its audit row.

use hoc_contracts::DomainEvent;
use hoc_drivers::testing::row_counts;
use hoc_incidents::IncidentState;
use hoc_spine::input::Text;
use hoc_spine::requests::{GetIncident, ListEvents};
use hoc_spine::{
    Call, ErrorCode, OperationError, OperationMethod, Output, Spine, builtin_operations,
};
use serde_json::json;

use crate::{create, ctx};

/// Acknowledges for real, then breaks in the way `mode` says.
async fn sabotage(
    call: Call<'_>,
    id: &str,
    mode: &str,
) -> Result<Output<serde_json::Value>, OperationError> {
    let input = hoc_incidents::AcknowledgeIncident {
        id: id.to_owned(),
        reason: None,
    }
    .parse()
    .map_err(OperationError::invalid)?;
    let caller = hoc_incidents::Caller {
        tenant_id: call.ctx.tenant_id(),
        actor: call.ctx.actor(),
        request_id: call.ctx.request_id(),
        now: call.now,
    };
    let outcome = hoc_incidents::acknowledge(call.tx, &caller, input)
        .await
        .map_err(|e| OperationError::Internal {
            message: e.to_string(),
        })?;
    let mut output = Output {
        response: json!({}),
        audit: outcome.audit,
        events: outcome.events,
    };
    match mode {
        // A second event whose id is empty: validation refuses it after the change, timeline and audit
        // were written and a valid event was already in the outbox.
        "invalid_event" => {
            output.events.push(DomainEvent::IncidentAcknowledged(
                hoc_contracts::events::IncidentAcknowledged {
                    incident_id: String::new(),
                    incident_state: hoc_contracts::input::IncidentState::Acknowledged,
                },
            ));
            Ok(output)
        }
        "error_after_write" => Err(OperationError::Conflict {
            message: "late failure".into(),
        }),
        _ => Ok(output),
    }
}

macro_rules! sabotage_method {
    ($name:ident, $parsed:ident, $method:literal, $writes:literal) => {
        hoc_spine::request! {
            /// A sabotaged acknowledge.
            struct $name => $parsed {
                /// The incident.
                id: String => required Text<64>,
            }
        }

        #[hoc_spine::async_trait::async_trait]
        impl OperationMethod for $name {
            const OPERATION: &'static str = "test.sabotage";
            const METHOD: &'static str = $method;
            const WRITES: bool = $writes;
            type Response = serde_json::Value;

            async fn run(
                &self,
                call: Call<'_>,
            ) -> Result<Output<serde_json::Value>, OperationError> {
                sabotage(call, &self.id, $method).await
            }
        }
    };
}

sabotage_method!(InvalidEvent, InvalidEventInput, "invalid_event", true);
sabotage_method!(
    ErrorAfterWrite,
    ErrorAfterWriteInput,
    "error_after_write",
    true
);
sabotage_method!(ReadThatEmits, ReadThatEmitsInput, "read_that_emits", false);

fn sabotaged(db: &hoc_drivers::Database) -> Spine {
    let registry = builtin_operations()
        .and_then(|b| b.register::<InvalidEvent>())
        .and_then(|b| b.register::<ErrorAfterWrite>())
        .and_then(|b| b.register::<ReadThatEmits>())
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
            // A read runs on a reader, which refuses its first write.
            "read_that_emits",
            ErrorCode::Internal,
            "a write through a read-only handle",
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
            (IncidentState::Open, 1),
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
