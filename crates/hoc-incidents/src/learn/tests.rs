use super::*;
use crate::recurrence::sign_with;

fn messages(texts: &[&str]) -> Vec<LearnedTemplate> {
    mine(texts.iter().map(|t| (TemplateField::ErrorMessage, *t)))
}

#[test]
fn a_word_where_others_have_a_variable_is_absorbed() {
    let learned = messages(&[
        "synchronized to 10.0.0.1, stratum 2",
        "synchronized to 10.0.0.7, stratum 3",
        "synchronized to local, stratum 2",
        "connection refused by peer",
    ]);
    assert_eq!(learned.len(), 1, "{learned:#?}");
    let t = &learned[0];
    assert_eq!(t.template, "synchronized to <*> , stratum <*>");
    assert_eq!((t.member_count, t.joined_templates), (3, 2));
    assert_eq!(
        t.examples,
        [
            "synchronized to 10.0.0.1, stratum 2",
            "synchronized to local, stratum 2"
        ]
    );
}

#[test]
fn a_slot_of_eight_distinct_words_is_a_variable_and_seven_are_not() {
    let services = [
        "chargen", "daytime", "echo", "time", "eklogin", "ftp", "klogin", "kshell",
    ];
    let eight: Vec<String> = services.iter().map(|s| format!("removing {s}")).collect();
    let eight: Vec<&str> = eight.iter().map(String::as_str).collect();
    let learned = messages(&eight);
    assert_eq!(learned.len(), 1);
    assert_eq!(learned[0].template, "removing <*>");
    assert_eq!(learned[0].member_count, 8);
    assert_eq!(learned[0].examples.len(), EXAMPLES);
    assert!(messages(&eight[..7]).is_empty());
}

#[test]
fn the_first_token_and_delimiters_are_never_generalised() {
    // Nine one-word states are nine events, not one; `boot (command 1)` and `wait (command 2)` differ in the verb.
    let states = [
        "normal", "warning", "running", "critical", "blocked", "active", "starting", "stopped",
        "idle",
    ];
    assert!(messages(&states).is_empty());
    assert!(messages(&["boot (command 12)", "wait (command 13)", "<*> (command 14)"]).is_empty());
    // Templates equal but for a delimiter stay apart.
    assert!(
        messages(&["a = 1", "a : 1", "a <*> 1"])
            .iter()
            .all(|t| t.template != "a <*> <*>")
    );
}

#[test]
fn mining_does_not_depend_on_the_order_of_messages() {
    let mut texts = vec![
        "synchronized to 10.0.0.1, stratum 2",
        "synchronized to local, stratum 2",
        "synchronized to ntp-east, stratum 4",
        "user alice logged in from 10.1.1.1",
        "user <*> logged in from 10.1.1.2",
        "user bob logged in from 10.1.1.3",
        "disk full on /var/lib/data",
    ];
    let forward = messages(&texts);
    texts.reverse();
    assert_eq!(messages(&texts), forward);
    assert_eq!(forward.len(), 2);
}

#[test]
fn a_new_message_matches_the_most_specific_learned_template() {
    let index = TemplateIndex::new([
        (1, TemplateField::ErrorMessage, "job <*> failed on <*>"),
        (2, TemplateField::ErrorMessage, "job <*> failed on primary"),
        (3, TemplateField::Title, "job <*> failed on <*>"),
    ]);
    let m = |field, text: &str| index.matching(field, &template(text));
    assert_eq!(
        m(TemplateField::ErrorMessage, "job nightly failed on primary"),
        Some((2, "job <*> failed on primary"))
    );
    assert_eq!(
        m(TemplateField::ErrorMessage, "job nightly failed on replica"),
        Some((1, "job <*> failed on <*>"))
    );
    assert_eq!(
        m(TemplateField::Title, "job nightly failed on primary"),
        Some((3, "job <*> failed on <*>"))
    );
    // Another token count or first token, or a differing constant, does not match.
    assert_eq!(
        m(TemplateField::ErrorMessage, "job nightly failed on a b"),
        None
    );
    assert_eq!(
        m(
            TemplateField::ErrorMessage,
            "task nightly failed on primary"
        ),
        None
    );
    assert_eq!(
        m(TemplateField::ErrorMessage, "job nightly passed on primary"),
        None
    );
}

#[test]
fn a_learned_template_replaces_the_v3_template_and_nothing_else() {
    let index = TemplateIndex::new([(
        4,
        TemplateField::ErrorMessage,
        "synchronized to <*> , stratum <*>",
    )]);
    let source = |message| SignatureSource {
        category: "ntp",
        error_message: Some(message),
        title: "clock",
        ..SignatureSource::default()
    };
    let local = sign_learned(
        &RsigV3,
        &source("synchronized to local, stratum 2"),
        &index,
        "v7",
    );
    let host = sign_learned(
        &RsigV3,
        &source("synchronized to 10.0.0.1, stratum 3"),
        &index,
        "v7",
    );
    assert_eq!(local.signature, host.signature);
    assert_eq!(local.inputs.template.as_deref(), Some("v7#t4"));
    // The message that already had the learned template's text signs as plain rsig-v3 does: learning moves only
    // the messages it generalises.
    let plain = sign_with(&RsigV3, &source("synchronized to 10.0.0.1, stratum 3"));
    assert_eq!(host.signature, plain.signature);
    assert_ne!(
        local.signature,
        sign_with(&RsigV3, &source("synchronized to local, stratum 2")).signature
    );
    // Other algorithms and an error code are untouched.
    let v2 = sign_learned(
        &crate::recurrence::RsigV2,
        &source("synchronized to local, stratum 2"),
        &index,
        "v7",
    );
    assert_eq!(v2.inputs.template, None);
    let coded = sign_learned(
        &RsigV3,
        &SignatureSource {
            error_code: Some("E1"),
            ..source("synchronized to local, stratum 2")
        },
        &index,
        "v7",
    );
    assert_eq!(coded.inputs.template, None);
}

mod properties {
    use proptest::prelude::*;

    use super::super::*;

    /// Messages of a few words, numbers and delimiters, so that templates repeat and differ in one position.
    fn messages() -> impl Strategy<Value = Vec<String>> {
        prop::collection::vec(
            prop::collection::vec(
                prop_oneof![
                    "(job|disk|node|user|link|cache)",
                    "(alpha|beta|gamma|delta|eta|theta|iota|kappa|lambda|mu)",
                    "[0-9]{1,4}",
                    "(=|:|,)",
                ],
                1..6,
            )
            .prop_map(|words| words.join(" ")),
            0..60,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn mining_is_order_free_and_every_member_matches_a_learned_template(
            texts in messages(),
            rotate in 0_usize..60,
        ) {
            let mine_all = |texts: &[String]| {
                mine(texts.iter().map(|t| (TemplateField::ErrorMessage, t.as_str())))
            };
            let learned = mine_all(&texts);
            let mut turned = texts.clone();
            if !turned.is_empty() {
                let by = rotate % turned.len();
                turned.rotate_left(by);
            }
            turned.reverse();
            prop_assert_eq!(mine_all(&turned), learned.clone());
            let index = TemplateIndex::new(
                learned.iter().enumerate().map(|(i, t)| (i + 1, t.field, t.template.as_str())),
            );
            let mut covered = 0_u64;
            for text in &texts {
                let v3 = template(text);
                if let Some((_, matched)) = index.matching(TemplateField::ErrorMessage, &v3) {
                    // A match keeps the token count and first token, and only widens positions.
                    let (m, t): (Vec<&str>, Vec<&str>) =
                        (matched.split(' ').collect(), v3.split(' ').collect());
                    prop_assert_eq!(m.len(), t.len());
                    prop_assert_eq!(m[0], t[0]);
                    prop_assert!(m.iter().zip(&t).all(|(a, b)| *a == VARIABLE || a == b));
                    covered += 1;
                }
            }
            // Every message a learned template counts matches one (maybe a more specific one).
            prop_assert!(covered >= learned.iter().map(|t| t.member_count).sum::<u64>());
        }
    }
}
