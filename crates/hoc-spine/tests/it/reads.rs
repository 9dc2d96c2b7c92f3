//! Deterministic reads: total orders, keyset pages, tied timestamps, `as_of`.

use hoc_incidents::{CreateIncident, Incident};
use hoc_spine::requests::{
    AcknowledgeIncident, GetIncident, GetRecurrenceGroup, IncidentAudit, IncidentTimeline,
    ListIncidents,
};
use hoc_spine::{ErrorCode, OperationContext};
use time::macros::datetime;

use crate::{TestClock, ctx, spine};

fn request(i: usize) -> CreateIncident {
    CreateIncident {
        title: Some(format!("incident {i}")),
        severity: Some(if i.is_multiple_of(2) { "high" } else { "low" }.into()),
        category: Some("cache".into()),
        error_code: Some("REDIS-TIMEOUT".into()),
        ..CreateIncident::default()
    }
}

/// Reads every page of a listing and returns the items in the order read.
async fn all_pages(
    spine: &hoc_spine::Spine,
    ctx: &OperationContext,
    mut req: ListIncidents,
) -> Vec<Incident> {
    let mut out = Vec::new();
    loop {
        let page = spine.call(ctx, &req).await.expect("page");
        assert!(page.items.len() <= req.limit.unwrap_or(50) as usize);
        out.extend(page.items);
        match page.next_cursor {
            Some(cursor) => req.cursor = Some(cursor),
            None => return out,
        }
    }
}

fn total_order(items: &mut [Incident]) {
    items.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
}

hoc_drivers::storage_test!(
    pages_stitch_into_one_total_order_with_tied_timestamps,
    |db| {
        let clock = TestClock::at(datetime!(2026-11-26 09:00:00 UTC));
        let spine = clock.install(spine(&db));
        // Three batches; every incident of a batch has the same created_at, and the batches are created out of time
        // order, so neither insertion order nor id order alone gives the listing order.
        let mut created = Vec::new();
        for (batch, at) in [
            datetime!(2026-11-26 09:00:00.5 UTC),
            datetime!(2026-11-26 09:00:00 UTC),
            datetime!(2026-11-26 09:00:00.37 UTC),
        ]
        .into_iter()
        .enumerate()
        {
            clock.set(at);
            for i in 0..5 {
                created.push(
                    spine
                        .call(&ctx("t1"), &request(batch * 5 + i))
                        .await
                        .expect("create"),
                );
            }
        }
        clock.set(datetime!(2026-11-26 09:01:00 UTC));
        let mut expected = created.clone();
        total_order(&mut expected);

        for limit in [1, 2, 4, 15, 50] {
            let first = all_pages(
                &spine,
                &ctx("t1"),
                ListIncidents {
                    limit: Some(limit),
                    ..Default::default()
                },
            )
            .await;
            let second = all_pages(
                &spine,
                &ctx("t1"),
                ListIncidents {
                    limit: Some(limit),
                    ..Default::default()
                },
            )
            .await;
            assert_eq!(first, second, "limit {limit}: two reads differ");
            assert_eq!(
                first.iter().map(|i| &i.id).collect::<Vec<_>>(),
                expected.iter().map(|i| &i.id).collect::<Vec<_>>(),
                "limit {limit}"
            );
        }

        // Filters keep the same order.
        let high = all_pages(
            &spine,
            &ctx("t1"),
            ListIncidents {
                severity: Some("high".into()),
                limit: Some(2),
                ..Default::default()
            },
        )
        .await;
        let expected_high: Vec<&String> = expected
            .iter()
            .filter(|i| i.severity.as_str() == "high")
            .map(|i| &i.id)
            .collect();
        assert_eq!(
            high.iter().map(|i| &i.id).collect::<Vec<_>>(),
            expected_high
        );
        let open = all_pages(
            &spine,
            &ctx("t1"),
            ListIncidents {
                status: Some("open".into()),
                ..Default::default()
            },
        )
        .await;
        assert_eq!(open.len(), 15);

        // The recurrence group pages the same way.
        let signature = created[0].recurrence_signature.clone().expect("signed");
        let mut members = Vec::new();
        let mut cursor = None;
        loop {
            let page = spine
                .call(
                    &ctx("t1"),
                    &GetRecurrenceGroup {
                        signature: signature.clone(),
                        limit: Some(4),
                        cursor,
                        ..Default::default()
                    },
                )
                .await
                .expect("group page");
            assert_eq!(page.count, 15);
            members.extend(page.items);
            cursor = page.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
        assert_eq!(
            members.iter().map(|i| &i.id).collect::<Vec<_>>(),
            expected.iter().map(|i| &i.id).collect::<Vec<_>>()
        );
    }
);

hoc_drivers::storage_test!(as_of_hides_later_rows_and_is_echoed, |db| {
    let clock = TestClock::at(datetime!(2026-11-26 09:00:00 UTC));
    let spine = clock.install(spine(&db));
    let early = spine.call(&ctx("t1"), &request(0)).await.expect("early");
    clock.set(datetime!(2026-11-26 10:00:00 UTC));
    let late = spine.call(&ctx("t1"), &request(1)).await.expect("late");
    spine
        .call(
            &ctx("t1"),
            &AcknowledgeIncident {
                id: early.id.clone(),
                reason: None,
            },
        )
        .await
        .expect("ack later");
    clock.set(datetime!(2026-11-26 11:00:00 UTC));

    let at = datetime!(2026-11-26 09:30:00 UTC);
    let past = ctx("t1").with_as_of(at);
    let page = spine
        .call(&past, &ListIncidents::default())
        .await
        .expect("list");
    assert_eq!(
        page.items.iter().map(|i| &i.id).collect::<Vec<_>>(),
        [&early.id]
    );
    assert_eq!(page.as_of, at);
    // Without as_of, the read is at the tenant's last committed change (the acknowledge at 10:00, which the
    // tenant clock put one microsecond after the create of the same clock reading), and echoes it.
    let now_page = spine
        .call(&ctx("t1"), &ListIncidents::default())
        .await
        .expect("list");
    assert_eq!(now_page.as_of, datetime!(2026-11-26 10:00:00.000001 UTC));
    assert_eq!(now_page.items.len(), 2);

    // Timeline and audit hide what happened after as_of; get hides incidents created after it.
    let timeline = spine
        .call(
            &past,
            &IncidentTimeline {
                id: early.id.clone(),
            },
        )
        .await
        .expect("timeline");
    assert_eq!(timeline.items.len(), 1);
    let audit = spine
        .call(
            &past,
            &IncidentAudit {
                id: early.id.clone(),
                ..Default::default()
            },
        )
        .await
        .expect("audit");
    assert_eq!((audit.items.len(), audit.as_of), (1, at));
    let err = spine
        .call(
            &past,
            &GetIncident {
                id: late.id.clone(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound);
    let group = spine
        .call(
            &past,
            &GetRecurrenceGroup {
                signature: early.recurrence_signature.clone().expect("signed"),
                ..Default::default()
            },
        )
        .await
        .expect("group");
    assert_eq!(
        (group.count, group.as_of, group.last_seen),
        (1, at, Some(early.created_at))
    );
});

hoc_drivers::storage_test!(cursors_keep_their_as_of_and_reject_tampering, |db| {
    let clock = TestClock::at(datetime!(2026-11-26 09:00:00 UTC));
    let spine = clock.install(spine(&db));
    for i in 0..3 {
        spine.call(&ctx("t1"), &request(i)).await.expect("create");
    }
    let first = spine
        .call(
            &ctx("t1"),
            &ListIncidents {
                limit: Some(2),
                ..Default::default()
            },
        )
        .await
        .expect("page 1");
    let cursor = first.next_cursor.clone().expect("more pages");
    // A row created after the first page does not shift the listing: the cursor carries its as_of.
    clock.set(datetime!(2026-11-26 09:05:00 UTC));
    spine.call(&ctx("t1"), &request(9)).await.expect("later");
    let second = spine
        .call(
            &ctx("t1"),
            &ListIncidents {
                limit: Some(2),
                cursor: Some(cursor.clone()),
                ..Default::default()
            },
        )
        .await
        .expect("page 2");
    assert_eq!(
        (second.items.len(), second.as_of, second.next_cursor),
        (1, first.as_of, None)
    );
    // An explicit as_of with the cursor reads on from the cursor's position in the listing at that as_of
    // (and echoes it); a damaged cursor is invalid input.
    let at_nine_05 = datetime!(2026-11-26 09:05:00 UTC);
    let other = ctx("t1").with_as_of(at_nine_05);
    let moved = spine
        .call(
            &other,
            &ListIncidents {
                cursor: Some(cursor),
                ..Default::default()
            },
        )
        .await
        .expect("explicit as_of with a cursor");
    assert_eq!(moved.as_of, at_nine_05);
    assert_eq!(
        moved.items.iter().map(|i| &i.id).collect::<Vec<_>>(),
        second.items.iter().map(|i| &i.id).collect::<Vec<_>>(),
        "the later row is newer than the cursor's position, so the rest of the listing is the same"
    );
    let err = spine
        .call(
            &ctx("t1"),
            &ListIncidents {
                cursor: Some("zz".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid input: cursor: is not a cursor this service issued"
    );
    // Limits run from 1 to 500: the largest is served, anything above is refused, and so is zero.
    let largest = spine
        .call(
            &ctx("t1"),
            &ListIncidents {
                limit: Some(500),
                ..Default::default()
            },
        )
        .await
        .expect("largest page");
    assert_eq!(largest.items.len(), 4);
    let err = spine
        .call(
            &ctx("t1"),
            &ListIncidents {
                limit: Some(100_000),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid input: limit: must be an integer from 1 to 500"
    );
    let err = spine
        .call(
            &ctx("t1"),
            &ListIncidents {
                limit: Some(0),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
});

hoc_drivers::storage_test!(
    the_created_window_filters_combine_with_other_filters_pages_and_as_of,
    |db| {
        let clock = TestClock::at(datetime!(2026-11-26 09:00:00 UTC));
        let spine = clock.install(spine(&db));
        let c = ctx("t1");
        for (i, at) in [
            datetime!(2026-11-26 09:00:00 UTC),
            datetime!(2026-11-26 10:00:00 UTC),
            datetime!(2026-11-26 11:00:00 UTC),
            datetime!(2026-11-26 12:00:00 UTC),
        ]
        .into_iter()
        .enumerate()
        {
            clock.set(at);
            spine.call(&c, &request(i)).await.expect("create");
        }
        let titles =
            |items: Vec<Incident>| -> Vec<String> { items.into_iter().map(|i| i.title).collect() };
        let window = |after: Option<&str>, before: Option<&str>| ListIncidents {
            created_after: after.map(str::to_owned),
            created_before: before.map(str::to_owned),
            ..ListIncidents::default()
        };
        // `created_after` is inclusive, `created_before` exclusive; any offset is accepted.
        let page = spine
            .call(&c, &window(Some("2026-11-26T10:00:00Z"), None))
            .await
            .expect("after");
        assert_eq!(
            titles(page.items),
            ["incident 3", "incident 2", "incident 1"]
        );
        let page = spine
            .call(&c, &window(None, Some("2026-11-26T12:00:00+01:00")))
            .await
            .expect("before");
        assert_eq!(titles(page.items), ["incident 1", "incident 0"]);
        let page = spine
            .call(
                &c,
                &ListIncidents {
                    severity: Some("high".into()),
                    ..window(Some("2026-11-26T10:00:00Z"), Some("2026-11-26T12:00:00Z"))
                },
            )
            .await
            .expect("with severity");
        assert_eq!(titles(page.items), ["incident 2"]);
        // Pages of one stitch into the whole window.
        let paged = all_pages(
            &spine,
            &c,
            ListIncidents {
                limit: Some(1),
                ..window(Some("2026-11-26T09:00:00Z"), Some("2026-11-26T12:00:00Z"))
            },
        )
        .await;
        assert_eq!(titles(paged), ["incident 2", "incident 1", "incident 0"]);
        // At an instant before the last creation, the window shows what existed then.
        let then = spine
            .call(
                &c.clone().with_as_of(datetime!(2026-11-26 11:30:00 UTC)),
                &window(Some("2026-11-26T10:00:00Z"), None),
            )
            .await
            .expect("as of");
        assert_eq!(titles(then.items), ["incident 2", "incident 1"]);
        // An empty or inverted window is a window with nothing in it (JSON Schema cannot relate the two bounds,
        // so a schema-valid request is answered, not refused).
        for (after, before) in [
            ("2026-11-26T11:00:00Z", "2026-11-26T11:00:00Z"),
            ("2026-11-26T12:00:00Z", "2026-11-26T10:00:00Z"),
        ] {
            let page = spine
                .call(&c, &window(Some(after), Some(before)))
                .await
                .expect("empty window");
            assert!(page.items.is_empty() && page.next_cursor.is_none());
        }
        // A bad instant is refused with every other bad field.
        let err = spine
            .call(
                &c,
                &ListIncidents {
                    status: Some("sleeping".into()),
                    ..window(Some("yesterday"), None)
                },
            )
            .await
            .expect_err("bad instant");
        assert_eq!(err.code(), ErrorCode::InvalidInput);
        let text = err.to_string();
        assert!(text.contains("status:"), "{text}");
        assert!(
            text.contains("created_after: must be an RFC 3339 timestamp"),
            "{text}"
        );
    }
);
