//! [`Stored`]: a closed vocabulary of `hoc-contracts` as an entity column.
//!
//! The column holds the value's wire form (`open`, `high`, `rollback`, …), so the database stays readable by hand
//! and by SQL, while every entity field of a closed vocabulary is its Rust enum: a value outside the vocabulary
//! cannot be written, and one found in storage is a read error naming the column's type and the value, never a
//! string passed on.

use hoc_contracts::input::Vocabulary;
use sea_orm::sea_query::{ArrayType, ColumnType, Nullable, StringLen, ValueType, ValueTypeErr};
use sea_orm::{ColIdx, DbErr, IntoActiveValue, QueryResult, TryGetError, TryGetable, Value};

/// A vocabulary value as stored: its wire form in a string column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Stored<V>(pub V);

impl<V: Vocabulary> Stored<V> {
    /// The value.
    pub fn get(self) -> V {
        self.0
    }
}

impl<V: Vocabulary> From<V> for Stored<V> {
    fn from(value: V) -> Self {
        Self(value)
    }
}

impl<V: Vocabulary> From<Stored<V>> for Value {
    fn from(value: Stored<V>) -> Self {
        Value::String(Some(value.0.as_str().to_owned()))
    }
}

fn unknown<V: Vocabulary>(text: &str) -> String {
    format!(
        "`{text}` is not one of {} ({})",
        V::WIRE.join(", "),
        std::any::type_name::<V>()
    )
}

impl<V: Vocabulary> TryGetable for Stored<V> {
    fn try_get_by<I: ColIdx>(res: &QueryResult, idx: I) -> Result<Self, TryGetError> {
        let text = <String as TryGetable>::try_get_by(res, idx)?;
        V::from_wire(&text)
            .map(Self)
            .ok_or_else(|| TryGetError::DbErr(DbErr::Type(unknown::<V>(&text))))
    }
}

impl<V: Vocabulary> ValueType for Stored<V> {
    fn try_from(v: Value) -> Result<Self, ValueTypeErr> {
        match v {
            Value::String(Some(text)) => V::from_wire(&text).map(Self).ok_or(ValueTypeErr),
            _ => Err(ValueTypeErr),
        }
    }

    fn type_name() -> String {
        format!("Stored<{}>", std::any::type_name::<V>())
    }

    fn array_type() -> ArrayType {
        ArrayType::String
    }

    fn column_type() -> ColumnType {
        ColumnType::String(StringLen::None)
    }
}

impl<V: Vocabulary> Nullable for Stored<V> {
    fn null() -> Value {
        Value::String(None)
    }
}

impl<V: Vocabulary> IntoActiveValue<Stored<V>> for Stored<V> {
    fn into_active_value(self) -> sea_orm::ActiveValue<Stored<V>> {
        sea_orm::ActiveValue::Set(self)
    }
}

#[cfg(test)]
mod tests {
    use hoc_contracts::input::{IncidentState, Severity};

    use super::*;

    #[test]
    fn the_column_holds_the_wire_form_and_reads_back_only_known_values() {
        assert_eq!(
            Value::from(Stored(Severity::Critical)),
            Value::String(Some("critical".to_owned()))
        );
        assert_eq!(
            <Stored<IncidentState> as ValueType>::try_from(Value::String(Some(
                "acknowledged".to_owned()
            )))
            .ok(),
            Some(Stored(IncidentState::Acknowledged))
        );
        assert!(
            <Stored<IncidentState> as ValueType>::try_from(Value::String(Some(
                "active".to_owned()
            )))
            .is_err()
        );
        assert!(
            unknown::<IncidentState>("active").contains("open, acknowledged, resolved, closed")
        );
    }
}
