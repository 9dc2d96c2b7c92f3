//! Console sessions kept by the spine: found while used, their use recorded at most once per interval, ended by
//! idleness, by age whatever the use, by sign-out and by revoking the key; expired rows swept at the next sign-in.

use std::time::Duration;

use hoc_contracts::ActorType;
use hoc_drivers::testing::scalar;
use hoc_spine::auth::Scope;
use hoc_spine::sessions::MAX_AGE;
use time::macros::datetime;

use crate::{TestClock, spine};

hoc_drivers::storage_test!(
    console_sessions_live_while_used_and_end_by_idleness_age_sign_out_and_revocation,
    |db| {
        let t0 = datetime!(2026-12-01 09:00 UTC);
        let clock = TestClock::at(t0);
        let spine = clock.install(spine(&db));
        let key = spine
            .create_api_key("t1", ActorType::User, "alice", Scope::Write)
            .await
            .expect("key");
        let hour = Duration::from_secs(3600);
        let at = |offset: Duration| t0 + offset;
        let found = |token: String, idle: Duration| {
            let spine = spine.clone();
            async move { spine.console_session(&token, idle).await.expect("read") }
        };
        let touched = || async {
            scalar(
                &db,
                "SELECT COUNT(*) AS n FROM console_sessions WHERE last_used_at > started_at",
            )
            .await
            .expect("count")
        };

        let token = spine
            .open_console_session(&key.identity, hour)
            .await
            .expect("open");
        let session = found(token.clone(), hour).await.expect("live");
        assert_eq!(session.identity, key.identity);
        assert_eq!(session.csrf.len(), 64);
        assert_ne!(session.csrf, token);
        assert!(found("not a token".into(), hour).await.is_none());

        // Used within the touch interval: found, its use not written; after it: written.
        clock.set(at(Duration::from_secs(30)));
        assert!(found(token.clone(), hour).await.is_some());
        assert_eq!(
            touched().await,
            0,
            "a use within a minute of the last is not written"
        );
        clock.set(at(Duration::from_secs(61)));
        assert!(found(token.clone(), hour).await.is_some());
        assert_eq!(touched().await, 1);
        // 60 min 1 s after sign-in but 59 min after the recorded use: still live (idleness counts from the use).
        clock.set(at(Duration::from_secs(61) + Duration::from_secs(59 * 60)));
        assert!(found(token.clone(), hour).await.is_some());
        // An hour and a second without a request: ended.
        clock.set(at(Duration::from_secs(61 + 59 * 60 + 3601)));
        assert!(found(token.clone(), hour).await.is_none(), "idle");

        // Used every 11 hours with a day of idle time allowed, a session still ends 12 hours after sign-in.
        let day = 24 * hour;
        let t1 = at(3 * hour);
        clock.set(t1);
        let aged = spine
            .open_console_session(&key.identity, day)
            .await
            .expect("open");
        clock.set(t1 + 11 * hour);
        assert!(found(aged.clone(), day).await.is_some());
        clock.set(t1 + MAX_AGE + Duration::from_secs(1));
        assert!(found(aged.clone(), day).await.is_none(), "older than 12 h");

        // Sign-out ends a session (twice is harmless); revoking the key ends every session of it.
        let t2 = t1 + 13 * hour;
        clock.set(t2);
        let signed_out = spine
            .open_console_session(&key.identity, hour)
            .await
            .expect("open");
        let revoked = spine
            .open_console_session(&key.identity, hour)
            .await
            .expect("open");
        spine.end_console_session(&signed_out).await.expect("end");
        spine.end_console_session(&signed_out).await.expect("again");
        assert!(found(signed_out, hour).await.is_none(), "signed out");
        assert!(found(revoked.clone(), hour).await.is_some());
        spine
            .revoke_api_key(&key.identity.key_id)
            .await
            .expect("revoke");
        assert!(found(revoked, hour).await.is_none(), "key revoked");

        // Each sign-in sweeps the sessions that have ended by idleness or age: the first two went at the sign-ins
        // above; the revoked key's goes at the next one, once it has been idle for longer than the timeout.
        let of_key = format!(
            "SELECT COUNT(*) AS n FROM console_sessions WHERE key_id = '{}'",
            key.identity.key_id
        );
        let db = &db;
        let count = |sql: String| async move { scalar(db, &sql).await.expect("count") };
        assert_eq!(
            count(of_key.clone()).await,
            1,
            "only the revoked key's last session is left"
        );
        let other = spine
            .create_api_key("t1", ActorType::User, "bob", Scope::Read)
            .await
            .expect("key");
        clock.set(t2 + 2 * hour);
        spine
            .open_console_session(&other.identity, hour)
            .await
            .expect("open");
        assert_eq!(count(of_key).await, 0, "swept");
        assert_eq!(
            count("SELECT COUNT(*) AS n FROM console_sessions".into()).await,
            1,
            "only the new one is left"
        );
    }
);
