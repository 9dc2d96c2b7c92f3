//! `--cost N`: what one write costs the whole process, the spine beside its floor, one client, one call at a
//! time — wall time, CPU time (user and system, every thread: tokio's and the database driver's) and context
//! switches per call, read from `/proc/self` around N calls of each. It explains a write ratio (is the gap CPU in
//! the process, or waiting?), and prints; it asserts nothing.

use std::time::Instant;

use hoc_drivers::Database;
use hoc_spine::requests::{AcknowledgeIncident, CreateIncident, ResolveIncident};
use hoc_spine::{OperationContext, Spine};

use crate::floor::{self, Op};

/// CPU ticks (user + system) and context switches (voluntary + involuntary) of every thread so far.
#[derive(Debug, Clone, Copy, Default)]
struct Usage {
    user_ticks: u64,
    system_ticks: u64,
    switches: u64,
}

fn usage() -> Usage {
    let mut total = Usage::default();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return total;
    };
    for task in tasks.flatten() {
        let dir = task.path();
        if let Ok(stat) = std::fs::read_to_string(dir.join("stat")) {
            // After the command's closing parenthesis: state is field 3, utime 14 and stime 15.
            let fields: Vec<&str> = stat
                .rsplit_once(')')
                .map_or("", |(_, rest)| rest)
                .split_whitespace()
                .collect();
            let tick = |i: usize| {
                fields
                    .get(i)
                    .and_then(|f| f.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            total.user_ticks += tick(11);
            total.system_ticks += tick(12);
        }
        if let Ok(status) = std::fs::read_to_string(dir.join("status")) {
            total.switches += status
                .lines()
                .filter(|l| l.contains("ctxt_switches"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum::<u64>();
        }
    }
    total
}

/// Clock ticks per second of `/proc/<pid>/stat` (Linux's USER_HZ).
const TICKS_PER_SECOND: f64 = 100.0;

/// One line of the cost table.
#[derive(Debug)]
pub(crate) struct Cost {
    pub(crate) case: &'static str,
    pub(crate) path: &'static str,
    pub(crate) wall_us: f64,
    pub(crate) user_us: f64,
    pub(crate) system_us: f64,
    pub(crate) switches: f64,
}

async fn timed<T, F, Fut>(
    case: &'static str,
    path: &'static str,
    n: usize,
    mut call: F,
) -> Result<(Cost, Vec<T>), String>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let mut outputs = Vec::with_capacity(n);
    let (before, start) = (usage(), Instant::now());
    for k in 0..n {
        outputs.push(call(k).await?);
    }
    let (after, wall) = (usage(), start.elapsed());
    let calls = n as f64;
    let cost = Cost {
        case,
        path,
        wall_us: wall.as_secs_f64() * 1e6 / calls,
        user_us: after.user_ticks.saturating_sub(before.user_ticks) as f64 / TICKS_PER_SECOND * 1e6
            / calls,
        system_us: after.system_ticks.saturating_sub(before.system_ticks) as f64 / TICKS_PER_SECOND
            * 1e6
            / calls,
        switches: after.switches.saturating_sub(before.switches) as f64 / calls,
    };
    Ok((cost, outputs))
}

fn create(k: usize) -> CreateIncident {
    CreateIncident {
        title: Some(format!("cost {k}")),
        severity: Some("low".into()),
        category: Some("bench".into()),
        error_message: Some(format!("timeout after {k} ms")),
        ..CreateIncident::default()
    }
}

/// Creates, acknowledges and resolves `n` incidents through the spine and `n` through the floor, in turn.
pub(crate) async fn measure(
    db: &Database,
    spine: &Spine,
    ctx: &OperationContext,
    n: usize,
) -> Result<Vec<Cost>, String> {
    let fail = |e: hoc_spine::OperationError| e.to_string();
    let mut out = Vec::new();
    let (cost, spine_ids) = timed("create", "spine", n, |k| async move {
        spine
            .call(ctx, &create(k))
            .await
            .map(|i| i.id)
            .map_err(fail)
    })
    .await?;
    out.push(cost);
    let (cost, _) = timed("create", "floor", n, |k| async move {
        floor::run(db, &Op::Create { n: k as u64 }).await
    })
    .await?;
    out.push(cost);
    // Incidents for the floor's transitions, created outside the measurement.
    let mut floor_ids = Vec::with_capacity(n);
    for k in 0..n {
        floor_ids.push(spine.call(ctx, &create(n + k)).await.map_err(fail)?.id);
    }
    let (spine_ids, floor_ids) = (&spine_ids, &floor_ids);
    let (cost, _) = timed("acknowledge", "spine", n, |k| async move {
        let request = AcknowledgeIncident {
            id: spine_ids[k].clone(),
            reason: None,
        };
        spine.call(ctx, &request).await.map(drop).map_err(fail)
    })
    .await?;
    out.push(cost);
    let (cost, _) = timed("acknowledge", "floor", n, |k| async move {
        let op = Op::Acknowledge {
            id: floor_ids[k].clone(),
        };
        floor::run(db, &op).await
    })
    .await?;
    out.push(cost);
    let (cost, _) = timed("resolve", "spine", n, |k| async move {
        let request = ResolveIncident {
            id: spine_ids[k].clone(),
            resolution_type: Some("hotfix".into()),
            ..ResolveIncident::default()
        };
        spine.call(ctx, &request).await.map(drop).map_err(fail)
    })
    .await?;
    out.push(cost);
    let (cost, _) = timed("resolve", "floor", n, |k| async move {
        let op = Op::Resolve {
            id: floor_ids[k].clone(),
        };
        floor::run(db, &op).await
    })
    .await?;
    out.push(cost);
    Ok(out)
}

/// Prints the table of [`measure`].
pub(crate) fn print(label: &str, costs: &[Cost]) {
    println!(
        "{:<10} {:<12} {:<6} {:>10} {:>10} {:>10} {:>10}",
        "database", "case", "path", "wall us", "user us", "system us", "switches"
    );
    for c in costs {
        println!(
            "{:<10} {:<12} {:<6} {:>10.0} {:>10.0} {:>10.0} {:>10.1}",
            label, c.case, c.path, c.wall_us, c.user_us, c.system_us, c.switches
        );
    }
}
