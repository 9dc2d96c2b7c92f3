//! Collected check outcomes and their text rendering.

use std::fmt::Write as _;

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// One check's outcome: what it looked at, and for WARN/FAIL how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub(crate) level: Level,
    pub(crate) check: &'static str,
    pub(crate) detail: String,
    pub(crate) fix: Option<String>,
}

impl Outcome {
    pub(crate) fn pass(check: &'static str, detail: impl Into<String>) -> Self {
        Self {
            level: Level::Pass,
            check,
            detail: detail.into(),
            fix: None,
        }
    }

    pub(crate) fn warn(
        check: &'static str,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            level: Level::Warn,
            check,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    pub(crate) fn fail(
        check: &'static str,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            level: Level::Fail,
            check,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

/// The outcomes of one verifier.
#[derive(Debug)]
pub(crate) struct Report {
    verifier: &'static str,
    outcomes: Vec<Outcome>,
}

impl Report {
    pub(crate) fn new(verifier: &'static str) -> Self {
        Self {
            verifier,
            outcomes: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, outcome: Outcome) {
        self.outcomes.push(outcome);
    }

    fn count(&self, level: Level) -> usize {
        self.outcomes.iter().filter(|o| o.level == level).count()
    }

    /// No FAIL, and with `strict` no WARN either.
    pub(crate) fn passes(&self, strict: bool) -> bool {
        self.count(Level::Fail) == 0 && !(strict && self.count(Level::Warn) > 0)
    }

    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        for o in &self.outcomes {
            let _ = write!(
                out,
                "{}  {}  {}  — {}",
                o.level.as_str(),
                self.verifier,
                o.check,
                o.detail
            );
            if let Some(fix) = &o.fix {
                let _ = write!(out, " / fix: {fix}");
            }
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "Total: {} | PASS: {} | WARN: {} | FAIL: {}",
            self.outcomes.len(),
            self.count(Level::Pass),
            self.count(Level::Warn),
            self.count(Level::Fail)
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_lines_and_totals_and_decides_exit() {
        let mut report = Report::new("workspace");
        report.push(Outcome::pass("fmt", "cargo fmt --check"));
        report.push(Outcome::warn("postgres", "not run", "set the variable"));
        assert_eq!(
            report.render(),
            "PASS  workspace  fmt  — cargo fmt --check\n\
             WARN  workspace  postgres  — not run / fix: set the variable\n\
             Total: 2 | PASS: 1 | WARN: 1 | FAIL: 0\n"
        );
        assert!(report.passes(false));
        assert!(!report.passes(true));
        report.push(Outcome::fail("tests", "exited 101", "fix them"));
        assert!(!report.passes(false));
    }
}
