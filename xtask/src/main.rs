//! `cargo xtask verify [--strict] [--format text|json] [--only NAME]`: the one command CI and newcomers run.
//!
//! Verifiers, in order: `workspace` (fmt, clippy `-D warnings`, tests), `layering`, `events`, `storage`,
//! `reads`. Each check prints one line `PASS|WARN|FAIL  verifier  check  — where / fix`; each verifier ends with
//! its `Total`; then the matrix with a total row. Every verifier runs, whatever failed before it; nothing is
//! written. Exit 1 on any FAIL, with `--strict` also on any WARN; exit 2 on a usage error.
//!
//! `cargo xtask bless` writes the event catalog snapshot and any missing event fixtures (the only command that
//! writes files).
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod docs;
mod events;
mod layering;
mod reads;
mod report;
mod storage;
mod tenancy;
mod workspace;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use report::Report;

const USAGE: &str = "usage: cargo xtask verify [--strict] [--format text|json] [--only workspace|layering|events|storage|reads]
       cargo xtask bench [--sizes 10000,1000000] [--clients 1,8] [--seconds 2] [--out target/bench.json] [--nats-url URL [--relay-rate 1000] [--relay-seconds 60]]
       cargo xtask chaos
       cargo xtask fuzz [--seconds 60]
       cargo xtask bless";
const VERIFIERS: [&str; 6] = [
    "workspace",
    "layering",
    "docs",
    "events",
    "storage",
    "reads",
];

/// Runs `check` on a fresh migrated SQLite database, and on a fresh PostgreSQL database when
/// `HOC_TEST_DATABASE_URL` is set (FAIL if that server does not answer; WARN when the variable is unset).
pub(crate) async fn on_each_backend<F, Fut>(verifier: &str, check: F) -> Vec<report::Outcome>
where
    F: Fn(&'static str, hoc_drivers::Database) -> Fut,
    Fut: std::future::Future<Output = Vec<report::Outcome>>,
{
    use hoc_drivers::testing::{TEST_DATABASE_URL_VAR, TestDatabase};
    let sqlite = TestDatabase::sqlite().await;
    let mut out = check("sqlite", sqlite.db().clone()).await;
    if let Ok(url) = std::env::var(TEST_DATABASE_URL_VAR) {
        if let Some(problem) = unreachable(&url) {
            out.push(report::Outcome::fail(
                verifier,
                "postgres",
                TEST_DATABASE_URL_VAR,
                format!("{problem}; start PostgreSQL or unset the variable"),
            ));
            return out;
        }
        match tokio::spawn(TestDatabase::postgres()).await {
            Ok(Some(pg)) => out.extend(check("postgres", pg.db().clone()).await),
            _ => out.push(report::Outcome::fail(
                verifier,
                "postgres",
                TEST_DATABASE_URL_VAR,
                "the server did not answer; start PostgreSQL or unset the variable",
            )),
        }
    } else {
        out.push(report::Outcome::warn(
            verifier,
            "postgres",
            format!("{TEST_DATABASE_URL_VAR} is not set: PostgreSQL not checked"),
            "export HOC_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres",
        ));
    }
    out
}

/// Why the server of a `postgres://user@host:port/db` URL cannot be reached, found within 3 seconds (the pool
/// itself would retry for 30).
fn unreachable(url: &str) -> Option<String> {
    use std::net::{TcpStream, ToSocketAddrs};
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let host_port = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:5432")
    };
    let addrs = match host_port.to_socket_addrs() {
        Ok(addrs) => addrs.collect::<Vec<_>>(),
        Err(e) => return Some(format!("{host_port} does not resolve: {e}")),
    };
    let timeout = std::time::Duration::from_secs(3);
    if addrs
        .iter()
        .any(|addr| TcpStream::connect_timeout(addr, timeout).is_ok())
    {
        None
    } else {
        Some(format!("nothing answers on {host_port}"))
    }
}

/// The repository root: the parent of xtask's manifest directory.
pub(crate) fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map_or(manifest_dir.clone(), Path::to_path_buf)
}

struct Options {
    strict: bool,
    json: bool,
    only: Option<String>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        strict: false,
        json: false,
        only: None,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--strict" => options.strict = true,
            "--format" => match it.next().map(String::as_str) {
                Some("text") => options.json = false,
                Some("json") => options.json = true,
                other => return Err(format!("--format takes text or json, not {other:?}")),
            },
            "--only" => match it.next() {
                Some(name) if VERIFIERS.contains(&name.as_str()) => {
                    options.only = Some(name.clone())
                }
                other => {
                    return Err(format!(
                        "--only takes one of {}, not {other:?}",
                        VERIFIERS.join(", ")
                    ));
                }
            },
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(options)
}

fn verify(root: &Path, only: Option<&str>) -> Report {
    let wanted = |name: &str| only.is_none_or(|o| o == name);
    let mut report = Report::default();
    if wanted("workspace") {
        report.extend(workspace::verify(root));
    }
    if wanted("layering") {
        report.extend(layering::verify(root));
    }
    if wanted("docs") {
        report.extend(docs::verify(root));
    }
    if wanted("events") {
        report.extend(events::verify(root));
    }
    if wanted("storage") || wanted("reads") {
        match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => {
                if wanted("storage") {
                    report.extend(runtime.block_on(storage::verify()));
                }
                if wanted("reads") {
                    report.extend(runtime.block_on(reads::verify()));
                }
            }
            Err(e) => report.extend([report::Outcome::fail(
                "storage",
                "runtime",
                "xtask",
                format!("no tokio runtime: {e}"),
            )]),
        }
    }
    report
}

fn bless(root: &Path) -> std::io::Result<()> {
    let catalog = root.join("xtask/catalog/events.json");
    std::fs::create_dir_all(catalog.parent().unwrap_or(root))?;
    let text =
        serde_json::to_string_pretty(&hoc_contracts::registry::catalog()).unwrap_or_default();
    std::fs::write(&catalog, text + "\n")?;
    println!("wrote {}", catalog.display());
    let dir = root.join("xtask/fixtures/events");
    std::fs::create_dir_all(&dir)?;
    for event in hoc_contracts::DomainEvent::examples() {
        let path = dir.join(format!("{}.json", event.event_type()));
        if !path.exists() {
            let text =
                serde_json::to_string_pretty(&events::fixture_for(&event)).unwrap_or_default();
            std::fs::write(&path, text + "\n")?;
            println!("wrote {}", path.display());
        }
    }
    Ok(())
}

/// Where cargo puts this workspace's builds, as cargo itself says (`cargo metadata`): `CARGO_TARGET_DIR`,
/// `build.target-dir` of a config file, or `target/` — so the binaries just built are the ones run.
fn target_dir(root: &Path) -> Result<PathBuf, String> {
    target_dir_with(root, &[])
}

/// [`target_dir`] with these environment variables set for cargo.
fn target_dir_with(root: &Path, env: &[(&str, &str)]) -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = std::process::Command::new(cargo)
        .current_dir(root)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .envs(env.iter().copied())
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!("cargo metadata exited with {}", out.status));
    }
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("cargo metadata printed no JSON: {e}"))?;
    metadata["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .ok_or_else(|| "cargo metadata names no target_directory".to_owned())
}

/// `cargo xtask bench [ARGS]`: builds the harness and `hocd` in release mode and runs the harness (with
/// `--hocd` pointing at the built server); `HOC_BENCH_DATABASE_URL` adds PostgreSQL. Prints; asserts nothing.
fn bench(root: &Path, args: &[String]) -> ExitCode {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let built = std::process::Command::new(&cargo)
        .current_dir(root)
        .args([
            "build",
            "--release",
            "-q",
            "-p",
            "hoc-bench",
            "-p",
            "hoc-server",
        ])
        .status();
    if !matches!(built, Ok(status) if status.success()) {
        eprintln!("bench: the release build failed");
        return ExitCode::FAILURE;
    }
    let release = match target_dir(root) {
        Ok(dir) => dir.join("release"),
        Err(e) => {
            eprintln!("bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    // `cargo xtask bench grouping [DIR]`: recurrence grouping on Loghub-2k (default `../shared/data/loghub2k`).
    let ran = match args.first().map(String::as_str) {
        Some("grouping") => {
            let dir = args.get(1).map_or_else(
                || root.join("..").join("shared").join("data").join("loghub2k"),
                std::path::PathBuf::from,
            );
            std::process::Command::new(release.join("hoc-bench"))
                .current_dir(root)
                .arg("--grouping")
                .arg(dir)
                .status()
        }
        _ => std::process::Command::new(release.join("hoc-bench"))
            .current_dir(root)
            .args(args)
            .arg("--hocd")
            .arg(release.join("hocd"))
            .status(),
    };
    match ran {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("bench: cannot run the harness: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `cargo xtask chaos`: builds `hoc-chaos` and `hocd` and runs the crash-and-fault suite (SQLite, and PostgreSQL
/// when `HOC_TEST_DATABASE_URL` is set). Exits non-zero naming every broken invariant.
fn chaos(root: &Path) -> ExitCode {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let built = std::process::Command::new(&cargo)
        .current_dir(root)
        .args(["build", "-q", "-p", "hoc-chaos", "-p", "hoc-server"])
        .status();
    if !matches!(built, Ok(status) if status.success()) {
        eprintln!("chaos: the build failed");
        return ExitCode::FAILURE;
    }
    let debug = match target_dir(root) {
        Ok(dir) => dir.join("debug"),
        Err(e) => {
            eprintln!("chaos: {e}");
            return ExitCode::FAILURE;
        }
    };
    match std::process::Command::new(debug.join("hoc-chaos"))
        .current_dir(root)
        .arg(debug.join("hocd"))
        .status()
    {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("chaos: cannot run the suite: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The fuzz targets of `fuzz/` (cargo fuzz), one per parser of untrusted input.
const FUZZ_TARGETS: [&str; 5] = ["request_body", "cursor", "as_of", "signature", "event"];

/// `cargo xtask fuzz [--seconds N]`: runs every fuzz target of `fuzz/` for N seconds (default 60) on its corpus
/// (`fuzz/corpus/<target>`, grown in place), with `cargo +nightly fuzz` (`cargo install cargo-fuzz`). Prints the
/// executions each target ran; exits non-zero when one crashed (the crash is kept in `fuzz/artifacts/`).
fn fuzz(root: &Path, args: &[String]) -> ExitCode {
    let seconds = match args {
        [] => 60,
        [flag, n] if flag == "--seconds" => match n.parse::<u64>() {
            Ok(n) if n > 0 => n,
            _ => {
                eprintln!("fuzz: --seconds takes a positive whole number, not {n}");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut failed = false;
    for target in FUZZ_TARGETS {
        let out = std::process::Command::new("cargo")
            .current_dir(root.join("fuzz"))
            .args(["+nightly", "fuzz", "run", "-s", "none", target])
            .arg(format!("corpus/{target}"))
            .args([
                "--",
                &format!("-max_total_time={seconds}"),
                "-max_len=4096",
                "-print_final_stats=1",
            ])
            .output();
        let out = match out {
            Ok(out) => out,
            Err(e) => {
                eprintln!(
                    "fuzz: cannot run cargo fuzz: {e} (cargo install cargo-fuzz; rustup toolchain install nightly)"
                );
                return ExitCode::FAILURE;
            }
        };
        let log = String::from_utf8_lossy(&out.stderr);
        let runs = log
            .lines()
            .find_map(|l| l.strip_prefix("stat::number_of_executed_units:"))
            .map_or_else(|| "?".to_owned(), |n| n.trim().to_owned());
        if out.status.success() {
            println!("fuzz {target}: {runs} executions in {seconds} s, no crash");
        } else {
            failed = true;
            let tail: Vec<&str> = log.lines().rev().take(30).collect();
            println!("fuzz {target}: FAILED after {runs} executions");
            for line in tail.into_iter().rev() {
                println!("  {line}");
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    match args.first().map(String::as_str) {
        Some("verify") => match parse(&args[1..]) {
            Ok(options) => {
                let report = verify(&root, options.only.as_deref());
                if options.json {
                    println!("{}", report.render_json());
                } else {
                    print!("{}", report.render_text());
                }
                if report.passes(options.strict) {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                }
            }
            Err(problem) => {
                eprintln!("{problem}\n{USAGE}");
                ExitCode::from(2)
            }
        },
        Some("bench") => bench(&root, &args[1..]),
        Some("chaos") => chaos(&root),
        Some("fuzz") => fuzz(&root, &args[1..]),
        Some("bless") => match bless(&root) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("bless failed: {e}");
                ExitCode::FAILURE
            }
        },
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments() {
        let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let o = parse(&args(&["--strict", "--format", "json", "--only", "events"])).expect("valid");
        assert!(o.strict && o.json);
        assert_eq!(o.only.as_deref(), Some("events"));
        assert!(parse(&args(&["--only", "nonsense"])).is_err());
        assert!(parse(&args(&["--format", "xml"])).is_err());
        assert!(parse(&args(&["--fast"])).is_err());
    }

    #[test]
    fn builds_are_found_where_cargo_puts_them() {
        let root = workspace_root();
        let elsewhere = std::env::temp_dir().join("hoc-target-elsewhere");
        let elsewhere = elsewhere.to_str().expect("a UTF-8 temporary directory");
        assert_eq!(
            target_dir_with(&root, &[("CARGO_TARGET_DIR", elsewhere)]).expect("cargo metadata"),
            PathBuf::from(elsewhere)
        );
        let default = target_dir_with(&root, &[]).expect("cargo metadata");
        assert!(default.is_absolute(), "{}", default.display());
    }
}
