//! Incident metrics, pure: from the rows [`hoc_drivers::metrics::incident_facts`] reads (one per incident created in
//! the window, as its history up to `as_of` says) to the figures, the input line each row contributes to the input
//! hash, and the hash. Specified in `docs/analytics-artifacts.md`, "Incident metrics".
//!
//! Every figure is a function of the input lines alone (and of [`COMPUTE_CODE_VERSION`]): two computations with
//! the same input hash and code version give the same bytes.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use hoc_contracts::input::{IncidentState, Severity};
use hoc_contracts::time_format::{UtcTimestamp, format_utc, utc};
use hoc_drivers::DbTime;
use hoc_drivers::metrics::IncidentFacts;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::window::WindowHasher;

/// The version of the metrics' definition: bumped whenever a figure, the input line or the order of anything in
/// the answer changes, so that a recorded result names the code that can reproduce it.
pub const COMPUTE_CODE_VERSION: &str = "incident-metrics-v1";

/// How many recurrence groups `top_groups` lists.
pub const TOP_GROUPS: usize = 10;

hoc_contracts::vocabulary!(
    /// What the metrics are grouped by (the incident's value at `as_of`).
    MetricsGroupBy {
        /// The service it affects (`null` key: none).
        Service = "service",
        /// Its severity.
        Severity = "severity",
        /// Its category.
        Category = "category",
        /// Its assignee (`null` key: unassigned).
        Assignee = "assignee",
        /// How it arrived: `api`, `alertmanager` or `pagerduty`.
        Source = "source",
        /// One group of every incident (its key is `null`).
        Total = "none",
    }
);

/// How an incident arrived: `alertmanager` or `pagerduty` for an incident an alert of that integration opened
/// (`trigger_type` `alert`), `api` for every other.
pub fn source(trigger_type: Option<&str>, source_type: Option<&str>) -> &'static str {
    match (trigger_type, source_type) {
        (Some("alert"), Some("alertmanager")) => "alertmanager",
        (Some("alert"), Some("pagerduty")) => "pagerduty",
        _ => "api",
    }
}

/// Durations in seconds over the incidents that have one (`null` when none has).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Durations {
    /// How many incidents have the duration.
    pub samples: u64,
    /// The median (nearest rank: the ⌈n/2⌉-th smallest).
    pub p50: Option<f64>,
    /// The 90th percentile (nearest rank: the ⌈0.9·n⌉-th smallest).
    pub p90: Option<f64>,
    /// The mean, rounded down to the microsecond.
    pub mean: Option<f64>,
    /// The longest.
    pub max: Option<f64>,
}

impl Durations {
    /// The figures of `micros` (durations in microseconds, any order).
    pub fn of(mut micros: Vec<i64>) -> Self {
        micros.sort_unstable();
        let n = micros.len();
        let seconds = |us: i64| us as f64 / 1_000_000.0;
        let rank = |percent: usize| {
            let rank = (n * percent).div_ceil(100).max(1);
            micros.get(rank - 1).copied().map(seconds)
        };
        let sum: i128 = micros.iter().map(|&us| i128::from(us)).sum();
        let mean = (n > 0)
            .then(|| i64::try_from(sum.div_euclid(n as i128)).unwrap_or(i64::MAX))
            .map(seconds);
        Self {
            samples: n as u64,
            p50: rank(50),
            p90: rank(90),
            mean,
            max: micros.last().copied().map(seconds),
        }
    }
}

/// The figures of one group of incidents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MetricsGroup {
    /// The value the incidents share (`null`: none, or every incident when grouped by `none`).
    pub key: Option<String>,
    /// Incidents opened in the window (that exist at `as_of`).
    pub count: u64,
    /// Of them, acknowledged at least once by `as_of`.
    pub acknowledged: u64,
    /// Resolved at least once by `as_of`.
    pub resolved: u64,
    /// Reopened at least once by `as_of` (open or acknowledged again after being resolved or closed).
    pub reopened: u64,
    /// Resolved with the resolution type `auto` at least once by `as_of`.
    pub auto_resolved: u64,
    /// Closed as a duplicate of another incident at `as_of`.
    pub duplicates: u64,
    /// Open or acknowledged at `as_of`.
    pub open: u64,
    /// Time to acknowledge: from `created_at` to the first acknowledgement.
    pub tta: Durations,
    /// Time to resolve: from `created_at` to the first resolution.
    pub ttr: Durations,
    /// `reopened / count` (0 when count is 0).
    pub reopen_rate: f64,
}

/// A recurrence group that gained members in the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TopGroup {
    /// The signature.
    pub recurrence_signature: String,
    /// Its algorithm.
    pub signature_version: String,
    /// Its members opened in the window.
    pub new_members: u64,
    /// Of them, open or acknowledged at `as_of`.
    pub open_members: u64,
    /// When its first member in the window was opened.
    #[serde(with = "utc")]
    #[schemars(with = "UtcTimestamp")]
    pub first_seen: OffsetDateTime,
    /// When its last member in the window was opened.
    #[serde(with = "utc")]
    #[schemars(with = "UtcTimestamp")]
    pub last_seen: OffsetDateTime,
}

/// The incident metrics of a window at an instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct IncidentMetrics {
    /// The window's start (included).
    #[serde(with = "utc")]
    #[schemars(with = "UtcTimestamp")]
    pub window_start: OffsetDateTime,
    /// The window's end (excluded).
    #[serde(with = "utc")]
    #[schemars(with = "UtcTimestamp")]
    pub window_end: OffsetDateTime,
    /// The instant whose history the figures describe.
    #[serde(with = "utc")]
    #[schemars(with = "UtcTimestamp")]
    pub as_of: OffsetDateTime,
    /// What the groups are keyed by.
    pub group_by: MetricsGroupBy,
    /// Incidents opened in the window, in every group.
    pub count: u64,
    /// The groups: by severity from critical to info, otherwise by key (`null` last).
    pub groups: Vec<MetricsGroup>,
    /// The recurrence groups with the most members opened in the window (at most ten; ties by version, then
    /// signature).
    pub top_groups: Vec<TopGroup>,
    /// The `iwh-v1` hash of the window and the input line of every incident read (`docs/analytics-artifacts.md`).
    pub input_window_hash: String,
    /// The version of the metrics' definition that computed this.
    pub compute_code_version: String,
}

/// Appends `t` as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (the one timestamp format, written without a format description:
/// the input line is written for every incident a metric reads).
fn push_stamp(out: &mut String, t: DbTime) {
    let t = t.get();
    if (0..=9999).contains(&t.year()) {
        let _ = write!(
            out,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.microsecond()
        );
    } else {
        out.push_str(&format_utc(t));
    }
}

/// The input line of one incident: its fields in a fixed order, separated by tabs (no field can hold a tab), an
/// absent value empty. See `docs/analytics-artifacts.md` for the order.
pub fn input_line(f: &IncidentFacts) -> String {
    let mut line = String::new();
    write_input_line(&mut line, f);
    line
}

/// [`input_line`] into `out` (cleared first).
fn write_input_line(out: &mut String, f: &IncidentFacts) {
    out.clear();
    let opt = |out: &mut String, s: &Option<String>| {
        out.push('\t');
        out.push_str(s.as_deref().unwrap_or_default());
    };
    let stamp = |out: &mut String, t: Option<DbTime>| {
        out.push('\t');
        if let Some(t) = t {
            push_stamp(out, t);
        }
    };
    out.push_str(&f.id);
    let _ = write!(out, "\t{}", f.version);
    stamp(out, Some(f.created_at));
    stamp(out, f.first_acknowledged);
    stamp(out, f.first_resolved);
    stamp(out, f.first_done);
    stamp(out, f.last_active);
    out.push_str(if f.auto_resolved { "\t1\t" } else { "\t0\t" });
    out.push_str(f.status.get().as_str());
    opt(out, &f.duplicate_of);
    opt(out, &f.service);
    out.push('\t');
    out.push_str(f.severity.get().as_str());
    out.push('\t');
    out.push_str(&f.category);
    opt(out, &f.assignee);
    out.push('\t');
    out.push_str(source(f.trigger_type.as_deref(), f.source_type.as_deref()));
    opt(out, &f.signature_version);
    opt(out, &f.recurrence_signature);
}

fn micros_between(from: DbTime, to: DbTime) -> i64 {
    i64::try_from((to.get() - from.get()).whole_microseconds()).unwrap_or(i64::MAX)
}

fn key_of(f: &IncidentFacts, group_by: MetricsGroupBy) -> Option<&str> {
    match group_by {
        MetricsGroupBy::Service => f.service.as_deref(),
        MetricsGroupBy::Severity => Some(f.severity.get().as_str()),
        MetricsGroupBy::Category => Some(&f.category),
        MetricsGroupBy::Assignee => f.assignee.as_deref(),
        MetricsGroupBy::Source => Some(source(f.trigger_type.as_deref(), f.source_type.as_deref())),
        MetricsGroupBy::Total => None,
    }
}

/// The order of group keys: severities by rank, other keys in byte order, `null` last.
fn key_rank(group_by: MetricsGroupBy, key: Option<&str>) -> (u8, usize, &str) {
    match key {
        None => (1, 0, ""),
        Some(key) => {
            let rank = match group_by {
                MetricsGroupBy::Severity => <Severity as hoc_contracts::input::Vocabulary>::WIRE
                    .iter()
                    .position(|w| *w == key)
                    .unwrap_or(usize::MAX),
                _ => 0,
            };
            (0, rank, key)
        }
    }
}

fn is_open(f: &IncidentFacts) -> bool {
    matches!(
        f.status.get(),
        IncidentState::Open | IncidentState::Acknowledged
    )
}

fn reopened(f: &IncidentFacts) -> bool {
    matches!((f.first_done, f.last_active), (Some(done), Some(active)) if active > done)
}

#[derive(Default)]
struct Tally {
    count: u64,
    acknowledged: u64,
    resolved: u64,
    reopened: u64,
    auto_resolved: u64,
    duplicates: u64,
    open: u64,
    tta: Vec<i64>,
    ttr: Vec<i64>,
}

impl Tally {
    fn add(&mut self, f: &IncidentFacts) {
        self.count += 1;
        if let Some(ack) = f.first_acknowledged {
            self.acknowledged += 1;
            self.tta.push(micros_between(f.created_at, ack));
        }
        if let Some(resolved) = f.first_resolved {
            self.resolved += 1;
            self.ttr.push(micros_between(f.created_at, resolved));
        }
        self.reopened += u64::from(reopened(f));
        self.auto_resolved += u64::from(f.auto_resolved);
        self.duplicates += u64::from(f.duplicate_of.is_some());
        self.open += u64::from(is_open(f));
    }

    fn group(self, key: Option<String>) -> MetricsGroup {
        MetricsGroup {
            key,
            count: self.count,
            acknowledged: self.acknowledged,
            resolved: self.resolved,
            reopened: self.reopened,
            auto_resolved: self.auto_resolved,
            duplicates: self.duplicates,
            open: self.open,
            tta: Durations::of(self.tta),
            ttr: Durations::of(self.ttr),
            reopen_rate: if self.count == 0 {
                0.0
            } else {
                self.reopened as f64 / self.count as f64
            },
        }
    }
}

/// What a computation is asked: the window, the instant, the grouping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsWindow {
    /// The window's start (included).
    pub start: OffsetDateTime,
    /// The window's end (excluded).
    pub end: OffsetDateTime,
    /// The instant whose history counts.
    pub as_of: OffsetDateTime,
    /// What the groups are keyed by.
    pub group_by: MetricsGroupBy,
}

/// The metrics of `window` from `facts`: the rows of the incidents created in it, in creation order.
pub fn compute(window: MetricsWindow, facts: &[IncidentFacts]) -> IncidentMetrics {
    let mut hasher = WindowHasher::new(window.start, window.end);
    let mut tallies: BTreeMap<(u8, usize, &str), (Option<&str>, Tally)> = BTreeMap::new();
    let mut top: BTreeMap<(&str, &str), TopGroup> = BTreeMap::new();
    if window.group_by == MetricsGroupBy::Total {
        tallies.insert(key_rank(window.group_by, None), (None, Tally::default()));
    }
    let mut line = String::new();
    for f in facts {
        write_input_line(&mut line, f);
        hasher.push(&line);
        let key = key_of(f, window.group_by);
        tallies
            .entry(key_rank(window.group_by, key))
            .or_insert_with(|| (key, Tally::default()))
            .1
            .add(f);
        if let (Some(version), Some(signature)) = (&f.signature_version, &f.recurrence_signature) {
            let created = f.created_at.get();
            let group = top
                .entry((version.as_str(), signature.as_str()))
                .or_insert_with(|| TopGroup {
                    recurrence_signature: signature.clone(),
                    signature_version: version.clone(),
                    new_members: 0,
                    open_members: 0,
                    first_seen: created,
                    last_seen: created,
                });
            group.new_members += 1;
            group.open_members += u64::from(is_open(f));
            group.first_seen = group.first_seen.min(created);
            group.last_seen = group.last_seen.max(created);
        }
    }
    let mut top_groups: Vec<TopGroup> = top.into_values().collect();
    // Stable: equal counts keep the (version, signature) order of the map.
    top_groups.sort_by_key(|g| std::cmp::Reverse(g.new_members));
    top_groups.truncate(TOP_GROUPS);
    IncidentMetrics {
        window_start: window.start,
        window_end: window.end,
        as_of: window.as_of,
        group_by: window.group_by,
        count: facts.len() as u64,
        groups: tallies
            .into_values()
            .map(|(key, tally)| tally.group(key.map(str::to_owned)))
            .collect(),
        top_groups,
        input_window_hash: hasher.finish(),
        compute_code_version: COMPUTE_CODE_VERSION.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use hoc_drivers::Stored;
    use time::macros::datetime;

    use super::*;

    fn t(at: OffsetDateTime) -> DbTime {
        DbTime::new(at)
    }

    fn facts() -> Vec<IncidentFacts> {
        vec![
            IncidentFacts {
                id: "inc_a".into(),
                version: 3,
                created_at: t(datetime!(2026-11-01 00:00:00 UTC)),
                first_acknowledged: Some(t(datetime!(2026-11-01 00:12:00 UTC))),
                first_resolved: Some(t(datetime!(2026-11-01 01:00:00 UTC))),
                first_done: Some(t(datetime!(2026-11-01 01:00:00 UTC))),
                last_active: Some(t(datetime!(2026-11-01 00:12:00 UTC))),
                auto_resolved: false,
                status: Stored(IncidentState::Resolved),
                duplicate_of: None,
                service: Some("api".into()),
                severity: Stored(Severity::High),
                category: "checkout".into(),
                assignee: Some("alice".into()),
                trigger_type: None,
                source_type: None,
                signature_version: Some("rsig-v3".into()),
                recurrence_signature: Some("abc123".into()),
            },
            IncidentFacts {
                id: "inc_b".into(),
                version: 1,
                created_at: t(datetime!(2026-11-01 00:30:00.5 UTC)),
                first_acknowledged: None,
                first_resolved: None,
                first_done: None,
                last_active: Some(t(datetime!(2026-11-01 00:30:00.5 UTC))),
                auto_resolved: false,
                status: Stored(IncidentState::Open),
                duplicate_of: None,
                service: None,
                severity: Stored(Severity::Low),
                category: "db outage".into(),
                assignee: None,
                trigger_type: Some("alert".into()),
                source_type: Some("alertmanager".into()),
                signature_version: None,
                recurrence_signature: None,
            },
        ]
    }

    fn window(group_by: MetricsGroupBy) -> MetricsWindow {
        MetricsWindow {
            start: datetime!(2026-11-01 00:00:00 UTC),
            end: datetime!(2026-11-02 00:00:00 UTC),
            as_of: datetime!(2026-11-03 00:00:00 UTC),
            group_by,
        }
    }

    /// Golden vectors, fixed for `incident-metrics-v1`: the hashes were computed outside Rust from the documented
    /// encoding (Python's `hashlib.sha256` over the `iwh-v1` text below).
    #[test]
    fn input_lines_and_hash_golden_vectors() {
        let facts = facts();
        assert_eq!(
            input_line(&facts[0]),
            "inc_a\t3\t2026-11-01T00:00:00.000000Z\t2026-11-01T00:12:00.000000Z\t2026-11-01T01:00:00.000000Z\t\
             2026-11-01T01:00:00.000000Z\t2026-11-01T00:12:00.000000Z\t0\tresolved\t\tapi\thigh\tcheckout\talice\t\
             api\trsig-v3\tabc123"
        );
        assert_eq!(
            input_line(&facts[1]),
            "inc_b\t1\t2026-11-01T00:30:00.500000Z\t\t\t\t2026-11-01T00:30:00.500000Z\t0\topen\t\t\tlow\t\
             db outage\t\talertmanager\t\t"
        );
        assert_eq!(
            compute(window(MetricsGroupBy::Total), &facts).input_window_hash,
            "69f907f2b968c72e9adf1d262e3ab62e6804d9bc2d0e55ab8b399a244be2fc1f"
        );
        assert_eq!(
            compute(window(MetricsGroupBy::Total), &[]).input_window_hash,
            "f73f8fbf306ddf5cc2492a46d189087ad1394fd563dcd73375e0acbedbe02047"
        );
        // The hash covers what was read, whatever the grouping asked.
        assert_eq!(
            compute(window(MetricsGroupBy::Source), &facts).input_window_hash,
            compute(window(MetricsGroupBy::Total), &facts).input_window_hash
        );
    }

    #[test]
    fn an_edited_fact_changes_the_hash() {
        let original = compute(window(MetricsGroupBy::Total), &facts());
        let mut edited = facts();
        edited[0].first_acknowledged = Some(t(datetime!(2026-11-01 00:00:01 UTC)));
        let after = compute(window(MetricsGroupBy::Total), &edited);
        assert_ne!(original.input_window_hash, after.input_window_hash);
        assert_ne!(original.groups, after.groups);
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let d = Durations::of(vec![4_000_000, 1_000_000, 3_000_000, 2_000_000]);
        assert_eq!(
            (d.samples, d.p50, d.p90, d.mean, d.max),
            (4, Some(2.0), Some(4.0), Some(2.5), Some(4.0))
        );
        let one = Durations::of(vec![1_500_001]);
        assert_eq!(
            (one.p50, one.p90, one.mean),
            (Some(1.500001), Some(1.500001), Some(1.500001))
        );
        // The mean rounds down to the microsecond.
        assert_eq!(Durations::of(vec![1, 2]).mean, Some(0.000001));
        let none = Durations::of(vec![]);
        assert_eq!(
            (none.samples, none.p50, none.mean, none.max),
            (0, None, None, None)
        );
        let ten: Vec<i64> = (1..=10).map(|s| s * 1_000_000).collect();
        let d = Durations::of(ten);
        assert_eq!((d.p50, d.p90), (Some(5.0), Some(9.0)));
    }

    #[test]
    fn sources_and_keys() {
        assert_eq!(source(Some("alert"), Some("pagerduty")), "pagerduty");
        assert_eq!(source(Some("alert"), Some("alertmanager")), "alertmanager");
        assert_eq!(source(Some("manual"), Some("alertmanager")), "api");
        assert_eq!(source(None, None), "api");
        let by_source = compute(window(MetricsGroupBy::Source), &facts());
        let keys: Vec<Option<String>> = by_source.groups.iter().map(|g| g.key.clone()).collect();
        assert_eq!(keys, [Some("alertmanager".into()), Some("api".into())]);
        let by_service = compute(window(MetricsGroupBy::Service), &facts());
        let keys: Vec<Option<String>> = by_service.groups.iter().map(|g| g.key.clone()).collect();
        assert_eq!(keys, [Some("api".into()), None]);
        let empty = compute(window(MetricsGroupBy::Service), &[]);
        assert!(empty.groups.is_empty());
        let total = compute(window(MetricsGroupBy::Total), &[]);
        assert_eq!(total.groups.len(), 1);
        assert_eq!(
            (total.groups[0].count, total.groups[0].reopen_rate),
            (0, 0.0)
        );
    }
}
