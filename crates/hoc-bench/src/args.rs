//! The command line of `hoc-bench`.

pub(crate) struct Args {
    pub(crate) sizes: Vec<i64>,
    pub(crate) clients: Vec<usize>,
    pub(crate) seconds: f64,
    pub(crate) out: std::path::PathBuf,
    pub(crate) hocd: Option<std::path::PathBuf>,
    /// Seed, print the database URL and stop (for EXPLAIN by hand); the database is kept.
    pub(crate) seed_only: bool,
    /// NATS with JetStream: also measure the outbox relay (lag at `relay_rate` events/s, and keeping up).
    pub(crate) nats_url: Option<String>,
    /// Events per second of the relay lag case.
    pub(crate) relay_rate: f64,
    /// Seconds of each relay case.
    pub(crate) relay_seconds: f64,
    /// Only the per-call cost table (`cost.rs`) of this many calls per case and path, on a fresh database.
    pub(crate) cost: usize,
    /// Only the alert storm (`storm.rs`): the spine beside its floor, and with `hocd`, over HTTP.
    pub(crate) storm: bool,
    /// Only recurrence grouping on Loghub-2k, read from this directory.
    pub(crate) grouping: Option<std::path::PathBuf>,
    /// Only the group list's first page, at each of these numbers of groups.
    pub(crate) group_list: Vec<i64>,
    /// Only the console's pages (with `--hocd`), at each of these numbers of incidents.
    pub(crate) console: Vec<i64>,
    /// The console's pages on this already seeded database (of the one `--console` size) instead of a fresh one.
    pub(crate) console_url: Option<String>,
    /// Only the live streams (with `--hocd`): this many idle streams, then one event.
    pub(crate) streams: Vec<i64>,
    /// Only the incident metrics, at each of these numbers of incidents (a year's history at a million).
    pub(crate) metrics: Vec<i64>,
    /// Only reads at a past instant with read replicas, on a primary with two replicas seeded with this many.
    pub(crate) replicas: i64,
}

pub(crate) fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        sizes: vec![10_000, 1_000_000],
        clients: vec![1, 8],
        seconds: 2.0,
        out: "target/bench.json".into(),
        hocd: None,
        seed_only: false,
        nats_url: None,
        relay_rate: 1_000.0,
        relay_seconds: 60.0,
        cost: 0,
        storm: false,
        grouping: None,
        group_list: Vec::new(),
        console: Vec::new(),
        console_url: None,
        streams: Vec::new(),
        metrics: Vec::new(),
        replicas: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--seed-only" {
            args.seed_only = true;
            continue;
        }
        if flag == "--storm" {
            args.storm = true;
            continue;
        }
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let list = |v: &str| -> Result<Vec<i64>, String> {
            // An empty list is allowed: `--sizes ''` with `--nats-url` measures only the relay.
            v.split(',')
                .filter(|x| !x.trim().is_empty())
                .map(|x| x.trim().parse().map_err(|e| format!("{flag}: {e}")))
                .collect()
        };
        match flag.as_str() {
            "--sizes" => args.sizes = list(&value)?,
            "--clients" => {
                args.clients = list(&value)?
                    .into_iter()
                    .map(|c| usize::try_from(c).unwrap_or(1))
                    .collect();
            }
            "--seconds" => args.seconds = value.parse().map_err(|e| format!("--seconds: {e}"))?,
            "--out" => args.out = value.into(),
            "--hocd" => args.hocd = Some(value.into()),
            "--nats-url" => args.nats_url = Some(value),
            "--relay-rate" => {
                args.relay_rate = value.parse().map_err(|e| format!("--relay-rate: {e}"))?;
            }
            "--grouping" => args.grouping = Some(value.into()),
            "--group-list" => args.group_list = list(&value)?,
            "--console" => args.console = list(&value)?,
            "--console-url" => args.console_url = Some(value),
            "--streams" => args.streams = list(&value)?,
            "--metrics" => args.metrics = list(&value)?,
            "--replicas" => {
                args.replicas = value.parse().map_err(|e| format!("--replicas: {e}"))?
            }
            "--cost" => args.cost = value.parse().map_err(|e| format!("--cost: {e}"))?,
            "--relay-seconds" => {
                args.relay_seconds = value.parse().map_err(|e| format!("--relay-seconds: {e}"))?;
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(args)
}
