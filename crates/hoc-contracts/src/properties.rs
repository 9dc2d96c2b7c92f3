//! Property tests over every parser of untrusted input in this crate (the same parsers `fuzz/` fuzzes): they never
//! panic, what they accept obeys the rule, and what the service renders parses back to itself.

use proptest::prelude::*;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::input::{self, FreeText, Rule, Text, parse_timestamp};
use crate::paging::Cursor;
use crate::{ActorType, DomainEvent, EnvelopeHeader, EventEnvelope, validate_event_payload};

crate::request! {
    /// A request with a field of every rule, the shape every write's door has.
    struct AnyRequest => AnyParsed {
        /// A line.
        title: Option<String> => required input::Text<200>,
        /// Free text.
        error_message: Option<String> => optional input::FreeText<4000>,
        /// A page size.
        limit: Option<i64> => optional input::Limit,
        /// A sequence bound.
        after: Option<i64> => optional input::After,
        /// A cursor.
        cursor: Option<String> => optional input::PageCursor,
        /// An instant.
        as_of: Option<String> => optional input::Timestamp,
        /// A digest.
        input_window_hash: Option<String> => optional input::Sha256Hex,
        /// A flag.
        code_dirty: Option<bool> => optional input::Flag,
        /// A list.
        fingerprint: Option<Vec<String>> => optional input::TextList<16, 256>,
    }
}

/// Any JSON value, a few levels deep, with strings that include control characters.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        any::<String>().prop_map(Value::String),
        "[a-z_]{1,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("title".to_owned()),
                    Just("severity".to_owned()),
                    Just("category".to_owned()),
                    Just("error_message".to_owned()),
                    Just("fingerprint".to_owned()),
                    Just("data".to_owned()),
                    Just("event_type".to_owned()),
                    "[a-z_]{1,10}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Instants in the years 1970..=9999, at microsecond precision.
fn instant() -> impl Strategy<Value = OffsetDateTime> {
    (0_i64..253_402_300_799_999_999).prop_map(|micros| {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn cursors_never_panic_and_what_decodes_re_encodes(text in any::<String>()) {
        if let Ok(cursor) = Cursor::decode(&text) {
            prop_assert_eq!(Cursor::decode(&cursor.encode()), Ok(cursor));
        }
    }

    #[test]
    fn every_string_of_the_group_cursor_pattern_decodes_and_round_trips(
        text in &crate::paging::GROUP_CURSOR_PATTERN[1..crate::paging::GROUP_CURSOR_PATTERN.len() - 1]
    ) {
        prop_assume!(text.len() <= crate::paging::MAX_GROUP_CURSOR_CHARS);
        let cursor = crate::paging::GroupCursor::decode(&text);
        prop_assert!(cursor.is_ok(), "{:?}", text);
        if let Ok(cursor) = cursor {
            prop_assert_eq!(crate::paging::GroupCursor::decode(&cursor.encode()), Ok(cursor));
        }
    }

    #[test]
    fn group_cursors_never_panic(text in any::<String>()) {
        let _ = crate::paging::GroupCursor::decode(&text);
    }

    #[test]
    fn issued_cursors_round_trip(as_of in instant(), created_at in instant(), id in "[a-z]{3}_[0-9a-f-]{1,40}", rank in proptest::option::of(0i64..=999_999_999_999_999_999)) {
        let cursor = Cursor { as_of, created_at, id, rank };
        prop_assert_eq!(Cursor::decode(&cursor.encode()), Ok(cursor));
    }

    #[test]
    fn timestamps_never_panic_and_are_utc_microseconds(text in any::<String>()) {
        if let Ok(t) = parse_timestamp(&text) {
            prop_assert_eq!(t.offset(), time::UtcOffset::UTC);
            prop_assert_eq!(t.nanosecond() % 1_000, 0);
        }
    }

    #[test]
    fn rendered_timestamps_parse_to_the_same_instant(t in instant(), offset_minutes in -839_i32..=839) {
        let offset = time::UtcOffset::from_whole_seconds(offset_minutes * 60).unwrap_or(time::UtcOffset::UTC);
        let text = t.to_offset(offset).format(&time::format_description::well_known::Rfc3339);
        prop_assume!(text.is_ok());
        prop_assert_eq!(parse_timestamp(&text.unwrap_or_default()), Ok(t));
    }

    #[test]
    fn text_accepts_only_trimmed_lines_within_its_length(raw in any::<String>()) {
        let mut errors = Vec::new();
        if let Some(text) = <Text<64> as Rule>::parse("f", &raw, &mut errors) {
            let text = text.into_string();
            prop_assert!(!text.is_empty() && text.chars().count() <= 64);
            prop_assert!(!text.chars().any(char::is_control), "{:?}", text);
            prop_assert_eq!(text.trim(), text.as_str());
            prop_assert!(errors.is_empty());
        } else {
            prop_assert_eq!(errors.len(), 1);
            prop_assert_eq!(errors[0].field.as_str(), "f");
        }
    }

    #[test]
    fn free_text_allows_only_newline_and_tab_among_controls(raw in any::<String>()) {
        let mut errors = Vec::new();
        if let Some(text) = <FreeText<256> as Rule>::parse("f", &raw, &mut errors) {
            let text = text.into_string();
            prop_assert!(!text.chars().any(|c| c.is_control() && c != '\n' && c != '\t'), "{:?}", text);
            prop_assert!(!text.contains('\0'));
        }
    }

    #[test]
    fn request_bodies_never_panic(body in json_value()) {
        // The door of every write: decode into the request's shape, then parse every field.
        if let Ok(request) = input::decode::<AnyRequest>(body) {
            let _ = request.parse();
        }
    }

    #[test]
    fn event_validation_never_panics_and_agrees_with_is_valid(payload in json_value()) {
        prop_assert_eq!(validate_event_payload(&payload).is_ok(), crate::is_valid(&payload));
    }

    #[test]
    fn every_event_the_service_renders_is_valid(seq in 0_i64..i64::MAX, which in 0_usize..64, at in instant()) {
        let examples = DomainEvent::examples();
        let event = &examples[which % examples.len()];
        let header = EnvelopeHeader {
            event_id: "evt_1".into(),
            tenant_id: "t".into(),
            project_id: "default".into(),
            actor_type: ActorType::Sdk,
            actor_id: "a".into(),
            occurred_at: at,
            request_id: "req_1".into(),
        };
        let payload = EventEnvelope::new(header, seq, event).to_json();
        prop_assert!(validate_event_payload(&payload).is_ok(), "{}", payload);
    }
}
