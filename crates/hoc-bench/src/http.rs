//! Creates over HTTP against a real `hocd serve` process on the same database, at each number of clients and at
//! 32 connections, with the server's peak RSS.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncBufReadExt;

use crate::{Figure, measure};

pub(crate) fn peak_rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// A running `hocd serve` (killed when dropped), its address and a key of the bench tenant.
pub(crate) struct Hocd {
    pub(crate) server: tokio::process::Child,
    pub(crate) address: String,
    pub(crate) key: String,
}

/// Creates a key with `scope` on `url` and runs `hocd serve` on it.
pub(crate) async fn start(hocd: &std::path::Path, url: &str, scope: &str) -> Result<Hocd, String> {
    let key = tokio::process::Command::new(hocd)
        .args([
            "keys",
            "create",
            "--tenant",
            crate::seed::TENANT,
            "--actor",
            "bench",
            "--scope",
            scope,
        ])
        .args(["--database-url", url])
        .output()
        .await
        .map_err(|e| format!("hocd keys create: {e}"))?;
    let key = String::from_utf8_lossy(&key.stdout).trim().to_owned();
    let mut server = tokio::process::Command::new(hocd)
        .args(["serve", "--bind", "127.0.0.1:0", "--database-url", url])
        .env("HOC_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("hocd serve: {e}"))?;
    let stdout = server.stdout.take().ok_or("no stdout")?;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let address = loop {
        match tokio::time::timeout(Duration::from_secs(60), lines.next_line()).await {
            Ok(Ok(Some(line))) => {
                if let Some(address) = line.strip_prefix("hocd listening on ") {
                    break address.to_owned();
                }
            }
            _ => return Err("hocd did not start".into()),
        }
    };
    Ok(Hocd {
        server,
        address,
        key,
    })
}

/// Runs `hocd serve` on `url`, creates a write key, and measures `POST /v1/incidents`.
pub(crate) async fn creates(
    hocd: &std::path::Path,
    url: &str,
    clients: &[usize],
    seconds: f64,
) -> Result<Vec<Figure>, String> {
    let Hocd {
        mut server,
        address,
        key,
    } = start(hocd, url, "write").await?;
    let pid = server.id().unwrap_or(0);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .map_err(|e| e.to_string())?;
    let mut counts: Vec<usize> = clients.to_vec();
    if !counts.contains(&32) {
        counts.push(32);
    }
    let mut figures = Vec::new();
    for c in counts {
        let (client, key, address) = (client.clone(), key.clone(), address.clone());
        let sample = measure(c, seconds, move |k| {
            let (client, key, address) = (client.clone(), key.clone(), address.clone());
            Some(async move {
                let response = client
                    .post(format!("{address}/v1/incidents"))
                    .bearer_auth(&key)
                    .json(&serde_json::json!({
                        "title": format!("bench {k}"),
                        "severity": "low",
                        "category": "bench",
                        "error_message": format!("timeout after {k} ms"),
                    }))
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                if response.status() == reqwest::StatusCode::CREATED {
                    Ok(())
                } else {
                    Err(format!("{}", response.status()))
                }
            })
        })
        .await;
        figures.push(Figure::measured(c, "create", "http", &sample));
    }
    if let Some(mb) = peak_rss_mb(pid) {
        figures.push(rss_figure(mb));
    }
    let _ = server.kill().await;
    Ok(figures)
}

/// The figure of `hocd`'s peak RSS (in the ops/s column).
pub(crate) fn rss_figure(mb: f64) -> Figure {
    Figure {
        database: String::new(),
        size: 0,
        clients: 0,
        case: "hocd peak RSS (MB) in ops/s column".into(),
        path: "http".into(),
        ops: 0,
        ops_per_sec: mb,
        p50_ms: f64::NAN,
        p99_ms: f64::NAN,
        ratio: None,
        ratio_to: None,
        errors: 0,
        first_error: None,
    }
}
