//! The input window of a computation and its canonical hash (`iwh-v1`).
//!
//! Specification (also in `docs/analytics-artifacts.md`): the encoding is UTF-8 text `iwh-v1`, then one line per
//! pair — `("start", start)`, `("end", end)`, then `("input", reference)` for every input in the caller's order —
//! each written as a newline followed by `<L1>:<name>=<L2>:<value>` with L1/L2 the UTF-8 byte lengths in decimal.
//! Timestamps are rendered `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC, six fractional digits). The window hash is the
//! lowercase hex SHA-256 of the encoding. The window is half-open: `[start, end)`.

use std::fmt::Write as _;

use hoc_contracts::FieldError;
use hoc_contracts::time_format::{format_utc, truncate_micros};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// Most input references a window may name.
pub const MAX_INPUTS: usize = 10_000;
/// Longest input reference.
pub const MAX_INPUT_CHARS: usize = 512;

/// A half-open time window `[start, end)` and the ordered references of the inputs read from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputWindow {
    start: OffsetDateTime,
    end: OffsetDateTime,
    inputs: Vec<String>,
}

impl InputWindow {
    /// A window; `start < end`, 1..=[`MAX_INPUTS`] inputs of 1..=[`MAX_INPUT_CHARS`] characters each. Every rule
    /// broken is reported. Timestamps are truncated to microseconds.
    pub fn new(
        start: OffsetDateTime,
        end: OffsetDateTime,
        inputs: Vec<String>,
    ) -> Result<Self, Vec<FieldError>> {
        let (start, end) = (truncate_micros(start), truncate_micros(end));
        let mut errors = Vec::new();
        if start >= end {
            errors.push(FieldError::new(
                "window_end",
                "must be after window_start (the window is [start, end))",
            ));
        }
        if inputs.is_empty() || inputs.len() > MAX_INPUTS {
            errors.push(FieldError::new(
                "inputs",
                format!("must have 1 to {MAX_INPUTS} items (got {})", inputs.len()),
            ));
        }
        for (i, input) in inputs.iter().enumerate() {
            let chars = input.chars().count();
            if input.trim().is_empty() {
                errors.push(FieldError::new(format!("inputs[{i}]"), "must not be empty"));
            } else if chars > MAX_INPUT_CHARS {
                errors.push(FieldError::new(
                    format!("inputs[{i}]"),
                    format!("must be at most {MAX_INPUT_CHARS} characters (got {chars})"),
                ));
            }
        }
        if errors.is_empty() {
            Ok(Self { start, end, inputs })
        } else {
            Err(errors)
        }
    }

    /// The canonical encoding (see the module documentation).
    pub fn canonical_encoding(&self) -> String {
        let mut out = String::from("iwh-v1");
        let mut push = |name: &str, value: &str| {
            let _ = write!(out, "\n{}:{name}={}:{value}", name.len(), value.len());
        };
        push("start", &format_utc(self.start));
        push("end", &format_utc(self.end));
        for input in &self.inputs {
            push("input", input);
        }
        out
    }

    /// Lowercase hex SHA-256 of the canonical encoding.
    pub fn hash(&self) -> String {
        let mut hasher = WindowHasher::new(self.start, self.end);
        for input in &self.inputs {
            hasher.push(input);
        }
        hasher.finish()
    }
}

/// The `iwh-v1` hash of a window computed as its inputs arrive, without holding them: the same hash as
/// [`InputWindow::hash`] for the same inputs, and without its limits (a computation's own inputs, such as the
/// incidents a metric read, may be any number, none included).
#[derive(Debug, Clone)]
pub struct WindowHasher {
    digest: Sha256,
}

impl WindowHasher {
    /// A hasher of the window `[start, end)` (truncated to microseconds), before any input.
    pub fn new(start: OffsetDateTime, end: OffsetDateTime) -> Self {
        let mut hasher = Self {
            digest: Sha256::new(),
        };
        hasher.digest.update(b"iwh-v1");
        hasher.pair("start", &format_utc(truncate_micros(start)));
        hasher.pair("end", &format_utc(truncate_micros(end)));
        hasher
    }

    fn pair(&mut self, name: &str, value: &str) {
        self.digest
            .update(format!("\n{}:{name}={}:", name.len(), value.len()).as_bytes());
        self.digest.update(value.as_bytes());
    }

    /// Adds the next input reference.
    pub fn push(&mut self, input: &str) {
        self.pair("input", input);
    }

    /// Lowercase hex SHA-256 of the encoding so far.
    pub fn finish(self) -> String {
        self.digest
            .finalize()
            .iter()
            .fold(String::with_capacity(64), |mut out, b| {
                let _ = write!(out, "{b:02x}");
                out
            })
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn window(inputs: &[&str]) -> InputWindow {
        InputWindow::new(
            datetime!(2026-11-01 00:00:00 UTC),
            datetime!(2026-11-02 00:00:00 UTC),
            inputs.iter().map(|s| (*s).to_owned()).collect(),
        )
        .expect("valid window")
    }

    /// Golden vectors: fixed forever for `iwh-v1`. The hashes were computed independently from the documented
    /// encoding (`printf '%s' "$encoding" | sha256sum`).
    #[test]
    fn golden_vectors() {
        let cases = [
            (
                window(&["s3://raw/orders/2026-11-01.parquet"]),
                "iwh-v1\n5:start=27:2026-11-01T00:00:00.000000Z\n3:end=27:2026-11-02T00:00:00.000000Z\n5:input=34:s3://raw/orders/2026-11-01.parquet",
                GOLDEN[0],
            ),
            (
                window(&["orders@v12", "refunds@v7", "fx-rates@2026-11-01"]),
                "iwh-v1\n5:start=27:2026-11-01T00:00:00.000000Z\n3:end=27:2026-11-02T00:00:00.000000Z\n5:input=10:orders@v12\n5:input=10:refunds@v7\n5:input=19:fx-rates@2026-11-01",
                GOLDEN[1],
            ),
        ];
        for (window, encoding, hash) in cases {
            assert_eq!(window.canonical_encoding(), encoding);
            assert_eq!(window.hash(), hash);
        }
    }

    const GOLDEN: [&str; 2] = [
        "71fc1d32b74ed6c717862480b629f0750d039796e4b4742880b62490e17c1140",
        "31b7fc4f9c2b814a49c10cab0fe5f02e25442b4aa3ab9157f83c42df82999675",
    ];

    #[test]
    fn order_and_bounds_matter() {
        let a = window(&["a", "b"]);
        let b = window(&["b", "a"]);
        assert_ne!(a.hash(), b.hash());
        let shifted = InputWindow::new(
            datetime!(2026-11-01 00:00:00.000001 UTC),
            datetime!(2026-11-02 00:00:00 UTC),
            vec!["a".into(), "b".into()],
        )
        .expect("valid");
        assert_ne!(a.hash(), shifted.hash());
        // Offsets do not matter, only the instant.
        let same = InputWindow::new(
            datetime!(2026-11-01 02:00:00 +02:00),
            datetime!(2026-11-02 00:00:00 UTC),
            vec!["a".into(), "b".into()],
        )
        .expect("valid");
        assert_eq!(a.hash(), same.hash());
    }

    #[test]
    fn every_rule_is_reported() {
        let errors = InputWindow::new(
            datetime!(2026-11-02 00:00:00 UTC),
            datetime!(2026-11-02 00:00:00 UTC),
            vec!["ok".into(), " ".into(), "x".repeat(513)],
        )
        .unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "window_end: must be after window_start (the window is [start, end))",
                "inputs[1]: must not be empty",
                "inputs[2]: must be at most 512 characters (got 513)",
            ]
        );
        assert!(
            InputWindow::new(
                datetime!(2026-11-01 00:00:00 UTC),
                datetime!(2026-11-02 00:00:00 UTC),
                vec![]
            )
            .is_err()
        );
    }
}
