//! Collected check outcomes, the text report (lines, per-verifier totals, matrix) and the JSON report.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub(crate) enum Level {
    Pass,
    Warn,
    Fail,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Warn => "WARN",
            Self::Fail => "FAIL",
        }
    }
}

/// One check's outcome: what it looked at (`where`), and for WARN/FAIL how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Outcome {
    pub(crate) level: Level,
    pub(crate) verifier: String,
    pub(crate) check: String,
    #[serde(rename = "where")]
    pub(crate) location: String,
    pub(crate) fix: Option<String>,
}

impl Outcome {
    pub(crate) fn pass(
        verifier: &str,
        check: impl Into<String>,
        location: impl Into<String>,
    ) -> Self {
        Self {
            level: Level::Pass,
            verifier: verifier.to_owned(),
            check: check.into(),
            location: location.into(),
            fix: None,
        }
    }

    pub(crate) fn warn(
        verifier: &str,
        check: impl Into<String>,
        location: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            level: Level::Warn,
            verifier: verifier.to_owned(),
            check: check.into(),
            location: location.into(),
            fix: Some(fix.into()),
        }
    }

    pub(crate) fn fail(
        verifier: &str,
        check: impl Into<String>,
        location: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            level: Level::Fail,
            verifier: verifier.to_owned(),
            check: check.into(),
            location: location.into(),
            fix: Some(fix.into()),
        }
    }

    /// PASS when `problem` is `None`, else FAIL with it.
    pub(crate) fn from_problem(
        verifier: &str,
        check: impl Into<String>,
        location: impl Into<String>,
        problem: Option<String>,
        fix: &str,
    ) -> Self {
        let check = check.into();
        match problem {
            None => Self::pass(verifier, check, location),
            Some(problem) => Self::fail(
                verifier,
                check,
                format!("{} — {problem}", location.into()),
                fix,
            ),
        }
    }
}

/// Counts of one verifier (or of all).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Counts {
    pub(crate) total: usize,
    pub(crate) pass: usize,
    pub(crate) warn: usize,
    pub(crate) fail: usize,
}

impl Counts {
    fn add(&mut self, level: Level) {
        self.total += 1;
        match level {
            Level::Pass => self.pass += 1,
            Level::Warn => self.warn += 1,
            Level::Fail => self.fail += 1,
        }
    }

    fn line(&self) -> String {
        format!(
            "Total: {} | PASS: {} | WARN: {} | FAIL: {}",
            self.total, self.pass, self.warn, self.fail
        )
    }
}

/// Every outcome of one run, in the order the verifiers produced them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Report {
    pub(crate) outcomes: Vec<Outcome>,
}

impl Report {
    pub(crate) fn extend(&mut self, outcomes: impl IntoIterator<Item = Outcome>) {
        self.outcomes.extend(outcomes);
    }

    /// Verifier names in first-seen order, with their counts.
    pub(crate) fn matrix(&self) -> Vec<(String, Counts)> {
        let mut rows: Vec<(String, Counts)> = Vec::new();
        for o in &self.outcomes {
            match rows.iter_mut().find(|(name, _)| *name == o.verifier) {
                Some((_, counts)) => counts.add(o.level),
                None => {
                    let mut counts = Counts::default();
                    counts.add(o.level);
                    rows.push((o.verifier.clone(), counts));
                }
            }
        }
        rows
    }

    pub(crate) fn totals(&self) -> Counts {
        let mut counts = Counts::default();
        for o in &self.outcomes {
            counts.add(o.level);
        }
        counts
    }

    /// No FAIL, and with `strict` no WARN either.
    pub(crate) fn passes(&self, strict: bool) -> bool {
        let totals = self.totals();
        totals.fail == 0 && !(strict && totals.warn > 0)
    }

    pub(crate) fn render_text(&self) -> String {
        let mut out = String::new();
        for (verifier, counts) in self.matrix() {
            for o in self.outcomes.iter().filter(|o| o.verifier == verifier) {
                let _ = write!(
                    out,
                    "{}  {}  {}  — {}",
                    o.level.as_str(),
                    o.verifier,
                    o.check,
                    o.location
                );
                if let Some(fix) = &o.fix {
                    let _ = write!(out, " / fix: {fix}");
                }
                out.push('\n');
            }
            let _ = writeln!(out, "[{verifier}] {}\n", counts.line());
        }
        let _ = writeln!(out, "| Verifier | PASS | WARN | FAIL |");
        let _ = writeln!(out, "|----------|------|------|------|");
        for (verifier, c) in self.matrix() {
            let _ = writeln!(out, "| {verifier} | {} | {} | {} |", c.pass, c.warn, c.fail);
        }
        let t = self.totals();
        let _ = writeln!(out, "| **Total** | {} | {} | {} |", t.pass, t.warn, t.fail);
        let _ = writeln!(out, "\n{}", t.line());
        out
    }

    pub(crate) fn render_json(&self) -> String {
        let matrix: Vec<serde_json::Value> = self
            .matrix()
            .into_iter()
            .map(|(verifier, c)| serde_json::json!({"verifier": verifier, "counts": c}))
            .collect();
        let value = serde_json::json!({ "outcomes": self.outcomes, "matrix": matrix, "totals": self.totals() });
        serde_json::to_string_pretty(&value).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn fixture() -> Report {
        let mut report = Report::default();
        report.extend([
            Outcome::pass(
                "layering",
                "edge hoc-spine -> hoc-drivers (normal)",
                "crates/hoc-spine/Cargo.toml",
            ),
            Outcome::fail(
                "layering",
                "edge hoc-incidents -> sea-orm (normal)",
                "crates/hoc-incidents/Cargo.toml",
                "only hoc-drivers and migration may name sea-orm; move the query into a driver",
            ),
            Outcome::warn(
                "storage",
                "postgres",
                "HOC_TEST_DATABASE_URL is not set",
                "export HOC_TEST_DATABASE_URL=postgres://…",
            ),
            Outcome::pass(
                "storage",
                "schema sqlite: incidents",
                "migration/src vs crates/hoc-drivers/src/entity",
            ),
        ]);
        report
    }

    #[test]
    fn text_report_snapshot() {
        insta::assert_snapshot!(fixture().render_text());
    }

    #[test]
    fn exit_decision() {
        let report = fixture();
        assert!(!report.passes(false), "a FAIL fails");
        let mut warn_only = Report::default();
        warn_only.extend(
            report
                .outcomes
                .iter()
                .filter(|o| o.level != Level::Fail)
                .cloned(),
        );
        assert!(warn_only.passes(false));
        assert!(!warn_only.passes(true), "--strict fails on WARN");
    }

    #[test]
    fn json_round_trips_through_serde() {
        let report = fixture();
        let json = report.render_json();
        let value: serde_json::Value = serde_json::from_str(&json).expect("valid json");
        let outcomes: Vec<Outcome> =
            serde_json::from_value(value["outcomes"].clone()).expect("outcomes parse");
        assert_eq!(Report { outcomes }, report);
        let totals: Counts = serde_json::from_value(value["totals"].clone()).expect("totals parse");
        assert_eq!(
            totals,
            Counts {
                total: 4,
                pass: 2,
                warn: 1,
                fail: 1
            }
        );
        assert_eq!(
            value["outcomes"][1]["where"],
            "crates/hoc-incidents/Cargo.toml"
        );
    }
}
