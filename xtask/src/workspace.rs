//! The workspace checks verify always runs: `cargo fmt --check`, clippy with `-D warnings`, the workspace tests.

use std::path::Path;
use std::process::Command;

use crate::report::Outcome;

const NAME: &str = "workspace";

fn run_cargo(root: &Path, check: &str, args: &[&str], fix: &str) -> Outcome {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    eprintln!("==> cargo {}", args.join(" "));
    let command = format!("cargo {}", args.join(" "));
    // Children write to stderr, so stdout carries the report alone (`--format json` is valid JSON).
    match Command::new(cargo)
        .args(args)
        .current_dir(root)
        .stdout(std::process::Stdio::from(std::io::stderr()))
        .status()
    {
        Ok(status) if status.success() => Outcome::pass(NAME, check, command),
        Ok(status) => Outcome::fail(NAME, check, format!("{command} exited with {status}"), fix),
        Err(err) => Outcome::fail(
            NAME,
            check,
            format!("could not run cargo: {err}"),
            "install the pinned toolchain (rust-toolchain.toml)",
        ),
    }
}

pub(crate) fn verify(root: &Path) -> Vec<Outcome> {
    vec![
        run_cargo(
            root,
            "fmt",
            &["fmt", "--all", "--", "--check"],
            "run `cargo fmt --all` and commit the result",
        ),
        run_cargo(
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
        ),
        run_cargo(
            root,
            "tests",
            &["test", "--workspace"],
            "fix the failing tests printed above; rerun one with `cargo test -p <crate> <name>`",
        ),
    ]
}
