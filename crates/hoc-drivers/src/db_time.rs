//! [`DbTime`]: the one timestamp type of every entity.
//!
//! PostgreSQL stores `timestamptz` (microseconds). SQLite stores text, and sqlx writes RFC 3339 with trailing
//! fractional zeros trimmed (`…:05Z`, `…:05.37Z`, `…:05.371739Z`), which does **not** sort in time order as text.
//! So every value is first truncated to microseconds and then written with one extra nanosecond: the fraction
//! always has nine digits on SQLite (`…:05.370000001Z`) and text order equals time order, for `ORDER BY` and for
//! comparisons with bound parameters (which go through the same encoding). PostgreSQL truncates the extra
//! nanosecond away. Reading truncates to microseconds again, so both backends return identical values.

use sea_orm::sea_query::{ArrayType, ColumnType, Nullable, ValueType, ValueTypeErr};
use sea_orm::{ColIdx, IntoActiveValue, QueryResult, TryGetError, TryGetable, Value};
use time::{Duration, OffsetDateTime, UtcOffset};

/// A UTC timestamp with microsecond precision, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DbTime(OffsetDateTime);

fn normalize(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(UtcOffset::UTC);
    let nanos = t.nanosecond();
    t.replace_nanosecond(nanos - nanos % 1_000).unwrap_or(t)
}

impl DbTime {
    /// Converts to UTC and truncates to microseconds.
    pub fn new(t: OffsetDateTime) -> Self {
        Self(normalize(t))
    }

    /// The timestamp.
    pub fn get(self) -> OffsetDateTime {
        self.0
    }

    /// The encoding sent to the database (see the module documentation).
    fn encoded(self) -> OffsetDateTime {
        self.0 + Duration::nanoseconds(1)
    }
}

impl From<OffsetDateTime> for DbTime {
    fn from(t: OffsetDateTime) -> Self {
        Self::new(t)
    }
}

impl From<DbTime> for OffsetDateTime {
    fn from(t: DbTime) -> Self {
        t.0
    }
}

impl From<DbTime> for Value {
    fn from(t: DbTime) -> Self {
        Value::TimeDateTimeWithTimeZone(Some(t.encoded()))
    }
}

impl TryGetable for DbTime {
    fn try_get_by<I: ColIdx>(res: &QueryResult, idx: I) -> Result<Self, TryGetError> {
        <OffsetDateTime as TryGetable>::try_get_by(res, idx).map(Self::new)
    }
}

impl ValueType for DbTime {
    fn try_from(v: Value) -> Result<Self, ValueTypeErr> {
        <OffsetDateTime as ValueType>::try_from(v).map(Self::new)
    }

    fn type_name() -> String {
        "DbTime".to_owned()
    }

    fn array_type() -> ArrayType {
        ArrayType::TimeDateTimeWithTimeZone
    }

    fn column_type() -> ColumnType {
        ColumnType::TimestampWithTimeZone
    }
}

impl Nullable for DbTime {
    fn null() -> Value {
        Value::TimeDateTimeWithTimeZone(None)
    }
}

impl IntoActiveValue<DbTime> for DbTime {
    fn into_active_value(self) -> sea_orm::ActiveValue<DbTime> {
        sea_orm::ActiveValue::Set(self)
    }
}

/// A timestamp is never an auto-increment key (a primary key with one, like `incident_status_counts`'s, is always
/// written whole).
impl sea_orm::TryFromU64 for DbTime {
    fn try_from_u64(_: u64) -> Result<Self, sea_orm::DbErr> {
        Err(sea_orm::DbErr::ConvertFromU64("DbTime"))
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn normalizes_to_utc_micros() {
        let t = DbTime::new(datetime!(2026-01-02 03:04:05.123456789 +02:00));
        assert_eq!(t.get(), datetime!(2026-01-02 01:04:05.123456 UTC));
    }

    #[test]
    fn encoding_always_has_nine_fraction_digits() {
        use time::format_description::well_known::Rfc3339;
        for t in [
            datetime!(2026-01-02 03:04:05 UTC),
            datetime!(2026-01-02 03:04:05.37 UTC),
            datetime!(2026-01-02 03:04:05.371739 UTC),
        ] {
            let text = DbTime::new(t).encoded().format(&Rfc3339).expect("formats");
            assert_eq!(text.len(), "2026-01-02T03:04:05.000000001Z".len(), "{text}");
        }
    }
}
