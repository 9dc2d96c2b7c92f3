//! The incident metrics' requests and procedures: compute at an instant ([`metrics`]), per day or week
//! ([`series`]), record as an artifact with its result ([`record`]), read the recorded result ([`result`]) and
//! recompute and compare ([`verify`]). The figures themselves are pure ([`crate::metrics`]).

use hoc_contracts::FieldError;
use hoc_contracts::input::{Text, Timestamp, Vocabulary};
use hoc_contracts::time_format::{UtcTimestamp, format_utc, utc};
use hoc_drivers::{DbTime, Tx, artifacts, metrics::incident_facts};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::metrics::{
    COMPUTE_CODE_VERSION, IncidentMetrics, MetricsGroupBy, MetricsWindow, compute,
};
use crate::model::KEY_MAX_CHARS;
use crate::procedures::{Outcome, ReadAt, save};
use crate::{Artifact, ArtifactDefinition, ArtifactError, SaveStatus};

/// The prefix of the datasets the metrics are recorded under: `incident-metrics/<group_by>`.
pub const DATASET_PREFIX: &str = "incident-metrics/";
/// Most windows a series may have.
pub const MAX_SERIES_POINTS: usize = 366;

hoc_contracts::vocabulary!(
    /// The length of each window of a series.
    SeriesStep {
        /// 24 hours.
        Day = "day",
        /// 7 days.
        Week = "week",
    }
);

impl SeriesStep {
    /// The window length.
    pub fn duration(self) -> Duration {
        match self {
            Self::Day => Duration::days(1),
            Self::Week => Duration::weeks(1),
        }
    }
}

hoc_contracts::request! {
    /// The incident metrics of the incidents opened in `[window_start, window_end)`, from their history as it was
    /// at the read's `as_of`.
    pub struct GetIncidentMetrics => IncidentMetricsQuery {
        /// The window's start (included).
        window_start: Option<String> => required Timestamp,
        /// The window's end (excluded); after `window_start`.
        window_end: Option<String> => required Timestamp,
        /// `service`, `severity`, `category`, `assignee`, `source` or `none` (the default).
        group_by: Option<String> => optional MetricsGroupBy,
    }
}

hoc_contracts::request! {
    /// The incident metrics of consecutive windows of a day or a week from `start` (the last one ends at `end`), at
    /// the read's `as_of`: the figures of a chart.
    pub struct GetIncidentMetricsSeries => IncidentMetricsSeriesQuery {
        /// The first window's start.
        start: Option<String> => required Timestamp,
        /// The last window's end; after `start`.
        end: Option<String> => required Timestamp,
        /// `day` (the default) or `week`.
        step: Option<String> => optional SeriesStep,
        /// `service`, `severity`, `category`, `assignee`, `source` or `none` (the default).
        group_by: Option<String> => optional MetricsGroupBy,
    }
}

hoc_contracts::request! {
    /// Computes the incident metrics and records them, with their result, as the artifact
    /// `incident-metrics/<group_by>` @ `<as_of>-<window tag>` in the same transaction.
    pub struct RecordIncidentMetrics => RecordIncidentMetricsInput {
        /// The window's start (included).
        window_start: Option<String> => required Timestamp,
        /// The window's end (excluded); after `window_start`.
        window_end: Option<String> => required Timestamp,
        /// `service`, `severity`, `category`, `assignee`, `source` or `none` (the default).
        group_by: Option<String> => optional MetricsGroupBy,
        /// The instant whose history counts (default: the recording's own instant); not after it.
        as_of: Option<String> => optional Timestamp,
    }
}

hoc_contracts::request! {
    /// The result an artifact recorded, byte for byte.
    pub struct GetArtifactResult => ArtifactResultQuery {
        /// The dataset.
        dataset_id: String => required Text<{ KEY_MAX_CHARS }>,
        /// Its version.
        dataset_version: String => required Text<{ KEY_MAX_CHARS }>,
    }
}

hoc_contracts::request! {
    /// Recomputes a recorded incident-metrics artifact at its `as_of` and compares the code version, the input
    /// hash and the result with what was recorded.
    pub struct VerifyIncidentMetrics => VerifyQuery {
        /// The dataset (`incident-metrics/<group_by>`).
        dataset_id: String => required Text<{ KEY_MAX_CHARS }>,
        /// Its version.
        dataset_version: String => required Text<{ KEY_MAX_CHARS }>,
    }
}

/// A series of metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MetricsSeries {
    /// The first window's start.
    #[serde(with = "utc")]
    #[schemars(with = "UtcTimestamp")]
    pub start: OffsetDateTime,
    /// The last window's end.
    #[serde(with = "utc")]
    #[schemars(with = "UtcTimestamp")]
    pub end: OffsetDateTime,
    /// The window length.
    pub step: SeriesStep,
    /// What each point's groups are keyed by.
    pub group_by: MetricsGroupBy,
    /// The instant whose history counts.
    #[serde(with = "utc")]
    #[schemars(with = "UtcTimestamp")]
    pub as_of: OffsetDateTime,
    /// One metrics object per window, in time order.
    pub points: Vec<IncidentMetrics>,
}

/// What a recording answers: the artifact and the metrics it recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RecordedMetrics {
    /// The artifact (`dataset_id` `incident-metrics/<group_by>`).
    pub artifact: Artifact,
    /// The metrics, as `GET …/result` returns them.
    pub metrics: IncidentMetrics,
    /// Whether this call recorded it (`false`: an identical recording existed).
    #[serde(skip)]
    pub created: bool,
}

/// A recorded result: the JSON the artifact recorded (for `incident-metrics/*`, an [`IncidentMetrics`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ArtifactResult(pub serde_json::Value);

impl schemars::JsonSchema for ArtifactResult {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ArtifactResult".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        generator.subschema_for::<IncidentMetrics>()
    }
}

/// The answer of a verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MetricsVerification {
    /// The dataset.
    pub dataset_id: String,
    /// Its version.
    pub dataset_version: String,
    /// The recorded instant the recomputation read at.
    #[serde(with = "utc")]
    #[schemars(with = "UtcTimestamp")]
    pub as_of: OffsetDateTime,
    /// Whether the recomputation matches: same code version, same input hash, same result bytes.
    pub matches: bool,
    /// What differs, one sentence each (empty when it matches).
    pub differences: Vec<String>,
    /// The input hash recorded.
    pub recorded_input_window_hash: String,
    /// The input hash of the recomputation.
    pub recomputed_input_window_hash: String,
    /// The code version recorded.
    pub recorded_compute_code_version: String,
    /// The code version of this build.
    pub recomputed_compute_code_version: String,
}

fn window_problem(
    start: OffsetDateTime,
    end: OffsetDateTime,
    end_field: &str,
) -> Option<FieldError> {
    (start >= end).then(|| {
        FieldError::new(
            end_field,
            "must be after the window's start (the window is [start, end))",
        )
    })
}

fn invalid(fields: Vec<FieldError>) -> ArtifactError {
    ArtifactError::InvalidInput { fields }
}

/// The metrics of `window`, read from the tenant's history at `window.as_of`.
pub async fn compute_at(
    tx: &Tx,
    tenant_id: &str,
    window: MetricsWindow,
) -> Result<IncidentMetrics, ArtifactError> {
    let facts = incident_facts(
        tx,
        tenant_id,
        DbTime::new(window.start),
        DbTime::new(window.end),
        DbTime::new(window.as_of),
    )
    .await?;
    Ok(compute(window, &facts))
}

/// The incident metrics of a window at the read's instant.
pub async fn metrics(
    tx: &Tx,
    tenant_id: &str,
    query: IncidentMetricsQuery,
    at: ReadAt,
) -> Result<IncidentMetrics, ArtifactError> {
    if let Some(problem) = window_problem(query.window_start, query.window_end, "window_end") {
        return Err(invalid(vec![problem]));
    }
    let window = MetricsWindow {
        start: query.window_start,
        end: query.window_end,
        as_of: at.instant(),
        group_by: query.group_by.unwrap_or(MetricsGroupBy::Total),
    };
    compute_at(tx, tenant_id, window).await
}

/// The metrics of each window of `step` from `start` to `end` (the last window ends at `end`), read in one
/// statement.
pub async fn series(
    tx: &Tx,
    tenant_id: &str,
    query: IncidentMetricsSeriesQuery,
    at: ReadAt,
) -> Result<MetricsSeries, ArtifactError> {
    let step = query.step.unwrap_or(SeriesStep::Day);
    let group_by = query.group_by.unwrap_or(MetricsGroupBy::Total);
    let (start, end) = (query.start, query.end);
    if let Some(problem) = window_problem(start, end, "end") {
        return Err(invalid(vec![problem]));
    }
    let (span, width) = (
        (end - start).whole_microseconds(),
        step.duration().whole_microseconds(),
    );
    let points = (span + width - 1) / width;
    if points > MAX_SERIES_POINTS as i128 {
        return Err(invalid(vec![FieldError::new(
            "end",
            format!(
                "is {points} {step}s after start; a series has at most {MAX_SERIES_POINTS} windows"
            ),
        )]));
    }
    let as_of = at.instant();
    let facts = incident_facts(
        tx,
        tenant_id,
        DbTime::new(start),
        DbTime::new(end),
        DbTime::new(as_of),
    )
    .await?;
    let mut out = Vec::new();
    let mut rest = facts.as_slice();
    let mut from = start;
    while from < end {
        let to = (from + step.duration()).min(end);
        let inside = rest.partition_point(|f| f.created_at.get() < to);
        let (now, later) = rest.split_at(inside);
        out.push(compute(
            MetricsWindow {
                start: from,
                end: to,
                as_of,
                group_by,
            },
            now,
        ));
        rest = later;
        from = to;
    }
    Ok(MetricsSeries {
        start,
        end,
        step,
        group_by,
        as_of,
        points: out,
    })
}

/// The metrics as recorded: compact JSON with the keys in order, exactly the bytes the HTTP answer has.
pub fn canonical_json(metrics: &IncidentMetrics) -> Result<String, ArtifactError> {
    Ok(serde_json::to_value(metrics)?.to_string())
}

/// `YYYYMMDDTHHMMSS.ffffffZ`.
fn compact(t: OffsetDateTime) -> String {
    format_utc(t).replace(['-', ':'], "")
}

/// The version a recording is kept under: `<as_of>-<window tag>`, the instant compact
/// (`YYYYMMDDTHHMMSS.ffffffZ`) and the tag the first 12 hex digits of SHA-256 over
/// `<window_start>\n<window_end>` (both `YYYY-MM-DDTHH:MM:SS.ffffffZ`).
pub fn dataset_version(window: MetricsWindow) -> String {
    let digest = Sha256::digest(
        format!("{}\n{}", format_utc(window.start), format_utc(window.end)).as_bytes(),
    );
    let tag: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("{}-{tag}", compact(window.as_of))
}

/// Computes the metrics at `as_of` (default `now`, the recording's instant; never after it) and records them as an
/// artifact with their result, in the caller's transaction: created (with `analytics.ArtifactRecorded` and an audit
/// entry), unchanged (the same recording exists), or a reproducibility conflict (the key holds a different one).
pub async fn record(
    tx: &Tx,
    tenant_id: &str,
    now: OffsetDateTime,
    input: RecordIncidentMetricsInput,
) -> Result<Outcome<RecordedMetrics>, ArtifactError> {
    let as_of = input.as_of.unwrap_or(now);
    let mut problems: Vec<FieldError> =
        window_problem(input.window_start, input.window_end, "window_end")
            .into_iter()
            .collect();
    if as_of > now {
        problems.push(FieldError::new(
            "as_of",
            format!(
                "must not be after the recording's instant {} (history after it can still change)",
                format_utc(now)
            ),
        ));
    }
    if !problems.is_empty() {
        return Err(invalid(problems));
    }
    let window = MetricsWindow {
        start: input.window_start,
        end: input.window_end,
        as_of,
        group_by: input.group_by.unwrap_or(MetricsGroupBy::Total),
    };
    let metrics = compute_at(tx, tenant_id, window).await?;
    let definition = ArtifactDefinition {
        dataset_id: format!("{DATASET_PREFIX}{}", window.group_by),
        dataset_version: dataset_version(window),
        input_window_hash: metrics.input_window_hash.clone(),
        as_of,
        compute_code_version: metrics.compute_code_version.clone(),
        window_start: Some(window.start),
        window_end: Some(window.end),
        code_dirty: None,
        result: Some(canonical_json(&metrics)?),
    };
    let saved = save(tx, tenant_id, now, definition).await?;
    Ok(Outcome {
        response: RecordedMetrics {
            artifact: saved.response.artifact,
            metrics,
            created: saved.response.status == SaveStatus::Created,
        },
        audit: saved.audit,
        events: saved.events,
    })
}

/// The result an artifact recorded, visible when the artifact was recorded at or before the read's instant.
pub async fn result(
    tx: &Tx,
    tenant_id: &str,
    query: ArtifactResultQuery,
    at: ReadAt,
) -> Result<ArtifactResult, ArtifactError> {
    let (dataset_id, version) = (
        query.dataset_id.into_string(),
        query.dataset_version.into_string(),
    );
    let row = artifacts::find_by_key(tx, tenant_id, &dataset_id, &version)
        .await?
        .filter(|row| row.created_at <= DbTime::new(at.instant()));
    let text = row
        .and_then(|row| row.result)
        .ok_or_else(|| ArtifactError::NotFound {
            id: format!("{dataset_id}@{version}/result"),
        })?;
    Ok(ArtifactResult(serde_json::from_str(&text)?))
}

/// Recomputes the recorded metrics at their `as_of` and names every difference: the code version (the definition
/// changed), the input hash (the history read is not what was recorded), the result bytes.
pub async fn verify(
    tx: &Tx,
    tenant_id: &str,
    query: VerifyQuery,
) -> Result<MetricsVerification, ArtifactError> {
    let (dataset_id, version) = (
        query.dataset_id.into_string(),
        query.dataset_version.into_string(),
    );
    let row = artifacts::find_by_key(tx, tenant_id, &dataset_id, &version)
        .await?
        .ok_or_else(|| ArtifactError::NotFound {
            id: format!("{dataset_id}@{version}"),
        })?;
    let group_by = group_by_of(&dataset_id);
    let (Some(group_by), Some(start), Some(end), Some(recorded)) = (
        group_by,
        row.window_start,
        row.window_end,
        row.result.clone(),
    ) else {
        return Err(invalid(vec![FieldError::new(
            "dataset_id",
            format!(
                "{dataset_id}@{version} is not a recorded incident-metrics artifact \
                 ({DATASET_PREFIX}<group_by>, with a window and a result)"
            ),
        )]));
    };
    let as_of = row.as_of.get();
    let window = MetricsWindow {
        start: start.get(),
        end: end.get(),
        as_of,
        group_by,
    };
    let metrics = compute_at(tx, tenant_id, window).await?;
    let mut differences = Vec::new();
    if row.compute_code_version != COMPUTE_CODE_VERSION {
        differences.push(format!(
            "compute_code_version: recorded `{}`, this build computes `{COMPUTE_CODE_VERSION}`: the metrics' \
             definition changed since the recording",
            row.compute_code_version
        ));
    }
    if row.input_window_hash != metrics.input_window_hash {
        differences.push(format!(
            "input_window_hash: recorded `{}`, recomputed `{}` over {} incidents: the history read at as_of {} \
             is not what was recorded (it was changed after the recording)",
            row.input_window_hash,
            metrics.input_window_hash,
            metrics.count,
            format_utc(as_of)
        ));
    }
    let recomputed = canonical_json(&metrics)?;
    if recomputed != recorded {
        differences.push(format!(
            "result: differs from the recorded result in {}",
            differing_fields(&recorded, &recomputed).join(", ")
        ));
    }
    Ok(MetricsVerification {
        dataset_id,
        dataset_version: version,
        as_of,
        matches: differences.is_empty(),
        differences,
        recorded_input_window_hash: row.input_window_hash,
        recomputed_input_window_hash: metrics.input_window_hash,
        recorded_compute_code_version: row.compute_code_version,
        recomputed_compute_code_version: COMPUTE_CODE_VERSION.to_owned(),
    })
}

/// The top-level fields whose values differ between two JSON objects (`the whole document` when either is not
/// an object).
fn differing_fields(a: &str, b: &str) -> Vec<String> {
    let parse =
        |s: &str| serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(s).ok();
    let (Some(a), Some(b)) = (parse(a), parse(b)) else {
        return vec!["the whole document".to_owned()];
    };
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    let fields: Vec<String> = keys
        .into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| format!("`{k}`"))
        .collect();
    if fields.is_empty() {
        vec!["its bytes".to_owned()]
    } else {
        fields
    }
}

/// The group-by of a metrics dataset id, if it is one.
pub fn group_by_of(dataset_id: &str) -> Option<MetricsGroupBy> {
    dataset_id
        .strip_prefix(DATASET_PREFIX)
        .and_then(MetricsGroupBy::from_wire)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    /// The tag was computed outside Rust: `sha256(b"2026-11-01T00:00:00.000000Z\n2026-11-02T00:00:00.000000Z")`.
    #[test]
    fn dataset_versions_name_the_instant_and_tag_the_window() {
        let window = MetricsWindow {
            start: datetime!(2026-11-01 00:00:00 UTC),
            end: datetime!(2026-11-02 00:00:00 UTC),
            as_of: datetime!(2026-11-01 04:00:00 UTC),
            group_by: MetricsGroupBy::Service,
        };
        assert_eq!(
            dataset_version(window),
            "20261101T040000.000000Z-a20c73079671"
        );
        assert!(dataset_version(window).len() <= KEY_MAX_CHARS);
        assert_eq!(
            group_by_of("incident-metrics/none"),
            Some(MetricsGroupBy::Total)
        );
        assert_eq!(group_by_of("incident-metrics/team"), None);
        assert_eq!(group_by_of("daily_orders"), None);
    }

    #[test]
    fn differing_fields_are_named() {
        assert_eq!(
            differing_fields(r#"{"a":1,"b":2,"c":3}"#, r#"{"a":1,"b":5,"d":3}"#),
            ["`b`", "`c`", "`d`"]
        );
        assert_eq!(differing_fields("[", "{}"), ["the whole document"]);
    }
}
