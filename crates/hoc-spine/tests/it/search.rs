//! Full-text search over incidents by the databases' own engines: word stems, ranking, filters with text, stable
//! keyset paging, and the text as it was at `as_of`.

use hoc_contracts::input::JsonInt;
use hoc_spine::requests::{AddNote, DeleteNote, EditIncident, ListIncidents};
use hoc_spine::{OperationContext, Spine};

use crate::{TestClock, create_request, ctx, spine};

async fn search(spine: &Spine, ctx: &OperationContext, query: ListIncidents) -> Vec<(String, i64)> {
    spine
        .call(ctx, &query)
        .await
        .expect("search")
        .items
        .into_iter()
        .map(|i| (i.title, i.rank.expect("a hit carries its rank")))
        .collect()
}

fn q(text: &str) -> ListIncidents {
    ListIncidents {
        q: Some(text.to_owned()),
        ..ListIncidents::default()
    }
}

fn titles(hits: &[(String, i64)]) -> Vec<&str> {
    hits.iter().map(|(t, _)| t.as_str()).collect()
}

hoc_drivers::storage_test!(
    search_finds_word_stems_ranks_filters_pages_and_travels_in_time,
    |db| {
        let clock = TestClock::at(time::macros::datetime!(2026-12-01 09:00 UTC));
        let spine = clock.install(spine(&db));
        let c = ctx("t1");
        let mut minute = 0;
        let mut at_next = || {
            minute += 1;
            clock.set(
                time::macros::datetime!(2026-12-01 09:00 UTC) + time::Duration::minutes(minute),
            );
        };
        let open = |title: &str, message: Option<&str>, severity: &str| {
            let mut request = create_request(title);
            request.error_message = message.map(str::to_owned);
            request.severity = Some(severity.to_owned());
            request
        };
        let mut ids = Vec::new();
        for (title, message, severity) in [
            (
                "Checkout timeouts",
                Some("upstream timeout after 30 s; timeout again"),
                "high",
            ),
            (
                "Payments slow",
                Some("the payment gateway timed out"),
                "low",
            ),
            ("Search index stale", None, "high"),
            (
                "Login errors",
                Some("TIMEOUT talking to the session store"),
                "high",
            ),
        ] {
            at_next();
            ids.push(
                spine
                    .call(&c, &open(title, message, severity))
                    .await
                    .expect("create")
                    .id,
            );
        }
        // Another tenant's incident never shows.
        spine
            .call(
                &ctx("t2"),
                &open("Checkout timeouts elsewhere", None, "high"),
            )
            .await
            .expect("create");

        // "timeouts" finds "timeout" and "TIMEOUT" (stem, case); the incident that says it three times ranks first.
        let hits = search(&spine, &c, q("timeouts")).await;
        assert_eq!(titles(&hits), ["Checkout timeouts", "Login errors"]);
        assert!(hits[0].1 > hits[1].1, "{hits:?}");
        // Every word must match.
        assert_eq!(
            titles(&search(&spine, &c, q("timeout session")).await),
            ["Login errors"]
        );
        assert!(search(&spine, &c, q("timeout nowhere")).await.is_empty());
        // Punctuation is not syntax; a query without a word lists nothing.
        assert_eq!(
            titles(&search(&spine, &c, q("\"session\" + (store)*:")).await),
            ["Login errors"]
        );
        assert!(search(&spine, &c, q("!!! ---")).await.is_empty());
        // Filters combine with text.
        let high_only = ListIncidents {
            severity: Some("low".into()),
            ..q("timeouts")
        };
        assert!(search(&spine, &c, high_only).await.is_empty());

        // Notes are searched too; an edit of the title as well; both at the instant they were written.
        at_next();
        let note = spine
            .call(
                &c,
                &AddNote {
                    id: ids[2].clone(),
                    body: Some("reindex timed out twice, timeouts on shard 3".into()),
                },
            )
            .await
            .expect("note");
        let after_note = note.created_at;
        at_next();
        spine
            .call(
                &c,
                &EditIncident {
                    id: ids[1].clone(),
                    expected_version: Some(JsonInt(1)),
                    title: Some("Payments timeouts".into()),
                    ..EditIncident::default()
                },
            )
            .await
            .expect("edit");
        let before_delete = search(&spine, &c, q("timeouts")).await;
        assert_eq!(before_delete.len(), 4, "{before_delete:?}");
        at_next();
        spine
            .call(
                &c,
                &DeleteNote {
                    id: ids[2].clone(),
                    note_id: note.note_id.clone(),
                },
            )
            .await
            .expect("delete");
        let now = search(&spine, &c, q("timeouts")).await;
        assert!(
            !titles(&now).contains(&"Search index stale"),
            "a deleted note is not searched: {now:?}"
        );
        // At the instant of the note, the text of then: the note matched, the later title did not exist.
        let then = search(&spine, &c.clone().with_as_of(after_note), q("timeouts")).await;
        let mut found = titles(&then);
        found.sort_unstable();
        assert_eq!(
            found,
            ["Checkout timeouts", "Login errors", "Search index stale"]
        );
        assert_eq!(then[0].0, "Checkout timeouts");
        // Before anything was written: nothing.
        let first_instant = time::macros::datetime!(2026-12-01 09:00 UTC);
        assert!(
            search(&spine, &c.clone().with_as_of(first_instant), q("timeouts"))
                .await
                .is_empty()
        );

        let snapshot = spine.call(&c, &q("timeouts")).await.expect("search").as_of;
        // Paging one at a time walks the same order, without repeats or gaps, and the cursor keeps its snapshot.
        let mut paged = Vec::new();
        let mut cursor = None;
        loop {
            let page = spine
                .call(
                    &c,
                    &ListIncidents {
                        limit: Some(1),
                        cursor: cursor.clone(),
                        ..q("timeouts")
                    },
                )
                .await
                .expect("page");
            paged.extend(
                page.items
                    .into_iter()
                    .map(|i| (i.title, i.rank.expect("rank"))),
            );
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
            // A write between pages does not change what the next pages show.
            at_next();
            spine
                .call(
                    &c,
                    &open(
                        "Cache timeouts",
                        Some("timeout timeout timeout timeout"),
                        "high",
                    ),
                )
                .await
                .expect("create");
        }
        assert_eq!(paged, now);

        // With a filter, the page is chosen after the filter: the same walk, two at a time, at the same instant.
        let filtered_query = |cursor: Option<String>| ListIncidents {
            status: Some("open".into()),
            limit: Some(2),
            cursor,
            ..q("timeouts")
        };
        let mut filtered: Vec<(String, i64)> = Vec::new();
        let mut cursor = None;
        let mut as_of = None;
        loop {
            let page = spine
                .call(&c.clone().with_as_of(snapshot), &filtered_query(cursor))
                .await
                .expect("filtered page");
            assert_eq!(*as_of.get_or_insert(page.as_of), page.as_of);
            filtered.extend(
                page.items
                    .into_iter()
                    .map(|i| (i.title, i.rank.expect("rank"))),
            );
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(filtered, now);
    }
);

hoc_drivers::storage_test!(a_hit_ranks_by_its_query_words_in_any_case, |db| {
    let spine = spine(&db);
    let c = ctx("t1");
    // The word three times in capitals against once in lowercase: the rank counts it in any case.
    for (title, message) in [
        ("Replica lag", "lag on the replica"),
        ("REPLICA LAG", "LAG ON THE REPLICA: LAG"),
    ] {
        let mut request = create_request(title);
        request.error_message = Some(message.to_owned());
        spine.call(&c, &request).await.expect("create");
    }
    let hits = search(&spine, &c, q("lag")).await;
    assert_eq!(titles(&hits), ["REPLICA LAG", "Replica lag"], "{hits:?}");
    assert!(hits[0].1 > hits[1].1, "{hits:?}");
});
