//! Recurrence grouping on an outside benchmark: Loghub-2k (`../shared/data/loghub2k/`, never copied into the
//! repository). Every line of a system becomes one incident of its own tenant (`error_message` = the line's
//! `Content`, no error code, category `log`); incidents with one signature form a predicted group, scored against
//! the corrected labels (`EventId`):
//! - grouping accuracy (GA): the share of lines whose predicted group is exactly the set of lines of their label;
//! - pairwise precision and recall: over pairs of lines, predicted together vs labelled together;
//! - messages signed per second (one core).

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use hoc_spine::recurrence::{self, SignatureSource};

/// The systems of the benchmark half this project has.
pub(crate) const SYSTEMS: [&str; 8] = [
    "HDFS",
    "Hadoop",
    "Spark",
    "Zookeeper",
    "BGL",
    "HPC",
    "Thunderbird",
    "Windows",
];

/// One labelled line: its message and its label.
pub(crate) struct Line {
    pub(crate) content: String,
    pub(crate) label: String,
}

/// The fields of one CSV record (RFC 4180: quoted fields, doubled quotes, commas and newlines inside quotes).
fn records(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                out.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        out.push(record);
    }
    out
}

/// The lines of `<dir>/<system>_2k.log_structured_corrected.csv`.
pub(crate) fn load(dir: &Path, system: &str) -> Result<Vec<Line>, String> {
    let path = dir.join(format!("{system}_2k.log_structured_corrected.csv"));
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut rows = records(&text).into_iter();
    let header = rows.next().ok_or(format!("{}: empty", path.display()))?;
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or(format!("{}: no column {name}", path.display()))
    };
    let (content, label) = (column("Content")?, column("EventId")?);
    Ok(rows
        .filter(|r| r.len() > content.max(label))
        .map(|r| Line {
            content: r[content].clone(),
            label: r[label].clone(),
        })
        .collect())
}

/// How a grouping scored against the labels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Score {
    pub(crate) accuracy: f64,
    pub(crate) precision: f64,
    pub(crate) recall: f64,
    pub(crate) groups: usize,
}

fn pairs(n: usize) -> f64 {
    (n * n.saturating_sub(1) / 2) as f64
}

/// Scores `predicted[i]`, the group of line `i`, against `labels[i]`.
pub(crate) fn score<P: std::hash::Hash + Eq, L: std::hash::Hash + Eq>(
    predicted: &[P],
    labels: &[L],
) -> Score {
    let mut by_group: HashMap<&P, Vec<usize>> = HashMap::new();
    let mut label_size: HashMap<&L, usize> = HashMap::new();
    let mut cells: HashMap<(&P, &L), usize> = HashMap::new();
    for (i, (p, l)) in predicted.iter().zip(labels).enumerate() {
        by_group.entry(p).or_default().push(i);
        *label_size.entry(l).or_default() += 1;
        *cells.entry((p, l)).or_default() += 1;
    }
    let mut correct = 0;
    for members in by_group.values() {
        let label = &labels[members[0]];
        if members.iter().all(|&i| &labels[i] == label) && label_size[label] == members.len() {
            correct += members.len();
        }
    }
    let together: f64 = cells.values().map(|&n| pairs(n)).sum();
    let predicted_pairs: f64 = by_group.values().map(|m| pairs(m.len())).sum();
    let labelled_pairs: f64 = label_size.values().map(|&n| pairs(n)).sum();
    let ratio = |a: f64, b: f64| if b == 0.0 { 1.0 } else { a / b };
    Score {
        accuracy: ratio(correct as f64, predicted.len() as f64),
        precision: ratio(together, predicted_pairs),
        recall: ratio(together, labelled_pairs),
        groups: by_group.len(),
    }
}

/// Each line's signature under `version`, and messages signed per second.
pub(crate) fn sign_all(version: &str, lines: &[Line]) -> Result<(Vec<String>, f64), String> {
    let algorithm =
        recurrence::algorithm(version).ok_or(format!("no signature algorithm {version}"))?;
    let started = Instant::now();
    let signatures: Vec<String> = lines
        .iter()
        .map(|line| {
            recurrence::sign_with(
                algorithm,
                &SignatureSource {
                    category: "log",
                    error_code: None,
                    trigger_type: None,
                    source_type: None,
                    error_message: Some(&line.content),
                    title: &line.content,
                    fingerprint: None,
                },
            )
            .signature
        })
        .collect();
    let rate = lines.len() as f64 / started.elapsed().as_secs_f64().max(1e-9);
    Ok((signatures, rate))
}

/// Scores every algorithm version on every system of `dir`, and prints the table.
pub(crate) fn run(dir: &Path) -> Result<(), String> {
    let versions: Vec<&str> = recurrence::ALGORITHMS.iter().map(|a| a.version()).collect();
    println!(
        "{:<12} {:<8} {:>6} {:>9} {:>7} {:>7} {:>10}",
        "system", "version", "GA", "precision", "recall", "groups", "msgs/s"
    );
    for version in versions {
        let mut sums = (0.0, 0.0, 0.0);
        for system in SYSTEMS {
            let lines = load(dir, system)?;
            let labels: Vec<&str> = lines.iter().map(|l| l.label.as_str()).collect();
            let labelled = labels
                .iter()
                .collect::<std::collections::HashSet<_>>()
                .len();
            let (signatures, rate) = sign_all(version, &lines)?;
            let s = score(&signatures, &labels);
            sums.0 += s.accuracy;
            sums.1 += s.precision;
            sums.2 += s.recall;
            println!(
                "{system:<12} {version:<8} {:>6.3} {:>9.3} {:>7.3} {:>7} {:>10.0}   ({labelled} labels)",
                s.accuracy, s.precision, s.recall, s.groups, rate
            );
        }
        let n = SYSTEMS.len() as f64;
        println!(
            "{:<12} {version:<8} {:>6.3} {:>9.3} {:>7.3}",
            "mean",
            sums.0 / n,
            sums.1 / n,
            sums.2 / n
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{records, score};

    #[test]
    fn a_quoted_field_keeps_its_commas_and_quotes() {
        let rows = records("a,b\n1,\"x, \"\"y\"\"\"\n2,z\n");
        assert_eq!(rows[1], ["1", "x, \"y\""]);
        assert_eq!(rows[2], ["2", "z"]);
    }

    #[test]
    fn grouping_accuracy_counts_only_lines_whose_group_is_exactly_their_label() {
        // Labels: A A A B B C. Predicted: {0,1} {2} {3,4} {5}: A is split (3 lines wrong), B and C exact.
        let labels = ["A", "A", "A", "B", "B", "C"];
        let split = score(&[1, 1, 2, 3, 3, 4], &labels);
        assert!((split.accuracy - 3.0 / 6.0).abs() < 1e-9);
        assert!((split.precision - 1.0).abs() < 1e-9);
        // Labelled pairs: 3 (A) + 1 (B) = 4; predicted together and labelled: 1 + 1 = 2.
        assert!((split.recall - 0.5).abs() < 1e-9);
        // Everything in one group: nothing exact, precision 4 of 15 pairs.
        let merged = score(&[0; 6], &labels);
        assert!(merged.accuracy.abs() < 1e-9);
        assert!((merged.precision - 4.0 / 15.0).abs() < 1e-9);
        assert!((merged.recall - 1.0).abs() < 1e-9);
        assert_eq!(score(&labels, &labels).accuracy, 1.0);
    }
}
