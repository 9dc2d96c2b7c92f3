//! API keys and idempotent writes.

use hoc_contracts::ActorType;
use hoc_drivers::testing::row_counts;
use hoc_spine::auth::Scope;
use hoc_spine::{ErrorCode, Idempotency, Replayable, StoredResponse};
use serde_json::json;

use crate::{ctx, spine};

hoc_drivers::storage_test!(keys_authenticate_until_revoked, |db| {
    let spine = spine(&db);
    let key = spine
        .create_api_key("t1", ActorType::Sdk, "deployer", Scope::Write)
        .await
        .expect("create");
    assert!(key.token.starts_with("hoc_"));
    assert!(
        !format!("{key:?}").contains(&key.token),
        "the plain key must not appear in debug output"
    );
    let who = spine
        .authenticate(&key.token)
        .await
        .expect("auth")
        .expect("known key");
    assert_eq!(who, key.identity);
    assert_eq!(
        (who.tenant_id.as_str(), who.actor_id.as_str(), who.scope),
        ("t1", "deployer", Scope::Write)
    );
    let secret = key.token.rsplit('_').next().expect("secret part");
    // The stored row holds the SHA-256 of the secret, never the secret.
    let stored_plain = hoc_drivers::testing::execute_raw(
        &db,
        &format!("UPDATE api_keys SET scope = scope WHERE secret_hash = '{secret}'"),
    )
    .await
    .expect("query");
    assert_eq!(stored_plain, 0);
    // Tampered, malformed and unknown keys are refused.
    let mut tampered = key.token.clone();
    tampered.pop();
    tampered.push(if key.token.ends_with('0') { '1' } else { '0' });
    for bad in [
        tampered.as_str(),
        "hoc_",
        "Bearer x",
        "",
        &key.token.replace(secret, &"0".repeat(64)),
    ] {
        assert_eq!(
            spine.authenticate(bad).await.expect("auth runs"),
            None,
            "{bad}"
        );
    }
    let revoked = spine
        .revoke_api_key(&key.identity.key_id)
        .await
        .expect("revoke");
    assert_eq!(revoked.key_id, key.identity.key_id);
    assert_eq!(spine.authenticate(&key.token).await.expect("auth"), None);
    spine
        .revoke_api_key(&key.identity.key_id)
        .await
        .expect("revoking twice is harmless");
    let err = spine
        .revoke_api_key("key_0000000000000000")
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound);
    // Creation and revocation are audited once each.
    let audit = spine
        .execute(
            &ctx("t1"),
            "audit.query",
            "list",
            json!({"entity_id": key.identity.key_id}),
        )
        .await
        .expect("audit");
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["action"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(actions, ["keys.create", "keys.revoke"]);
});

fn respond(status: u16) -> impl Fn(&serde_json::Value) -> StoredResponse + Send + Sync + use<> {
    move |body| StoredResponse {
        status,
        body: body.clone(),
    }
}

hoc_drivers::storage_test!(idempotent_writes_replay_and_refuse_reuse, |db| {
    let spine = spine(&db);
    let payload = json!({"title": "Once", "severity": "low", "category": "c"});
    let key = Idempotency {
        key: "req-1".into(),
        fingerprint: "fp-a".into(),
    };
    let first = spine
        .execute_idempotent(
            &ctx("t1"),
            "incidents.write",
            "create",
            payload.clone(),
            &key,
            respond(201),
        )
        .await
        .expect("first");
    let Replayable::Fresh(first) = first else {
        panic!("first call must run")
    };
    assert_eq!(first.status, 201);
    let counts = row_counts(&db).await;
    let again = spine
        .execute_idempotent(
            &ctx("t1"),
            "incidents.write",
            "create",
            payload.clone(),
            &key,
            respond(999),
        )
        .await
        .expect("replay");
    assert_eq!(again, Replayable::Replayed(first.clone()));
    assert_eq!(row_counts(&db).await, counts, "a replay wrote something");
    // Same key, different request.
    let err = spine
        .execute_idempotent(
            &ctx("t1"),
            "incidents.write",
            "create",
            payload.clone(),
            &Idempotency {
                fingerprint: "fp-b".into(),
                ..key.clone()
            },
            respond(201),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::IdempotencyKeyReused);
    assert_eq!(row_counts(&db).await, counts);
    // Keys are per tenant.
    let other = spine
        .execute_idempotent(
            &ctx("t2"),
            "incidents.write",
            "create",
            payload.clone(),
            &key,
            respond(201),
        )
        .await
        .expect("t2");
    assert!(matches!(other, Replayable::Fresh(_)));
    // A failed call stores nothing: after fixing the request, the same key works.
    let bad = Idempotency {
        key: "req-2".into(),
        fingerprint: "fp-bad".into(),
    };
    let before = row_counts(&db).await;
    let err = spine
        .execute_idempotent(
            &ctx("t1"),
            "incidents.write",
            "create",
            json!({"title": ""}),
            &bad,
            respond(201),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert_eq!(row_counts(&db).await, before);
    let fixed = Idempotency {
        key: "req-2".into(),
        fingerprint: "fp-good".into(),
    };
    let ok = spine
        .execute_idempotent(
            &ctx("t1"),
            "incidents.write",
            "create",
            payload,
            &fixed,
            respond(201),
        )
        .await
        .expect("fixed");
    assert!(matches!(ok, Replayable::Fresh(_)));
});

hoc_drivers::storage_test!(
    concurrent_requests_with_one_idempotency_key_run_once,
    |db| {
        let spine = spine(&db);
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let spine = spine.clone();
                tokio::spawn(async move {
                    let key = Idempotency {
                        key: "burst".into(),
                        fingerprint: "same".into(),
                    };
                    spine
                        .execute_idempotent(
                            &ctx("t1"),
                            "incidents.write",
                            "create",
                            json!({"title": "t", "severity": "low", "category": "c"}),
                            &key,
                            respond(201),
                        )
                        .await
                })
            })
            .collect();
        let mut fresh = 0;
        let mut bodies = std::collections::BTreeSet::new();
        for task in tasks {
            match task.await.expect("joins").expect("every request answers") {
                Replayable::Fresh(r) => {
                    fresh += 1;
                    bodies.insert(r.body.to_string());
                }
                Replayable::Replayed(r) => {
                    bodies.insert(r.body.to_string());
                }
            }
        }
        assert_eq!(fresh, 1);
        assert_eq!(bodies.len(), 1, "every caller sees the first response");
        assert_eq!(row_counts(&db).await["incidents"], 1);
    }
);

hoc_drivers::storage_test!(
    a_key_revoked_on_another_instance_stops_working_within_the_cache_ttl,
    |db| {
        let ttl = std::time::Duration::from_millis(400);
        let here = spine(&db).with_key_cache_ttl(ttl);
        let elsewhere = spine(&db);
        let key = here
            .create_api_key("t1", ActorType::Sdk, "deployer", Scope::Read)
            .await
            .expect("create");
        assert!(here.authenticate(&key.token).await.expect("auth").is_some());
        // The row is gone from under the cache: a cached answer needs no database.
        elsewhere
            .revoke_api_key(&key.identity.key_id)
            .await
            .expect("revoke elsewhere");
        assert!(
            here.authenticate(&key.token).await.expect("auth").is_some(),
            "within the ttl the cached answer stands"
        );
        tokio::time::sleep(ttl + std::time::Duration::from_millis(100)).await;
        assert_eq!(
            here.authenticate(&key.token).await.expect("auth"),
            None,
            "after the ttl the revocation is seen"
        );
        // On the instance that revokes, at once.
        let other = here
            .create_api_key("t1", ActorType::Sdk, "deployer", Scope::Read)
            .await
            .expect("create");
        assert!(
            here.authenticate(&other.token)
                .await
                .expect("auth")
                .is_some()
        );
        here.revoke_api_key(&other.identity.key_id)
            .await
            .expect("revoke here");
        assert_eq!(here.authenticate(&other.token).await.expect("auth"), None);
    }
);
