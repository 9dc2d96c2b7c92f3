//! The `xtask` binary as CI runs it: the JSON report is all of stdout, and an unreachable database fails.
#![allow(clippy::expect_used)]

use std::process::Command;

use serde_json::Value;

fn xtask(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, Value, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command.args(args);
    for (name, value) in env {
        command.env(name, value);
    }
    let out = command.output().expect("xtask runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{stdout}"));
    (
        out.status.code(),
        report,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn outcomes(report: &Value) -> Vec<(String, String)> {
    report["outcomes"]
        .as_array()
        .expect("outcomes")
        .iter()
        .map(|o| {
            (
                o["check"].as_str().unwrap_or_default().to_owned(),
                o["level"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[test]
fn child_output_goes_to_stderr_and_stdout_is_the_json_report() {
    // `echo` stands in for cargo: it writes its arguments to stdout, as cargo fmt/clippy/test write theirs.
    let (code, report, stderr) = xtask(
        &["verify", "--only", "workspace", "--format", "json"],
        &[("CARGO", "echo")],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        outcomes(&report),
        [
            ("fmt".to_owned(), "PASS".to_owned()),
            ("clippy".to_owned(), "PASS".to_owned()),
            ("tests".to_owned(), "PASS".to_owned()),
        ]
    );
    assert!(stderr.contains("fmt --all -- --check"), "{stderr}");
}

#[test]
fn an_unreachable_test_database_fails() {
    let (code, report, _) = xtask(
        &["verify", "--only", "storage", "--format", "json"],
        &[(
            "HOC_TEST_DATABASE_URL",
            "postgres://postgres@127.0.0.1:1/nope",
        )],
    );
    assert_eq!(code, Some(1));
    let failed: Vec<(String, String)> = outcomes(&report)
        .into_iter()
        .filter(|(_, level)| level == "FAIL")
        .collect();
    assert_eq!(failed, [("postgres".to_owned(), "FAIL".to_owned())]);
}
