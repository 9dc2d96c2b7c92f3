//! One watcher per process for every open event stream (`GET /v1/events/stream`, the console's `/console/events`).
//!
//! A stream subscribes to its (tenant, project) partition and then costs the database nothing while it waits. The
//! watcher wakes at once on a commit of this process (`Spine::commits`) and every [`POLL`] for other processes'
//! commits; each wake-up is one statement for all watched partitions together (`hoc_spine::relay::heads`, the
//! primary key of `event_sequences`). When a partition's head moved, the watcher reads the new events once and
//! broadcasts them to every stream of the partition. A stream that falls behind (the broadcast buffer overflowed) or
//! sees a gap reads what it missed from the database itself, so every stream still gets every event once, in order.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use hoc_spine::relay::Partition;
use hoc_spine::requests::ListEvents;
use hoc_spine::{ActorType, EventEnvelope, OperationContext, Spine};
use tokio::sync::broadcast;

/// How often the watcher looks for events committed by other processes.
pub const POLL: Duration = Duration::from_millis(100);

/// Events a stream may fall behind the watcher before it reads from the database instead.
const BUFFER: usize = 1024;

/// The watcher's page of new events.
const PAGE: i64 = 500;

/// The event streams' watcher of this process.
#[derive(Debug, Clone)]
pub struct Fanout {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    spine: Spine,
    partitions: Mutex<HashMap<Partition, Watched>>,
    started: std::sync::Once,
}

#[derive(Debug)]
struct Watched {
    sender: broadcast::Sender<Arc<EventEnvelope>>,
    /// The highest `sequence_no` broadcast (or known to be before the first subscriber's start).
    delivered: i64,
}

impl Fanout {
    /// A watcher over `spine`'s database (its task starts with the first subscriber).
    pub fn new(spine: Spine) -> Self {
        Self {
            inner: Arc::new(Inner {
                spine,
                partitions: Mutex::new(HashMap::new()),
                started: std::sync::Once::new(),
            }),
        }
    }

    /// Subscribes to the partition of `ctx`, whose head was `head` when the caller read it (before this call): the
    /// receiver gets every event after the partition's broadcast point, which is at most `head` for a new partition.
    /// The caller reads from the database whatever it needs up to where the broadcasts begin.
    pub(crate) fn subscribe(
        &self,
        ctx: &OperationContext,
        head: i64,
    ) -> broadcast::Receiver<Arc<EventEnvelope>> {
        let partition = Partition {
            tenant_id: ctx.tenant_id().to_owned(),
            project_id: ctx.project_id().to_owned(),
        };
        let receiver = {
            let mut partitions = self.inner.lock();
            let watched = partitions.entry(partition).or_insert_with(|| Watched {
                sender: broadcast::channel(BUFFER).0,
                delivered: head,
            });
            watched.sender.subscribe()
        };
        let weak = Arc::downgrade(&self.inner);
        self.inner.started.call_once(|| {
            tokio::spawn(watch(weak, self.inner.spine.commits()));
        });
        receiver
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Partition, Watched>> {
        // A poisoned lock only means a panic elsewhere while holding it; the map is still whole.
        self.partitions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// One round: the heads of the watched partitions (one statement), then each partition that moved read once
    /// and broadcast. Partitions nobody listens to any more are dropped first.
    async fn round(&self) {
        let watched: Vec<(Partition, i64)> = {
            let mut partitions = self.lock();
            partitions.retain(|_, w| w.sender.receiver_count() > 0);
            partitions
                .iter()
                .map(|(p, w)| (p.clone(), w.delivered))
                .collect()
        };
        if watched.is_empty() {
            return;
        }
        let keys: Vec<Partition> = watched.iter().map(|(p, _)| p.clone()).collect();
        metrics::counter!("hoc_event_stream_watcher_polls_total").increment(1);
        metrics::gauge!("hoc_event_stream_watched_partitions").set(keys.len() as f64);
        let heads = match hoc_spine::relay::heads(self.spine.database(), &keys).await {
            Ok(heads) => heads,
            Err(e) => {
                tracing::warn!(error = %e, "the event streams' watcher cannot read the heads; retrying");
                return;
            }
        };
        for (partition, head) in heads {
            let Some(delivered) = watched
                .iter()
                .find(|(p, _)| *p == partition)
                .map(|(_, d)| *d)
            else {
                continue;
            };
            if head > delivered {
                self.deliver(&partition, delivered, head).await;
            }
        }
    }

    /// Reads the partition's events after `from` up to `head` once and broadcasts them.
    async fn deliver(&self, partition: &Partition, from: i64, head: i64) {
        let ctx =
            match OperationContext::new(&partition.tenant_id, ActorType::System, "hocd-streams")
                .and_then(|ctx| ctx.with_project(&partition.project_id))
            {
                Ok(ctx) => ctx,
                Err(e) => {
                    tracing::warn!(error = %e, "a watched partition names no valid context");
                    return;
                }
            };
        let mut after = from;
        while after < head {
            let page = match self
                .spine
                .call(
                    &ctx,
                    &ListEvents {
                        after: Some(after),
                        limit: Some(PAGE),
                    },
                )
                .await
            {
                Ok(page) => page,
                Err(e) => {
                    // The streams notice the gap at the next event, or read on their own after a lag.
                    tracing::warn!(error = %e, "the event streams' watcher cannot read new events; retrying");
                    return;
                }
            };
            if page.items.is_empty() {
                break;
            }
            let sender = match self.lock().get(partition) {
                Some(w) => w.sender.clone(),
                None => return,
            };
            for envelope in page.items {
                after = envelope.sequence_no;
                // No receiver left is not an error: the partition is dropped at the next round.
                let _ = sender.send(Arc::new(envelope));
            }
            if let Some(w) = self.lock().get_mut(partition) {
                w.delivered = w.delivered.max(after);
            }
        }
    }
}

/// The watcher's task: a round at every local commit and every [`POLL`]; it ends with the last handle.
async fn watch(inner: Weak<Inner>, mut commits: tokio::sync::watch::Receiver<u64>) {
    let mut commits_open = true;
    loop {
        if commits_open {
            tokio::select! {
                changed = commits.changed() => commits_open = changed.is_ok(),
                () = tokio::time::sleep(POLL) => {}
            }
        } else {
            tokio::time::sleep(POLL).await;
        }
        let Some(inner) = inner.upgrade() else {
            return;
        };
        inner.round().await;
    }
}
