//! Every statement the drivers send for a tenant names its tenant: the reads verifier records the text of every
//! statement of its workload (writes of every kind, reads at instants, metrics, alerts), and each one that touches a
//! tenant table must mention `tenant_id` — the condition for routing it to one shard when the schema is distributed
//! by tenant (`docs/SCALING.md`). A coarse check by design: a statement that names `tenant_id` for one of its tables
//! passes for all of them; a statement built only from what the workload never runs is not seen.

use crate::report::Outcome;

const NAME: &str = "reads";

/// The tables a statement reads or writes: each identifier after `FROM`, `JOIN`, `UPDATE` or `INTO`.
pub(crate) fn tables_of(sql: &str) -> Vec<String> {
    let words: Vec<String> = sql
        .split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | ',' | ';'))
        .filter(|w| !w.is_empty())
        .map(|w| w.trim_matches('"').to_ascii_lowercase())
        .collect();
    words
        .windows(2)
        .filter(|w| matches!(w[0].as_str(), "from" | "join" | "update" | "into"))
        .map(|w| {
            w[1].split('.')
                .next_back()
                .unwrap_or_default()
                .trim_matches('"')
                .to_owned()
        })
        .collect()
}

/// The statements of `recorded` that touch one of `tenant_tables` (other than `exempt`) without mentioning
/// `tenant_id`, each once.
pub(crate) fn unscoped(
    recorded: &[String],
    tenant_tables: &[String],
    exempt: &[&str],
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for sql in recorded {
        let touches = tables_of(sql)
            .iter()
            .any(|t| tenant_tables.contains(t) && !exempt.contains(&t.as_str()));
        if touches && !sql.to_ascii_lowercase().contains("tenant_id") && !out.contains(sql) {
            out.push(sql.clone());
        }
    }
    out
}

/// Tables a statement may touch without naming its tenant: `api_keys` (a reference table: a key is looked up by its
/// id before its tenant is known).
pub(crate) const EXEMPT: &[&str] = &["api_keys"];

/// The outcome for the statements `db` recorded.
pub(crate) async fn outcome(backend: &str, db: &hoc_drivers::Database) -> Outcome {
    let recorded = db.recorded_statements();
    let problem = match hoc_drivers::tenant_keys::tenant_tables(db).await {
        Err(e) => Some(format!("introspection failed: {e}")),
        Ok(tables) if recorded.is_empty() => {
            Some(format!("no statements recorded ({} tables)", tables.len()))
        }
        Ok(tables) => {
            let found = unscoped(&recorded, &tables, EXEMPT);
            (!found.is_empty()).then(|| {
                format!(
                    "{} of {} statements touch a tenant table without tenant_id: {}",
                    found.len(),
                    recorded.len(),
                    found.join(" | ")
                )
            })
        }
    };
    Outcome::from_problem(
        NAME,
        format!("every statement names its tenant {backend}"),
        "crates/hoc-drivers/src (statements), docs/SCALING.md",
        problem,
        "filter the statement by tenant_id, so it can be routed to the tenant's shard",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_without_its_tenant_is_caught() {
        let tables = vec!["incidents".to_owned(), "api_keys".to_owned()];
        let recorded = vec![
            r#"SELECT "incidents"."id" FROM "incidents" WHERE "incidents"."tenant_id" = $1"#
                .to_owned(),
            "UPDATE incidents SET status = ? WHERE id = ?".to_owned(),
            "SELECT id FROM api_keys WHERE id = $1".to_owned(),
            "SELECT 1".to_owned(),
        ];
        assert_eq!(
            unscoped(&recorded, &tables, EXEMPT),
            ["UPDATE incidents SET status = ? WHERE id = ?"]
        );
        assert_eq!(
            tables_of("INSERT INTO \"public\".\"incidents\" (a) SELECT a FROM x JOIN y ON 1"),
            ["incidents", "x", "y"]
        );
    }
}
