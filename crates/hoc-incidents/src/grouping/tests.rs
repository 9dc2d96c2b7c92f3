//! Unit tests of grouping: rules, globs, configuration validation, assignment and the regroup report.

use std::collections::BTreeMap;

use super::*;
use crate::recurrence::algorithm;

#[test]
fn globs() {
    let cases = [
        ("*timeout*", "Upstream TIMEOUT after 30s", true),
        ("*timeout", "timeout after 30s", false),
        ("db-?.prod", "db-3.prod", true),
        ("db-?.prod", "db-13.prod", false),
        ("*", "", true),
        ("", "", true),
        ("", "x", false),
        ("a*b*c", "a-b-b-c", true),
        ("a*b*c", "a-c-b", false),
        ("*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false),
        ("pg-*", "PG-53300", true),
        ("ab*ba", "aba", false),
    ];
    for (glob, value, expected) in cases {
        assert_eq!(glob_matches(glob, value), expected, "{glob:?} {value:?}");
    }
}

#[test]
fn every_bad_rule_is_named_at_once() {
    let config = PutGroupingConfig {
        primary_version: Some("rsig-v9".into()),
        secondary_version: None,
        fingerprint_rules: Some(vec![
            FingerprintRule {
                matchers: BTreeMap::from([("colour".to_owned(), "red".to_owned())]),
                fingerprint: vec!["{{ colour }}".into(), " ".into()],
            },
            FingerprintRule {
                matchers: BTreeMap::new(),
                fingerprint: vec!["{{ title".into()],
            },
        ]),
        expected_version: Some(hoc_contracts::input::JsonInt(-1)),
        reason: None,
    };
    let errors: Vec<String> = config
        .validate()
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    let fields: Vec<&str> = errors
        .iter()
        .map(|e| e.split(':').next().unwrap_or(""))
        .collect();
    assert_eq!(
        fields,
        [
            "primary_version",
            "fingerprint_rules[0].match.colour",
            "fingerprint_rules[0].fingerprint[0]",
            "fingerprint_rules[0].fingerprint[1]",
            "fingerprint_rules[1].match",
            "fingerprint_rules[1].fingerprint[0]",
            "expected_version"
        ],
        "{errors:#?}"
    );
    let same = PutGroupingConfig {
        primary_version: Some("rsig-v2".into()),
        secondary_version: Some("rsig-v2".into()),
        ..PutGroupingConfig::default()
    };
    assert_eq!(
        same.validate().unwrap_err()[0].to_string(),
        "secondary_version: must differ from primary_version"
    );
}

#[test]
fn the_first_matching_rule_fingerprints_and_a_callers_fingerprint_wins() {
    let grouping = Grouping::new(
        "t",
        GroupingConfig {
            version: 3,
            primary_version: "rsig-v2".into(),
            fingerprint_rules: vec![
                FingerprintRule {
                    matchers: BTreeMap::from([
                        ("category".to_owned(), "database".to_owned()),
                        ("error_message".to_owned(), "*timeout*".to_owned()),
                    ]),
                    fingerprint: vec!["db-timeout".into(), "{{ source_ref }}".into()],
                },
                FingerprintRule {
                    matchers: BTreeMap::from([("category".to_owned(), "data*".to_owned())]),
                    fingerprint: vec!["any-database".into()],
                },
            ],
            ..GroupingConfig::defaults("rsig-v1")
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let v2 = algorithm("rsig-v2").unwrap_or_else(|| panic!("rsig-v2 registered"));
    let fields = GroupingFields {
        category: "Database",
        error_message: Some("statement TIMEOUT on db-1"),
        source_ref: Some(" eu-west "),
        ..GroupingFields::default()
    };
    let first = grouping.sign(v2, &fields, None);
    assert_eq!(first.inputs.rule.as_deref(), Some("v3#1"));
    assert_eq!(
        first.inputs.fields,
        [
            ("fingerprint".to_owned(), "db-timeout".to_owned()),
            ("fingerprint".to_owned(), "eu-west".to_owned())
        ]
    );
    let second = grouping.sign(
        v2,
        &GroupingFields {
            error_message: Some("disk full"),
            ..fields
        },
        None,
    );
    assert_eq!(second.inputs.rule.as_deref(), Some("v3#2"));
    let own = ["mine".to_owned()];
    let callers = grouping.sign(v2, &fields, Some(&own));
    assert_eq!(callers.inputs.rule, None);
    assert_eq!(
        callers.inputs.fields,
        [("fingerprint".to_owned(), "mine".to_owned())]
    );
    let unmatched = grouping.sign(
        v2,
        &GroupingFields {
            category: "network",
            ..fields
        },
        None,
    );
    assert_eq!(unmatched.inputs.mode, "message");
}
