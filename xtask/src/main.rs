//! `cargo xtask verify`: the one command CI and newcomers run.
//!
//! It runs every check, never stops at the first failure, prints one line per check as
//! `PASS|WARN|FAIL  check  — where / how to fix`, then `Total: N | PASS: N | WARN: N | FAIL: N`, and exits 1 if
//! anything failed (with `--strict`, also if anything warned).
//!
//! Checks today: `cargo fmt --check`, `cargo clippy --workspace --all-targets -D warnings`, the workspace tests,
//! and whether the PostgreSQL variants of the storage tests ran (`HOC_TEST_DATABASE_URL`).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

mod report;

use report::{Outcome, Report};

const USAGE: &str = "usage: cargo xtask verify [--strict]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("verify") => {
            let mut strict = false;
            for arg in &args[1..] {
                match arg.as_str() {
                    "--strict" => strict = true,
                    other => {
                        eprintln!("unknown argument `{other}`\n{USAGE}");
                        return ExitCode::from(2);
                    }
                }
            }
            let report = verify(&workspace_root());
            print!("{}", report.render());
            if report.passes(strict) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// The repository root: the parent of xtask's manifest directory.
fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map_or(manifest_dir.clone(), Path::to_path_buf)
}

fn verify(root: &Path) -> Report {
    let mut report = Report::new("workspace");
    run_cargo(
        &mut report,
        root,
        "fmt",
        &["fmt", "--all", "--", "--check"],
        "run `cargo fmt --all` and commit the result",
    );
    run_cargo(
        &mut report,
        root,
        "clippy",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        "fix the clippy findings printed above (file:line in each)",
    );
    run_cargo(
        &mut report,
        root,
        "tests",
        &["test", "--workspace"],
        "fix the failing tests printed above; rerun one with `cargo test -p <crate> <name>`",
    );
    report.push(postgres_coverage(
        std::env::var("HOC_TEST_DATABASE_URL").ok().as_deref(),
    ));
    report
}

fn run_cargo(report: &mut Report, root: &Path, check: &'static str, args: &[&str], fix: &str) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    eprintln!("==> cargo {}", args.join(" "));
    let status = Command::new(cargo).args(args).current_dir(root).status();
    let outcome = match status {
        Ok(status) if status.success() => Outcome::pass(check, format!("cargo {}", args.join(" "))),
        Ok(status) => Outcome::fail(
            check,
            format!("cargo {} exited with {status}", args.join(" ")),
            fix,
        ),
        Err(err) => Outcome::fail(
            check,
            format!("could not run cargo: {err}"),
            "install the pinned toolchain (rust-toolchain.toml)",
        ),
    };
    report.push(outcome);
}

/// WARN when the PostgreSQL variants of the storage tests were not run.
fn postgres_coverage(url: Option<&str>) -> Outcome {
    match url {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Outcome::pass("postgres", "storage tests also ran on PostgreSQL")
        }
        Some(other) => Outcome::fail(
            "postgres",
            format!("HOC_TEST_DATABASE_URL is not a postgres:// URL: {other}"),
            "set it to postgres://user@host:port/database",
        ),
        None => Outcome::warn(
            "postgres",
            "HOC_TEST_DATABASE_URL is not set: storage tests ran on SQLite only",
            "export HOC_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres (or run .ci/run)",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_coverage_levels() {
        assert_eq!(
            postgres_coverage(Some("postgres://h/db")).level,
            report::Level::Pass
        );
        assert_eq!(
            postgres_coverage(Some("mysql://h/db")).level,
            report::Level::Fail
        );
        assert_eq!(postgres_coverage(None).level, report::Level::Warn);
    }
}
