//! Authority boundary / layering: every workspace edge (normal, dev, build) from `cargo metadata` against the
//! allowed-edges table below; `sea-orm` only in the drivers and `migration`; `axum` only in the HTTP host; every
//! HTTP route dispatches a registered spine operation of its own domain.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::report::Outcome;

const NAME: &str = "layering";

/// Where the allowed workspace edges are declared: each crate's section of the architecture document ends with
/// one `May depend on:` line, and that line is the rule this verifier enforces (one declaration, not a copy).
pub(crate) const ARCHITECTURE: &str = "docs/ARCHITECTURE.md";

/// The allowed edges: crate → the workspace crates it may depend on (any kind; a crate may always name itself,
/// e.g. a dev-dependency on itself with a test feature).
pub(crate) type Allowed = Vec<(String, Vec<String>)>;

/// Reads the allowed edges from the architecture document: every `### `crate`` section's `May depend on:` line,
/// either "nothing in the workspace" or the crates in backticks (text in parentheses is commentary). Every section
/// without such a line is a problem.
pub(crate) fn allowed_from_doc(doc: &str) -> Result<Allowed, Vec<String>> {
    let mut allowed: Allowed = Vec::new();
    let mut problems = Vec::new();
    // The section's crate, and the text of its `May depend on:` line (with its continuation lines) once seen.
    let mut section: Option<(String, Option<String>)> = None;
    let mut continuing = false;
    let mut close = |section: Option<(String, Option<String>)>, allowed: &mut Allowed| {
        if let Some((name, edges)) = section {
            match edges {
                Some(text) => allowed.push((name, backticked(&without_parentheses(&text)))),
                None => problems.push(format!("section `{name}` has no `May depend on:` line")),
            }
        }
    };
    for line in doc.lines() {
        if line.starts_with("## ") || line.starts_with("### ") {
            close(section.take(), &mut allowed);
            continuing = false;
            if let Some(name) = line
                .strip_prefix("### `")
                .and_then(|rest| rest.split('`').next())
            {
                section = Some((name.to_owned(), None));
            }
        } else if let (Some(rest), Some((_, edges))) =
            (line.strip_prefix("May depend on:"), section.as_mut())
        {
            *edges = Some(rest.to_owned());
            continuing = true;
        } else if continuing && !line.trim().is_empty() {
            if let Some((_, Some(text))) = section.as_mut() {
                text.push(' ');
                text.push_str(line);
            }
        } else {
            continuing = false;
        }
    }
    close(section.take(), &mut allowed);
    if problems.is_empty() {
        Ok(allowed)
    } else {
        Err(problems)
    }
}

/// `text` without what it says in parentheses (commentary).
pub(crate) fn without_parentheses(text: &str) -> String {
    let mut depth = 0_usize;
    text.chars()
        .filter(|c| match c {
            '(' => {
                depth += 1;
                false
            }
            ')' => {
                depth = depth.saturating_sub(1);
                false
            }
            _ => depth == 0,
        })
        .collect()
}

/// The words in backticks, in order.
pub(crate) fn backticked(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// External crates only some workspace crates may name.
const RESTRICTED: &[(&str, &[&str], &str)] = &[
    (
        "sea-orm",
        // hoc-bench: its floors are the hand-written SQL the layers are measured against, on the same pool.
        &["hoc-drivers", "hoc-ledger", "hoc-bench"],
        "only hoc-drivers, hoc-ledger and migration talk to the database (and the benchmark's floors); move the query into a driver",
    ),
    (
        "sea-orm-migration",
        &["migration"],
        "DDL lives in migration only",
    ),
    (
        "async-nats",
        // hoc-server only in its black-box tests, which read the stream hocd published to.
        &["hoc-relay", "hoc-server"],
        "the NATS client is the relay's (hoc-relay); talk to NATS through it",
    ),
    (
        "sqlx",
        &[],
        "database access goes through sea-orm in hoc-drivers",
    ),
    (
        "axum",
        &["hoc-server"],
        "HTTP belongs to hoc-server; the layers below expose plain functions",
    ),
];

/// One workspace package and its dependencies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Package {
    pub(crate) name: String,
    pub(crate) manifest: String,
    /// (dependency name, kind, is a workspace path dependency)
    pub(crate) deps: Vec<(String, String, bool)>,
}

/// Reads the packages of a `cargo metadata --format-version 1 --no-deps` document.
pub(crate) fn parse_metadata(metadata: &Value) -> Vec<Package> {
    let members: BTreeSet<&str> = metadata["workspace_members"]
        .as_array()
        .map(|m| m.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    metadata["packages"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|p| {
            p["id"]
                .as_str()
                .is_some_and(|id| members.is_empty() || members.contains(id))
        })
        .map(|p| Package {
            name: p["name"].as_str().unwrap_or_default().to_owned(),
            manifest: p["manifest_path"].as_str().unwrap_or_default().to_owned(),
            deps: p["dependencies"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|d| {
                    (
                        d["name"].as_str().unwrap_or_default().to_owned(),
                        d["kind"].as_str().unwrap_or("normal").to_owned(),
                        d.get("path").is_some_and(|p| !p.is_null()),
                    )
                })
                .collect(),
        })
        .collect()
}

fn relative(manifest: &str, root: &Path) -> String {
    Path::new(manifest)
        .strip_prefix(root)
        .map_or_else(|_| manifest.to_owned(), |p| p.display().to_string())
}

/// Checks packages against an allowed-edges table.
pub(crate) fn check_packages(
    packages: &[Package],
    allowed: &[(String, Vec<String>)],
    root: &Path,
) -> Vec<Outcome> {
    let mut out = Vec::new();
    let workspace: BTreeSet<&str> = packages.iter().map(|p| p.name.as_str()).collect();
    for (name, _) in allowed {
        if !workspace.contains(name.as_str()) {
            out.push(Outcome::fail(
                NAME,
                format!("table entry {name}"),
                ARCHITECTURE,
                format!(
                    "no workspace crate is named {name}: remove its entry (or restore the crate)"
                ),
            ));
        }
    }
    for package in packages {
        let manifest = relative(&package.manifest, root);
        let Some((_, permitted)) = allowed.iter().find(|(name, _)| *name == package.name) else {
            out.push(Outcome::fail(
                NAME,
                format!("crate {} is in the layer table", package.name),
                manifest,
                "give it a section with a `May depend on:` line in docs/ARCHITECTURE.md",
            ));
            continue;
        };
        for (dep, kind, is_workspace) in &package.deps {
            if *is_workspace || workspace.contains(dep.as_str()) {
                let check = format!("edge {} -> {dep} ({kind})", package.name);
                if dep == &package.name || permitted.iter().any(|p| p == dep) {
                    out.push(Outcome::pass(NAME, check, manifest.clone()));
                } else {
                    out.push(Outcome::fail(
                        NAME,
                        check,
                        manifest.clone(),
                        format!("{} may depend on [{}] only; move the code or change the design card first", package.name, permitted.join(", ")),
                    ));
                }
            }
        }
        for (restricted, owners, why) in RESTRICTED {
            let uses = package.deps.iter().any(|(d, _, _)| d == restricted);
            let check = format!("{} and {restricted}", package.name);
            if uses && !owners.contains(&package.name.as_str()) {
                out.push(Outcome::fail(
                    NAME,
                    check,
                    manifest.clone(),
                    (*why).to_owned(),
                ));
            } else if uses {
                out.push(Outcome::pass(NAME, check, manifest.clone()));
            }
        }
    }
    out
}

/// Which operation domain a path may reach.
fn domain_of(path: &str) -> Option<&'static str> {
    [
        ("/v1/incidents", "incidents."),
        ("/v1/recurrence-groups", "incidents.recurrence"),
        ("/v1/grouping-config", "incidents.grouping"),
        ("/v1/analytics/", "analytics."),
        ("/v1/events", "events."),
        ("/v1/audit", "audit."),
        ("/v1/integrations/", "incidents.alerts"),
        ("/v1/ingest-policy", "incidents.alerts"),
        ("/v1/alerts", "incidents.alerts"),
    ]
    .into_iter()
    .find(|(prefix, _)| path.starts_with(prefix))
    .map(|(_, domain)| domain)
}

/// What the route check reads of a route: its method, its path and the operation method it serves.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RouteTarget {
    pub(crate) method: &'static str,
    pub(crate) path: &'static str,
    pub(crate) operation: &'static str,
    pub(crate) operation_method: &'static str,
}

impl RouteTarget {
    /// The route's target, when it serves an operation method (`hocd`'s own routes reach no domain).
    fn of(route: &hoc_server::Route) -> Option<Self> {
        match route.serves {
            hoc_server::Serves::Operation { operation, method } => Some(Self {
                method: route.method.as_str(),
                path: route.path,
                operation,
                operation_method: method,
            }),
            hoc_server::Serves::Service => None,
        }
    }
}

/// Every route dispatches a registered operation of its own domain. (That a route names an operation method
/// that exists at all is the compiler's job: a route is built from the method's type.)
pub(crate) fn check_routes(routes: &[RouteTarget], registered: &[String]) -> Vec<Outcome> {
    routes
        .iter()
        .map(|route| {
            let target = format!("{}.{}", route.operation, route.operation_method);
            let check = format!("route {} {} -> {target}", route.method, route.path);
            let problem = if !registered.contains(&target) {
                Some(format!("{target} is not a registered spine operation"))
            } else {
                match domain_of(route.path) {
                    Some(domain) if target.starts_with(domain) => None,
                    Some(domain) => Some(format!("{} belongs to the {domain}* domain", route.path)),
                    None => Some(format!("{} is under no known domain prefix", route.path)),
                }
            };
            Outcome::from_problem(NAME, check, "crates/hoc-server/src/lib.rs ROUTES", problem, "dispatch an operation of the path's own domain, registered in hoc_spine::builtin_operations")
        })
        .collect()
}

/// Runs the verifier on the real workspace.
pub(crate) fn verify(root: &Path) -> Vec<Outcome> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(root)
        .output();
    let mut out = match output {
        Ok(o) if o.status.success() => match serde_json::from_slice::<Value>(&o.stdout) {
            Ok(metadata) => match std::fs::read_to_string(root.join(ARCHITECTURE))
                .map_err(|e| vec![format!("unreadable: {e}")])
                .and_then(|doc| allowed_from_doc(&doc))
            {
                Ok(allowed) => check_packages(&parse_metadata(&metadata), &allowed, root),
                Err(problems) => problems
                    .into_iter()
                    .map(|problem| {
                        Outcome::fail(
                            NAME,
                            "allowed edges",
                            ARCHITECTURE,
                            format!(
                                "{problem}: end each crate section with one `May depend on:` line"
                            ),
                        )
                    })
                    .collect(),
            },
            Err(e) => vec![Outcome::fail(
                NAME,
                "cargo metadata",
                "workspace",
                format!("unreadable output: {e}"),
            )],
        },
        _ => vec![Outcome::fail(
            NAME,
            "cargo metadata",
            "workspace",
            "cargo metadata failed; run it by hand to see why",
        )],
    };
    let registered = match hoc_spine::builtin_operations() {
        Ok(builder) => builder.freeze().methods(),
        Err(e) => {
            out.push(Outcome::fail(
                NAME,
                "spine registry",
                "crates/hoc-spine/src/lib.rs",
                format!("registration fails: {e}"),
            ));
            Vec::new()
        }
    };
    let routes: Vec<RouteTarget> = hoc_server::routes()
        .iter()
        .filter_map(RouteTarget::of)
        .collect();
    out.extend(check_routes(&routes, &registered));
    out.extend(check_file_sizes(root));
    out
}

/// The longest a non-test source file may be: past it, a file holds more than one concern.
pub(crate) const MAX_SOURCE_LINES: usize = 800;

/// Every `.rs` file under a crate's `src` (and `xtask/src`) that is not a test file (`tests.rs`, or under a
/// `tests` folder) has at most [`MAX_SOURCE_LINES`] lines.
pub(crate) fn check_file_sizes(root: &Path) -> Vec<Outcome> {
    let mut files = Vec::new();
    let mut dirs = vec![root.join("xtask/src")];
    if let Ok(crates) = std::fs::read_dir(root.join("crates")) {
        dirs.extend(crates.flatten().map(|c| c.path().join("src")));
    }
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if name != "tests" {
                    dirs.push(path);
                }
            } else if name.ends_with(".rs") && name != "tests.rs" {
                files.push(path);
            }
        }
    }
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let shown = relative(&path.to_string_lossy(), root);
            let lines = std::fs::read_to_string(&path).map_or(0, |text| text.lines().count());
            size_outcome(&shown, lines)
        })
        .collect()
}

fn size_outcome(file: &str, lines: usize) -> Outcome {
    let check = format!("{file} has at most {MAX_SOURCE_LINES} lines");
    if lines <= MAX_SOURCE_LINES {
        Outcome::pass(NAME, check, file.to_owned())
    } else {
        Outcome::fail(
            NAME,
            check,
            file.to_owned(),
            format!(
                "it has {lines}: split it by concern (a folder module), or move its tests to a `tests.rs` beside it"
            ),
        )
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
            .map(|o| o.check.clone())
            .collect()
    }

    #[test]
    fn a_source_file_past_the_bound_fails_and_names_its_length() {
        assert_eq!(
            fails(&[size_outcome("a.rs", MAX_SOURCE_LINES)]),
            Vec::<String>::new()
        );
        let long = size_outcome("b.rs", MAX_SOURCE_LINES + 1);
        assert_eq!(
            fails(std::slice::from_ref(&long)),
            vec!["b.rs has at most 800 lines"]
        );
        assert!(
            long.fix
                .as_deref()
                .is_some_and(|f| f.contains("it has 801")),
            "{long:?}"
        );
    }

    #[test]
    fn the_allowed_edges_are_read_from_the_document() {
        let doc = "## Code map\n\n### `a`\nText.\nMay depend on: nothing in the workspace.\n\n\
                   ### `b` (binary `bee`)\nMay depend on: `a` (to read `c`s),\n`d`.\n\n### `e`\nNo line.\n\n## How to";
        assert_eq!(
            allowed_from_doc(doc),
            Err(vec!["section `e` has no `May depend on:` line".to_owned()])
        );
        let doc = doc.replace("No line.", "May depend on: `b`.");
        assert_eq!(
            allowed_from_doc(&doc),
            Ok(vec![
                ("a".to_owned(), vec![]),
                ("b".to_owned(), vec!["a".to_owned(), "d".to_owned()]),
                ("e".to_owned(), vec!["b".to_owned()]),
            ])
        );
    }

    #[test]
    fn seeded_violations_in_a_fixture_workspace_are_caught() {
        let metadata: Value =
            serde_json::from_str(include_str!("../fixtures/layering/metadata.json"))
                .expect("fixture parses");
        let allowed =
            allowed_from_doc(include_str!("../../docs/ARCHITECTURE.md")).expect("doc parses");
        let outcomes = check_packages(&parse_metadata(&metadata), &allowed, Path::new("/fixture"));
        assert_eq!(
            fails(&outcomes),
            [
                "table entry hoc-sqlite-ext",
                "table entry hoc-analytics",
                "table entry hoc-server",
                "table entry hoc-relay",
                "table entry hoc-host-example",
                "table entry hoc-bench",
                "table entry hoc-chaos",
                "table entry xtask",
                "edge hoc-contracts -> hoc-drivers (normal)",
                "edge hoc-incidents -> hoc-ledger (normal)",
                "edge hoc-incidents -> hoc-spine (dev)",
                "hoc-incidents and sea-orm",
                "crate hoc-ghost is in the layer table",
            ]
        );
        let mut report = crate::report::Report::default();
        report.extend(outcomes.clone());
        insta::assert_snapshot!("layering_fixture_report", report.render_text());
        let contracts = outcomes
            .iter()
            .find(|o| o.check == "edge hoc-contracts -> hoc-drivers (normal)")
            .expect("reported");
        assert_eq!(contracts.location, "crates/hoc-contracts/Cargo.toml");
        assert!(
            contracts
                .fix
                .as_deref()
                .unwrap_or("")
                .contains("may depend on [] only")
        );
    }

    #[test]
    fn routes_must_reach_registered_operations_of_their_domain() {
        let registered = vec![
            "incidents.write.create".to_owned(),
            "analytics.artifacts.get".to_owned(),
        ];
        let route = |path, operation, operation_method| RouteTarget {
            method: "GET",
            path,
            operation,
            operation_method,
        };
        let outcomes = check_routes(
            &[
                route("/v1/incidents", "incidents.write", "create"),
                route("/v1/incidents/{id}", "analytics.artifacts", "get"),
                route("/v1/incidents/{id}/x", "incidents.write", "delete"),
                route("/v2/other", "incidents.write", "create"),
            ],
            &registered,
        );
        let levels: Vec<Level> = outcomes.iter().map(|o| o.level).collect();
        assert_eq!(levels, [Level::Pass, Level::Fail, Level::Fail, Level::Fail]);
        assert!(
            outcomes[1]
                .location
                .contains("belongs to the incidents.* domain")
        );
        assert!(
            outcomes[2]
                .location
                .contains("incidents.write.delete is not a registered spine operation")
        );
    }

    #[test]
    fn the_real_workspace_passes() {
        let root = crate::workspace_root();
        let outcomes = verify(&root);
        assert_eq!(fails(&outcomes), Vec::<String>::new());
        assert!(
            outcomes.len() > 20,
            "too few checks ran: {}",
            outcomes.len()
        );
    }
}
