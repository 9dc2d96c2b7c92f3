use async_trait::async_trait;
use hoc_spine::{
    Call, Effects, ErrorCode, Method, Operation, OperationError, RegistryBuilder,
    builtin_operations,
};
use serde_json::json;

use crate::{ctx, spine};

struct Noop(&'static str);

#[async_trait]
impl Operation for Noop {
    fn name(&self) -> &'static str {
        self.0
    }
    fn methods(&self) -> &'static [Method] {
        &[Method {
            name: "run",
            writes: false,
        }]
    }
    async fn execute(&self, _call: Call<'_>) -> Result<Effects, OperationError> {
        Ok(Effects::read(json!({"ran": self.0})))
    }
}

#[test]
fn duplicate_names_are_rejected() {
    let builder = RegistryBuilder::new()
        .register(Noop("x.op"))
        .expect("first registration");
    match builder.register(Noop("x.op")) {
        Err(err @ OperationError::Conflict { .. }) => {
            assert_eq!(
                err.to_string(),
                "conflict: operation `x.op` is already registered"
            );
        }
        other => panic!("expected a conflict, got {:?}", other.map(|b| b.freeze())),
    }
    // A built-in name cannot be taken over by a host either.
    let taken = builtin_operations()
        .expect("builtins")
        .register(Noop("incidents.write"));
    assert!(matches!(taken, Err(OperationError::Conflict { .. })));
}

#[test]
fn frozen_registry_lists_the_builtin_methods() {
    let registry = builtin_operations().expect("builtins").freeze();
    assert_eq!(
        registry.methods(),
        [
            "analytics.artifacts.get",
            "analytics.artifacts.list",
            "analytics.artifacts.save",
            "audit.query.list",
            "events.feed.list",
            "incidents.query.audit",
            "incidents.query.get",
            "incidents.query.list",
            "incidents.query.timeline",
            "incidents.recurrence.create_postmortem_stub",
            "incidents.recurrence.get_recurrence_group",
            "incidents.recurrence.group_for_incident",
            "incidents.write.acknowledge",
            "incidents.write.close",
            "incidents.write.create",
            "incidents.write.reopen",
            "incidents.write.resolve",
        ]
    );
}

hoc_drivers::storage_test!(unknown_operations_and_methods_are_refused, |db| {
    let spine = spine(&db);
    let err = spine
        .execute(&ctx("t1"), "incidents.explode", "run", json!({}))
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::UnknownOperation);
    assert_eq!(err.to_string(), "unknown operation `incidents.explode`");
    let err = spine
        .execute(&ctx("t1"), "incidents.write", "delete", json!({}))
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::UnknownOperation);
    assert_eq!(
        err.to_string(),
        "unknown operation `incidents.write.delete`"
    );
});

hoc_drivers::storage_test!(host_operations_are_reachable_once_registered, |db| {
    let registry = builtin_operations()
        .and_then(|b| b.register(Noop("host.ping")))
        .expect("registers")
        .freeze();
    let spine = hoc_spine::Spine::with_registry(db.clone(), registry);
    let out = spine
        .execute(&ctx("t1"), "host.ping", "run", json!({}))
        .await
        .expect("runs");
    assert_eq!(out, json!({"ran": "host.ping"}));
});
