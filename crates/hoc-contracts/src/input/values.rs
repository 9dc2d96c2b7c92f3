//! The rules of numbers, positions, instants, hashes, flags and lists: [`Limit`], [`Version`], [`After`], [`PageCursor`],
//! [`GroupPageCursor`], [`Timestamp`], [`Sha256Hex`], [`Flag`] and [`TextList`].

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::*;
use crate::FieldError;
use crate::paging::{Cursor, MAX_LIMIT};
use crate::time_format::truncate_micros;

/// A page size: 1 to [`MAX_LIMIT`]; absent means [`crate::paging::DEFAULT_LIMIT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(u64);

impl Limit {
    /// The page size.
    pub fn get(self) -> u64 {
        self.0
    }

    /// The default page size when the caller gave none.
    pub fn or_default(limit: Option<Limit>) -> u64 {
        limit.map_or(crate::paging::DEFAULT_LIMIT, Limit::get)
    }
}

impl Rule for Limit {
    type Raw = i64;
    type Out = Self;

    fn schema() -> Value {
        json!({ "type": "integer", "minimum": 1, "maximum": MAX_LIMIT })
    }

    fn parse(field: &str, raw: &i64, errors: &mut Vec<FieldError>) -> Option<Self> {
        match u64::try_from(*raw) {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Some(Self(n)),
            _ => {
                errors.push(FieldError::new(
                    field,
                    format!("must be an integer from 1 to {MAX_LIMIT}"),
                ));
                None
            }
        }
    }
}

/// A version a write expects (optimistic concurrency): an integer of at least `MIN` (0 where "never written" is a
/// version, 1 where the first version is 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version<const MIN: i64>;

impl<const MIN: i64> Rule for Version<MIN> {
    type Raw = i64;
    type Out = i64;

    fn schema() -> Value {
        json!({ "type": "integer", "minimum": MIN, "maximum": i64::MAX })
    }

    fn parse(field: &str, raw: &i64, errors: &mut Vec<FieldError>) -> Option<i64> {
        if *raw >= MIN {
            Some(*raw)
        } else {
            errors.push(FieldError::new(field, format!("must be {MIN} or more")));
            None
        }
    }
}

/// An exclusive lower bound on a sequence number: 0 or more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct After;

impl Rule for After {
    type Raw = i64;
    type Out = i64;

    fn schema() -> Value {
        json!({ "type": "integer", "minimum": 0, "maximum": i64::MAX })
    }

    fn parse(field: &str, raw: &i64, errors: &mut Vec<FieldError>) -> Option<i64> {
        if *raw >= 0 {
            Some(*raw)
        } else {
            errors.push(FieldError::new(field, "must be an integer of 0 or more"));
            None
        }
    }
}

/// An opaque keyset cursor from a previous page's `next_cursor` (see [`Cursor`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageCursor;

impl Rule for PageCursor {
    type Raw = str;
    type Out = Cursor;

    fn schema() -> Value {
        json!({ "type": "string", "minLength": 1, "maxLength": crate::paging::MAX_CURSOR_CHARS, "pattern": crate::paging::CURSOR_PATTERN })
    }

    fn parse(field: &str, raw: &str, errors: &mut Vec<FieldError>) -> Option<Cursor> {
        Cursor::decode(raw)
            .map_err(|problem| errors.push(FieldError::new(field, problem)))
            .ok()
    }
}

/// An opaque cursor from a previous page of the recurrence group list (see [`crate::paging::GroupCursor`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupPageCursor;

impl Rule for GroupPageCursor {
    type Raw = str;
    type Out = crate::paging::GroupCursor;

    fn schema() -> Value {
        json!({ "type": "string", "minLength": 1, "maxLength": crate::paging::MAX_GROUP_CURSOR_CHARS, "pattern": crate::paging::GROUP_CURSOR_PATTERN })
    }

    fn parse(
        field: &str,
        raw: &str,
        errors: &mut Vec<FieldError>,
    ) -> Option<crate::paging::GroupCursor> {
        crate::paging::GroupCursor::decode(raw)
            .map_err(|problem| errors.push(FieldError::new(field, problem)))
            .ok()
    }
}

/// An RFC 3339 timestamp (any offset; converted to UTC and truncated to microseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp;

/// Parses an RFC 3339 timestamp with any offset into UTC, truncated to microseconds.
pub fn parse_timestamp(raw: &str) -> Result<OffsetDateTime, &'static str> {
    OffsetDateTime::parse(raw, &Rfc3339)
        .map(|t| truncate_micros(t.to_offset(time::UtcOffset::UTC)))
        .map_err(|_| "must be an RFC 3339 timestamp")
}

impl Rule for Timestamp {
    type Raw = str;
    type Out = OffsetDateTime;

    fn schema() -> Value {
        json!({ "type": "string", "format": "date-time" })
    }

    fn parse(field: &str, raw: &str, errors: &mut Vec<FieldError>) -> Option<OffsetDateTime> {
        parse_timestamp(raw)
            .map_err(|problem| errors.push(FieldError::new(field, problem)))
            .ok()
    }
}

/// Exactly 64 lowercase hexadecimal characters (a SHA-256 digest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sha256Hex;

impl Rule for Sha256Hex {
    type Raw = str;
    type Out = String;

    fn schema() -> Value {
        json!({ "type": "string", "pattern": "^[0-9a-f]{64}$" })
    }

    fn parse(field: &str, raw: &str, errors: &mut Vec<FieldError>) -> Option<String> {
        if raw.len() == 64 && raw.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Some(raw.to_owned())
        } else {
            errors.push(FieldError::new(
                field,
                "must be exactly 64 lowercase hexadecimal characters (a SHA-256 digest)",
            ));
            None
        }
    }
}

/// A boolean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag;

impl Rule for Flag {
    type Raw = bool;
    type Out = bool;

    fn schema() -> Value {
        json!({ "type": "boolean" })
    }

    fn parse(_: &str, raw: &bool, _: &mut Vec<FieldError>) -> Option<bool> {
        Some(*raw)
    }
}

/// A list of 1 to `ITEMS` one-line texts of at most `MAX` characters each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextList<const ITEMS: usize, const MAX: usize>;

impl<const ITEMS: usize, const MAX: usize> Rule for TextList<ITEMS, MAX> {
    type Raw = [String];
    type Out = Vec<String>;

    fn schema() -> Value {
        json!({ "type": "array", "minItems": 1, "maxItems": ITEMS, "items": text_schema(MAX, CONTROL_CLASS) })
    }

    fn parse(field: &str, raw: &[String], errors: &mut Vec<FieldError>) -> Option<Vec<String>> {
        if raw.is_empty() || raw.len() > ITEMS {
            errors.push(FieldError::new(
                field,
                format!("must have 1 to {ITEMS} items (got {})", raw.len()),
            ));
            return None;
        }
        let before = errors.len();
        let items: Vec<String> = raw
            .iter()
            .enumerate()
            .filter_map(|(i, item)| {
                <Text<MAX> as Rule>::parse(&format!("{field}[{i}]"), item, errors)
                    .map(Text::into_string)
            })
            .collect();
        (errors.len() == before).then_some(items)
    }
}
