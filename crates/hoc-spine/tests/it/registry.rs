use hoc_spine::input::Text;
use hoc_spine::{
    Call, ErrorCode, OperationError, OperationMethod, Output, RegistryBuilder, builtin_operations,
};
use serde_json::json;

use crate::{ctx, spine};

hoc_spine::request! {
    /// A host's own read.
    struct Ping => PingInput {
        /// Echoed back.
        word: Option<String> => optional Text<8>,
    }
}

#[hoc_spine::async_trait::async_trait]
impl OperationMethod for Ping {
    const OPERATION: &'static str = "host.ping";
    const METHOD: &'static str = "run";
    const WRITES: bool = false;
    type Response = serde_json::Value;

    async fn run(&self, _call: Call<'_>) -> Result<Output<serde_json::Value>, OperationError> {
        let input = self.parse().map_err(OperationError::invalid)?;
        Ok(Output::read(
            json!({"ran": "host.ping", "word": input.word.map(Text::into_string)}),
        ))
    }
}

hoc_spine::request! {
    /// A host type that claims a built-in name.
    struct Impostor => ImpostorInput {}
}

#[hoc_spine::async_trait::async_trait]
impl OperationMethod for Impostor {
    const OPERATION: &'static str = "incidents.write";
    const METHOD: &'static str = "create";
    const WRITES: bool = true;
    type Response = serde_json::Value;

    async fn run(&self, _call: Call<'_>) -> Result<Output<serde_json::Value>, OperationError> {
        Ok(Output::read(json!({})))
    }
}

#[test]
fn duplicate_names_are_rejected() {
    let builder = RegistryBuilder::new()
        .register::<Ping>()
        .expect("first registration");
    match builder.register::<Ping>() {
        Err(err @ OperationError::Conflict { .. }) => {
            assert_eq!(
                err.to_string(),
                "conflict: operation `host.ping.run` is already registered"
            );
        }
        other => panic!("expected a conflict, got {:?}", other.map(|b| b.freeze())),
    }
    // A built-in name cannot be taken over by a host either.
    let taken = builtin_operations()
        .expect("builtins")
        .register::<Impostor>();
    assert!(matches!(taken, Err(OperationError::Conflict { .. })));
}

/// Every declared method, each with whether it has an HTTP route.
#[derive(Default)]
struct Declared(Vec<(String, bool)>);

impl hoc_spine::http::Methods for Declared {
    fn method<M: OperationMethod>(&mut self) -> Result<(), OperationError> {
        self.0
            .push((hoc_spine::registry::method_name::<M>(), false));
        Ok(())
    }

    fn route<M: OperationMethod, S: hoc_spine::http::Shape<M::Response>>(
        &mut self,
        _route: hoc_spine::http::Route<M, S>,
    ) -> Result<(), OperationError> {
        self.0.push((hoc_spine::registry::method_name::<M>(), true));
        Ok(())
    }
}

#[test]
fn frozen_registry_lists_exactly_the_declared_methods() {
    let registry = builtin_operations().expect("builtins").freeze();
    let mut declared = Declared::default();
    hoc_spine::declare_builtin(&mut declared).expect("declarations walk");
    let mut names: Vec<String> = declared.0.iter().map(|(name, _)| name.clone()).collect();
    names.sort();
    // Sorted, every declaration registered once.
    assert_eq!(registry.methods(), names);
    // The methods of every domain are there; three have no route (the regroup batch runs from `hocd regroup`, the
    // incident's audit entries are read through `/v1/audit?entity_id=`, the feed's tail is where the console's live
    // stream starts).
    for expected in [
        "analytics.artifacts.save",
        "audit.query.list",
        "events.feed.list",
        "incidents.grouping.put_config",
        "incidents.write.resolve",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected}");
    }
    let unrouted: Vec<&str> = declared
        .0
        .iter()
        .filter(|(_, routed)| !routed)
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(
        unrouted,
        [
            "incidents.query.audit",
            "incidents.grouping.regroup_batch",
            "analytics.metrics.verify",
            "events.feed.tail"
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
        .and_then(|b| b.register::<Ping>())
        .expect("registers")
        .freeze();
    let spine = hoc_spine::Spine::with_registry(db.clone(), registry);
    let out = spine
        .execute(&ctx("t1"), "host.ping", "run", json!({"word": "hi"}))
        .await
        .expect("runs");
    assert_eq!(out, json!({"ran": "host.ping", "word": "hi"}));
    let typed = spine
        .call(&ctx("t1"), &Ping { word: None })
        .await
        .expect("runs typed");
    assert_eq!(typed, json!({"ran": "host.ping", "word": null}));
    // A spine without the host's registration refuses the typed door too.
    let err = crate::spine(&db)
        .call(&ctx("t1"), &Ping { word: None })
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::UnknownOperation);
    // The JSON door decodes into the same type: shape errors are malformed, rule errors invalid.
    let err = spine
        .execute(&ctx("t1"), "host.ping", "run", json!({"word": 5}))
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::MalformedRequest);
    assert_eq!(
        err.to_string(),
        "malformed request: word: invalid type: integer `5`, expected a string"
    );
    let err = spine
        .execute(&ctx("t1"), "host.ping", "run", json!(["hi"]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::MalformedRequest);
    let err = spine
        .execute(
            &ctx("t1"),
            "host.ping",
            "run",
            json!({"word": "far too long"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
});
