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

/// A spine on `db` whose clock stands at 2026-12-01 09:00 UTC until moved, and its clock.
fn clocked(db: &hoc_drivers::Database) -> (Spine, TestClock) {
    let clock = TestClock::at(time::macros::datetime!(2026-12-01 09:00 UTC));
    (clock.install(spine(db)), clock)
}

fn titles(hits: &[(String, i64)]) -> Vec<&str> {
    hits.iter().map(|(t, _)| t.as_str()).collect()
}

hoc_drivers::storage_test!(
    search_finds_word_stems_ranks_filters_pages_and_travels_in_time,
    |db| {
        let (spine, clock) = clocked(&db);
        let c = ctx("t1");
        let at_next = || clock.advance(time::Duration::minutes(1));
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

/// Every page of `query` at `ctx`, `limit` at a time: the hits and the instant of the first page.
async fn walk(
    spine: &Spine,
    ctx: &OperationContext,
    query: ListIncidents,
    limit: i64,
) -> (Vec<(String, i64)>, time::OffsetDateTime) {
    let mut hits = Vec::new();
    let mut cursor = None;
    let mut first_as_of = None;
    for _ in 0..100 {
        let page = spine
            .call(
                ctx,
                &ListIncidents {
                    limit: Some(limit),
                    cursor: cursor.clone(),
                    ..query.clone()
                },
            )
            .await
            .expect("page");
        first_as_of.get_or_insert(page.as_of);
        hits.extend(
            page.items
                .into_iter()
                .map(|i| (i.title, i.rank.expect("rank"))),
        );
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return (hits, first_as_of.expect("one page at least")),
        }
    }
    panic!("a walk of 100 pages did not end: {hits:?}")
}

hoc_drivers::storage_test!(
    a_search_in_the_present_and_the_same_search_replayed_later_agree,
    |db| {
        let (spine, clock) = clocked(&db);
        let c = ctx("t1");
        let at_next = || clock.advance(time::Duration::minutes(1));
        // 24 incidents saying "disk" 1-3 times (many ties), another tenant's saying it too; some later get a note
        // that says it again, some a new title: a text's later versions keep their incident's place.
        let mut expected: Vec<(String, i64)> = Vec::new();
        let mut ids = Vec::new();
        for i in 0..24_i64 {
            at_next();
            let times = i % 3 + 1;
            let mut request = create_request(&format!("Incident {i:02}"));
            request.error_message =
                Some(vec!["disk full"; usize::try_from(times).unwrap_or(1)].join("; "));
            ids.push(spine.call(&c, &request).await.expect("create").id);
            expected.push((format!("Incident {i:02}"), times));
            let mut other = create_request(&format!("Elsewhere {i:02}"));
            other.error_message = Some("disk".into());
            spine.call(&ctx("t2"), &other).await.expect("create");
        }
        for i in (0..24).step_by(5) {
            at_next();
            spine
                .call(
                    &c,
                    &AddNote {
                        id: ids[i].clone(),
                        body: Some("the disk again".into()),
                    },
                )
                .await
                .expect("note");
            expected[i].1 += 1;
        }
        for i in (2..24).step_by(7) {
            at_next();
            spine
                .call(
                    &c,
                    &EditIncident {
                        id: ids[i].clone(),
                        expected_version: Some(JsonInt(1)),
                        title: Some(format!("Incident {i:02} (edited)")),
                        ..EditIncident::default()
                    },
                )
                .await
                .expect("edit");
            expected[i].0 = format!("Incident {i:02} (edited)");
        }
        // Best first; ties newest first (the order of creation).
        expected.reverse();
        expected.sort_by_key(|hit| std::cmp::Reverse(hit.1));

        db.record_statements();
        let (present, as_of) = walk(&spine, &c, q("disks"), 5).await;
        let present_sql = db.recorded_statements().join("\n");
        assert_eq!(present.len(), 24, "{present:?}");
        if db.backend() == hoc_drivers::Backend::Sqlite {
            // SQLite's rank is the word's instances; the present's index answered.
            assert_eq!(present, expected);
            assert!(
                present_sql.contains("incident_search_fts_now"),
                "{present_sql}"
            );
        } else {
            let titles_only =
                |hits: &[(String, i64)]| hits.iter().map(|h| h.0.clone()).collect::<Vec<_>>();
            let mut found = titles_only(&present);
            let mut wanted = titles_only(&expected);
            found.sort_unstable();
            wanted.sort_unstable();
            assert_eq!(found, wanted);
        }

        // A later write of the tenant: the same instant is now the past, answered from the history's index, with
        // the same ranks in the same order; so is a search with a filter that keeps every hit.
        at_next();
        spine
            .call(&c, &create_request("Incident later, disk"))
            .await
            .expect("create");
        let (past, _) = walk(&spine, &c.clone().with_as_of(as_of), q("disks"), 7).await;
        assert_eq!(past, present);
        let open = ListIncidents {
            status: Some("open".into()),
            ..q("disks")
        };
        let (filtered, _) = walk(&spine, &c.clone().with_as_of(as_of), open, 4).await;
        assert_eq!(filtered, present);
        let (now, _) = walk(&spine, &c, q("disks"), 6).await;
        assert_eq!(now.len(), 25, "{now:?}");
    }
);

hoc_drivers::storage_test!(
    the_present_index_is_backfilled_in_the_order_of_creation,
    |db| {
        let (spine, clock) = clocked(&db);
        let c = ctx("t1");
        let at_next = || clock.advance(time::Duration::minutes(1));
        let create = async |title: &str, times: usize| {
            let mut request = create_request(title);
            request.error_message = Some(vec!["Disk full"; times].join(", "));
            spine.call(&c, &request).await.expect("create").id
        };
        at_next();
        create("First", 2).await;
        at_next();
        let second = create("Second", 1).await;
        at_next();
        create("Third", 2).await;
        at_next();
        spine
            .call(
                &c,
                &AddNote {
                    id: second,
                    body: Some("DISK".into()),
                },
            )
            .await
            .expect("note");
        let before = search(&spine, &c, q("disk")).await;

        // Without the present's index (the schema before migration 21), more incidents are written; migrating
        // numbers every incident by its creation and indexes every current text, so the search answers as if the
        // index had always been there.
        db.migrate_down_through("m20261207_000021_search_now")
            .await
            .expect("down");
        at_next();
        create("Fourth", 1).await;
        at_next();
        create("Fifth", 3).await;
        db.migrate().await.expect("up");
        let after = search(&spine, &c, q("disk")).await;
        assert_eq!(after.len(), 5, "{after:?}");
        assert_eq!(
            &after
                .iter()
                .filter(|h| h.0 != "Fourth" && h.0 != "Fifth")
                .cloned()
                .collect::<Vec<_>>(),
            &before,
        );
        if db.backend() == hoc_drivers::Backend::Sqlite {
            assert_eq!(
                after,
                [
                    ("Fifth".to_owned(), 3),
                    ("Third".to_owned(), 2),
                    ("Second".to_owned(), 2),
                    ("First".to_owned(), 2),
                    ("Fourth".to_owned(), 1),
                ]
            );
        }
        // A new incident after the migration takes the next key: newest among its ties.
        at_next();
        create("Sixth", 3).await;
        let latest = search(&spine, &c, q("disk")).await;
        assert_eq!(titles(&latest)[..2], ["Sixth", "Fifth"]);
    }
);
