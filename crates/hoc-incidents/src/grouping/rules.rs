//! Fingerprint rules: their validation (every problem of every rule at once), `{{ field }}` placeholders and
//! the glob matching that costs at most (field length × glob length).

use std::collections::BTreeMap;

use hoc_contracts::FieldError;
use hoc_contracts::input::{Rule, Text};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{FINGERPRINT_ITEM_MAX_CHARS, FINGERPRINT_MAX_ITEMS};

/// Most fingerprint rules a configuration may have.
pub const MAX_RULES: usize = 32;
/// Most fields one rule may match on.
pub const MAX_MATCHERS: usize = 8;
/// Longest glob.
pub const MAX_GLOB_CHARS: usize = 256;
/// Most glob characters in a whole configuration: matching one incident against every rule costs at most this
/// many character comparisons per character of the longest field.
pub const MAX_TOTAL_GLOB_CHARS: usize = 2048;
/// The incident fields a rule can match on and a fingerprint can substitute (`{{ field }}`).
pub const RULE_FIELDS: &[&str] = &[
    "category",
    "severity",
    "title",
    "error_code",
    "error_message",
    "trigger_type",
    "source_type",
    "source_ref",
];

/// One fingerprint rule: when every named field matches its glob (`*` any run of characters, `?` one character,
/// case-insensitive; an absent field is the empty string), the incident's fingerprint is `fingerprint`, each item
/// with `{{ field }}` replaced by that field's value. The first matching rule wins; a caller's own fingerprint
/// wins over every rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FingerprintRule {
    /// Field name → glob.
    #[serde(rename = "match", default)]
    pub matchers: BTreeMap<String, String>,
    /// The fingerprint items, with `{{ field }}` placeholders.
    #[serde(default)]
    pub fingerprint: Vec<String>,
}

/// The validation rule of a list of fingerprint rules (every problem of every rule at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FingerprintRules;

impl Rule for FingerprintRules {
    type Raw = [FingerprintRule];
    type Out = Vec<FingerprintRule>;

    fn schema() -> Value {
        let glob = <Text<MAX_GLOB_CHARS> as Rule>::schema();
        // An item is one-line text whose `{{` only ever opens a placeholder naming a field.
        let placeholder = format!(
            r"^(?:[^{{]|\{{[^{{]|\{{$|\{{\{{ *(?:{}) *\}}\}})*$",
            RULE_FIELDS.join("|")
        );
        let item = json!({
            "allOf": [
                <Text<FINGERPRINT_ITEM_MAX_CHARS> as Rule>::schema(),
                { "type": "string", "pattern": placeholder },
            ]
        });
        let properties: serde_json::Map<String, Value> = RULE_FIELDS
            .iter()
            .map(|f| ((*f).to_owned(), glob.clone()))
            .collect();
        json!({
            "type": "array",
            "maxItems": MAX_RULES,
            "items": {
                "type": "object",
                "additionalProperties": false,
                "required": ["match", "fingerprint"],
                "properties": {
                    "match": {
                        "type": "object",
                        "additionalProperties": false,
                        "minProperties": 1,
                        "maxProperties": MAX_MATCHERS,
                        "properties": properties,
                    },
                    "fingerprint": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": FINGERPRINT_MAX_ITEMS,
                        "items": item,
                    },
                },
            },
        })
    }

    fn parse(
        field: &str,
        raw: &[FingerprintRule],
        errors: &mut Vec<FieldError>,
    ) -> Option<Vec<FingerprintRule>> {
        let before = errors.len();
        if raw.len() > MAX_RULES {
            errors.push(FieldError::new(
                field,
                format!("must have at most {MAX_RULES} rules (got {})", raw.len()),
            ));
        }
        let total: usize = raw
            .iter()
            .flat_map(|r| r.matchers.values())
            .map(|g| g.chars().count())
            .sum();
        if total > MAX_TOTAL_GLOB_CHARS {
            errors.push(FieldError::new(
                field,
                format!("globs must total at most {MAX_TOTAL_GLOB_CHARS} characters (got {total})"),
            ));
        }
        for (i, rule) in raw.iter().enumerate() {
            let at = format!("{field}[{i}]");
            if rule.matchers.is_empty() || rule.matchers.len() > MAX_MATCHERS {
                errors.push(FieldError::new(
                    format!("{at}.match"),
                    format!(
                        "must name 1 to {MAX_MATCHERS} fields (got {})",
                        rule.matchers.len()
                    ),
                ));
            }
            for (name, glob) in &rule.matchers {
                let at = format!("{at}.match.{name}");
                if !RULE_FIELDS.contains(&name.as_str()) {
                    errors.push(FieldError::new(
                        &at,
                        format!("is not a field rules match on ({})", RULE_FIELDS.join(", ")),
                    ));
                }
                <Text<MAX_GLOB_CHARS> as Rule>::parse(&at, glob, errors);
            }
            if rule.fingerprint.is_empty() || rule.fingerprint.len() > FINGERPRINT_MAX_ITEMS {
                errors.push(FieldError::new(
                    format!("{at}.fingerprint"),
                    format!(
                        "must have 1 to {FINGERPRINT_MAX_ITEMS} items (got {})",
                        rule.fingerprint.len()
                    ),
                ));
            }
            for (j, item) in rule.fingerprint.iter().enumerate() {
                let at = format!("{at}.fingerprint[{j}]");
                <Text<FINGERPRINT_ITEM_MAX_CHARS> as Rule>::parse(&at, item, errors);
                if let Err(problem) = placeholders(item) {
                    errors.push(FieldError::new(&at, problem));
                }
            }
        }
        (errors.len() == before).then(|| raw.to_vec())
    }
}

/// The `{{ field }}` placeholders of a fingerprint item, in order, as (start, end, field) character ranges of the
/// item; an unclosed `{{` or an unknown field is an error.
pub(super) fn placeholders(item: &str) -> Result<Vec<(usize, usize, &'static str)>, String> {
    let mut found = Vec::new();
    let mut rest = 0;
    while let Some(open) = item[rest..].find("{{").map(|i| rest + i) {
        let Some(close) = item[open + 2..].find("}}").map(|i| open + 2 + i) else {
            return Err("has a `{{` without its `}}`".to_owned());
        };
        let name = item[open + 2..close].trim_matches(' ');
        let Some(field) = RULE_FIELDS.iter().find(|f| **f == name) else {
            return Err(format!(
                "`{{{{ {name} }}}}` names no field ({})",
                RULE_FIELDS.join(", ")
            ));
        };
        found.push((open, close + 2, *field));
        rest = close + 2;
    }
    Ok(found)
}

/// Whether `value` matches `glob` (`*` any run, `?` one character; case-insensitive). The pattern is cut at its
/// stars: the first piece must start the value, the last end it, and each middle piece is found at its leftmost
/// place after the previous one, so a match costs at most (value length × glob length) comparisons, never the
/// exponential backtracking a regular expression can.
pub fn glob_matches(glob: &str, value: &str) -> bool {
    let glob: Vec<char> = glob.to_lowercase().chars().collect();
    let value: Vec<char> = value.to_lowercase().chars().collect();
    let piece_at = |piece: &[char], at: usize| -> bool {
        value
            .get(at..at + piece.len())
            .is_some_and(|window| window.iter().zip(piece).all(|(v, p)| *p == '?' || v == p))
    };
    let pieces: Vec<&[char]> = glob.split(|c| *c == '*').collect();
    let [first, middle @ .., last] = pieces.as_slice() else {
        // No star: the glob is one piece that must be the whole value.
        return glob.len() == value.len() && piece_at(&glob, 0);
    };
    if value.len() < first.len() + last.len()
        || !piece_at(first, 0)
        || !piece_at(last, value.len() - last.len())
    {
        return false;
    }
    let (mut from, end) = (first.len(), value.len() - last.len());
    for piece in middle {
        let found = (from..=end.saturating_sub(piece.len()))
            .take_while(|at| at + piece.len() <= end)
            .find(|at| piece_at(piece, *at));
        match found {
            Some(at) => from = at + piece.len(),
            None => return false,
        }
    }
    true
}
