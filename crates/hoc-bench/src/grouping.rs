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

use hoc_spine::learn::{self, TemplateField, TemplateIndex};
use hoc_spine::recurrence::{self, RsigV3, SignatureSource};

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

/// The name of the learned column: `rsig-v3` with templates learned from the same system's lines.
const LEARNED: &str = "rsig-v3+learned";

fn source(line: &Line) -> SignatureSource<'_> {
    SignatureSource {
        category: "log",
        error_message: Some(&line.content),
        title: &line.content,
        ..SignatureSource::default()
    }
}

/// Each line's signature under `version` (or [`LEARNED`]), messages signed per second, and for [`LEARNED`]
/// messages mined per second.
pub(crate) fn sign_all(
    version: &str,
    lines: &[Line],
) -> Result<(Vec<String>, f64, Option<f64>), String> {
    let rate = |started: Instant| lines.len() as f64 / started.elapsed().as_secs_f64().max(1e-9);
    if version == LEARNED {
        let started = Instant::now();
        let learned = learn::mine(
            lines
                .iter()
                .map(|l| (TemplateField::ErrorMessage, l.content.as_str())),
        );
        let index = TemplateIndex::new(
            learned
                .iter()
                .enumerate()
                .map(|(i, t)| (i + 1, t.field, t.template.as_str())),
        );
        let mined = rate(started);
        let started = Instant::now();
        let signatures = lines
            .iter()
            .map(|line| learn::sign_learned(&RsigV3, &source(line), &index, "v1").signature)
            .collect();
        return Ok((signatures, rate(started), Some(mined)));
    }
    let algorithm =
        recurrence::algorithm(version).ok_or(format!("no signature algorithm {version}"))?;
    let started = Instant::now();
    let signatures = lines
        .iter()
        .map(|line| recurrence::sign_with(algorithm, &source(line)).signature)
        .collect();
    Ok((signatures, rate(started), None))
}

/// Scores every algorithm version, and `rsig-v3` with learned templates, on every system of `dir`; prints the
/// table, then how long learning takes at 2,000 and 100,000 messages.
pub(crate) fn run(dir: &Path) -> Result<(), String> {
    let mut versions: Vec<&str> = recurrence::ALGORITHMS.iter().map(|a| a.version()).collect();
    versions.push(LEARNED);
    println!(
        "{:<12} {:<15} {:>6} {:>9} {:>7} {:>7} {:>10} {:>10}",
        "system", "version", "GA", "precision", "recall", "groups", "signed/s", "mined/s"
    );
    let mut all = Vec::new();
    for version in versions {
        let mut sums = (0.0, 0.0, 0.0);
        for system in SYSTEMS {
            let lines = load(dir, system)?;
            let labels: Vec<&str> = lines.iter().map(|l| l.label.as_str()).collect();
            let labelled = labels
                .iter()
                .collect::<std::collections::HashSet<_>>()
                .len();
            let (signatures, rate, mined) = sign_all(version, &lines)?;
            let s = score(&signatures, &labels);
            sums.0 += s.accuracy;
            sums.1 += s.precision;
            sums.2 += s.recall;
            let mined = mined.map_or(String::new(), |m| format!("{m:.0}"));
            println!(
                "{system:<12} {version:<15} {:>6.3} {:>9.3} {:>7.3} {:>7} {:>10.0} {mined:>10}   ({labelled} labels)",
                s.accuracy, s.precision, s.recall, s.groups, rate
            );
            if version == LEARNED {
                all.extend(lines.into_iter().map(|l| l.content));
            }
        }
        let n = SYSTEMS.len() as f64;
        println!(
            "{:<12} {version:<15} {:>6.3} {:>9.3} {:>7.3}",
            "mean",
            sums.0 / n,
            sums.1 / n,
            sums.2 / n
        );
    }
    learning_time(&all);
    Ok(())
}

/// Learning time over the first 2,000 of `lines` and over 100,000 messages made from them: copy `k` of a line
/// has its word at position `1 + k mod (words - 1)` replaced by a letters-only word spelling `k`, so most of the
/// 100,000 are distinct templates (the miner's worst case: nothing repeats).
fn learning_time(lines: &[String]) {
    let time = |name: &str, messages: &[String]| {
        let started = Instant::now();
        let learned = learn::mine(
            messages
                .iter()
                .map(|m| (TemplateField::ErrorMessage, m.as_str())),
        );
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "learning over {name}: {seconds:.3} s ({} messages, {} learned templates, peak RSS {} MiB)",
            messages.len(),
            learned.len(),
            peak_rss_mib()
        );
    };
    time("2,000 messages (HDFS)", &lines[..lines.len().min(2000)]);
    let mut many = Vec::with_capacity(100_000);
    for k in 0..100_000 {
        let line = &lines[k % lines.len()];
        let mut words: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
        if words.len() > 1 {
            let at = 1 + (k / lines.len()) % (words.len() - 1);
            words[at] = letters(k);
        }
        many.push(words.join(" "));
    }
    time("100,000 messages", &many);
}

/// `k` spelled in the letters a–z (a letters-only word the tokenizer keeps).
fn letters(mut k: usize) -> String {
    let mut out = String::from("w");
    loop {
        out.push(char::from(b'a' + (k % 26) as u8));
        k /= 26;
        if k == 0 {
            return out;
        }
    }
}

/// The process's peak resident set (`VmHWM`), in MiB; 0 where `/proc` has no such line.
fn peak_rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kib| kib / 1024)
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
