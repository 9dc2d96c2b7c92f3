//! Black-box tests: the real `hocd` binary on a free port, against a fresh SQLite file and (when
//! `HOC_TEST_DATABASE_URL` is set) a fresh PostgreSQL database, driven over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod alerts;
mod analytics;
mod browser;
mod console;
mod errors;
mod faults;
mod grouping;
mod ledger;
mod openapi;
mod relay;
mod replicas;
mod sessions;
mod stream;
mod walkthrough;
mod working;

use std::process::Stdio;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Held by the tests that assert a wall-clock bound (a flood, slowloris, a lock, a timeout) and by the tests that
/// load the machine hardest (the alert storm, the console in Chromium), so that none of them runs beside another: on
/// 2 cores a bound of 1 s must measure the server, not a neighbouring test (a CI rehearsal saw the flood's 1 s bound
/// missed while Chromium rendered beside it).
pub(crate) static TIMED: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A running `hocd serve`, stopped with SIGTERM when dropped.
pub(crate) struct Server {
    child: Child,
    pub(crate) base: String,
    pub(crate) database_url: String,
    client: reqwest::Client,
}

pub(crate) fn hocd() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hocd"));
    cmd.env("HOC_LOG", "warn")
        .env_remove("HOC_DATABASE_URL")
        .env_remove("HOC_BIND");
    cmd
}

/// `serve` on a free port of 127.0.0.1.
fn serve_args(database_url: &str) -> [&str; 5] {
    [
        "serve",
        "--database-url",
        database_url,
        "--bind",
        "127.0.0.1:0",
    ]
}

impl Server {
    pub(crate) async fn start(database_url: &str) -> Self {
        Self::start_with(database_url, &[]).await
    }

    /// Starts `hocd serve` with more arguments.
    pub(crate) async fn start_with(database_url: &str, args: &[&str]) -> Self {
        let mut cmd = hocd();
        cmd.args(serve_args(database_url)).args(args);
        Self::spawn(cmd, database_url).await
    }

    /// Starts `hocd serve` under `ulimit -n NOFILE` (soft and hard), with more arguments.
    pub(crate) async fn start_with_nofile(database_url: &str, nofile: u32, args: &[&str]) -> Self {
        let cmd = hocd();
        // The same environment, through a shell that lowers the limit and then becomes hocd.
        let program = env!("CARGO_BIN_EXE_hocd");
        let mut shell = Command::new("bash");
        for (key, value) in cmd.as_std().get_envs() {
            match value {
                Some(value) => shell.env(key, value),
                None => shell.env_remove(key),
            };
        }
        shell
            .args([
                "-c",
                &format!("ulimit -n {nofile} && exec \"$0\" \"$@\""),
                program,
            ])
            .args(serve_args(database_url))
            .args(args);
        Self::spawn(shell, database_url).await
    }

    async fn spawn(mut cmd: Command, database_url: &str) -> Self {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("hocd starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(std::time::Duration::from_secs(60), lines.next_line())
            .await
            .expect("hocd prints its address within a minute")
            .expect("stdout readable")
            .expect("a line");
        let base = first
            .strip_prefix("hocd listening on ")
            .expect("listening line")
            .to_owned();
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self {
            child,
            base,
            database_url: database_url.to_owned(),
            client: reqwest::Client::new(),
        }
    }

    /// Creates an API key with the CLI and returns it.
    pub(crate) async fn key(&self, tenant: &str, actor: &str, scope: &str) -> String {
        let out = hocd()
            .args([
                "keys",
                "create",
                "--database-url",
                &self.database_url,
                "--tenant",
                tenant,
                "--actor",
                actor,
                "--scope",
                scope,
            ])
            .output()
            .await
            .expect("hocd keys create runs");
        assert!(
            out.status.success(),
            "keys create failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .expect("utf-8")
            .trim()
            .to_owned()
    }

    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (status, _, body) = self
            .raw(method, path, key, body.map(|b| b.to_string()), &[])
            .await;
        (
            status,
            serde_json::from_str(&body).unwrap_or(Value::String(body)),
        )
    }

    pub(crate) async fn raw(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<String>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, reqwest::header::HeaderMap, String) {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(key) = key {
            req = req.bearer_auth(key);
        }
        if let Some(body) = body {
            req = req.header("content-type", "application/json").body(body);
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let res = req.send().await.expect("request is answered");
        let status = res.status();
        let headers = res.headers().clone();
        (status, headers, res.text().await.expect("body"))
    }

    /// `POST /v1/incidents` with `body`, which must be answered 201; the created incident.
    pub(crate) async fn created_incident(&self, key: &str, body: Value) -> Value {
        let (status, created) = self
            .call(Method::POST, "/v1/incidents", Some(key), Some(body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        created
    }

    /// The process id, for signals.
    pub(crate) fn pid(&self) -> String {
        self.child.id().map(|id| id.to_string()).unwrap_or_default()
    }

    /// Waits for the process to exit (after a signal sent elsewhere).
    pub(crate) async fn wait(mut self) -> std::process::ExitStatus {
        tokio::time::timeout(std::time::Duration::from_secs(30), self.child.wait())
            .await
            .expect("hocd stops within 30 s")
            .expect("exit status")
    }

    /// SIGTERM, then the exit status.
    pub(crate) async fn stop(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().expect("running").to_string();
        let killed = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await
            .expect("kill runs");
        assert!(killed.success());
        tokio::time::timeout(std::time::Duration::from_secs(30), self.child.wait())
            .await
            .expect("hocd stops within 30 s of SIGTERM")
            .expect("exit status")
    }
}

/// The tenant's whole event feed.
pub(crate) async fn events(server: &Server, key: &str) -> Vec<Value> {
    let (status, body) = server
        .call(Method::GET, "/v1/events?limit=500", Some(key), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"].as_array().expect("items").clone()
}

/// The first of `names` found on the PATH. CI (`CI` set) installs the Debian `package` and fails without it;
/// elsewhere the test that needs it says it did not run.
pub(crate) fn installed(names: &[&str], package: &str) -> Option<std::path::PathBuf> {
    let paths = std::env::var_os("PATH").unwrap_or_default();
    let found = names.iter().find_map(|name| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|path| path.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have {names:?} installed (.ci/run installs Debian's {package})"
        );
        #[allow(clippy::print_stderr)]
        {
            eprintln!("{names:?} is not installed: the test that needs it did not run");
        }
    }
    found
}
