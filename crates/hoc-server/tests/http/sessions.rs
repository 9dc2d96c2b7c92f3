//! Console sessions live in the database: a browser signed in on one `hocd` is signed in on every `hocd` of the
//! same database, a restart ends no session, signing out on one ends it on all, and the database never holds a
//! session's token.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::Server;
use crate::console::{page_get, page_post, signed_in};

/// Whether `path` opens with the session `cookie` on `server` (200), rather than sending it to sign in.
async fn opens(server: &Server, cookie: &str, path: &str) -> bool {
    let res = page_get(server, cookie, path).await;
    match res.status() {
        StatusCode::OK => true,
        StatusCode::SEE_OTHER => false,
        other => panic!("{path}: {other}"),
    }
}

hoc_spine::storage_test!(
    a_session_is_known_to_every_hocd_of_the_database_and_outlives_a_restart,
    |db, url| {
        let first = Server::start_with(&url, &[]).await;
        let second = Server::start_with(&url, &[]).await;
        let key = first.key("acme", "alice", "write").await;
        let created: Value = first
            .created_incident(
                &key,
                json!({"title": "Disk full", "severity": "medium", "category": "capacity"}),
            )
            .await;
        let id = created["id"].as_str().expect("id").to_owned();

        // Signed in on the first, the session opens pages on the second, and its forms work there.
        let (cookie, csrf) = signed_in(&first, &key).await;
        assert!(opens(&second, &cookie, &format!("/console/incidents/{id}")).await);
        let res = page_post(
            &second,
            &cookie,
            &format!("/console/incidents/{id}/acknowledge"),
            &[("csrf_token", csrf.as_str())],
            &[("origin", second.base.as_str())],
        )
        .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let (_, acknowledged) = first
            .call(
                reqwest::Method::GET,
                &format!("/v1/incidents/{id}"),
                Some(&key),
                None,
            )
            .await;
        assert_eq!(acknowledged["status"], "acknowledged");

        // The database holds a hash of the token, never the token.
        let token = cookie.split_once('=').expect("name=value").1.to_owned();
        let stored =
            hoc_spine::testing::scalar_text(&db, "SELECT id_hash AS n FROM console_sessions")
                .await
                .expect("one session row");
        assert_eq!(stored.len(), 64);
        assert_ne!(stored, token);
        assert!(!stored.contains(&token[..16]));

        // A restart ends no session.
        first.stop().await;
        let restarted = Server::start_with(&url, &[]).await;
        assert!(opens(&restarted, &cookie, "/console").await);

        // Signing out on one ends the session on every instance.
        let res = page_post(
            &second,
            &cookie,
            "/console/sign-out",
            &[("csrf_token", csrf.as_str())],
            &[("origin", second.base.as_str())],
        )
        .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert!(!opens(&restarted, &cookie, "/console").await);
        assert!(!opens(&second, &cookie, "/console").await);
        let left = hoc_spine::testing::scalar(&db, "SELECT COUNT(*) AS n FROM console_sessions")
            .await
            .expect("count");
        assert_eq!(left, 0, "sign-out removes the session's row");
        second.stop().await;
        restarted.stop().await;
    }
);
