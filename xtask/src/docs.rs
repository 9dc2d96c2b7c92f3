//! Facts the architecture document states, checked against the code: the envelope's fields in wire order, the
//! event schema version and the tables. (Each crate's allowed dependencies, also stated there, are the layering
//! verifier's rule and are read by it.) A fact the document no longer states is a failure too: trim a sentence
//! only together with its check.

use std::path::Path;

use crate::layering::{ARCHITECTURE, backticked, without_parentheses};
use crate::report::Outcome;

const NAME: &str = "docs";

/// What the code says.
pub(crate) struct Facts {
    pub(crate) envelope_fields: Vec<String>,
    pub(crate) schema_version: String,
    pub(crate) tables: Vec<String>,
}

impl Facts {
    fn of_the_code() -> Self {
        Self {
            envelope_fields: hoc_contracts::ENVELOPE_FIELDS
                .iter()
                .map(|f| (*f).to_owned())
                .collect(),
            schema_version: hoc_contracts::SCHEMA_VERSION.to_owned(),
            tables: hoc_drivers::schema_check::entity_tables()
                .into_keys()
                .collect(),
        }
    }
}

/// The text of the paragraph line that starts with `prefix` (after it), with its continuation lines, minus any
/// text in parentheses.
fn stated(doc: &str, prefix: &str) -> Option<String> {
    let mut lines = doc.lines().skip_while(|l| !l.starts_with(prefix));
    let first = lines.next()?.strip_prefix(prefix)?.to_owned();
    let rest: Vec<&str> = lines
        .take_while(|l| !l.trim().is_empty() && !l.starts_with('#') && !l.starts_with("**"))
        .collect();
    let text = std::iter::once(first.as_str())
        .chain(rest)
        .collect::<Vec<_>>()
        .join(" ");
    Some(without_parentheses(&text))
}

fn compare(check: &str, prefix: &str, doc: &str, expected: &[String]) -> Outcome {
    let problem = match stated(doc, prefix) {
        None => Some(format!("no line starts with `{prefix}`")),
        Some(text) => {
            let found = backticked(&text);
            (found != expected).then(|| {
                format!(
                    "the document says [{}], the code says [{}]",
                    found.join(", "),
                    expected.join(", ")
                )
            })
        }
    };
    Outcome::from_problem(
        NAME,
        check,
        ARCHITECTURE,
        problem,
        &format!("write the code's values, in backticks, on the `{prefix}` line"),
    )
}

pub(crate) fn check(doc: &str, facts: &Facts) -> Vec<Outcome> {
    vec![
        compare(
            "envelope fields",
            "Envelope fields",
            doc,
            &facts.envelope_fields,
        ),
        compare(
            "schema version",
            "Schema version:",
            doc,
            std::slice::from_ref(&facts.schema_version),
        ),
        compare("tables", "Tables:", doc, &facts.tables),
    ]
}

pub(crate) fn verify(root: &Path) -> Vec<Outcome> {
    match std::fs::read_to_string(root.join(ARCHITECTURE)) {
        Ok(doc) => check(&doc, &Facts::of_the_code()),
        Err(e) => vec![Outcome::fail(
            NAME,
            "architecture document",
            ARCHITECTURE,
            format!("unreadable: {e}"),
        )],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Level;

    fn fails(outcomes: &[Outcome]) -> Vec<String> {
        outcomes
            .iter()
            .filter(|o| o.level == Level::Fail)
            .map(|o| format!("{}: {}", o.check, o.location))
            .collect()
    }

    #[test]
    fn the_real_document_states_the_code() {
        let outcomes = verify(&crate::workspace_root());
        assert_eq!(fails(&outcomes), Vec::<String>::new());
        assert_eq!(outcomes.len(), 3);
    }

    #[test]
    fn a_drifted_or_missing_fact_is_caught() {
        let facts = Facts {
            envelope_fields: vec!["event_id".into(), "event_type".into()],
            schema_version: "2.0.0".into(),
            tables: vec!["a".into(), "b".into()],
        };
        let doc = "Envelope fields, in wire order (then `data`): `event_id`,\n`event_type`.\n\n\
                   Schema version: `1.2.0`.\n";
        assert_eq!(
            fails(&check(doc, &facts)),
            [
                "schema version: docs/ARCHITECTURE.md — the document says [1.2.0], the code says [2.0.0]",
                "tables: docs/ARCHITECTURE.md — no line starts with `Tables:`",
            ]
        );
    }
}
