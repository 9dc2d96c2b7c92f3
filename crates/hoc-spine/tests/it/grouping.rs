//! Grouping people can steer: the grouping configuration (validated, versioned, audited, announced), how it
//! decides a new incident's group (rules, a transition's secondary algorithm), the group list (a total order,
//! keyset pages, `as_of`), and regroup (preview, apply in batches, resume, idempotence, the past unchanged).

use std::collections::BTreeMap;

use hoc_incidents::CreateIncident;
use hoc_incidents::grouping::{FingerprintRule, GroupKey};
use hoc_incidents::queries::GroupSummary;
use hoc_incidents::recurrence::{RsigV1, SignatureSource, sign_with};
use hoc_spine::ErrorCode;
use hoc_spine::regroup::RegroupOptions;
use hoc_spine::requests::{
    GetGroupingConfig, GroupForIncident, ListEvents, ListIncidents, ListRecurrenceGroups,
    PutGroupingConfig, ResolveIncident,
};
use hoc_spine::{OperationContext, Spine};

use crate::{ctx, spine};

fn incident(category: &str, message: &str) -> CreateIncident {
    CreateIncident {
        title: Some(format!("{category}: {message}").chars().take(200).collect()),
        severity: Some("high".into()),
        category: Some(category.into()),
        error_message: Some(message.into()),
        ..CreateIncident::default()
    }
}

fn rule(matchers: &[(&str, &str)], fingerprint: &[&str]) -> FingerprintRule {
    FingerprintRule {
        matchers: matchers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        fingerprint: fingerprint.iter().map(|s| (*s).to_owned()).collect(),
    }
}

fn put(primary: &str, secondary: Option<&str>, rules: Vec<FingerprintRule>) -> PutGroupingConfig {
    PutGroupingConfig {
        primary_version: Some(primary.into()),
        secondary_version: secondary.map(str::to_owned),
        fingerprint_rules: Some(rules),
        ..PutGroupingConfig::default()
    }
}

/// Every group of the tenant at the context's instant, following cursors with pages of `limit`.
async fn all_groups(
    spine: &Spine,
    ctx: &OperationContext,
    order: &str,
    limit: i64,
) -> Vec<GroupSummary> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = spine
            .call(
                ctx,
                &ListRecurrenceGroups {
                    order: Some(order.into()),
                    limit: Some(limit),
                    cursor: cursor.clone(),
                    ..ListRecurrenceGroups::default()
                },
            )
            .await
            .expect("group page");
        assert!(page.items.len() <= usize::try_from(limit).expect("limit"));
        out.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return out,
        }
    }
}

hoc_drivers::storage_test!(
    grouping_config_is_validated_versioned_audited_and_announced,
    |db| {
        let spine = spine(&db);
        let c = ctx("t1");
        let defaults = spine.call(&c, &GetGroupingConfig {}).await.expect("get");
        assert_eq!(
            (defaults.version, defaults.primary_version.as_str()),
            (0, "rsig-v3"),
            "a tenant with no configuration and no incidents starts on the newest version"
        );
        // Every bad field at once, and nothing written.
        let bad = PutGroupingConfig {
            primary_version: Some("rsig-v7".into()),
            secondary_version: Some("rsig-v7".into()),
            fingerprint_rules: Some(vec![
                rule(&[("colour", "red")], &["x"]),
                rule(&[("title", "*disk*")], &["{{ nope }}", " "]),
            ]),
            expected_version: Some(hoc_contracts::input::JsonInt(-2)),
            reason: None,
        };
        let err = refused_without_writes!(db, ErrorCode::InvalidInput, spine.call(&c, &bad));
        let text = err.to_string();
        for field in [
            "primary_version:",
            "secondary_version: `rsig-v7`",
            "fingerprint_rules[0].match.colour:",
            "fingerprint_rules[1].fingerprint[0]:",
            "fingerprint_rules[1].fingerprint[1]:",
            "expected_version:",
        ] {
            assert!(text.contains(field), "{field} missing from {text}");
        }
        let too_many = put(
            "rsig-v2",
            None,
            (0..33).map(|_| rule(&[("title", "*")], &["x"])).collect(),
        );
        let err = refused_without_writes!(db, ErrorCode::InvalidInput, spine.call(&c, &too_many));
        assert!(
            err.to_string()
                .contains("fingerprint_rules: must have at most 32 rules"),
            "{err}"
        );

        let first = spine
            .call(
                &c,
                &put(
                    "rsig-v2",
                    Some("rsig-v1"),
                    vec![rule(&[("category", "database")], &["db"])],
                ),
            )
            .await
            .expect("put");
        assert_eq!(first.version, 1);
        assert_eq!(first.secondary_version.as_deref(), Some("rsig-v1"));
        let changed_at = first.updated_at.expect("written at");
        // A precondition on the version: the stale writer is refused.
        let stale = PutGroupingConfig {
            expected_version: Some(hoc_contracts::input::JsonInt(0)),
            ..put("rsig-v1", None, vec![])
        };
        let err = refused_without_writes!(db, ErrorCode::StaleVersion, spine.call(&c, &stale));
        assert!(err.to_string().contains("at version 1, not 0"), "{err}");
        let second = spine
            .call(
                &c,
                &PutGroupingConfig {
                    expected_version: Some(hoc_contracts::input::JsonInt(1)),
                    ..put("rsig-v2", None, vec![])
                },
            )
            .await
            .expect("second");
        assert_eq!((second.version, second.secondary_version), (2, None));
        // Versioned: the past shows the configuration then; another tenant has its own.
        let then = spine
            .call(&ctx("t1").with_as_of(changed_at), &GetGroupingConfig {})
            .await
            .expect("then");
        assert_eq!((then.version, then.fingerprint_rules.len()), (1, 1));
        let other = spine
            .call(&ctx("t2"), &GetGroupingConfig {})
            .await
            .expect("t2");
        assert_eq!(other.version, 0);
        // Audited and announced.
        let events = spine
            .call(
                &c,
                &ListEvents {
                    after: None,
                    limit: Some(50),
                },
            )
            .await
            .expect("events");
        let changes: Vec<_> = events
            .items
            .iter()
            .filter(|e| e.event_type == "incidents.GroupingConfigChanged")
            .map(|e| {
                (
                    e.data["config_version"].clone(),
                    e.data["secondary_version"].clone(),
                    e.data["rule_count"].clone(),
                )
            })
            .collect();
        assert_eq!(
            changes,
            [
                (1.into(), "rsig-v1".into(), 1.into()),
                (2.into(), "none".into(), 0.into())
            ]
        );
        let audit = spine
            .call(
                &c,
                &hoc_spine::requests::ListAudit {
                    entity_id: Some("t1".into()),
                    ..Default::default()
                },
            )
            .await
            .expect("audit");
        let actions: Vec<_> = audit.items.iter().map(|a| a.action.as_str()).collect();
        assert_eq!(
            actions,
            [
                "incidents.grouping.put_config",
                "incidents.grouping.put_config"
            ]
        );
        assert_eq!(
            audit.items[1].before_state.as_ref().expect("before")["version"],
            1
        );
    }
);

hoc_drivers::storage_test!(
    rules_and_a_transition_decide_the_group_of_a_new_incident,
    |db| {
        let spine = spine(&db);
        let c = ctx("t1");
        spine
            .call(&c, &put("rsig-v1", None, vec![]))
            .await
            .expect("start on v1");
        let first = spine
            .call(
                &c,
                &incident("network", "timeout after 30s calling api.example.com"),
            )
            .await
            .expect("a");
        assert_eq!(first.signature_version.as_deref(), Some("rsig-v1"));
        // The upgrade: v2 primary, v1 secondary.
        spine
            .call(&c, &put("rsig-v2", Some("rsig-v1"), vec![]))
            .await
            .expect("transition");
        // The same failure again: no v2 group yet, but its v1 group exists, so it joins that (no split).
        let again = spine
            .call(
                &c,
                &incident("network", "timeout after 30s calling api.example.com"),
            )
            .await
            .expect("again");
        assert_eq!(
            (
                again.signature_version.as_deref(),
                &again.recurrence_signature
            ),
            (Some("rsig-v1"), &first.recurrence_signature)
        );
        // The same failure on another host: its v1 signature is new, so it starts a v2 group ...
        let other_host = spine
            .call(
                &c,
                &incident("network", "timeout after 45s calling auth.example.com"),
            )
            .await
            .expect("other host");
        assert_eq!(other_host.signature_version.as_deref(), Some("rsig-v2"));
        // ... which a third host then joins by its primary signature.
        let third = spine
            .call(
                &c,
                &incident("network", "timeout after 2s calling db.example.com"),
            )
            .await
            .expect("third");
        assert_eq!(third.recurrence_signature, other_host.recurrence_signature);

        // Fingerprint rules: the first match wins and substitutes fields.
        spine
            .call(
                &c,
                &put(
                    "rsig-v2",
                    None,
                    vec![
                        rule(
                            &[("category", "data*"), ("error_message", "*deadlock*")],
                            &["db-deadlock", "{{ source_ref }}"],
                        ),
                        rule(&[("category", "database")], &["any-db"]),
                    ],
                ),
            )
            .await
            .expect("rules");
        let deadlock = |source: &str, message: &str| CreateIncident {
            source_ref: Some(source.into()),
            ..incident("Database", message)
        };
        let a = spine
            .call(&c, &deadlock("eu", "ERROR: Deadlock detected, pid 12"))
            .await
            .expect("a");
        let b = spine
            .call(&c, &deadlock("eu", "deadlock on relation \"orders\""))
            .await
            .expect("b");
        let us = spine
            .call(&c, &deadlock("us", "deadlock detected"))
            .await
            .expect("us");
        let generic = spine
            .call(&c, &deadlock("eu", "disk full"))
            .await
            .expect("generic");
        assert_eq!(a.recurrence_signature, b.recurrence_signature);
        assert_ne!(a.recurrence_signature, us.recurrence_signature);
        assert_ne!(a.recurrence_signature, generic.recurrence_signature);
        let why = spine
            .call(
                &c,
                &GroupForIncident {
                    id: a.id.clone(),
                    ..Default::default()
                },
            )
            .await
            .expect("why");
        let inputs = why.signature_inputs.expect("inputs");
        assert_eq!(inputs.rule.as_deref(), Some("v3#1"));
        assert_eq!(
            inputs.fields,
            [
                ("fingerprint".to_owned(), "db-deadlock".to_owned()),
                ("fingerprint".to_owned(), "eu".to_owned())
            ]
        );
        // A caller's own fingerprint wins over every rule.
        let own = spine
            .call(
                &c,
                &CreateIncident {
                    fingerprint: Some(vec!["mine".into()]),
                    ..deadlock("eu", "deadlock")
                },
            )
            .await
            .expect("own");
        assert_ne!(own.recurrence_signature, a.recurrence_signature);

        // Events carry the grouping.
        let events = spine
            .call(
                &c,
                &ListEvents {
                    after: None,
                    limit: Some(100),
                },
            )
            .await
            .expect("events");
        let created: Vec<_> = events
            .items
            .iter()
            .filter(|e| e.event_type == "incidents.IncidentCreated")
            .map(|e| {
                (
                    e.data["incident_id"].as_str().unwrap_or("").to_owned(),
                    e.data["recurrence_signature"]
                        .as_str()
                        .unwrap_or("")
                        .to_owned(),
                    e.data["signature_version"]
                        .as_str()
                        .unwrap_or("")
                        .to_owned(),
                )
            })
            .collect();
        assert_eq!(created.len(), 9);
        for incident in [&first, &again, &other_host, &a, &own] {
            assert!(
                created.contains(&(
                    incident.id.clone(),
                    incident.recurrence_signature.clone().unwrap_or_default(),
                    incident.signature_version.clone().unwrap_or_default()
                )),
                "{}",
                incident.id
            );
        }
    }
);

hoc_drivers::storage_test!(
    group_list_pages_in_a_total_order_and_travels_in_time,
    |db| {
        let spine = spine(&db);
        let c = ctx("t1");
        // Seven groups of 1 to 7 members (sizes 2 and 5 twice, so counts tie), created interleaved.
        let sizes = [1_usize, 2, 2, 4, 5, 5, 7];
        let mut members: Vec<Vec<hoc_incidents::Incident>> = vec![Vec::new(); sizes.len()];
        let mut half_time = None;
        for round in 0..7 {
            for (g, size) in sizes.iter().enumerate() {
                if round < *size {
                    let created = spine
                        .call(&c, &incident(&format!("cat{g}"), "same message"))
                        .await
                        .expect("create");
                    members[g].push(created);
                }
            }
            if round == 2 {
                half_time = Some(members[6][2].created_at);
            }
        }
        spine
            .call(&ctx("t2"), &incident("cat0", "same message"))
            .await
            .expect("other tenant");
        // Every member of group 3 resolved: it has no open member.
        for m in &members[3] {
            spine
                .call(
                    &c,
                    &ResolveIncident {
                        id: m.id.clone(),
                        resolution_type: Some("hotfix".into()),
                        ..Default::default()
                    },
                )
                .await
                .expect("resolve");
        }

        for order in ["last_seen", "count"] {
            let whole = all_groups(&spine, &c, order, 100).await;
            assert_eq!(whole.len(), 7, "{order}");
            for limit in [1, 2, 3] {
                assert_eq!(
                    all_groups(&spine, &c, order, limit).await,
                    whole,
                    "{order} {limit}"
                );
            }
            let key = |g: &GroupSummary| {
                let count = if order == "count" { g.count } else { 0 };
                (
                    count,
                    g.last_seen,
                    g.signature_version.clone(),
                    g.recurrence_signature.clone(),
                )
            };
            for pair in whole.windows(2) {
                assert!(
                    key(&pair[0]) > key(&pair[1]),
                    "{order}: not strictly descending"
                );
            }
        }
        // Summaries match the members.
        let whole = all_groups(&spine, &c, "count", 100).await;
        for (g, group) in members.iter().enumerate() {
            let signature = group[0].recurrence_signature.clone().expect("signed");
            let summary = whole
                .iter()
                .find(|s| s.recurrence_signature == signature)
                .expect("listed");
            assert_eq!(summary.count, sizes[g] as u64);
            assert_eq!(summary.open_count, if g == 3 { 0 } else { sizes[g] as u64 });
            assert_eq!(summary.first_seen, group[0].created_at);
            assert_eq!(summary.last_seen, group.last().expect("member").created_at);
            assert_eq!(
                summary.sample_title.as_deref(),
                Some(group.last().expect("member").title.as_str())
            );
        }
        // Filters.
        let open = spine
            .call(
                &c,
                &ListRecurrenceGroups {
                    status: Some("open".into()),
                    ..Default::default()
                },
            )
            .await
            .expect("open");
        assert_eq!(open.items.len(), 6);
        let closed = spine
            .call(
                &c,
                &ListRecurrenceGroups {
                    status: Some("closed".into()),
                    ..Default::default()
                },
            )
            .await
            .expect("closed");
        assert_eq!(closed.items.len(), 1);
        let v2 = spine
            .call(
                &c,
                &ListRecurrenceGroups {
                    version: Some("rsig-v2".into()),
                    ..Default::default()
                },
            )
            .await
            .expect("v2");
        assert!(v2.items.is_empty());
        // The past: after round 2, each group had min(size, 3) members, all open.
        let then = ctx("t1").with_as_of(half_time.expect("recorded"));
        let past = all_groups(&spine, &then, "count", 2).await;
        assert_eq!(
            past.iter().map(|g| g.count).collect::<Vec<_>>(),
            [3, 3, 3, 3, 2, 2, 1]
        );
        assert!(past.iter().all(|g| g.open_count == g.count));
        // A cursor keeps its snapshot: a group created after the first page does not appear in the next one.
        let first_page = spine
            .call(
                &c,
                &ListRecurrenceGroups {
                    limit: Some(3),
                    ..Default::default()
                },
            )
            .await
            .expect("page 1");
        spine
            .call(&c, &incident("brand-new", "x"))
            .await
            .expect("new group");
        let rest = spine
            .call(
                &c,
                &ListRecurrenceGroups {
                    limit: Some(10),
                    cursor: first_page.next_cursor.clone(),
                    ..Default::default()
                },
            )
            .await
            .expect("page 2");
        assert_eq!(rest.as_of, first_page.as_of);
        assert_eq!(first_page.items.len() + rest.items.len(), 7);
        assert_eq!(all_groups(&spine, &c, "last_seen", 50).await[0].count, 1);
        // A damaged cursor is invalid input.
        let err = spine
            .call(
                &c,
                &ListRecurrenceGroups {
                    cursor: Some("1.2.3".into()),
                    ..Default::default()
                },
            )
            .await
            .expect_err("bad cursor");
        assert_eq!(err.code(), ErrorCode::InvalidInput);
    }
);

/// Realistic failures for the regroup: (category, message with `{w}` for a name and `{n}` for numbers). rsig-v1
/// masks only the numbers, so each name makes its own v1 group; rsig-v2 masks the name's token too.
const SHAPES: &[(&str, &str)] = &[
    ("network", "timeout after {n}s calling {w}.example.com"),
    ("database", "relation \"{w}_{n}\" does not exist"),
    (
        "database",
        "could not connect to server \"{w}\" at 10.0.{n}.{n}:5432: connection refused",
    ),
    ("storage", "open /var/lib/{w}/{n}.db: permission denied"),
    (
        "memory",
        "OOMKilled: container '{w}' requested {n}MB of {n}MB",
    ),
    (
        "cache",
        "redis timeout after {n}ms on {w}.svc.cluster.local",
    ),
    ("app", "user {w}@example.com not found"),
    ("jobs", "job `{w}` took {n}m{n}s, over its window"),
];
const WORDS: &[&str] = &[
    "api", "auth", "billing", "search", "orders", "users", "ledger",
];

/// Writes `n` incidents of `tenant` straight through the drivers in one transaction (the database's triggers
/// record their history and group summaries as for any insert), signed with rsig-v1 as the spine would, then
/// ticks the tenant clock past them. Every 10th has a caller fingerprint; every 3rd is resolved.
async fn seed(db: &hoc_drivers::Database, tenant: &str, n: usize) {
    let tx = hoc_ledger::begin_write(db).await.expect("begin");
    let base = time::macros::datetime!(2026-11-01 00:00:00 UTC);
    for i in 0..n {
        let (category, shape) = SHAPES[i % SHAPES.len()];
        let message = shape
            .replace("{w}", WORDS[(i / SHAPES.len()) % WORDS.len()])
            .replacen("{n}", &(i % 97).to_string(), 1)
            .replacen("{n}", &(i % 13 + 1).to_string(), 1)
            .replacen("{n}", &(i % 7 + 2).to_string(), 1);
        let fingerprint = (i % 10 == 0).then(|| vec![format!("team-{}", i % 4)]);
        let signature = sign_with(
            &RsigV1,
            &SignatureSource {
                category,
                error_message: Some(&message),
                title: &message,
                fingerprint: fingerprint.as_deref(),
                ..SignatureSource::default()
            },
        );
        let at = base + time::Duration::milliseconds(i as i64);
        let status = if i % 3 == 0 { "resolved" } else { "open" };
        hoc_drivers::incidents::insert(
            &tx,
            hoc_drivers::IncidentRow {
                id: format!("inc_{tenant}_{i:06}"),
                tenant_id: tenant.to_owned(),
                title: message.chars().take(200).collect(),
                severity: hoc_drivers::Stored(hoc_contracts::input::Severity::High),
                category: category.into(),
                status: hoc_drivers::Stored(if status == "resolved" {
                    hoc_spine::IncidentState::Resolved
                } else {
                    hoc_spine::IncidentState::Open
                }),
                trigger_type: None,
                source_type: None,
                source_ref: None,
                error_code: None,
                error_message: Some(message.clone()),
                description: None,
                recurrence_signature: Some(signature.signature),
                signature_version: Some("rsig-v1".into()),
                signature_inputs: Some(serde_json::to_string(&signature.inputs).expect("json")),
                resolution_type: (status == "resolved").then_some(hoc_drivers::Stored(
                    hoc_contracts::input::ResolutionType::Hotfix,
                )),
                resolution_summary: None,
                resolution_method: None,
                close_reason: None,
                postmortem_artifact_id: None,
                acknowledged_at: None,
                acknowledged_by: None,
                resolved_at: (status == "resolved").then(|| at.into()),
                resolved_by: (status == "resolved").then(|| "seed".into()),
                closed_at: None,
                closed_by: None,
                created_at: at.into(),
                updated_at: at.into(),
                version: 1,
                service: None,
                labels: None,
                assignee: None,
                duplicate_of: None,
                duplicates: None,
            },
        )
        .await
        .expect("insert");
    }
    hoc_ledger::clock::tick(&tx, tenant, base + time::Duration::hours(24))
        .await
        .expect("tick");
    tx.commit().await.expect("commit");
}

/// (count, open_count, first_seen, last_seen) of every group, recomputed from the incidents themselves.
async fn recomputed(
    spine: &Spine,
    c: &OperationContext,
) -> BTreeMap<GroupKey, (u64, u64, time::OffsetDateTime, time::OffsetDateTime)> {
    let mut groups = BTreeMap::new();
    let mut cursor = None;
    loop {
        let page = spine
            .call(
                c,
                &ListIncidents {
                    limit: Some(500),
                    cursor: cursor.clone(),
                    ..Default::default()
                },
            )
            .await
            .expect("incidents");
        for i in page.items {
            let key = GroupKey {
                signature_version: i.signature_version.clone().expect("version"),
                recurrence_signature: i.recurrence_signature.clone().expect("signature"),
            };
            let open = u64::from(matches!(i.status.as_str(), "open" | "acknowledged"));
            let entry = groups
                .entry(key)
                .or_insert((0, 0, i.created_at, i.created_at));
            entry.0 += 1;
            entry.1 += open;
            entry.2 = entry.2.min(i.created_at);
            entry.3 = entry.3.max(i.created_at);
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return groups,
        }
    }
}

async fn listed(
    spine: &Spine,
    c: &OperationContext,
) -> BTreeMap<GroupKey, (u64, u64, time::OffsetDateTime, time::OffsetDateTime)> {
    all_groups(spine, c, "count", 500)
        .await
        .into_iter()
        .map(|g| {
            (
                GroupKey {
                    signature_version: g.signature_version,
                    recurrence_signature: g.recurrence_signature,
                },
                (g.count, g.open_count, g.first_seen, g.last_seen),
            )
        })
        .collect()
}

hoc_drivers::storage_test!(
    regroup_previews_applies_in_batches_resumes_and_keeps_the_past,
    |db| {
        const N: usize = 10_000;
        seed(&db, "t1", N).await;
        seed(&db, "t2", 50).await;
        let spine = spine(&db);
        let c = OperationContext::new("t1", hoc_contracts::ActorType::System, "regrouper")
            .expect("ctx");
        let options = |apply: bool, max_batches: Option<u64>| RegroupOptions {
            to: "rsig-v2".into(),
            apply,
            batch_size: 500,
            resume_after: None,
            max_batches,
        };
        let before = listed(&spine, &c).await;
        assert_eq!(before, recomputed(&spine, &c).await, "seeded summaries");
        let before_at = spine
            .call(&c, &ListRecurrenceGroups::default())
            .await
            .expect("now")
            .as_of;

        let dry = spine
            .regroup(&c, &options(false, None))
            .await
            .expect("dry run");
        assert!(dry.applied.is_none());
        let report = &dry.preview;
        assert_eq!(report.incidents, N as u64);
        assert_eq!(report.groups_before, before.len() as u64);
        // Every incident moves (its signature changes with the algorithm); v1 over-split the hosts, paths and
        // names, so groups merge.
        assert_eq!(report.incidents_moving, N as u64);
        assert!(report.groups_after * 3 < report.groups_before, "{report}");
        assert!(
            report.merge_count > 0 && !report.merges.is_empty(),
            "{report}"
        );
        assert_eq!(report.split_count, 0, "{report}");
        assert!(
            report
                .largest_moves
                .windows(2)
                .all(|w| w[0].incidents >= w[1].incidents)
        );
        // A dry run writes nothing and is deterministic.
        assert_eq!(listed(&spine, &c).await, before);
        assert_eq!(
            spine
                .regroup(&c, &options(false, None))
                .await
                .expect("again")
                .preview,
            dry.preview
        );

        // An apply interrupted after 4 batches of 500.
        let partial = spine
            .regroup(&c, &options(true, Some(4)))
            .await
            .expect("partial");
        let partial_applied = partial.applied.expect("applied");
        assert_eq!((partial_applied.batches, partial_applied.moved), (4, 2_000));
        assert!(partial_applied.resume_cursor.is_some());
        assert!(!partial_applied.matches_preview);
        // Mid-way, the summaries still match the members (both algorithms' groups exist).
        assert_eq!(
            listed(&spine, &c).await,
            recomputed(&spine, &c).await,
            "mid-way"
        );
        // Resumed by running it again: what already moved is not touched again.
        let rest = spine.regroup(&c, &options(true, None)).await.expect("rest");
        let rest_applied = rest.applied.expect("applied");
        assert_eq!(rest_applied.moved, (N - 2_000) as u64);
        assert_eq!(rest.preview.incidents_moving, (N - 2_000) as u64);
        let mut all_moves = partial_applied.moves.clone();
        all_moves.extend(rest_applied.moves.clone());
        assert_eq!(
            hoc_incidents::grouping::moves_digest(&all_moves),
            report.moves_digest,
            "the apply made exactly the previewed moves"
        );
        // A second complete apply changes nothing.
        let noop = spine
            .regroup(&c, &options(true, None))
            .await
            .expect("no-op");
        assert_eq!(noop.preview.incidents_moving, 0);
        assert_eq!(noop.applied.expect("applied").moved, 0);

        // After: every group is a v2 group, as many as previewed, summaries matching the members.
        let after = listed(&spine, &c).await;
        assert_eq!(after.len() as u64, report.groups_after);
        assert!(after.keys().all(|k| k.signature_version == "rsig-v2"));
        assert_eq!(after, recomputed(&spine, &c).await, "after");
        // The past is unchanged: at the instant before the regroup, the old grouping.
        let then = c.clone().with_as_of(before_at);
        assert_eq!(listed(&spine, &then).await, before);
        assert_eq!(recomputed(&spine, &then).await, before);
        // The other tenant was not touched.
        let t2 = ctx("t2");
        assert!(
            listed(&spine, &t2)
                .await
                .keys()
                .all(|k| k.signature_version == "rsig-v1")
        );

        // Each move: a new version, its timeline row, audit entry and event.
        let moved = &all_moves[0].incident_id;
        let timeline = crate::timeline_of(&spine, "t1", moved).await;
        let last = timeline.items.last().expect("row");
        // The seeded incidents were inserted without a creation row: the move is their first timeline row.
        assert_eq!((last.ordinal, last.event_type.as_str()), (1, "regrouped"));
        let audit = crate::audit_of(&spine, "t1", moved).await;
        assert_eq!(
            audit.items.last().expect("entry").action,
            "incidents.grouping.regroup"
        );
        assert_eq!(
            hoc_drivers::testing::scalar(
                &db,
                "SELECT COUNT(*) AS n FROM event_outbox WHERE tenant_id = 't1' \
                 AND event_type = 'incidents.IncidentRegrouped'"
            )
            .await
            .expect("events"),
            N as i64
        );
        assert_eq!(
            hoc_drivers::testing::scalar(
                &db,
                "SELECT COUNT(*) AS n FROM audit_ledger WHERE tenant_id = 't1' \
                 AND action = 'incidents.grouping.regroup'"
            )
            .await
            .expect("audit"),
            N as i64
        );
    }
);

hoc_drivers::storage_test!(
    a_tenant_moves_to_rsig_v3_and_the_past_keeps_its_groups,
    |db| {
        let spine = spine(&db);
        let c = ctx("t1");
        spine
            .call(&c, &put("rsig-v1", None, vec![]))
            .await
            .expect("start on v1");
        // HDFS's block ids keep a minus sign as text: rsig-v1 and rsig-v2 split one kind of message by it.
        let messages = [
            "Deleting block blk_-4794867979917102672 file /mnt/hadoop/dfs/data/current/subdir19/blk_-4794867979917102672",
            "Deleting block blk_8229193803249955061 file /mnt/hadoop/dfs/data/current/subdir7/blk_8229193803249955061",
            "Deleting block blk_-6952295868487656571 file /mnt/hadoop/dfs/data/current/subdir2/blk_-6952295868487656571",
        ];
        for m in messages {
            spine.call(&c, &incident("hdfs", m)).await.expect("v1");
        }
        let before = all_groups(&spine, &c, "count", 50).await;
        // (the negative ids in one group, the positive in another)
        assert_eq!(before.len(), 2, "rsig-v1 splits them: {before:?}");
        let before_at = spine
            .call(&c, &ListRecurrenceGroups::default())
            .await
            .expect("now")
            .as_of;

        // The move: configure rsig-v3, preview, apply.
        spine
            .call(&c, &put("rsig-v3", None, vec![]))
            .await
            .expect("configure v3");
        let options = |apply: bool| RegroupOptions {
            to: "rsig-v3".into(),
            apply,
            batch_size: 100,
            resume_after: None,
            max_batches: None,
        };
        let dry = spine.regroup(&c, &options(false)).await.expect("preview");
        assert_eq!(
            (dry.preview.groups_before, dry.preview.groups_after),
            (2, 1)
        );
        spine.regroup(&c, &options(true)).await.expect("apply");
        let after = all_groups(&spine, &c, "count", 50).await;
        assert_eq!(after.len(), 1, "{after:?}");
        assert_eq!(after[0].count, 3);
        // A new incident of the kind joins that group, signed by rsig-v3.
        let next = spine
            .call(
                &c,
                &incident(
                    "hdfs",
                    "Deleting block blk_123 file /mnt/hadoop/dfs/data/current/subdir1/blk_123",
                ),
            )
            .await
            .expect("v3");
        assert_eq!(next.signature_version.as_deref(), Some("rsig-v3"));
        assert_eq!(
            next.recurrence_signature.as_ref(),
            Some(&after[0].recurrence_signature)
        );
        // Before the move, the past still shows the two rsig-v1 groups.
        let past = all_groups(&spine, &c.clone().with_as_of(before_at), "count", 50).await;
        assert_eq!(past, before);
    }
);
