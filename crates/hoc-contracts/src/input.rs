//! Reading untrusted JSON input once, at the door, collecting every bad field before giving up.
//!
//! A [`FieldReader`] is created over a JSON object; each `required_*` / `optional_*` call takes one field and
//! records a [`FieldError`] if it is missing or bad; [`FieldReader::finish`] adds one error per field nobody
//! asked for and returns them all. Strings are trimmed; lengths count characters, as `VARCHAR(n)` does.

use std::collections::BTreeSet;

use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::FieldError;
use crate::time_format::{parse_utc, truncate_micros};

/// Reads fields out of one JSON object. See the module documentation.
#[derive(Debug)]
pub struct FieldReader<'a> {
    object: Option<&'a Map<String, Value>>,
    errors: Vec<FieldError>,
    known: BTreeSet<&'static str>,
}

impl<'a> FieldReader<'a> {
    /// Starts reading `payload`; a payload that is not a JSON object is one error on the field `$`.
    pub fn new(payload: &'a Value) -> Self {
        let mut reader = Self {
            object: payload.as_object(),
            errors: Vec::new(),
            known: BTreeSet::new(),
        };
        if reader.object.is_none() {
            reader.errors.push(FieldError::new(
                "$",
                "the request body must be a JSON object",
            ));
        }
        reader
    }

    fn take(&mut self, name: &'static str) -> Option<&'a Value> {
        self.known.insert(name);
        match self.object?.get(name) {
            None | Some(Value::Null) => None,
            Some(value) => Some(value),
        }
    }

    fn string(&mut self, name: &'static str, max_chars: usize) -> Option<Option<String>> {
        let value = self.take(name)?;
        let Some(s) = value.as_str() else {
            self.errors.push(FieldError::new(name, "must be a string"));
            return Some(None);
        };
        let s = s.trim();
        let chars = s.chars().count();
        if chars == 0 {
            self.errors.push(FieldError::new(name, "must not be empty"));
            Some(None)
        } else if chars > max_chars {
            self.errors.push(FieldError::new(
                name,
                format!("must be at most {max_chars} characters (got {chars})"),
            ));
            Some(None)
        } else {
            Some(Some(s.to_owned()))
        }
    }

    /// A required string of 1..=`max_chars` characters after trimming.
    pub fn required_str(&mut self, name: &'static str, max_chars: usize) -> Option<String> {
        match self.string(name, max_chars) {
            None => {
                self.errors.push(FieldError::new(name, "is required"));
                None
            }
            Some(value) => value,
        }
    }

    /// An optional string; when present it must have 1..=`max_chars` characters after trimming.
    pub fn optional_str(&mut self, name: &'static str, max_chars: usize) -> Option<String> {
        self.string(name, max_chars).flatten()
    }

    /// A required string from a closed vocabulary.
    pub fn required_one_of(
        &mut self,
        name: &'static str,
        values: &'static [&'static str],
    ) -> Option<&'static str> {
        let value = self.required_str(name, 64)?;
        self.one_of(name, &value, values)
    }

    /// An optional string from a closed vocabulary.
    pub fn optional_one_of(
        &mut self,
        name: &'static str,
        values: &'static [&'static str],
    ) -> Option<&'static str> {
        let value = self.optional_str(name, 64)?;
        self.one_of(name, &value, values)
    }

    /// Checks `value` against a closed vocabulary, recording an error on `name` if it is not in it.
    pub fn one_of(
        &mut self,
        name: &'static str,
        value: &str,
        values: &'static [&'static str],
    ) -> Option<&'static str> {
        let found = values.iter().copied().find(|v| *v == value);
        if found.is_none() {
            self.errors.push(FieldError::new(
                name,
                format!("`{value}` is not one of {}", values.join(", ")),
            ));
        }
        found
    }

    /// An optional boolean.
    pub fn optional_bool(&mut self, name: &'static str) -> Option<bool> {
        let value = self.take(name)?;
        let b = value.as_bool();
        if b.is_none() {
            self.errors
                .push(FieldError::new(name, "must be true or false"));
        }
        b
    }

    /// An optional list of 1..=`max_items` strings, each 1..=`max_chars` characters after trimming.
    pub fn optional_str_list(
        &mut self,
        name: &'static str,
        max_items: usize,
        max_chars: usize,
    ) -> Option<Vec<String>> {
        let value = self.take(name)?;
        let Some(items) = value.as_array() else {
            self.errors
                .push(FieldError::new(name, "must be a list of strings"));
            return None;
        };
        if items.is_empty() || items.len() > max_items {
            self.errors.push(FieldError::new(
                name,
                format!("must have 1 to {max_items} items (got {})", items.len()),
            ));
            return None;
        }
        let mut out = Vec::with_capacity(items.len());
        let before = self.errors.len();
        for (i, item) in items.iter().enumerate() {
            let field = format!("{name}[{i}]");
            match item.as_str().map(str::trim) {
                None => self.errors.push(FieldError::new(field, "must be a string")),
                Some("") => self
                    .errors
                    .push(FieldError::new(field, "must not be empty")),
                Some(s) if s.chars().count() > max_chars => self.errors.push(FieldError::new(
                    field,
                    format!(
                        "must be at most {max_chars} characters (got {})",
                        s.chars().count()
                    ),
                )),
                Some(s) => out.push(s.to_owned()),
            }
        }
        (self.errors.len() == before).then_some(out)
    }

    /// An optional keyset cursor (see [`crate::paging::Cursor`]).
    pub fn optional_cursor(&mut self, name: &'static str) -> Option<crate::paging::Cursor> {
        let text = self.optional_str(name, 1024)?;
        match crate::paging::Cursor::decode(&text) {
            Ok(cursor) => Some(cursor),
            Err(problem) => {
                self.errors.push(FieldError::new(name, problem));
                None
            }
        }
    }

    /// An optional page size: at least 1; above [`crate::paging::MAX_LIMIT`] it is capped.
    pub fn optional_limit(&mut self, name: &'static str) -> u64 {
        crate::paging::effective_limit(self.optional_int(name, 1, i64::MAX))
    }

    /// An optional integer in `min..=max`.
    pub fn optional_int(&mut self, name: &'static str, min: i64, max: i64) -> Option<i64> {
        let value = self.take(name)?;
        match value.as_i64() {
            Some(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                self.errors.push(FieldError::new(
                    name,
                    format!("must be an integer from {min} to {max}"),
                ));
                None
            }
        }
    }

    /// An optional RFC 3339 UTC timestamp, truncated to microseconds.
    pub fn optional_timestamp(&mut self, name: &'static str) -> Option<OffsetDateTime> {
        let value = self.take(name)?;
        let parsed = value
            .as_str()
            .ok_or("must be an RFC 3339 timestamp string")
            .and_then(parse_utc);
        match parsed {
            Ok(t) => Some(truncate_micros(t)),
            Err(problem) => {
                self.errors.push(FieldError::new(name, problem));
                None
            }
        }
    }

    /// A required RFC 3339 UTC timestamp, truncated to microseconds.
    pub fn required_timestamp(&mut self, name: &'static str) -> Option<OffsetDateTime> {
        let present = self
            .object
            .is_some_and(|o| !matches!(o.get(name), None | Some(Value::Null)));
        if !present {
            self.known.insert(name);
            self.errors.push(FieldError::new(name, "is required"));
            return None;
        }
        self.optional_timestamp(name)
    }

    /// Records an error found by the caller (a rule across fields, say).
    pub fn push_error(&mut self, error: FieldError) {
        self.errors.push(error);
    }

    /// Ends reading: every field that was not asked for is an error too. Returns all errors, if any.
    pub fn finish(mut self) -> Result<(), Vec<FieldError>> {
        if let Some(object) = self.object {
            for key in object.keys() {
                if !self.known.contains(key.as_str()) {
                    self.errors
                        .push(FieldError::new(key.clone(), "unknown field"));
                }
            }
        }
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self.errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_problem_is_collected() {
        let payload = json!({
            "title": "  ",
            "severity": "apocalyptic",
            "category": 7,
            "note": "x",
            "long": "abcdef",
            "flag": "yes",
            "at": "2026-01-01T00:00:00+02:00",
            "count": 6,
        });
        let mut r = FieldReader::new(&payload);
        assert_eq!(r.required_str("title", 10), None);
        assert_eq!(r.required_one_of("severity", &["high", "low"]), None);
        assert_eq!(r.required_str("category", 10), None);
        assert_eq!(r.required_str("missing", 10), None);
        assert_eq!(r.optional_str("long", 5), None);
        assert_eq!(r.optional_bool("flag"), None);
        assert_eq!(r.optional_timestamp("at"), None);
        assert_eq!(r.optional_str("absent", 5), None);
        assert_eq!(r.optional_int("count", 1, 5), None);
        let errors: Vec<String> = r
            .finish()
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            errors,
            [
                "title: must not be empty",
                "severity: `apocalyptic` is not one of high, low",
                "category: must be a string",
                "missing: is required",
                "long: must be at most 5 characters (got 6)",
                "flag: must be true or false",
                "at: must be in UTC",
                "count: must be an integer from 1 to 5",
                "note: unknown field",
            ]
        );
    }

    #[test]
    fn good_values_are_trimmed_and_returned() {
        let payload = json!({"title": "  disk full ", "n": null, "ok": true, "at": "2026-01-01T00:00:00.1234567Z", "k": 3});
        let mut r = FieldReader::new(&payload);
        assert_eq!(r.required_str("title", 10).as_deref(), Some("disk full"));
        assert_eq!(r.optional_str("n", 10), None);
        assert_eq!(r.optional_bool("ok"), Some(true));
        assert_eq!(r.optional_int("k", 1, 5), Some(3));
        assert_eq!(
            r.required_timestamp("at"),
            Some(time::macros::datetime!(2026-01-01 00:00:00.123456 UTC))
        );
        assert_eq!(r.finish(), Ok(()));
    }

    #[test]
    fn string_lists() {
        let payload =
            json!({"ok": [" a ", "b"], "bad": ["x", 3, "", "toolong"], "empty": [], "scalar": "a"});
        let mut r = FieldReader::new(&payload);
        assert_eq!(
            r.optional_str_list("ok", 4, 5),
            Some(vec!["a".to_owned(), "b".to_owned()])
        );
        assert_eq!(r.optional_str_list("bad", 4, 5), None);
        assert_eq!(r.optional_str_list("empty", 4, 5), None);
        assert_eq!(r.optional_str_list("scalar", 4, 5), None);
        assert_eq!(r.optional_str_list("absent", 4, 5), None);
        let errors: Vec<String> = r
            .finish()
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            errors,
            [
                "bad[1]: must be a string",
                "bad[2]: must not be empty",
                "bad[3]: must be at most 5 characters (got 7)",
                "empty: must have 1 to 4 items (got 0)",
                "scalar: must be a list of strings",
            ]
        );
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        let payload = json!({"t": "ééééé"});
        let mut r = FieldReader::new(&payload);
        assert_eq!(r.required_str("t", 5).as_deref(), Some("ééééé"));
        assert_eq!(r.finish(), Ok(()));
    }

    #[test]
    fn non_object_body() {
        let payload = json!([1]);
        let mut r = FieldReader::new(&payload);
        assert_eq!(r.required_str("title", 10), None);
        let errors = r.finish().unwrap_err();
        assert_eq!(
            errors[0],
            FieldError::new("$", "the request body must be a JSON object")
        );
    }
}
