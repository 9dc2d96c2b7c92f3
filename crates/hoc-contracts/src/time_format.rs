//! The one timestamp format of the system: RFC 3339, UTC, `Z`, exactly six fractional digits.
//!
//! Timestamps are truncated to microseconds ([`truncate_micros`]) before they are stored, because PostgreSQL keeps
//! microseconds; a fixed width also keeps SQLite's text timestamps in chronological order.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// Formats `t` (converted to UTC) as `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
pub fn format_utc(t: OffsetDateTime) -> String {
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
    // Formatting a valid OffsetDateTime with a fixed, component-only description cannot fail for years 0..=9999;
    // fall back to the well-known format for anything else rather than panic.
    let t = t.to_offset(UtcOffset::UTC);
    t.format(&format)
        .or_else(|_| t.format(&Rfc3339))
        .unwrap_or_default()
}

/// Parses an RFC 3339 timestamp and requires it to be in UTC (`Z` or `+00:00`).
pub fn parse_utc(s: &str) -> Result<OffsetDateTime, &'static str> {
    match OffsetDateTime::parse(s, &Rfc3339) {
        Ok(t) if t.offset().is_utc() => Ok(t),
        Ok(_) => Err("must be in UTC"),
        Err(_) => Err("must be an RFC 3339 timestamp"),
    }
}

/// Drops everything below a microsecond.
pub fn truncate_micros(t: OffsetDateTime) -> OffsetDateTime {
    let nanos = t.nanosecond();
    t.replace_nanosecond(nanos - nanos % 1_000).unwrap_or(t)
}

/// The current time in UTC, truncated to microseconds.
pub fn now_utc() -> OffsetDateTime {
    truncate_micros(OffsetDateTime::now_utc())
}

/// The JSON Schema of a timestamp field (`#[schemars(with = "UtcTimestamp")]` on an `OffsetDateTime`).
#[derive(Debug, Clone, Copy)]
pub struct UtcTimestamp;

impl schemars::JsonSchema for UtcTimestamp {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "UtcTimestamp".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "format": "date-time" })
    }
}

/// `serde(with = "time_format::utc")` for `OffsetDateTime` fields.
pub mod utc {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;

    /// Serializes in the system format.
    pub fn serialize<S: Serializer>(t: &OffsetDateTime, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::format_utc(*t))
    }

    /// Deserializes any RFC 3339 UTC timestamp.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<OffsetDateTime, D::Error> {
        let s = String::deserialize(deserializer)?;
        super::parse_utc(&s).map_err(serde::de::Error::custom)
    }

    /// The same for `Option<OffsetDateTime>`.
    pub mod option {
        use serde::{Deserialize, Deserializer, Serializer};
        use time::OffsetDateTime;

        /// Serializes `None` as `null`.
        pub fn serialize<S: Serializer>(
            t: &Option<OffsetDateTime>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => serializer.serialize_str(&super::super::format_utc(*t)),
                None => serializer.serialize_none(),
            }
        }

        /// Deserializes `null` as `None`.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<OffsetDateTime>, D::Error> {
            Option::<String>::deserialize(deserializer)?
                .map(|s| super::super::parse_utc(&s).map_err(serde::de::Error::custom))
                .transpose()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn fixed_width_utc_format() {
        assert_eq!(
            format_utc(datetime!(2026-01-02 03:04:05.5 +02:00)),
            "2026-01-02T01:04:05.500000Z"
        );
        assert_eq!(
            format_utc(datetime!(2026-01-02 03:04:05 UTC)),
            "2026-01-02T03:04:05.000000Z"
        );
    }

    #[test]
    fn parse_requires_utc() {
        assert!(parse_utc("2026-01-02T03:04:05Z").is_ok());
        assert!(parse_utc("2026-01-02T03:04:05+00:00").is_ok());
        assert_eq!(
            parse_utc("2026-01-02T03:04:05+01:00"),
            Err("must be in UTC")
        );
        assert_eq!(parse_utc("yesterday"), Err("must be an RFC 3339 timestamp"));
    }

    #[test]
    fn truncation_keeps_micros() {
        let t = datetime!(2026-01-02 03:04:05.123456789 UTC);
        assert_eq!(
            truncate_micros(t),
            datetime!(2026-01-02 03:04:05.123456 UTC)
        );
    }
}
