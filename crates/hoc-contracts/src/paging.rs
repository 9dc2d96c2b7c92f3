//! Opaque keyset cursors and page-size rules shared by every list.
//!
//! A cursor names the last row of a page by its `(created_at, id)` key and carries the `as_of` the first page
//! was read at, so following pages see exactly the same rows. It is hex text: opaque to callers, URL-safe.

use time::OffsetDateTime;

use crate::time_format::{format_utc, parse_utc};

/// Page size when the caller gives none.
pub const DEFAULT_LIMIT: u64 = 50;
/// Largest page; larger requests are capped to it.
pub const MAX_LIMIT: u64 = 500;

/// The position after the last row of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The `as_of` of the whole listing.
    pub as_of: OffsetDateTime,
    /// The last row's `created_at`.
    pub created_at: OffsetDateTime,
    /// The last row's id.
    pub id: String,
}

const MAGIC: &str = "c1";

impl Cursor {
    /// The opaque text form.
    pub fn encode(&self) -> String {
        let plain = format!(
            "{MAGIC}\n{}\n{}\n{}",
            format_utc(self.as_of),
            format_utc(self.created_at),
            self.id
        );
        plain.bytes().map(|b| format!("{b:02x}")).collect()
    }

    /// Parses the text form; any damage is an error.
    pub fn decode(text: &str) -> Result<Self, &'static str> {
        const BAD: &str = "is not a cursor this service issued";
        if !text.len().is_multiple_of(2) || text.len() > 1024 {
            return Err(BAD);
        }
        let bytes: Vec<u8> = (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(text.get(i..i + 2).unwrap_or("zz"), 16))
            .collect::<Result<_, _>>()
            .map_err(|_| BAD)?;
        let plain = String::from_utf8(bytes).map_err(|_| BAD)?;
        let mut parts = plain.splitn(4, '\n');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(MAGIC), Some(as_of), Some(created_at), Some(id)) if !id.is_empty() => Ok(Self {
                as_of: parse_utc(as_of).map_err(|_| BAD)?,
                created_at: parse_utc(created_at).map_err(|_| BAD)?,
                id: id.to_owned(),
            }),
            _ => Err(BAD),
        }
    }
}

/// When a read happens: the caller's `as_of`, if any, and the time of the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadAt {
    /// The caller's point in time.
    pub as_of: Option<OffsetDateTime>,
    /// Now (used as `as_of` when the caller gave none).
    pub now: OffsetDateTime,
}

/// Caps a requested page size to [`MAX_LIMIT`]; `None` gives [`DEFAULT_LIMIT`].
pub fn effective_limit(requested: Option<i64>) -> u64 {
    requested.map_or(DEFAULT_LIMIT, |n| n.unsigned_abs().clamp(1, MAX_LIMIT))
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_damage() {
        let cursor = Cursor {
            as_of: datetime!(2026-11-26 10:00:00 UTC),
            created_at: datetime!(2026-11-26 09:59:59.5 UTC),
            id: "inc_1".into(),
        };
        let text = cursor.encode();
        assert!(text.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(Cursor::decode(&text), Ok(cursor));
        for bad in [
            "",
            "zz",
            "abc",
            &text[..text.len() - 10],
            &text[2..],
            "6331",
        ] {
            assert!(Cursor::decode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn limits_are_defaulted_and_capped() {
        assert_eq!(effective_limit(None), 50);
        assert_eq!(effective_limit(Some(10)), 10);
        assert_eq!(effective_limit(Some(10_000)), 500);
    }
}
