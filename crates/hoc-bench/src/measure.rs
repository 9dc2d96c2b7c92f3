//! What a case measured: its latencies ([`Sample`], taken by [`measure`]), the figure it prints ([`Figure`]), its
//! ratio to a floor, and the table.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

/// One measured case.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Figure {
    pub(crate) database: String,
    pub(crate) size: i64,
    pub(crate) clients: usize,
    pub(crate) case: String,
    pub(crate) path: String,
    pub(crate) ops: usize,
    pub(crate) ops_per_sec: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    /// This figure's ops/s over the floor's (for reads: the floor's p50 over this p50); never for a case with
    /// failed calls.
    pub(crate) ratio: Option<f64>,
    pub(crate) ratio_to: Option<String>,
    /// Calls that failed: a case with any is reported as failed, and the run exits non-zero.
    pub(crate) errors: usize,
    /// The first failure's message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) first_error: Option<String>,
}

impl Figure {
    /// The figure of a measured sample.
    pub(crate) fn measured(clients: usize, case: &str, path: &str, sample: &Sample) -> Self {
        Self {
            database: String::new(),
            size: 0,
            clients,
            case: case.to_owned(),
            path: path.to_owned(),
            ops: sample.latencies.len(),
            ops_per_sec: sample.ops_per_sec(),
            p50_ms: sample.quantile(0.5),
            p99_ms: sample.quantile(0.99),
            ratio: None,
            ratio_to: None,
            errors: sample.errors,
            first_error: sample.first_error.clone(),
        }
    }

    /// `case path: n calls failed (first: …)` when any did.
    pub(crate) fn failure(&self) -> Option<String> {
        (self.errors > 0).then(|| {
            format!(
                "{} {} clients={} {} {}: {} calls failed (first: {})",
                self.database,
                self.size,
                self.clients,
                self.case,
                self.path,
                self.errors,
                self.first_error.as_deref().unwrap_or("?")
            )
        })
    }
}

/// Latencies of one case, all clients together.
#[derive(Default)]
pub(crate) struct Sample {
    pub(crate) latencies: Vec<Duration>,
    pub(crate) elapsed: Duration,
    pub(crate) errors: usize,
    pub(crate) first_error: Option<String>,
}

impl Sample {
    pub(crate) fn quantile(&self, q: f64) -> f64 {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        if sorted.is_empty() {
            return f64::NAN;
        }
        let index = ((sorted.len() - 1) as f64 * q).round() as usize;
        sorted[index].as_secs_f64() * 1e3
    }

    pub(crate) fn ops_per_sec(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }
}

/// Runs `op(k)` from `clients` concurrent tasks for `seconds` (k counts calls across all clients; a case whose
/// inputs run out stops early).
pub(crate) async fn measure<F, Fut>(clients: usize, seconds: f64, op: F) -> Sample
where
    F: Fn(usize) -> Option<Fut> + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send,
{
    let op = Arc::new(op);
    let counter = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (op, counter) = (op.clone(), counter.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0;
                let mut first_error = None;
                while Instant::now() < deadline {
                    let k = counter.fetch_add(1, Ordering::Relaxed);
                    let Some(call) = op(k) else { break };
                    let t = Instant::now();
                    match call.await {
                        Ok(()) => latencies.push(t.elapsed()),
                        Err(e) => {
                            errors += 1;
                            if errors == 1 {
                                eprintln!("  error: {e}");
                                first_error = Some(e);
                            }
                        }
                    }
                }
                (latencies, errors, first_error)
            })
        })
        .collect();
    let mut sample = Sample {
        latencies: Vec::new(),
        elapsed: Duration::ZERO,
        errors: 0,
        first_error: None,
    };
    for task in tasks {
        match task.await {
            Ok((latencies, errors, first_error)) => {
                sample.latencies.extend(latencies);
                sample.errors += errors;
                sample.first_error = sample.first_error.or(first_error);
            }
            Err(e) => {
                sample.errors += 1;
                sample.first_error = sample
                    .first_error
                    .or(Some(format!("a client task died: {e}")));
            }
        }
    }
    sample.elapsed = started.elapsed();
    sample
}

/// `a` against the floor `b`: ops/s over the floor's for writes, the floor's p50 over `a`'s for reads; none when
/// either had failed calls.
pub(crate) fn ratio(a: &Figure, b: &Figure, reads: bool) -> Option<f64> {
    if a.errors > 0 || b.errors > 0 {
        return None;
    }
    Some(if reads {
        b.p50_ms / a.p50_ms
    } else {
        a.ops_per_sec / b.ops_per_sec
    })
}

pub(crate) fn print_table(figures: &[Figure]) {
    println!(
        "{:<9} {:>8} {:>3}  {:<34} {:<22} {:>9} {:>9} {:>9} {:>8}",
        "database", "size", "cl", "case", "path", "ops/s", "p50 ms", "p99 ms", "× floor"
    );
    for f in figures {
        println!(
            "{:<9} {:>8} {:>3}  {:<34} {:<22} {:>9.0} {:>9.3} {:>9.3} {:>8}",
            f.database,
            f.size,
            f.clients,
            f.case,
            f.path,
            f.ops_per_sec,
            f.p50_ms,
            f.p99_ms,
            match (f.errors, f.ratio) {
                (0, Some(r)) => format!("{r:.2}"),
                (0, None) => String::new(),
                _ => "FAILED".to_owned(),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Figure, Sample, ratio};

    fn figure(path: &str, calls: usize, errors: usize) -> Figure {
        let sample = Sample {
            latencies: vec![Duration::from_millis(2); calls],
            elapsed: Duration::from_secs(1),
            errors,
            first_error: (errors > 0)
                .then(|| "audit_ledger: the row does not extend its chain".to_owned()),
        };
        Figure::measured(1, "create", path, &sample)
    }

    #[test]
    fn a_case_with_failed_calls_is_a_failure_not_a_ratio() {
        let spine = figure("spine", 100, 0);
        assert_eq!(ratio(&spine, &figure("floor", 200, 0), false), Some(0.5));
        // Every floor call failed: 0 ops/s, which a ratio would print as infinitely slow.
        let broken = figure("floor", 0, 5_833);
        assert_eq!(ratio(&spine, &broken, false), None);
        assert_eq!(ratio(&spine, &broken, true), None);
        assert_eq!(spine.failure(), None);
        let failure = broken.failure().unwrap_or_default();
        assert!(failure.contains("5833 calls failed"), "{failure}");
        assert!(failure.contains("does not extend its chain"), "{failure}");
    }
}
