//! Learned templates through the spine: a preview writes nothing, a learn writes one configuration version with its
//! templates (audited, announced, visible at `as_of`), changes no stored incident, signs new incidents with the
//! templates, and a regroup moves the existing ones; a stale learn is refused and writes nothing.

use hoc_incidents::CreateIncident;
use hoc_spine::ErrorCode;
use hoc_spine::regroup::RegroupOptions;
use hoc_spine::requests::{
    GetGroupingConfig, GetLearnedTemplates, GroupForIncident, LearnTemplates, ListEvents,
    ListRecurrenceGroups, PreviewLearn, PutGroupingConfig,
};

use crate::{ctx, spine};

fn incident(message: &str) -> CreateIncident {
    CreateIncident {
        title: Some("ntp".into()),
        severity: Some("low".into()),
        category: Some("ntp".into()),
        error_message: Some(message.into()),
        ..CreateIncident::default()
    }
}

/// Messages of one kind: the tokenizer masks the addresses, not `local` (no digit), so `rsig-v3` alone splits them.
const SYNCED: [&str; 3] = [
    "synchronized to 10.0.0.1, stratum 2",
    "synchronized to 10.0.0.7, stratum 3",
    "synchronized to local, stratum 2",
];

/// Configures `primary` for the tenant of `c`, then opens one incident per message of [`SYNCED`]; their ids.
async fn synced_under(
    spine: &hoc_spine::Spine,
    c: &hoc_spine::OperationContext,
    primary: &str,
) -> Vec<String> {
    spine
        .call(
            c,
            &PutGroupingConfig {
                primary_version: Some(primary.into()),
                ..PutGroupingConfig::default()
            },
        )
        .await
        .expect("configure");
    let mut ids = Vec::new();
    for m in SYNCED {
        ids.push(spine.call(c, &incident(m)).await.expect("create").id);
    }
    ids
}

hoc_drivers::storage_test!(
    learning_proposes_applies_and_a_regroup_moves_the_past_into_the_learned_groups,
    |db| {
        let spine = spine(&db);
        let c = ctx("t1");
        let ids = synced_under(&spine, &c, "rsig-v3").await;
        spine
            .call(&c, &incident("disk full on /var/lib/data"))
            .await
            .expect("other");
        let signatures = |incidents: &[hoc_incidents::Incident]| {
            incidents
                .iter()
                .map(|i| i.recurrence_signature.clone().unwrap_or_default())
                .collect::<Vec<_>>()
        };
        let groups_before = spine
            .call(&c, &ListRecurrenceGroups::default())
            .await
            .expect("groups");
        assert_eq!(
            groups_before.items.len(),
            3,
            "local splits from the addresses"
        );
        let before_at = groups_before.as_of;

        // The preview proposes one template and writes nothing.
        let rows_before = hoc_drivers::testing::row_counts(&db).await;
        let preview = spine
            .call(&c, &PreviewLearn::default())
            .await
            .expect("preview");
        assert_eq!(hoc_drivers::testing::row_counts(&db).await, rows_before);
        assert!(!preview.applied);
        assert_eq!((preview.incidents_read, preview.messages_mined), (4, 4));
        assert_eq!(preview.templates.len(), 1, "{preview:#?}");
        let learned = &preview.templates[0];
        assert_eq!(learned.template, "synchronized to <*> , stratum <*>");
        assert_eq!((learned.member_count, learned.joined_templates), (3, 2));
        assert_eq!(preview.config.version, 2);
        // The same input proposes the same templates.
        let again = spine
            .call(&c, &PreviewLearn::default())
            .await
            .expect("again");
        assert_eq!(again.templates_digest, preview.templates_digest);

        // Learning applies exactly the preview as version 2, and moves no incident.
        let applied = spine
            .call(
                &c,
                &LearnTemplates {
                    reason: Some("hosts without digits".into()),
                    ..LearnTemplates::default()
                },
            )
            .await
            .expect("learn");
        assert!(applied.applied);
        assert_eq!(applied.templates_digest, preview.templates_digest);
        // It mined in a read before its write began (holding no write lock while it read): at the tenant's last
        // committed instant, the preview's, strictly before the instant of the version it wrote.
        assert_eq!(applied.as_of, preview.as_of);
        assert!(
            Some(applied.as_of) < applied.config.updated_at,
            "mined at {} but written at {:?}",
            applied.as_of,
            applied.config.updated_at
        );
        assert_eq!(
            (
                applied.config.version,
                applied.config.primary_version.as_str(),
                applied.config.templates_version,
                applied.config.template_count
            ),
            (2, "rsig-v3", Some(2), 1)
        );
        let config = spine
            .call(&c, &GetGroupingConfig::default())
            .await
            .expect("config");
        assert_eq!(config, applied.config);
        let groups_now = spine
            .call(&c, &ListRecurrenceGroups::default())
            .await
            .expect("groups");
        assert_eq!(groups_now.items.len(), 3, "learning alone moves nothing");
        assert_eq!(
            hoc_drivers::testing::scalar(
                &db,
                "SELECT COUNT(*) AS n FROM audit_ledger WHERE tenant_id = 't1' \
                 AND action = 'incidents.grouping.learn'"
            )
            .await
            .expect("audit"),
            1
        );
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
        assert_eq!(
            events
                .items
                .iter()
                .filter(|e| e.event_type == "incidents.GroupingConfigChanged")
                .count(),
            2
        );

        // A new incident of the kind is signed through the template, into the addresses' group.
        let next = spine
            .call(&c, &incident("synchronized to ntp-west, stratum 4"))
            .await
            .expect("new");
        let first = spine
            .call(
                &c,
                &GroupForIncident {
                    id: ids[0].clone(),
                    ..GroupForIncident::default()
                },
            )
            .await
            .expect("group");
        assert_eq!(
            next.recurrence_signature.as_ref(),
            Some(&first.recurrence_signature)
        );
        let why = spine
            .call(
                &c,
                &GroupForIncident {
                    id: next.id.clone(),
                    ..GroupForIncident::default()
                },
            )
            .await
            .expect("why");
        let inputs = why.signature_inputs.expect("inputs");
        assert_eq!(inputs.template.as_deref(), Some("v2#t1"));

        // The regroup previews, then moves `local` into that group.
        let options = |apply: bool| RegroupOptions {
            to: "rsig-v3".into(),
            apply,
            batch_size: 100,
            resume_after: None,
            max_batches: None,
        };
        let dry = spine.regroup(&c, &options(false)).await.expect("preview");
        assert_eq!(dry.preview.incidents_moving, 1, "{}", dry.preview);
        spine.regroup(&c, &options(true)).await.expect("apply");
        let moved = spine
            .call(
                &c,
                &GroupForIncident {
                    id: ids[2].clone(),
                    ..GroupForIncident::default()
                },
            )
            .await
            .expect("moved");
        assert_eq!(moved.recurrence_signature, first.recurrence_signature);
        assert_eq!(moved.count, 4);
        assert_eq!(signatures(&moved.items).len(), 4);

        // The past: before learning, no templates and the old groups.
        let past = c.clone().with_as_of(before_at);
        let templates_then = spine
            .call(&past, &GetLearnedTemplates::default())
            .await
            .expect("then");
        assert_eq!(
            (
                templates_then.config_version,
                templates_then.templates.len()
            ),
            (1, 0)
        );
        let templates_now = spine
            .call(&c, &GetLearnedTemplates::default())
            .await
            .expect("now");
        assert_eq!(templates_now.templates, applied.templates);
        let groups_then = spine
            .call(&past, &ListRecurrenceGroups::default())
            .await
            .expect("then");
        assert_eq!(groups_then.items, groups_before.items);

        // A learn against a stale configuration version is refused and writes nothing.
        refused_without_writes!(
            db,
            ErrorCode::StaleVersion,
            spine.call(
                &c,
                &LearnTemplates {
                    expected_version: Some(hoc_contracts::input::JsonInt(1)),
                    ..LearnTemplates::default()
                },
            )
        );
    }
);

hoc_drivers::storage_test!(
    a_put_keeps_the_learned_templates_and_a_tenant_on_v1_learns_into_a_transition,
    |db| {
        let spine = spine(&db);
        let c = ctx("t1");
        synced_under(&spine, &c, "rsig-v1").await;
        let learned = spine
            .call(&c, &LearnTemplates::default())
            .await
            .expect("learn");
        // The old primary becomes the secondary: new incidents still join its existing groups.
        assert_eq!(
            (
                learned.config.primary_version.as_str(),
                learned.config.secondary_version.as_deref()
            ),
            ("rsig-v3", Some("rsig-v1"))
        );
        let put = spine
            .call(
                &c,
                &PutGroupingConfig {
                    primary_version: Some("rsig-v3".into()),
                    ..PutGroupingConfig::default()
                },
            )
            .await
            .expect("end the transition");
        assert_eq!(
            (put.version, put.templates_version, put.template_count),
            (3, Some(2), 1)
        );
        let templates = spine
            .call(&c, &GetLearnedTemplates::default())
            .await
            .expect("templates");
        assert_eq!(templates.templates_version, Some(2));
        assert_eq!(templates.templates.len(), 1);
    }
);

hoc_drivers::storage_test!(
    a_new_tenant_starts_on_the_newest_version_and_one_with_incidents_keeps_theirs,
    |db| {
        let spine = spine(&db);
        let (fresh, old) = (ctx("fresh"), ctx("old"));
        let config = spine
            .call(&fresh, &GetGroupingConfig::default())
            .await
            .expect("config");
        assert_eq!(
            (config.version, config.primary_version.as_str()),
            (0, "rsig-v3")
        );
        let first = spine
            .call(&fresh, &incident(SYNCED[0]))
            .await
            .expect("first");
        assert_eq!(first.signature_version.as_deref(), Some("rsig-v3"));
        let second = spine
            .call(&fresh, &incident(SYNCED[1]))
            .await
            .expect("second");
        assert_eq!(second.signature_version.as_deref(), Some("rsig-v3"));
        assert_eq!(second.recurrence_signature, first.recurrence_signature);

        // A tenant whose first incident was signed with rsig-v1 before new tenants started on the newest version
        // (its creation version rewritten to what such a tenant's history holds) keeps rsig-v1 until it moves.
        let legacy = spine
            .call(&old, &incident(SYNCED[0]))
            .await
            .expect("legacy");
        hoc_drivers::testing::execute_raw(
            &db,
            &format!(
                "UPDATE incident_versions SET signature_version = 'rsig-v1' \
                 WHERE tenant_id = 'old' AND id = '{}' AND version = 1",
                legacy.id
            ),
        )
        .await
        .expect("legacy history");
        let config = spine
            .call(&old, &GetGroupingConfig::default())
            .await
            .expect("config");
        assert_eq!(
            (config.version, config.primary_version.as_str()),
            (0, "rsig-v1")
        );
        let next = spine.call(&old, &incident(SYNCED[1])).await.expect("next");
        assert_eq!(next.signature_version.as_deref(), Some("rsig-v1"));
        // Before its first incident, the tenant had none: the past shows the newest version.
        let before = old
            .clone()
            .with_as_of(legacy.created_at - time::Duration::microseconds(1));
        let then = spine
            .call(&before, &GetGroupingConfig::default())
            .await
            .expect("then");
        assert_eq!(then.primary_version, "rsig-v3");
    }
);

hoc_drivers::storage_test!(
    a_learn_whose_configuration_changed_after_it_mined_mines_again_under_its_lock,
    |db| {
        let spine = spine(&db);
        let c = ctx("t1");
        synced_under(&spine, &c, "rsig-v3").await;
        // The learn's read half, at the tenant's last instant, under configuration version 1.
        let input = LearnTemplates::default().parse().expect("input");
        let read = hoc_ledger::begin_read(&db);
        let mined_at = hoc_ledger::clock::last(&read, "t1")
            .await
            .expect("clock")
            .expect("the tenant wrote");
        let mined = hoc_incidents::grouping::mine_for_learn(&read, "t1", &input, mined_at)
            .await
            .expect("mined");
        // Before its write begins, the configuration changes (version 2, a secondary).
        spine
            .call(
                &c,
                &PutGroupingConfig {
                    primary_version: Some("rsig-v3".into()),
                    secondary_version: Some("rsig-v2".into()),
                    ..PutGroupingConfig::default()
                },
            )
            .await
            .expect("changed in between");
        // The write half sees it under its lock: it mines again there rather than apply a proposal made under
        // version 1 (which would also write version 2 again).
        let tx = hoc_ledger::begin_write(&db).await.expect("write");
        let now = hoc_ledger::clock::tick(&tx, "t1", time::OffsetDateTime::now_utc())
            .await
            .expect("tick");
        let caller = hoc_incidents::Caller {
            tenant_id: "t1",
            actor: c.actor(),
            request_id: c.request_id(),
            now,
        };
        let learned =
            hoc_incidents::grouping::learn_templates(&tx, &caller, input.clone(), Some(&mined))
                .await
                .expect("learned");
        tx.commit().await.expect("commit");
        let proposal = learned.response;
        assert!(proposal.applied);
        assert_eq!(proposal.config.version, 3, "{proposal:#?}");
        // Version 2's secondary is kept (its primary is already rsig-v3); the stale proposal had none.
        assert_eq!(
            proposal.config.secondary_version.as_deref(),
            Some("rsig-v2"),
            "{proposal:#?}"
        );
        assert_eq!(proposal.as_of, now, "mined again, at the write's instant");
        assert!(proposal.as_of > mined_at);
    }
);
