//! The artifact as callers see it, and the parsed definition of a save.

use hoc_contracts::FieldError;
use hoc_contracts::input::{Flag, Limit, PageCursor, Sha256Hex, Text, TextList, Timestamp};
use hoc_contracts::time_format::{UtcTimestamp, utc};
use hoc_drivers::{ArtifactRow, DbTime};
use serde::{Deserialize, Serialize};
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Artifact {
    /// Its id.
    pub id: String,
    /// The tenant it belongs to.
    pub tenant_id: String,
    /// The dataset.
    pub dataset_id: String,
    /// Its version.
    pub dataset_version: String,
    /// SHA-256 of the input window (64 lowercase hex characters).
    #[schemars(regex(pattern = "^[0-9a-f]{64}$"))]
    pub input_window_hash: String,
    /// The point in time the read shows.
    #[serde(with = "utc")]
    #[schemars(with = "UtcTimestamp")]
    pub as_of: OffsetDateTime,
    /// The code version that computed it.
    pub compute_code_version: String,
    /// Start of the half-open input window.
    #[serde(with = "utc::option")]
    #[schemars(with = "Option<UtcTimestamp>")]
    pub window_start: Option<OffsetDateTime>,
    /// End of the half-open input window.
    #[serde(with = "utc::option")]
    #[schemars(with = "Option<UtcTimestamp>")]
    pub window_end: Option<OffsetDateTime>,
    /// Whether the code had uncommitted changes.
    pub code_dirty: Option<bool>,
    /// When it was created.
    #[serde(with = "utc")]
    #[schemars(with = "UtcTimestamp")]
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

/// An artifact as a read at an instant found it, with that instant: what a single-artifact read answers. The
/// artifact's own `as_of` is the point in time of its data, so the read's instant is echoed as `read_as_of`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ArtifactAt {
    /// The artifact.
    #[serde(flatten)]
    pub artifact: Artifact,
    /// The instant the read shows (the caller's `read_as_of`, or the tenant's last committed change): artifacts
    /// recorded after it are invisible. Repeating the read with this `read_as_of` gives the same answer.
    #[serde(with = "utc")]
    #[schemars(with = "UtcTimestamp")]
    pub read_as_of: OffsetDateTime,
}

impl std::ops::Deref for ArtifactAt {
    type Target = Artifact;

    fn deref(&self) -> &Artifact {
        &self.artifact
    }
}

/// Whether a save recorded a new artifact or replayed an identical one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SaveStatus {
    /// A new key: recorded, and `analytics.ArtifactRecorded` emitted.
    Created,
    /// The same definition was already recorded: nothing written, nothing emitted.
    Unchanged,
}

/// The answer to a save.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SaveOutcome {
    /// Created or unchanged.
    pub status: SaveStatus,
    /// The recorded artifact.
    pub artifact: Artifact,
}

/// A page of artifacts with the `as_of` it was read at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ArtifactPage {
    /// Newest first by (created_at desc, id desc).
    pub items: Vec<Artifact>,
    /// Pass back as `cursor` for the next page.
    pub next_cursor: Option<String>,
    /// The point in time the listing shows.
    #[serde(with = "utc")]
    #[schemars(with = "UtcTimestamp")]
    pub as_of: OffsetDateTime,
}

/// A validated save request: the key and the definition recorded under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactDefinition {
    /// The dataset.
    pub dataset_id: String,
    /// Its version.
    pub dataset_version: String,
    /// SHA-256 of the input window (64 lowercase hex characters).
    pub input_window_hash: String,
    /// The point in time the read shows.
    pub as_of: OffsetDateTime,
    /// The code version that computed it.
    pub compute_code_version: String,
    /// Start of the half-open input window.
    pub window_start: Option<OffsetDateTime>,
    /// End of the half-open input window.
    pub window_end: Option<OffsetDateTime>,
    /// Whether the code had uncommitted changes.
    pub code_dirty: Option<bool>,
    /// The result recorded with it, byte for byte (a metrics recording's JSON; `None` for a save with a hash only).
    pub result: Option<String>,
}

hoc_contracts::request! {
    /// Record an analytics artifact under (dataset_id, dataset_version): created, unchanged (an identical replay),
    /// or a reproducibility conflict (a different definition; nothing changes). With `inputs`, the window is
    /// required and `input_window_hash` must be the `iwh-v1` hash of window and inputs.
    pub struct SaveArtifact => SaveArtifactInput {
        /// The dataset.
        dataset_id: String => required Text<{ KEY_MAX_CHARS }>,
        /// Its version.
        dataset_version: String => required Text<{ KEY_MAX_CHARS }>,
        /// SHA-256 of the input window: 64 lowercase hexadecimal characters.
        input_window_hash: Option<String> => required Sha256Hex,
        /// The point in time the result describes (RFC 3339).
        as_of: Option<String> => required Timestamp,
        /// The code version that computed it.
        compute_code_version: Option<String> => required Text<{ KEY_MAX_CHARS }>,
        /// Start of the half-open input window (with `window_end`).
        window_start: Option<String> => optional Timestamp,
        /// End of the half-open input window (after `window_start`).
        window_end: Option<String> => optional Timestamp,
        /// Whether the code had uncommitted changes.
        code_dirty: Option<bool> => optional Flag,
        /// Ordered input references; with the window, the library checks the hash against them.
        inputs: Option<Vec<String>> => optional TextList<{ MAX_INPUTS }, { MAX_INPUT_CHARS }>,
    }
}

hoc_contracts::request! {
    /// One artifact of a dataset: a version, or the latest (at a point in time).
    pub struct GetArtifact => ArtifactQuery {
        /// The dataset.
        dataset_id: String => required Text<{ KEY_MAX_CHARS }>,
        /// A version (default: the latest by (as_of, created_at, id)).
        version: Option<String> => optional Text<{ KEY_MAX_CHARS }>,
        /// Point in time: only artifacts whose own `as_of` is at or before it count.
        as_of: Option<String> => optional Timestamp,
    }
}

hoc_contracts::request! {
    /// The tenant's artifacts, newest first by (created_at, id).
    pub struct ListArtifacts => ArtifactListQuery {
        /// Only this dataset.
        dataset_id: Option<String> => optional Text<{ KEY_MAX_CHARS }>,
        /// Page size (1 to 500, default 50).
        limit: Option<i64> => optional Limit,
        /// From a previous page's `next_cursor`.
        cursor: Option<String> => optional PageCursor,
    }
}

impl SaveArtifact {
    /// Parses the save and applies the rules across fields ([`ArtifactDefinition::new`]); when some field is bad
    /// on its own, the window rules that can still be judged are reported with it, so every problem comes at once.
    pub fn definition(&self) -> Result<ArtifactDefinition, ArtifactError> {
        match self.parse() {
            Ok(input) => ArtifactDefinition::new(input),
            Err(mut fields) => {
                let time = |raw: &Option<String>| {
                    raw.as_deref()
                        .and_then(|t| hoc_contracts::input::parse_timestamp(t).ok())
                };
                let present = |raw: &Option<String>| raw.is_some();
                fields.extend(window_problems(
                    (present(&self.window_start), time(&self.window_start)),
                    (present(&self.window_end), time(&self.window_end)),
                    self.inputs.is_some(),
                ));
                Err(ArtifactError::InvalidInput { fields })
            }
        }
    }
}

/// The window rules: bounds in pairs, start before end, inputs only with a window. Each bound is (given, parsed).
fn window_problems(
    start: (bool, Option<OffsetDateTime>),
    end: (bool, Option<OffsetDateTime>),
    has_inputs: bool,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    match (start.0, end.0) {
        (true, false) => errors.push(FieldError::new(
            "window_end",
            "is required when window_start is given",
        )),
        (false, true) => errors.push(FieldError::new(
            "window_start",
            "is required when window_end is given",
        )),
        _ => {}
    }
    if let (Some(start), Some(end)) = (start.1, end.1)
        && start >= end
    {
        errors.push(FieldError::new(
            "window_end",
            "must be after window_start (the window is [start, end))",
        ));
    }
    if has_inputs && !(start.0 && end.0) {
        errors.push(FieldError::new(
            "inputs",
            "need window_start and window_end to be hashed",
        ));
    }
    errors
}

impl ArtifactDefinition {
    /// Applies the rules across fields of a parsed save, reporting every one broken: window bounds come in pairs,
    /// start before end, inputs need the window, and inputs with the window must hash to `input_window_hash`.
    pub fn new(input: SaveArtifactInput) -> Result<Self, ArtifactError> {
        let (start, end) = (input.window_start, input.window_end);
        let mut errors = window_problems(
            (start.is_some(), start),
            (end.is_some(), end),
            input.inputs.is_some(),
        );
        match (start, end, input.inputs) {
            (Some(start), Some(end), Some(inputs)) if start < end => {
                match InputWindow::new(start, end, inputs) {
                    Ok(window) => {
                        let computed = window.hash();
                        if computed != input.input_window_hash {
                            errors.push(FieldError::new(
                                "input_window_hash",
                                format!("does not match the window and inputs given (they hash to {computed})"),
                            ));
                        }
                    }
                    Err(problems) => errors.extend(problems),
                }
            }
            _ => {}
        }
        if !errors.is_empty() {
            return Err(ArtifactError::InvalidInput { fields: errors });
        }
        Ok(Self {
            dataset_id: input.dataset_id.into_string(),
            dataset_version: input.dataset_version.into_string(),
            input_window_hash: input.input_window_hash,
            as_of: input.as_of,
            compute_code_version: input.compute_code_version.into_string(),
            window_start: start,
            window_end: end,
            code_dirty: input.code_dirty,
            result: None,
        })
    }
}

impl ArtifactDefinition {
    /// The names of the fields whose values differ from the recorded artifact and the result recorded with it
    /// (empty: an identical replay).
    pub fn differences(&self, recorded: &Artifact, recorded_result: Option<&str>) -> Vec<String> {
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
        check("result", self.result.as_deref() == recorded_result);
        fields
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use time::macros::datetime;

    use super::*;

    const HASH: &str = "71fc1d32b74ed6c717862480b629f0750d039796e4b4742880b62490e17c1140";

    fn parse(payload: Value) -> Result<ArtifactDefinition, Vec<String>> {
        let request: SaveArtifact = hoc_contracts::input::decode(payload).map_err(|e| vec![e])?;
        let parsed = request
            .parse()
            .map_err(|fields| fields.iter().map(ToString::to_string).collect::<Vec<_>>())?;
        ArtifactDefinition::new(parsed).map_err(|e| match e {
            ArtifactError::InvalidInput { fields } => {
                fields.iter().map(ToString::to_string).collect()
            }
            other => vec![other.to_string()],
        })
    }

    fn problems(payload: Value) -> Vec<String> {
        match parse(payload) {
            Err(problems) => problems,
            Ok(def) => panic!("expected invalid input, got {def:?}"),
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
        let def = parse(valid()).expect("valid");
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
                "as_of": "2026-11-02",
                "window_start": "2026-11-02T00:00:00Z",
                "window_end": "2026-11-01T00:00:00Z",
            })),
            [
                "dataset_id: is required",
                "dataset_version: must be at most 64 characters (got 65)",
                "input_window_hash: must be exactly 64 lowercase hexadecimal characters (a SHA-256 digest)",
                "as_of: must be an RFC 3339 timestamp",
                "compute_code_version: is required",
            ]
        );
        assert_eq!(
            problems(json!({"dataset_id": "d", "dataset_version": "v"})),
            [
                "input_window_hash: is required",
                "as_of: is required",
                "compute_code_version: is required",
            ]
        );
        let mut reversed = valid();
        reversed["window_start"] = json!("2026-11-02T00:00:00Z");
        reversed["window_end"] = json!("2026-11-01T00:00:00Z");
        assert_eq!(
            problems(reversed),
            ["window_end: must be after window_start (the window is [start, end))"]
        );
        let mut shape = valid();
        shape["code_dirty"] = json!("no");
        assert_eq!(
            problems(shape),
            ["code_dirty: invalid type: string \"no\", expected a boolean"]
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
        parse(payload.clone()).expect("matching hash");
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
        let def = parse(valid()).expect("valid");
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
        assert!(def.differences(&recorded, None).is_empty());
        assert_eq!(def.differences(&recorded, Some("{}")), ["result"]);
        let changed = Artifact {
            compute_code_version: "git:other".into(),
            code_dirty: Some(false),
            ..recorded
        };
        assert_eq!(
            def.differences(&changed, None),
            ["compute_code_version", "code_dirty"]
        );
    }
}
