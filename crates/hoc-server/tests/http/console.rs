//! The operator console in a real browser (headless Chromium over WebDriver) against a real `hocd`, plus the
//! session and CSRF rules checked from a plain HTTP client. Screenshots of the main pages are written to
//! `target/tmp/console-screenshots/` for a reviewer.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::browser::Browser;
use crate::{Server, hocd};

/// Where the screenshots go (one folder per database, so both runs keep theirs).
fn shots(url: &str) -> std::path::PathBuf {
    let kind = if url.starts_with("postgres") {
        "postgres"
    } else {
        "sqlite"
    };
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("console-screenshots")
        .join(kind);
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    dir
}

/// Signs the browser in with `key` from the sign-in form.
async fn sign_in(browser: &Browser, base: &str, key: &str) {
    browser.go(&format!("{base}/console")).await;
    assert!(
        browser
            .wait_url("/console/sign-in")
            .await
            .contains("/console/sign-in"),
        "not signed in: the console sends the browser to the sign-in form"
    );
    let field = browser.find("input[name=api_key]").await;
    browser.type_into(&field, key).await;
    browser
        .click(&browser.find("form button[type=submit]").await)
        .await;
}

/// The status the incident page shows, once it is `expected` (waiting up to 5 s for the page after a click).
async fn status_on_page(browser: &Browser, expected: &str) -> String {
    let css = format!("#incident [data-status='{expected}']");
    if browser
        .wait_for(&css, Duration::from_secs(5))
        .await
        .is_some()
    {
        return expected.to_owned();
    }
    let el = browser.find("#incident [data-status]").await;
    browser
        .attribute(&el, "data-status")
        .await
        .unwrap_or_default()
}

hoc_spine::storage_test!(the_console_in_a_browser, |db, url| {
    let _ = &db;
    // Chromium takes both cores while it renders: no wall-clock bound may be measured beside it.
    let _alone = crate::TIMED.lock().await;
    let server = Server::start(&url).await;
    let key = server.key("acme", "alice", "write").await;
    let base = server.base.clone();
    let dir = shots(&url);
    let Some(browser) = Browser::start(1280, 900).await else {
        return;
    };

    // A wrong key: the form again with the error beside the field, and no cookie.
    browser.go(&format!("{base}/console")).await;
    let field = browser.find("input[name=api_key]").await;
    browser.type_into(&field, "hoc_nokey_wrong").await;
    browser
        .click(&browser.find("form button[type=submit]").await)
        .await;
    let error = browser.find(".field-error[data-field=api_key]").await;
    assert!(browser.text(&error).await.contains("not valid"));
    assert!(
        browser.cookies().await.is_empty(),
        "a wrong key sets no cookie"
    );

    // Signed in: the list, with the session cookie HttpOnly and SameSite=Strict.
    sign_in(&browser, &base, &key).await;
    browser.find("table#incidents").await;
    let cookies = browser.cookies().await;
    let session = cookies
        .iter()
        .find(|c| c["name"] == "hoc_console")
        .unwrap_or_else(|| panic!("session cookie: {cookies:?}"))
        .clone();
    assert_eq!(
        (&session["httpOnly"], &session["sameSite"]),
        (&json!(true), &json!("Strict"))
    );
    assert!(
        browser
            .wait_for("body[data-live=connected]", Duration::from_secs(5))
            .await
            .is_some(),
        "the page follows the event stream"
    );

    // An incident created through the API appears in the open list without a reload.
    let created = server
        .created_incident(
            &key,
            json!({"title": "Checkout returns 503", "severity": "high", "category": "availability",
                   "service": "checkout", "labels": {"team": "payments"}}),
        )
        .await;
    let id = created["id"].as_str().expect("id").to_owned();
    let row = format!("#incidents tr[data-id='{id}']");
    assert!(
        browser
            .wait_for(&row, Duration::from_secs(3))
            .await
            .is_some(),
        "the new incident appears live"
    );
    let other = server
        .created_incident(
            &key,
            json!({"title": "Search is slow", "severity": "low", "category": "latency", "service": "search"}),
        )
        .await;
    let other_id = other["id"].as_str().expect("id").to_owned();
    browser
        .wait_for(
            &format!("#incidents tr[data-id='{other_id}']"),
            Duration::from_secs(3),
        )
        .await
        .expect("the second appears too");
    browser.screenshot(&dir.join("incidents.png")).await;

    // Filters are in the URL and survive a reload.
    let service = browser.find("#filters input[name=service]").await;
    browser.type_into(&service, "checkout").await;
    browser
        .click(&browser.find("#filters button[type=submit]").await)
        .await;
    let filtered = browser.wait_url("service=checkout").await;
    assert!(filtered.contains("service=checkout"), "{filtered}");
    assert!(
        !filtered.contains("severity="),
        "empty filters stay out of the URL: {filtered}"
    );
    browser.refresh().await;
    let kept = browser.find("#filters input[name=service]").await;
    assert_eq!(
        browser.attribute(&kept, "value").await.as_deref(),
        Some("checkout")
    );
    assert_eq!(
        browser.all("#incidents tr[data-id]").await.len(),
        1,
        "only checkout"
    );
    assert!(
        browser
            .all(&format!("#incidents tr[data-id='{other_id}']"))
            .await
            .is_empty()
    );

    // The incident's page: acknowledge from the page.
    browser.go(&format!("{base}/console/incidents/{id}")).await;
    assert_eq!(status_on_page(&browser, "open").await, "open");
    browser
        .click(&browser.find("form[data-action=acknowledge] button").await)
        .await;
    assert_eq!(
        status_on_page(&browser, "acknowledged").await,
        "acknowledged"
    );
    let (_, acknowledged) = server
        .call(
            Method::GET,
            &format!("/v1/incidents/{id}"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(acknowledged["status"], "acknowledged");
    assert_eq!(acknowledged["assignee"], "alice", "acknowledging assigns");
    let acknowledged_at = acknowledged["acknowledged_at"]
        .as_str()
        .expect("instant")
        .to_owned();

    // A note with markup renders as text; no script runs.
    let note = "<script>document.title='owned'</script><b>bold?</b>";
    let body = browser
        .find("form[data-action=notes] textarea[name=body]")
        .await;
    browser.type_into(&body, note).await;
    browser
        .click(&browser.find("form[data-action=notes] button").await)
        .await;
    let shown = browser.find("#notes .note-body").await;
    assert_eq!(browser.text(&shown).await, note);
    let markup = browser
        .eval(
            "return [document.querySelectorAll('#notes script, #notes b').length, document.title];",
            json!([]),
        )
        .await;
    assert_eq!(markup[0], json!(0), "nothing user-supplied became markup");
    assert_ne!(markup[1], json!("owned"));

    // Resolve without the resolution type: the server's error beside the field, nothing changed.
    let summary = browser
        .find("form[data-action=resolve] textarea[name=resolution_summary]")
        .await;
    browser.type_into(&summary, "rolled back the deploy").await;
    browser
        .click(&browser.find("form[data-action=resolve] button").await)
        .await;
    let error = browser.find("#resolve-resolution_type-error").await;
    assert!(browser.text(&error).await.contains("is required"));
    let kept = browser
        .find("form[data-action=resolve] textarea[name=resolution_summary]")
        .await;
    assert_eq!(
        browser
            .eval("return arguments[0].value;", json!([kept.arg()]))
            .await,
        json!("rolled back the deploy"),
        "what was typed is kept"
    );
    assert_eq!(
        status_on_page(&browser, "acknowledged").await,
        "acknowledged"
    );
    browser
        .screenshot(&dir.join("incident-resolve-error.png"))
        .await;

    // Then resolve properly.
    browser
        .eval(
            "document.querySelector('form[data-action=resolve] select[name=resolution_type]').value = 'rollback';",
            json!([]),
        )
        .await;
    browser
        .click(&browser.find("form[data-action=resolve] button").await)
        .await;
    assert_eq!(status_on_page(&browser, "resolved").await, "resolved");
    let kinds = browser
        .eval(
            "return Array.from(document.querySelectorAll('#timeline li')).map(li => li.dataset.kind);",
            json!([]),
        )
        .await;
    assert_eq!(
        kinds,
        json!(["created", "acknowledged", "note_added", "resolved"]),
        "the timeline in order"
    );
    browser.screenshot(&dir.join("incident.png")).await;

    // The past: the page as of the acknowledgement shows it acknowledged, says so, and offers no action.
    browser
        .go(&format!(
            "{base}/console/incidents/{id}?as_of={}",
            urlencode(&acknowledged_at)
        ))
        .await;
    assert_eq!(
        status_on_page(&browser, "acknowledged").await,
        "acknowledged"
    );
    browser.find("#past-banner").await;
    let post_forms = browser
        .eval(
            "return Array.from(document.querySelectorAll('form[method=post]')).map(f => new URL(f.action).pathname);",
            json!([]),
        )
        .await;
    assert_eq!(
        post_forms,
        json!(["/console/sign-out"]),
        "no action in the past"
    );
    let links = browser
        .eval(
            "return Array.from(document.querySelectorAll('nav a')).every(a => a.href.includes('as_of='));",
            json!([]),
        )
        .await;
    assert_eq!(links, json!(true), "links keep the instant");
    browser.screenshot(&dir.join("incident-as-of.png")).await;

    // Groups, a group with its sparkline, the audit trail by request id.
    browser.go(&format!("{base}/console/groups")).await;
    assert!(browser.all("#groups tr[data-signature]").await.len() >= 2);
    browser.screenshot(&dir.join("groups.png")).await;
    browser
        .click(&browser.find("#groups a.sample-title").await)
        .await;
    browser.find("svg#sparkline polyline").await;
    browser.find("#members tr[data-id]").await;
    browser.screenshot(&dir.join("group.png")).await;
    let (_, audit) = server
        .call(
            Method::GET,
            &format!("/v1/audit?entity_id={id}"),
            Some(&key),
            None,
        )
        .await;
    let request_id = audit["items"][0]["request_id"]
        .as_str()
        .expect("request id")
        .to_owned();
    browser
        .go(&format!(
            "{base}/console/audit?request_id={}",
            urlencode(&request_id)
        ))
        .await;
    let rows = browser.all("#audit tbody tr").await;
    assert_eq!(rows.len(), 1, "one entry of that request");
    assert!(browser.text(&rows[0]).await.contains(&request_id));
    browser.screenshot(&dir.join("audit.png")).await;

    // A phone-width screen: the incident page does not scroll sideways.
    browser.resize(390, 844).await;
    browser.go(&format!("{base}/console/incidents/{id}")).await;
    let overflow = browser
        .eval(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
            json!([]),
        )
        .await;
    if overflow.as_i64().is_none_or(|o| o > 0) {
        browser.screenshot(&dir.join("incident-phone.png")).await;
        let wide = browser
            .eval(
                "const w = document.documentElement.clientWidth; return Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > w + 1).slice(0, 8).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right));",
                json!([]),
            )
            .await;
        panic!("the incident page scrolls sideways by {overflow} px at 390 px: {wide}");
    }
    browser.screenshot(&dir.join("incident-phone.png")).await;
    browser.go(&format!("{base}/console")).await;
    browser.screenshot(&dir.join("incidents-phone.png")).await;
    browser.resize(1280, 900).await;

    // A form posted without its CSRF token is refused and changes nothing.
    browser
        .go(&format!("{base}/console/incidents/{other_id}"))
        .await;
    browser
        .eval(
            "document.querySelector('form[data-action=acknowledge] input[name=csrf_token]').remove();",
            json!([]),
        )
        .await;
    browser
        .click(&browser.find("form[data-action=acknowledge] button").await)
        .await;
    let refused = browser.find(".failure").await;
    assert!(browser.text(&refused).await.contains("csrf_token"));
    let (_, untouched) = server
        .call(
            Method::GET,
            &format!("/v1/incidents/{other_id}"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(untouched["status"], "open");

    // Sign out: the console asks for a key again, and the old session's cookie opens nothing.
    browser.go(&format!("{base}/console")).await;
    browser
        .click(&browser.find("form.sign-out button").await)
        .await;
    assert!(
        browser
            .wait_url("/console/sign-in")
            .await
            .contains("/console/sign-in")
    );
    browser.go(&format!("{base}/console/incidents/{id}")).await;
    assert!(
        browser
            .wait_url("/console/sign-in")
            .await
            .contains("/console/sign-in"),
        "signed out"
    );
    let cookie = format!("hoc_console={}", session["value"].as_str().expect("value"));
    let old = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let res = old
        .post(format!("{base}/console/incidents/{other_id}/acknowledge"))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("csrf_token", "anything")]))
        .send()
        .await
        .expect("answered");
    assert_eq!(
        res.status(),
        StatusCode::FORBIDDEN,
        "a request after sign-out"
    );
    drop(browser);
    server.stop().await;
});

/// `GET path` of the console with the session `cookie`, redirects not followed.
pub(crate) async fn page_get(server: &Server, cookie: &str, path: &str) -> reqwest::Response {
    client()
        .get(format!("{}{path}", server.base))
        .header("cookie", cookie)
        .send()
        .await
        .expect("answered")
}

/// `POST path` of the console: the form `pairs` with the session `cookie` and more `headers`.
pub(crate) async fn page_post(
    server: &Server,
    cookie: &str,
    path: &str,
    pairs: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = client()
        .post(format!("{}{path}", server.base))
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(pairs));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.send().await.expect("answered")
}

/// A form body.
fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// A client that keeps cookies and does not follow redirects, as a browser's first request would see them.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Signs in over plain HTTP; the session cookie (`name=value`) and the CSRF token of the list page.
pub(crate) async fn signed_in(server: &Server, key: &str) -> (String, String) {
    let res = page_post(
        server,
        "",
        "/console/sign-in",
        &[("api_key", key), ("next", "/console")],
        &[],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cookie = res
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("a session cookie")
        .to_owned();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && !cookie.contains("Secure"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().expect("name=value").to_owned();
    let page = page_get(server, &pair, "/console")
        .await
        .text()
        .await
        .expect("body");
    let csrf = page
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a csrf token on the page")
        .to_owned();
    (pair, csrf)
}

hoc_spine::storage_test!(
    console_sessions_end_and_forms_need_the_same_origin,
    |db, url| {
        let _ = &db;
        let server = Server::start_with(&url, &["--console-idle-seconds", "2"]).await;
        let key = server.key("acme", "alice", "write").await;
        let created: Value = server
            .created_incident(
                &key,
                json!({"title": "Disk full", "severity": "medium", "category": "capacity"}),
            )
            .await;
        let id = created["id"].as_str().expect("id").to_owned();
        let (cookie, csrf) = signed_in(&server, &key).await;

        // Behind a TLS proxy the cookie is Secure.
        let res = page_post(
            &server,
            "",
            "/console/sign-in",
            &[("api_key", key.as_str())],
            &[("x-forwarded-proto", "https")],
        )
        .await;
        let secure = res
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(secure.contains("; Secure"), "{secure}");

        // Every page has the policy: no inline script, this origin only.
        let res = page_get(&server, &cookie, &format!("/console/incidents/{id}")).await;
        assert_eq!(res.status(), StatusCode::OK);
        let policy = res
            .headers()
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(
            policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"),
            "{policy}"
        );

        // The postmortem draft downloads as Markdown from the session.
        let res = page_get(&server, &cookie, &format!("/console/incidents/{id}/export")).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            res.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("text/markdown; charset=utf-8")
        );
        assert!(res.text().await.expect("body").contains("Disk full"));

        // A valid token from another origin is refused and changes nothing.
        let acknowledge = format!("/console/incidents/{id}/acknowledge");
        let token = [("csrf_token", csrf.as_str())];
        let act = |headers: &'static [(&'static str, &'static str)]| {
            page_post(&server, &cookie, &acknowledge, &token, headers)
        };
        let res = act(&[("origin", "http://evil.example")]).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let res = act(&[("sec-fetch-site", "cross-site")]).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let (_, untouched) = server
            .call(
                Method::GET,
                &format!("/v1/incidents/{id}"),
                Some(&key),
                None,
            )
            .await;
        assert_eq!(untouched["status"], "open", "refused forms changed nothing");
        let origin = server.base.clone();
        let res = page_post(
            &server,
            &cookie,
            &acknowledge,
            &token,
            &[("origin", &origin), ("sec-fetch-site", "same-origin")],
        )
        .await;
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "the same form from the console itself"
        );

        // Unused for longer than the idle timeout: the session has ended.
        tokio::time::sleep(Duration::from_millis(2_300)).await;
        let res = page_get(&server, &cookie, "/console").await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert!(
            res.headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|l| l.starts_with("/console/sign-in")),
            "an idle session ended"
        );

        // Revoking the key ends its sessions.
        let (cookie, _) = signed_in(&server, &key).await;
        let key_id = format!("key_{}", key.split('_').nth(1).expect("key id part"));
        let revoked = hocd()
            .args([
                "keys",
                "revoke",
                "--database-url",
                &server.database_url,
                &key_id,
            ])
            .output()
            .await
            .expect("revoke runs");
        assert!(revoked.status.success());
        // `hocd keys revoke` is effective on every instance within 2 seconds (the HTTP contract): so is the end of
        // the key's console sessions.
        let revoked_at = std::time::Instant::now();
        let mut ended = false;
        while !ended && revoked_at.elapsed() < Duration::from_secs(2) {
            let res = page_get(&server, &cookie, "/console").await;
            ended = res.status() == StatusCode::SEE_OTHER;
            if !ended {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        assert!(
            ended,
            "the revoked key's session still opens pages 2 s after the revocation"
        );
        server.stop().await;
    }
);

/// The count of `status` the list page's status links show (`data-count`).
fn shown_count(page: &str, status: &str) -> Option<i64> {
    let marker = format!("data-status=\"{status}\" data-count=\"");
    page.split(&marker)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|count| count.parse().ok())
}

hoc_spine::storage_test!(
    the_list_counts_incidents_by_status_now_and_in_the_past,
    |db, url| {
        let server = Server::start_with(&url, &[]).await;
        let key = server.key("acme", "alice", "write").await;
        let other = server.key("globex", "bob", "write").await;
        let mut ids = Vec::new();
        for title in ["Disk full", "Queue backlog", "TLS expiry"] {
            let created: Value = server
                .created_incident(
                    &key,
                    json!({"title": title, "severity": "medium", "category": "capacity"}),
                )
                .await;
            ids.push(created["id"].as_str().expect("id").to_owned());
        }
        server
            .created_incident(
                &other,
                json!({"title": "Not acme's", "severity": "low", "category": "capacity"}),
            )
            .await;
        let (_, before) = server
            .call(Method::GET, "/v1/incidents/counts", Some(&key), None)
            .await;
        let (status, _) = server
            .call(
                Method::POST,
                &format!("/v1/incidents/{}/acknowledge", ids[0]),
                Some(&key),
                Some(json!({})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);

        // The API: now, and at the instant read before the acknowledgement.
        let (status, now) = server
            .call(Method::GET, "/v1/incidents/counts", Some(&key), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{now}");
        assert_eq!(
            (
                &now["open"],
                &now["acknowledged"],
                &now["resolved"],
                &now["closed"],
                &now["total"]
            ),
            (&json!(2), &json!(1), &json!(0), &json!(0), &json!(3)),
            "{now}"
        );
        let past = before["as_of"].as_str().expect("as_of");
        let (_, then) = server
            .call(
                Method::GET,
                &format!("/v1/incidents/counts?as_of={}", urlencode(past)),
                Some(&key),
                None,
            )
            .await;
        assert_eq!(
            (&then["open"], &then["acknowledged"]),
            (&json!(3), &json!(0)),
            "{then}"
        );
        assert_eq!(then["as_of"], before["as_of"]);

        // The console's list shows them as links, the current status marked; at the past instant, the past ones.
        let (cookie, _) = signed_in(&server, &key).await;
        let page = page_get(&server, &cookie, "/console?status=open")
            .await
            .text()
            .await
            .expect("body");
        assert_eq!(shown_count(&page, "open"), Some(2), "{page}");
        assert_eq!(shown_count(&page, "acknowledged"), Some(1));
        assert_eq!(shown_count(&page, "all"), Some(3));
        assert!(
            page.contains("data-status=\"open\" data-count=\"2\" aria-current=\"page\""),
            "{page}"
        );
        let page = page_get(
            &server,
            &cookie,
            &format!("/console?as_of={}", urlencode(past)),
        )
        .await
        .text()
        .await
        .expect("body");
        assert_eq!(shown_count(&page, "open"), Some(3), "{page}");
        assert_eq!(shown_count(&page, "acknowledged"), Some(0));

        // When the counts cannot be read, the list still shows, and says in their place that they are missing.
        hoc_spine::testing::execute_raw(
            &db,
            "ALTER TABLE incident_status_counts RENAME TO status_counts_elsewhere",
        )
        .await
        .expect("rename");
        let response = page_get(&server, &cookie, "/console").await;
        assert_eq!(response.status(), StatusCode::OK);
        let page = response.text().await.expect("body");
        assert!(page.contains("Queue backlog"), "{page}");
        assert_eq!(shown_count(&page, "open"), None, "{page}");
        assert!(
            page.contains(
                "<p class=\"failure\" id=\"status-counts\">Counts by status unavailable: "
            ),
            "{page}"
        );
        server.stop().await;
    }
);
