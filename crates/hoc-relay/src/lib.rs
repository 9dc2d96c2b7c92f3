//! The outbox relay: publishes every committed event to NATS JetStream.
//!
//! - **What**: each event of `event_outbox` not yet published, as its CloudEvents 1.0 structured JSON, on subject
//!   `<prefix>.<tenant>.<project>.<event_type>` (tenant and project escaped to one token each, [`subject`]) of stream `HOC_EVENTS` (created if
//!   missing: file storage, a duplicate window of two minutes), with `Nats-Msg-Id` = `event_id`. An event is
//!   marked published only after JetStream's PubAck.
//! - **Order**: within a (tenant, project) partition, strictly in `sequence_no` order: an event is sent only after
//!   JetStream acknowledged the one before it (so a leader lost mid-batch cannot let a later event overtake an
//!   earlier one), and only the acknowledged prefix is marked published; the rest is sent again (same
//!   `Nats-Msg-Id`, so JetStream drops what it already has). Partitions are relayed concurrently, up to
//!   [`PARTITIONS_IN_FLIGHT`] at a time.
//! - **Several instances**: a partition is relayed by the instance holding its lease (`relay_leases`, one upsert
//!   that grants it to nobody else until it expires, [`RelayConfig::lease_ttl`]); an instance that dies loses its
//!   partitions to another within that bound. Marking published requires still holding the lease.
//! - **Wake-ups**: on every commit of this process (`Spine::commits`), and every [`RelayConfig::poll`] for events
//!   other instances wrote.
//! - **NATS down or slow**: writes do not notice (the outbox is the buffer); the relay retries with capped backoff
//!   and catches up in order. [`RelayStatus`] tells `/readyz` and logs about the connection, backlog and lag.

pub mod consumer;

pub use crate::consumer::{Delivery, EventConsumer, Positions};

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use futures_util::StreamExt;
use hoc_spine::relay::{self, Partition};
use hoc_spine::{Database, Spine};
use time::OffsetDateTime;

/// How many partitions one relay drains at once. Within a partition one publish is in flight at a time (that is
/// what keeps the order when a stream leader dies), so a pass over many tenants overlaps their round trips instead.
pub const PARTITIONS_IN_FLIGHT: usize = 8;

/// How the relay runs.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// `nats://host:port` (several, comma-separated).
    pub nats_url: String,
    /// The JetStream stream.
    pub stream: String,
    /// The first subject tokens (`hoc.events`).
    pub subject_prefix: String,
    /// How long a partition's lease lasts without renewal: the bound on a takeover after an instance dies.
    pub lease_ttl: Duration,
    /// How often the relay looks for events other instances wrote.
    pub poll: Duration,
    /// Events per batch.
    pub batch: u64,
    /// Published events older than this are deleted (`None`, the default: kept, so the event feed at any `as_of`
    /// stays the same bytes; a read into a pruned range is refused with `history_pruned`).
    pub retention: Option<Duration>,
    /// This instance's name in the leases.
    pub holder: String,
    /// How many servers keep the stream when the relay creates it (`None`, the default: as many as `nats_url`
    /// names, at most 3; JetStream allows 1 to 5). An existing stream is used as it is.
    pub stream_replicas: Option<usize>,
}

impl RelayConfig {
    /// The defaults for `nats_url`: stream `HOC_EVENTS`, prefix `hoc.events`, 5 s leases, 250 ms polls, batches of
    /// 256, published events kept (pruning is an opt-in: `retention`).
    pub fn new(nats_url: impl Into<String>) -> Self {
        Self {
            nats_url: nats_url.into(),
            stream: "HOC_EVENTS".to_owned(),
            subject_prefix: "hoc.events".to_owned(),
            lease_ttl: Duration::from_secs(5),
            poll: Duration::from_millis(250),
            batch: 256,
            retention: None,
            holder: format!("relay_{}", uuid::Uuid::now_v7().simple()),
            stream_replicas: None,
        }
    }

    /// The replicas of a stream the relay creates: `stream_replicas`, or one per address of `nats_url`, at most 3.
    pub fn replicas(&self) -> usize {
        self.stream_replicas.unwrap_or_else(|| {
            server_addrs(&self.nats_url).map_or(1, |addresses| addresses.len().clamp(1, 3))
        })
    }
}

/// Checks a `--nats-url` before anything starts: every comma-separated address must parse.
pub fn validate_url(url: &str) -> Result<(), String> {
    server_addrs(url).map(|_| ())
}

/// The addresses of a `--nats-url`: one, or several separated by commas (the members of a cluster). The client is
/// handed the list, never the joined text, which it would read as one address with a broken port.
pub fn server_addrs(url: &str) -> Result<Vec<async_nats::ServerAddr>, String> {
    if url.trim().is_empty() {
        return Err("the NATS url is empty".to_owned());
    }
    url.split(',')
        .map(|address| {
            async_nats::ServerAddr::from_str(address.trim())
                .map_err(|e| format!("`{}` is not a NATS server address: {e}", address.trim()))
        })
        .collect()
}

/// One subject token for any text: NATS forbids `.`, `*`, `>` and whitespace in a token, so those, `%` and every
/// byte outside printable ASCII are written `%XX`; an empty text is `%`.
pub fn escape_token(text: &str) -> String {
    if text.is_empty() {
        return "%".to_owned();
    }
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_graphic() && !matches!(b, b'.' | b'*' | b'>' | b'%') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The subject of an event: the tenant and the project are one escaped token each; the event type keeps its
/// dotted parts as tokens (`incidents.IncidentCreated`), so `hoc.events.*.*.incidents.>` selects a domain.
pub fn subject(prefix: &str, tenant_id: &str, project_id: &str, event_type: &str) -> String {
    let event_type = event_type
        .split('.')
        .map(escape_token)
        .collect::<Vec<_>>()
        .join(".");
    format!(
        "{prefix}.{}.{}.{event_type}",
        escape_token(tenant_id),
        escape_token(project_id),
    )
}

/// What the relay is doing, for `/readyz`, `/metrics` and logs.
#[derive(Debug, Default)]
pub struct RelayStatus {
    connected: AtomicBool,
    published: AtomicU64,
    last_lag_micros: AtomicU64,
    backlog: AtomicU64,
}

impl RelayStatus {
    /// Whether the NATS connection is up.
    pub fn connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    /// Events this instance published (acknowledged by JetStream) since it started.
    pub fn published(&self) -> u64 {
        self.published.load(Ordering::Relaxed)
    }

    /// The commit-to-PubAck lag of the last acknowledged event, in microseconds.
    pub fn last_lag_micros(&self) -> u64 {
        self.last_lag_micros.load(Ordering::Relaxed)
    }

    /// Events waiting, as last counted.
    pub fn backlog(&self) -> u64 {
        self.backlog.load(Ordering::Relaxed)
    }
}

/// A running relay.
#[derive(Debug)]
pub struct Relay {
    status: Arc<RelayStatus>,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    /// Starts relaying the outbox of `spine` (connecting in the background: an unreachable server is retried,
    /// never fatal).
    pub fn start(spine: Spine, config: RelayConfig) -> Result<Self, String> {
        validate_url(&config.nats_url)?;
        let status = Arc::new(RelayStatus::default());
        let task = tokio::spawn(run(spine, config, Arc::clone(&status)));
        Ok(Self { status, task })
    }

    /// Its status.
    pub fn status(&self) -> Arc<RelayStatus> {
        Arc::clone(&self.status)
    }

    /// Stops it (what was acknowledged is marked; the rest is relayed again later, by any instance).
    pub async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

/// Deletes a stream (tests and the benchmark use streams of their own).
pub async fn delete_stream(nats_url: &str, stream: &str) -> Result<(), String> {
    let client = async_nats::connect(server_addrs(nats_url)?)
        .await
        .map_err(|e| format!("cannot connect to {nats_url}: {e}"))?;
    jetstream::new(client)
        .delete_stream(stream)
        .await
        .map(|_| ())
        .map_err(|e| format!("cannot delete stream {stream}: {e}"))
}

fn now_micros() -> i64 {
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

async fn run(spine: Spine, config: RelayConfig, status: Arc<RelayStatus>) {
    let addresses = match server_addrs(&config.nats_url) {
        Ok(addresses) => addresses,
        Err(e) => {
            tracing::error!(error = %e, "the relay cannot use its NATS url; events stay in the outbox");
            return;
        }
    };
    let client = match async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .max_reconnects(None)
        .connection_timeout(Duration::from_secs(2))
        .connect(addresses)
        .await
    {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "the relay cannot use its NATS url; events stay in the outbox");
            return;
        }
    };
    let js = jetstream::new(client.clone());
    let mut commits = spine.commits();
    let mut backoff = Duration::from_millis(100);
    let mut stream_ready = false;
    let mut last_prune = tokio::time::Instant::now();
    loop {
        let connected = client.connection_state() == async_nats::connection::State::Connected;
        status.connected.store(connected, Ordering::Relaxed);
        metrics::gauge!("hoc_relay_nats_connected").set(if connected { 1.0 } else { 0.0 });
        let pass = async {
            if !stream_ready {
                ensure_stream(&js, &config).await?;
                stream_ready = true;
            }
            relay_pending(spine.database(), &js, &config, &status).await
        };
        let outcome = pass.await;
        // Again after the pass: a pass that waited for a reconnection ends connected.
        let connected = client.connection_state() == async_nats::connection::State::Connected;
        status.connected.store(connected, Ordering::Relaxed);
        metrics::gauge!("hoc_relay_nats_connected").set(if connected { 1.0 } else { 0.0 });
        match outcome {
            Ok(()) => backoff = Duration::from_millis(100),
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "relay pass failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        }
        if let Some(retention) = config.retention
            && last_prune.elapsed() >= Duration::from_secs(60)
        {
            last_prune = tokio::time::Instant::now();
            let before = OffsetDateTime::now_utc() - retention;
            let seconds = i64::try_from(retention.as_secs()).unwrap_or(i64::MAX);
            match relay::prune(spine.database(), before.into(), seconds).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(events = n, "pruned published events past their retention"),
                Err(e) => tracing::warn!(error = %e, "pruning published events failed"),
            }
        }
        // Sleep until a commit here, or the poll interval.
        let _ = tokio::time::timeout(config.poll, commits.changed()).await;
    }
}

async fn ensure_stream(js: &jetstream::Context, config: &RelayConfig) -> Result<(), String> {
    js.get_or_create_stream(stream::Config {
        name: config.stream.clone(),
        subjects: vec![format!("{}.>", config.subject_prefix)],
        storage: stream::StorageType::File,
        num_replicas: config.replicas(),
        duplicate_window: Duration::from_secs(120),
        ..Default::default()
    })
    .await
    .map(|_| ())
    .map_err(|e| format!("cannot create or find stream {}: {e}", config.stream))
}

/// One pass: every partition with pending events whose lease this instance gets, drained in order.
async fn relay_pending(
    db: &Database,
    js: &jetstream::Context,
    config: &RelayConfig,
    status: &RelayStatus,
) -> Result<(), String> {
    let backlog = relay::backlog(db).await.map_err(|e| e.to_string())?;
    status.backlog.store(
        u64::try_from(backlog.events).unwrap_or(0),
        Ordering::Relaxed,
    );
    if backlog.events == 0 {
        return Ok(());
    }
    let ttl = i64::try_from(config.lease_ttl.as_micros()).unwrap_or(i64::MAX);
    let partitions = relay::pending_partitions(db, 1_000)
        .await
        .map_err(|e| e.to_string())?;
    let outcomes: Vec<Result<(), String>> = futures_util::stream::iter(partitions)
        .map(|partition| async move {
            if !relay::claim(db, &partition, &config.holder, now_micros(), ttl)
                .await
                .map_err(|e| e.to_string())?
            {
                return Ok(());
            }
            drain(db, js, config, status, &partition, ttl).await
        })
        .buffer_unordered(PARTITIONS_IN_FLIGHT)
        .collect()
        .await;
    // Every partition had its pass; the first failure is the pass's (the others are retried with it).
    outcomes.into_iter().collect::<Result<(), String>>()?;
    // What is left after the pass (other instances' partitions, or what arrived meanwhile).
    let left = relay::backlog(db).await.map_err(|e| e.to_string())?;
    status
        .backlog
        .store(u64::try_from(left.events).unwrap_or(0), Ordering::Relaxed);
    metrics::gauge!("hoc_relay_backlog_events").set(left.events as f64);
    Ok(())
}

/// Publishes `partition`'s pending events in order until none is left (renewing the lease per batch).
async fn drain(
    db: &Database,
    js: &jetstream::Context,
    config: &RelayConfig,
    status: &RelayStatus,
    partition: &Partition,
    ttl: i64,
) -> Result<(), String> {
    loop {
        let events = relay::pending(db, partition, config.batch)
            .await
            .map_err(|e| e.to_string())?;
        if events.is_empty() {
            return Ok(());
        }
        // One publish in flight per partition: the next is sent only once JetStream has acknowledged the one
        // before it. Sending a batch before awaiting its acks reorders when the stream's leader dies mid-batch:
        // the publishes in flight to it are lost while the later ones reach the new leader, so the resend of the
        // lost ones lands after them. Partitions are relayed concurrently instead (`relay_pending`).
        let mut through = None;
        let mut failure = None;
        for event in &events {
            let body =
                serde_json::to_vec(&hoc_spine::to_cloudevent(event)).map_err(|e| e.to_string())?;
            let message = jetstream::message::PublishMessage::build()
                .payload(body.into())
                .message_id(&event.event_id);
            let subject = subject(
                &config.subject_prefix,
                &partition.tenant_id,
                &partition.project_id,
                &event.event_type,
            );
            let acked = match js.send_publish(subject, message).await {
                Ok(ack) => ack
                    .await
                    .map_err(|e| format!("no PubAck for sequence {}: {e}", event.sequence_no)),
                Err(e) => Err(format!("publish of event {}: {e}", event.event_id)),
            };
            match acked {
                Ok(_) => {
                    through = Some(event.sequence_no);
                    let lag = OffsetDateTime::now_utc() - event.occurred_at;
                    metrics::histogram!("hoc_relay_commit_to_puback_seconds")
                        .record(lag.as_seconds_f64().max(0.0));
                    status.last_lag_micros.store(
                        u64::try_from(lag.whole_microseconds()).unwrap_or(0),
                        Ordering::Relaxed,
                    );
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        if let Some(through) = through {
            let marked = relay::mark_published(
                db,
                partition,
                &config.holder,
                through,
                OffsetDateTime::now_utc().into(),
            )
            .await
            .map_err(|e| e.to_string())?;
            status.published.fetch_add(marked, Ordering::Relaxed);
            metrics::counter!("hoc_relay_published_total").increment(marked);
        }
        if let Some(failure) = failure {
            return Err(failure);
        }
        // Renew before the next batch; a lost lease means another instance has it now.
        if !relay::claim(db, partition, &config.holder, now_micros(), ttl)
            .await
            .map_err(|e| e.to_string())?
        {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_tenant_id_is_one_valid_subject_token() {
        assert_eq!(escape_token("acme"), "acme");
        assert_eq!(escape_token("a.b*c>d e%f"), "a%2Eb%2Ac%3Ed%20e%25f");
        assert_eq!(escape_token(""), "%");
        assert_eq!(escape_token("é"), "%C3%A9");
        assert_eq!(
            subject("hoc.events", "t.1", "default", "incidents.IncidentCreated"),
            "hoc.events.t%2E1.default.incidents.IncidentCreated"
        );
        // Distinct texts stay distinct.
        assert_ne!(escape_token("a.b"), escape_token("a%2Eb"));
    }

    #[test]
    fn urls_are_checked_before_anything_starts() {
        assert!(validate_url("nats://127.0.0.1:4222").is_ok());
        assert!(validate_url("127.0.0.1:4222,nats://other:4222").is_ok());
        assert!(validate_url("").is_err());
        assert!(validate_url("http://[::1").is_err());
    }
}
