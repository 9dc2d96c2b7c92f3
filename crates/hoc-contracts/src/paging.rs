//! Opaque keyset cursors and page-size rules shared by every list.
//!
//! A cursor names the last row of a page by its `(created_at, id)` key and carries the `as_of` the first page
//! was read at, so following pages see exactly the same rows. Its text is opaque to callers and URL-safe; every
//! string matching [`CURSOR_PATTERN`] decodes.

use time::OffsetDateTime;

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
    /// The last row's rank, in a listing ordered by rank first (a text search); `None` elsewhere.
    pub rank: Option<i64>,
}

/// Longest cursor text.
pub const MAX_CURSOR_CHARS: usize = 130;
/// Every string of this shape is a cursor [`Cursor::decode`] accepts: `<as_of µs>.<created_at µs>.<id>`, the
/// times in microseconds since 1970 (up to year 9892), then `~<rank>` in a text search.
pub const CURSOR_PATTERN: &str = r"^(?:[0-9]{1,17}|[01][0-9]{17}|2[0-4][0-9]{16})\.(?:[0-9]{1,17}|[01][0-9]{17}|2[0-4][0-9]{16})\.[0-9A-Za-z_-]{1,64}(?:~[0-9]{1,18})?$";

fn micros(t: OffsetDateTime) -> i128 {
    t.unix_timestamp_nanos() / 1_000
}

fn from_micros(text: &str) -> Option<OffsetDateTime> {
    if text.is_empty() || text.len() > 18 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let micros: i128 = text.parse().ok()?;
    OffsetDateTime::from_unix_timestamp_nanos(micros * 1_000).ok()
}

impl Cursor {
    /// The opaque text form (URL-safe).
    pub fn encode(&self) -> String {
        let rank = self.rank.map(|r| format!("~{r}")).unwrap_or_default();
        format!(
            "{}.{}.{}{rank}",
            micros(self.as_of),
            micros(self.created_at),
            self.id
        )
    }

    /// Parses the text form; any damage is an error.
    pub fn decode(text: &str) -> Result<Self, &'static str> {
        const BAD: &str = "is not a cursor this service issued";
        let (text, rank) = match text.split_once('~') {
            Some((text, rank)) => {
                let ok = (1..=18).contains(&rank.len()) && rank.bytes().all(|b| b.is_ascii_digit());
                (
                    text,
                    Some(rank.parse::<i64>().ok().filter(|_| ok).ok_or(BAD)?),
                )
            }
            None => (text, None),
        };
        let mut parts = text.splitn(3, '.');
        let (Some(as_of), Some(created_at), Some(id)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(BAD);
        };
        let id_ok = (1..=64).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        match (from_micros(as_of), from_micros(created_at)) {
            (Some(as_of), Some(created_at)) if id_ok => Ok(Self {
                as_of,
                created_at,
                id: id.to_owned(),
                rank,
            }),
            _ => Err(BAD),
        }
    }
}

/// The position after the last recurrence group of a page of the group list, whose total order is
/// (count or last seen, last seen, signature version, signature), all descending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupCursor {
    /// The `as_of` of the whole listing.
    pub as_of: OffsetDateTime,
    /// The last group's member count (0 when the list is ordered by last seen).
    pub count: u64,
    /// The last group's last seen.
    pub last_seen: OffsetDateTime,
    /// The last group's signature version.
    pub version: String,
    /// The last group's signature.
    pub signature: String,
}

/// Longest group cursor text (the longest of each part, and the dots).
pub const MAX_GROUP_CURSOR_CHARS: usize = 206;
/// Every string of this shape may be a group cursor: `<as_of µs>.<count>.<last_seen µs>.<version>.<signature>`.
pub const GROUP_CURSOR_PATTERN: &str = r"^(?:[0-9]{1,17}|[01][0-9]{17}|2[0-4][0-9]{16})\.[0-9]{1,18}\.(?:[0-9]{1,17}|[01][0-9]{17}|2[0-4][0-9]{16})\.[0-9a-z-]{1,20}\.[0-9A-Za-z_-]{1,128}$";

impl GroupCursor {
    /// The opaque text form (URL-safe).
    pub fn encode(&self) -> String {
        format!(
            "{}.{}.{}.{}.{}",
            micros(self.as_of),
            self.count,
            micros(self.last_seen),
            self.version,
            self.signature
        )
    }

    /// Parses the text form; any damage is an error.
    pub fn decode(text: &str) -> Result<Self, &'static str> {
        const BAD: &str = "is not a group cursor this service issued";
        let parts: Vec<&str> = text.split('.').collect();
        let [as_of, count, last_seen, version, signature] = parts[..] else {
            return Err(BAD);
        };
        let count_ok = (1..=18).contains(&count.len()) && count.bytes().all(|b| b.is_ascii_digit());
        let version_ok = (1..=20).contains(&version.len())
            && version
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let signature_ok = (1..=128).contains(&signature.len())
            && signature
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        match (
            from_micros(as_of),
            from_micros(last_seen),
            count.parse::<u64>(),
        ) {
            (Some(as_of), Some(last_seen), Ok(count)) if count_ok && version_ok && signature_ok => {
                Ok(Self {
                    as_of,
                    count,
                    last_seen,
                    version: version.to_owned(),
                    signature: signature.to_owned(),
                })
            }
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

impl ReadAt {
    /// The instant the read shows: the caller's `as_of`, else now, truncated to microseconds.
    pub fn instant(self) -> OffsetDateTime {
        crate::time_format::truncate_micros(self.as_of.unwrap_or(self.now))
    }
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
            rank: None,
        };
        let text = cursor.encode();
        assert_eq!(text, "1795687200000000.1795687199500000.inc_1");
        assert_eq!(Cursor::decode(&text), Ok(cursor));
        for bad in [
            "",
            "zz",
            "abc",
            &text[..text.len() - 10],
            &text.replace('.', ":"),
            "1.2",
            "1.2.",
            "1.2.a b",
            "x.2.a",
            "1234567890123456789.2.a",
        ] {
            assert!(Cursor::decode(bad).is_err(), "{bad}");
        }
    }
}
