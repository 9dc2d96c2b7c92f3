use super::*;

crate::request! {
    /// A test request.
    struct Probe => ProbeParsed {
        /// A title.
        title: Option<String> => required Text<10>,
        /// Free text.
        note: Option<String> => optional FreeText<5>,
        /// A severity.
        severity: Option<String> => required Severity,
        /// A page size.
        limit: Option<i64> => optional Limit,
        /// A point in time.
        at: Option<String> => optional Timestamp,
        /// A list.
        tags: Option<Vec<String>> => optional TextList<2, 3>,
        /// An id that is always there.
        id: String => required Text<4>,
    }
}

fn problems(probe: Probe) -> Vec<String> {
    probe
        .parse()
        .expect_err("invalid")
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn every_problem_is_collected() {
    assert_eq!(
        problems(Probe {
            title: Some("  ".into()),
            note: Some("a\u{0}b".into()),
            severity: Some("apocalyptic".into()),
            limit: Some(501),
            at: Some("yesterday".into()),
            tags: Some(vec!["toolong".into(), "a\nb".into()]),
            id: "abcde".into(),
        }),
        [
            "title: must not be empty",
            "note: must not contain control characters other than newline and tab",
            "severity: `apocalyptic` is not one of critical, high, medium, low, info",
            "limit: must be an integer from 1 to 500",
            "at: must be an RFC 3339 timestamp",
            "tags[0]: must be at most 3 characters (got 7)",
            "tags[1]: must not contain control characters",
            "id: must be at most 4 characters (got 5)",
        ]
    );
    assert_eq!(
        problems(Probe::default()),
        [
            "title: is required",
            "severity: is required",
            "id: is required"
        ]
    );
}

#[test]
fn good_values_are_trimmed_and_typed() {
    let parsed = Probe {
        title: Some(" disk full".into()),
        note: Some("a\n\tb".into()),
        severity: Some("high".into()),
        limit: Some(500),
        at: Some("2026-01-01T02:00:00.1234567+02:00".into()),
        tags: Some(vec![" a ".into()]),
        id: "inc".into(),
    }
    .parse()
    .expect("valid");
    assert_eq!(parsed.title.as_str(), "disk full");
    assert_eq!(parsed.note.as_ref().map(FreeText::as_str), Some("a\n\tb"));
    assert_eq!(parsed.severity, Severity::High);
    assert_eq!(parsed.limit.map(Limit::get), Some(500));
    assert_eq!(
        parsed.at,
        Some(time::macros::datetime!(2026-01-01 00:00:00.123456 UTC))
    );
    assert_eq!(parsed.tags, Some(vec!["a".to_owned()]));
}

#[test]
fn lengths_count_characters_not_bytes() {
    assert_eq!(
        Text::<5>::parse("ééééé").map(Text::into_string),
        Ok("ééééé".to_owned())
    );
    assert!(Text::<4>::parse("ééééé").is_err());
}

#[test]
fn schemas_state_the_rules() {
    let schema = Probe::object_schema(|name| name != "id");
    assert_eq!(schema["additionalProperties"], json!(false));
    assert_eq!(schema["required"], json!(["title", "severity"]));
    assert_eq!(schema["properties"]["title"]["maxLength"], json!(10));
    assert_eq!(
        schema["properties"]["note"]["type"],
        json!(["string", "null"])
    );
    assert_eq!(
        schema["properties"]["severity"]["enum"],
        json!(["critical", "high", "medium", "low", "info"])
    );
    assert_eq!(schema["properties"]["limit"]["maximum"], json!(500));
    assert_eq!(schema["properties"]["at"]["format"], json!("date-time"));
    assert!(schema["properties"].get("id").is_none());
}

#[test]
fn unknown_fields_and_wrong_types_are_refused_by_shape() {
    assert!(serde_json::from_value::<Probe>(json!({"id": "a", "tenant_id": "x"})).is_err());
    assert!(serde_json::from_value::<Probe>(json!({"id": "a", "title": 5})).is_err());
    assert_eq!(
        decode::<Probe>(json!(["a"])),
        Err("the request must be a JSON object".to_owned())
    );
    assert_eq!(
        decode::<Probe>(json!({"id": "a", "title": 5})),
        Err("title: invalid type: integer `5`, expected a string".to_owned())
    );
    assert!(decode::<Probe>(json!({"id": "a", "title": null})).is_ok());
}
