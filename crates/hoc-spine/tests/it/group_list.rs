//! The group list read from the live summaries (a read at an instant after which no group changed) and from the
//! summaries at a past instant agree with a model of the groups built from the incidents created: every order,
//! status filter and page size, now and at instants between the writes.

use std::collections::BTreeMap;

use hoc_incidents::CreateIncident;
use hoc_spine::requests::{ListRecurrenceGroups, ResolveIncident};
use hoc_spine::{OperationContext, Spine};
use time::OffsetDateTime;

use crate::{ctx, spine};

/// (signature, version) → (count, open count, last seen) at an instant, from what the test created.
type Model = BTreeMap<(String, String), (u64, u64, OffsetDateTime)>;

async fn pages(
    spine: &Spine,
    c: &OperationContext,
    order: &str,
    status: Option<&str>,
    limit: i64,
) -> Vec<(String, u64, u64, OffsetDateTime)> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = spine
            .call(
                c,
                &ListRecurrenceGroups {
                    order: Some(order.into()),
                    status: status.map(str::to_owned),
                    limit: Some(limit),
                    cursor: cursor.clone(),
                    ..ListRecurrenceGroups::default()
                },
            )
            .await
            .expect("page");
        out.extend(
            page.items
                .into_iter()
                .map(|g| (g.recurrence_signature, g.count, g.open_count, g.last_seen)),
        );
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return out,
        }
    }
}

fn expected(
    model: &Model,
    order: &str,
    status: Option<&str>,
) -> Vec<(String, u64, u64, OffsetDateTime)> {
    let mut rows: Vec<_> = model
        .iter()
        .filter(|(_, (_, open, _))| match status {
            Some("open") => *open > 0,
            Some(_) => *open == 0,
            None => true,
        })
        .map(|((sig, version), (count, open, last))| {
            (sig.clone(), version.clone(), *count, *open, *last)
        })
        .collect();
    rows.sort_by(|a, b| {
        let key = |r: &(String, String, u64, u64, OffsetDateTime)| {
            let count = if order == "count" { r.2 } else { 0 };
            (count, r.4, r.1.clone(), r.0.clone())
        };
        key(b).cmp(&key(a))
    });
    rows.into_iter()
        .map(|(sig, _, count, open, last)| (sig, count, open, last))
        .collect()
}

hoc_drivers::storage_test!(
    the_group_list_now_and_in_the_past_matches_the_incidents_created,
    |db| {
        let spine = spine(&db);
        let c = ctx("t1");
        let mut model: Model = BTreeMap::new();
        let mut snapshots: Vec<(OffsetDateTime, Model)> = Vec::new();
        // 24 groups of 1 to 4 members, created interleaved; every fifth incident resolved.
        for i in 0..60_u32 {
            let group = (i * 7) % 24;
            let incident = spine
                .call(
                    &c,
                    &CreateIncident {
                        title: Some(format!("job {group} failed")),
                        severity: Some("high".into()),
                        category: Some("batch".into()),
                        error_code: Some(format!("JOB-{group}")),
                        ..CreateIncident::default()
                    },
                )
                .await
                .expect("create");
            let key = (
                incident.recurrence_signature.clone().expect("signed"),
                incident.signature_version.clone().expect("version"),
            );
            let entry = model
                .entry(key.clone())
                .or_insert((0, 0, incident.created_at));
            entry.0 += 1;
            entry.1 += 1;
            entry.2 = entry.2.max(incident.created_at);
            if i % 5 == 4 {
                spine
                    .call(
                        &c,
                        &ResolveIncident {
                            id: incident.id.clone(),
                            resolution_type: Some("hotfix".into()),
                            resolution_summary: Some("fixed".into()),
                            ..ResolveIncident::default()
                        },
                    )
                    .await
                    .expect("resolve");
                if let Some(entry) = model.get_mut(&key) {
                    entry.1 -= 1;
                }
            }
            if i % 20 == 19 {
                let at = spine
                    .call(&c, &ListRecurrenceGroups::default())
                    .await
                    .expect("now")
                    .as_of;
                snapshots.push((at, model.clone()));
            }
        }
        for (at, then) in &snapshots {
            let past = c.clone().with_as_of(*at);
            for order in ["last_seen", "count"] {
                for status in [None, Some("open"), Some("closed")] {
                    let want = expected(then, order, status);
                    for limit in [1, 7, 50] {
                        // Now (the last snapshot) reads the live summaries; the earlier ones the summaries then.
                        assert_eq!(
                            pages(&spine, &past, order, status, limit).await,
                            want,
                            "at {at}, order {order}, status {status:?}, limit {limit}"
                        );
                    }
                }
            }
        }
        // Without an as_of, the same as at the last snapshot.
        let (_, last) = snapshots.last().expect("snapshots");
        assert_eq!(
            pages(&spine, &c, "count", None, 10).await,
            expected(last, "count", None)
        );
    }
);
