//! The rules of naming what an incident affects: [`Slug`] (a short lowercase identifier, a service's name) and
//! [`Labels`] (bounded `key: value` strings).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{CONTROL_CLASS, RawField, Rule};
use crate::FieldError;

/// A short identifier: 1 to `MAX` of `[a-z0-9._-]` (a service's name). Not trimmed: a space is refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slug<const MAX: usize>(String);

impl<const MAX: usize> Slug<MAX> {
    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The identifier, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

fn slug_problem(raw: &str, max: usize, extra: &str) -> Option<String> {
    let chars = raw.chars().count();
    if chars == 0 || chars > max {
        return Some(format!("must be 1 to {max} characters (got {chars})"));
    }
    raw.chars()
        .find(|c| {
            !(c.is_ascii_lowercase()
                || c.is_ascii_digit()
                || "._-".contains(*c)
                || extra.contains(*c))
        })
        .map(|bad| format!("must use only a-z, 0-9 and `._-{extra}` (found {bad:?})"))
}

impl<const MAX: usize> Rule for Slug<MAX> {
    type Raw = str;
    type Out = Self;

    fn schema() -> Value {
        json!({ "type": "string", "minLength": 1, "maxLength": MAX, "pattern": "^[a-z0-9._-]+$" })
    }

    fn parse(field: &str, raw: &str, errors: &mut Vec<FieldError>) -> Option<Self> {
        match slug_problem(raw, MAX, "") {
            Some(problem) => {
                errors.push(FieldError::new(field, problem));
                None
            }
            None => Some(Self(raw.to_owned())),
        }
    }
}

/// Most labels an incident carries.
pub const MAX_LABELS: usize = 32;
/// Longest label key.
pub const LABEL_KEY_MAX_CHARS: usize = 63;
/// Longest label value.
pub const LABEL_VALUE_MAX_CHARS: usize = 255;

/// Labels: at most [`MAX_LABELS`] `key: value` strings; a key is 1 to 63 of `[a-z0-9._/-]`, a value 0 to 255
/// characters without control characters (not trimmed). Every bad key and value is named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Labels;

/// One label as a list filter names it: `key:value` (the value may be empty or contain `:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelMatch {
    /// The key.
    pub key: String,
    /// The value it must have.
    pub value: String,
}

impl LabelMatch {
    /// Parses `key:value`, or says what is wrong.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let Some((key, value)) = raw.split_once(':') else {
            return Err("must be key:value".to_owned());
        };
        label_problem(key, value).map(Err).unwrap_or_else(|| {
            Ok(Self {
                key: key.to_owned(),
                value: value.to_owned(),
            })
        })
    }
}

fn label_problem(key: &str, value: &str) -> Option<String> {
    if let Some(problem) = slug_problem(key, LABEL_KEY_MAX_CHARS, "/") {
        return Some(format!("key {key:?} {problem}"));
    }
    let chars = value.chars().count();
    if chars > LABEL_VALUE_MAX_CHARS {
        Some(format!(
            "value of {key:?} must be at most {LABEL_VALUE_MAX_CHARS} characters (got {chars})"
        ))
    } else if value.chars().any(char::is_control) {
        Some(format!(
            "value of {key:?} must not contain control characters"
        ))
    } else {
        None
    }
}

impl Rule for Labels {
    type Raw = BTreeMap<String, String>;
    type Out = BTreeMap<String, String>;

    fn schema() -> Value {
        json!({
            "type": "object",
            "maxProperties": MAX_LABELS,
            "propertyNames": {
                "minLength": 1,
                "maxLength": LABEL_KEY_MAX_CHARS,
                "pattern": "^[a-z0-9._/-]+$",
            },
            "additionalProperties": {
                "type": "string",
                "maxLength": LABEL_VALUE_MAX_CHARS,
                "pattern": format!("^[^{CONTROL_CLASS}]*$"),
            },
        })
    }

    fn parse(
        field: &str,
        raw: &BTreeMap<String, String>,
        errors: &mut Vec<FieldError>,
    ) -> Option<BTreeMap<String, String>> {
        let before = errors.len();
        if raw.len() > MAX_LABELS {
            errors.push(FieldError::new(
                field,
                format!("must have at most {MAX_LABELS} labels (got {})", raw.len()),
            ));
        }
        for (key, value) in raw {
            if let Some(problem) = label_problem(key, value) {
                errors.push(FieldError::new(field, problem));
            }
        }
        (errors.len() == before).then(|| raw.clone())
    }
}

impl RawField<BTreeMap<String, String>> for Option<BTreeMap<String, String>> {
    fn present(&self) -> Option<&BTreeMap<String, String>> {
        self.as_ref()
    }
}

impl RawField<BTreeMap<String, String>> for BTreeMap<String, String> {
    fn present(&self) -> Option<&BTreeMap<String, String>> {
        Some(self)
    }
}

/// The canonical stored form of labels: a JSON object, keys sorted, no whitespace; `None` when there are none.
pub fn labels_column(labels: &BTreeMap<String, String>) -> Option<String> {
    // A map of strings always serializes (keys in the map's order: sorted); the same bytes as a JSON object's
    // `to_string`, without building one.
    (!labels.is_empty())
        .then(|| serde_json::to_string(labels).ok())
        .flatten()
}

/// What the stored form of labels contains exactly when it has `key` with `value`: `"key":"value"` JSON-encoded
/// (an unescaped quote only ever starts or ends a key or a value, so this never matches inside one).
pub fn label_needle(key: &str, value: &str) -> String {
    format!("{}:{}", Value::from(key), Value::from(value))
}

/// Labels read back from their stored form (none when absent or unreadable).
pub fn labels_from_column(column: Option<&str>) -> BTreeMap<String, String> {
    column
        .and_then(|c| serde_json::from_str(c).ok())
        .unwrap_or_default()
}

/// A list filter's labels: 1 to [`MAX_LABELS`] `key:value` strings, every one of which must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelFilter;

impl Rule for LabelFilter {
    type Raw = [String];
    type Out = Vec<LabelMatch>;

    fn schema() -> Value {
        json!({
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_LABELS,
            "items": {
                "type": "string",
                "pattern": format!("^[a-z0-9._/-]{{1,{LABEL_KEY_MAX_CHARS}}}:[^{CONTROL_CLASS}]{{0,{LABEL_VALUE_MAX_CHARS}}}$"),
            },
        })
    }

    fn parse(field: &str, raw: &[String], errors: &mut Vec<FieldError>) -> Option<Vec<LabelMatch>> {
        if raw.is_empty() || raw.len() > MAX_LABELS {
            errors.push(FieldError::new(
                field,
                format!("must have 1 to {MAX_LABELS} items (got {})", raw.len()),
            ));
            return None;
        }
        let before = errors.len();
        let matches: Vec<LabelMatch> = raw
            .iter()
            .filter_map(|item| {
                LabelMatch::parse(item)
                    .map_err(|problem| {
                        errors.push(FieldError::new(field, format!("{item:?}: {problem}")))
                    })
                    .ok()
            })
            .collect();
        (errors.len() == before).then_some(matches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stored form is what a JSON object of the labels prints (stored rows and `label_needle` rely on it).
    #[test]
    fn the_stored_form_is_the_json_object_of_the_labels() {
        let labels: BTreeMap<String, String> = [
            ("b", "quote \" and \\ backslash"),
            ("a", "tab\tnewline\n"),
            ("é", "ünïcödé \u{1}"),
            ("z", ""),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let object: serde_json::Map<String, Value> = labels
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect();
        assert_eq!(
            labels_column(&labels),
            Some(Value::from(object).to_string())
        );
        assert_eq!(labels_column(&BTreeMap::new()), None);
        let stored = labels_column(&labels).unwrap_or_default();
        assert!(stored.contains(&label_needle("b", "quote \" and \\ backslash")));
    }
}
