//! The artifact as callers see it, and the parsed definition of a save.

use hoc_contracts::FieldError;
use hoc_contracts::input::FieldReader;
use hoc_contracts::time_format::utc;
use hoc_drivers::{ArtifactRow, DbTime};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::ArtifactError;
use crate::window::{InputWindow, MAX_INPUT_CHARS, MAX_INPUTS};

/// Longest `dataset_id`, `dataset_version` and `compute_code_version` (their columns' length).
pub const KEY_MAX_CHARS: usize = 64;
/// Length of `input_window_hash` (a SHA-256 digest in lowercase hex).
pub const HASH_CHARS: usize = 64;

/// (table, column, limit) for every length limit the artifact rules enforce; the storage-contract verifier
/// compares it with the migrated database.
pub const LENGTH_LIMITS: &[(&str, &str, usize)] = &[
    ("analytics_artifacts", "dataset_id", KEY_MAX_CHARS),
    ("analytics_artifacts", "dataset_version", KEY_MAX_CHARS),
    ("analytics_artifacts", "compute_code_version", KEY_MAX_CHARS),
    ("analytics_artifacts", "input_window_hash", HASH_CHARS),
];

/// An analytics artifact (the HTTP API's artifact object).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artifact {
    pub id: String,
    pub tenant_id: String,
    pub dataset_id: String,
    pub dataset_version: String,
    pub input_window_hash: String,
    #[serde(with = "utc")]
    pub as_of: OffsetDateTime,
    pub compute_code_version: String,
    #[serde(with = "utc::option")]
    pub window_start: Option<OffsetDateTime>,
    #[serde(with = "utc::option")]
    pub window_end: Option<OffsetDateTime>,
    pub code_dirty: Option<bool>,
    #[serde(with = "utc")]
    pub created_at: OffsetDateTime,
}

impl From<ArtifactRow> for Artifact {
    fn from(row: ArtifactRow) -> Self {
        Self {
            id: row.id,
            tenant_id: row.tenant_id,
            dataset_id: row.dataset_id,
            dataset_version: row.dataset_version,
            input_window_hash: row.input_window_hash,
            as_of: row.as_of.get(),
            compute_code_version: row.compute_code_version,
            window_start: row.window_start.map(DbTime::get),
            window_end: row.window_end.map(DbTime::get),
            code_dirty: row.code_dirty,
            created_at: row.created_at.get(),
        }
    }
}

/// Whether a save recorded a new artifact or replayed an identical one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SaveStatus {
    /// A new key: recorded, and `analytics.ArtifactRecorded` emitted.
    Created,
    /// The same definition was already recorded: nothing written, nothing emitted.
    Unchanged,
}

/// The answer to a save.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaveOutcome {
    /// Created or unchanged.
    pub status: SaveStatus,
    /// The recorded artifact.
    pub artifact: Artifact,
}

/// A page of artifacts with the `as_of` it was read at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactPage {
    /// Newest first by (created_at desc, id desc).
    pub items: Vec<Artifact>,
    /// Pass back as `cursor` for the next page.
    pub next_cursor: Option<String>,
    /// The point in time the listing shows.
    #[serde(with = "utc")]
    pub as_of: OffsetDateTime,
}

/// A validated save request: the key and the definition recorded under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactDefinition {
    pub dataset_id: String,
    pub dataset_version: String,
    pub input_window_hash: String,
    pub as_of: OffsetDateTime,
    pub compute_code_version: String,
    pub window_start: Option<OffsetDateTime>,
    pub window_end: Option<OffsetDateTime>,
    pub code_dirty: Option<bool>,
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == HASH_CHARS && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl ArtifactDefinition {
    /// Parses a save payload, reporting every bad field at once. Payload: `dataset_id`, `dataset_version`,
    /// `input_window_hash`, `as_of`, `compute_code_version`, optional `window_start` + `window_end` (both or
    /// neither, start < end), optional `code_dirty`, and optional `inputs` (ordered input references): with
    /// inputs, the window is required and `input_window_hash` must equal the hash the library computes from them.
    pub fn parse(payload: &Value) -> Result<Self, ArtifactError> {
        let mut r = FieldReader::new(payload);
        let dataset_id = r.required_str("dataset_id", KEY_MAX_CHARS);
        let dataset_version = r.required_str("dataset_version", KEY_MAX_CHARS);
        let hash = r.required_str("input_window_hash", HASH_CHARS + 1);
        let hash = match hash {
            Some(h) if is_sha256_hex(&h) => Some(h),
            Some(_) => {
                r.push_error(FieldError::new(
                    "input_window_hash",
                    "must be exactly 64 lowercase hexadecimal characters (a SHA-256 digest)",
                ));
                None
            }
            None => None,
        };
        let as_of = r.required_timestamp("as_of");
        let compute_code_version = r.required_str("compute_code_version", KEY_MAX_CHARS);
        let window_start = r.optional_timestamp("window_start");
        let window_end = r.optional_timestamp("window_end");
        let code_dirty = r.optional_bool("code_dirty");
        let inputs = r.optional_str_list("inputs", MAX_INPUTS, MAX_INPUT_CHARS);
        let present = |name: &str| payload.get(name).is_some_and(|v| !v.is_null());
        match (present("window_start"), present("window_end")) {
            (true, false) => r.push_error(FieldError::new(
                "window_end",
                "is required when window_start is given",
            )),
            (false, true) => r.push_error(FieldError::new(
                "window_start",
                "is required when window_end is given",
            )),
            _ => {}
        }
        if let (Some(start), Some(end)) = (window_start, window_end)
            && start >= end
        {
            r.push_error(FieldError::new(
                "window_end",
                "must be after window_start (the window is [start, end))",
            ));
        }
        if present("inputs") && !(present("window_start") && present("window_end")) {
            r.push_error(FieldError::new(
                "inputs",
                "need window_start and window_end to be hashed",
            ));
        }
        if let (Some(start), Some(end), Some(inputs), Some(hash)) =
            (window_start, window_end, inputs, &hash)
            && start < end
        {
            match InputWindow::new(start, end, inputs) {
                Ok(window) => {
                    let computed = window.hash();
                    if &computed != hash {
                        r.push_error(FieldError::new(
                            "input_window_hash",
                            format!("does not match the window and inputs given (they hash to {computed})"),
                        ));
                    }
                }
                Err(errors) => errors.into_iter().for_each(|e| r.push_error(e)),
            }
        }
        r.finish()
            .map_err(|fields| ArtifactError::InvalidInput { fields })?;
        match (
            dataset_id,
            dataset_version,
            hash,
            as_of,
            compute_code_version,
        ) {
            (
                Some(dataset_id),
                Some(dataset_version),
                Some(input_window_hash),
                Some(as_of),
                Some(compute_code_version),
            ) => Ok(Self {
                dataset_id,
                dataset_version,
                input_window_hash,
                as_of,
                compute_code_version,
                window_start,
                window_end,
                code_dirty,
            }),
            _ => Err(ArtifactError::InvalidInput {
                fields: vec![FieldError::new("$", "required fields are missing")],
            }),
        }
    }

    /// The names of the fields whose values differ from the recorded artifact (empty: an identical replay).
    pub fn differences(&self, recorded: &Artifact) -> Vec<String> {
        let mut fields = Vec::new();
        let mut check = |name: &str, same: bool| {
            if !same {
                fields.push(name.to_owned());
            }
        };
        check(
            "input_window_hash",
            self.input_window_hash == recorded.input_window_hash,
        );
        check("as_of", self.as_of == recorded.as_of);
        check(
            "compute_code_version",
            self.compute_code_version == recorded.compute_code_version,
        );
        check("window_start", self.window_start == recorded.window_start);
        check("window_end", self.window_end == recorded.window_end);
        check("code_dirty", self.code_dirty == recorded.code_dirty);
        fields
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::datetime;

    use super::*;

    const HASH: &str = "71fc1d32b74ed6c717862480b629f0750d039796e4b4742880b62490e17c1140";

    fn problems(payload: Value) -> Vec<String> {
        match ArtifactDefinition::parse(&payload) {
            Err(ArtifactError::InvalidInput { fields }) => {
                fields.iter().map(ToString::to_string).collect()
            }
            other => panic!("expected invalid input, got {other:?}"),
        }
    }

    fn valid() -> Value {
        json!({
            "dataset_id": "daily_orders",
            "dataset_version": "2026-11-01",
            "input_window_hash": HASH,
            "as_of": "2026-11-02T00:00:00Z",
            "compute_code_version": "git:4f2a9c1",
        })
    }

    #[test]
    fn a_minimal_save_parses() {
        let def = ArtifactDefinition::parse(&valid()).expect("valid");
        assert_eq!(def.as_of, datetime!(2026-11-02 00:00:00 UTC));
        assert_eq!((def.window_start, def.code_dirty), (None, None));
    }

    #[test]
    fn every_rule_is_reported_at_once() {
        assert_eq!(
            problems(json!({
                "dataset_id": "",
                "dataset_version": "v".repeat(65),
                "input_window_hash": HASH.to_uppercase(),
                "as_of": "2026-11-02T00:00:00+01:00",
                "window_start": "2026-11-02T00:00:00Z",
                "window_end": "2026-11-01T00:00:00Z",
                "code_dirty": "no",
                "extra": 1,
            })),
            [
                "dataset_id: must not be empty",
                "dataset_version: must be at most 64 characters (got 65)",
                "input_window_hash: must be exactly 64 lowercase hexadecimal characters (a SHA-256 digest)",
                "as_of: must be in UTC",
                "compute_code_version: is required",
                "code_dirty: must be true or false",
                "window_end: must be after window_start (the window is [start, end))",
                "extra: unknown field",
            ]
        );
        assert_eq!(
            problems(json!({})),
            [
                "dataset_id: is required",
                "dataset_version: is required",
                "input_window_hash: is required",
                "as_of: is required",
                "compute_code_version: is required",
            ]
        );
    }

    #[test]
    fn window_bounds_come_in_pairs_and_inputs_must_hash_to_the_given_hash() {
        let mut payload = valid();
        payload["window_start"] = json!("2026-11-01T00:00:00Z");
        assert_eq!(
            problems(payload.clone()),
            ["window_end: is required when window_start is given"]
        );
        payload["window_end"] = json!("2026-11-02T00:00:00Z");
        payload["inputs"] = json!(["s3://raw/orders/2026-11-01.parquet"]);
        // The golden window of `window::tests`: its hash is HASH.
        ArtifactDefinition::parse(&payload).expect("matching hash");
        payload["inputs"] = json!(["s3://raw/orders/2026-11-02.parquet"]);
        let errors = problems(payload);
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].starts_with(
                "input_window_hash: does not match the window and inputs given (they hash to "
            ),
            "{errors:?}"
        );
        let mut no_window = valid();
        no_window["inputs"] = json!(["a"]);
        assert_eq!(
            problems(no_window),
            ["inputs: need window_start and window_end to be hashed"]
        );
    }

    #[test]
    fn differences_name_every_changed_field() {
        let def = ArtifactDefinition::parse(&valid()).expect("valid");
        let recorded = Artifact {
            id: "art_1".into(),
            tenant_id: "t1".into(),
            dataset_id: def.dataset_id.clone(),
            dataset_version: def.dataset_version.clone(),
            input_window_hash: def.input_window_hash.clone(),
            as_of: def.as_of,
            compute_code_version: def.compute_code_version.clone(),
            window_start: None,
            window_end: None,
            code_dirty: None,
            created_at: datetime!(2026-11-02 01:00:00 UTC),
        };
        assert!(def.differences(&recorded).is_empty());
        let changed = Artifact {
            compute_code_version: "git:other".into(),
            code_dirty: Some(false),
            ..recorded
        };
        assert_eq!(
            def.differences(&changed),
            ["compute_code_version", "code_dirty"]
        );
    }
}
