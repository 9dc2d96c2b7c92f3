//! The accept loop: connection hygiene that axum's `serve` does not give.
//!
//! - **At most `max_connections` at once**, below the process's file-descriptor limit (see [`connection_cap`]).
//!   At the cap the loop still accepts the next connection, then makes room for it by closing the connection that
//!   has waited longest for a request — idle between requests, or with its request head incomplete — as servers
//!   short of connections do (nginx reuses its idle keep-alive connections the same way). A flood of silent
//!   connections therefore cannot lock a real client out: each newcomer displaces the stalest of them. Only when
//!   every connection has a request in flight does a newcomer wait (accepted, unanswered) until one finishes.
//! - **Header-read timeout**: once a byte of a request head has arrived, the whole head must arrive within it,
//!   counted from when the connection opened or answered its previous request — this ends slowloris connections
//!   that trickle one byte at a time.
//! - **Idle timeout**: a connection that has sent nothing since it opened or since its last response is closed
//!   after it.
//! - **Request timeout** (in [`crate::app`]): a request that runs longer is answered 503 with `Retry-After`; its
//!   work is dropped, which rolls its transaction back.
//!
//! Each limit logs when it acts (a connection closed, the cap reached), at `warn` or `info`.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

/// The limits of [`serve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeConfig {
    /// How long a client has to send a request head.
    pub header_read_timeout: Duration,
    /// How long a connection may sit with no request in flight and no traffic.
    pub idle_timeout: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 1024,
        }
    }
}

/// At the cap, how many connections one eviction round closes: the cap divided by this (at least one).
const EVICTION_BATCH_DIVISOR: usize = 32;

/// File descriptors kept free of client connections: the database pool, the listener, logs, files.
const RESERVED_FDS: u64 = 64;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit and returns how many connections fit below it (the limit
/// minus [`RESERVED_FDS`]), or `None` where the limit cannot be read.
pub fn connection_cap() -> Option<usize> {
    let limit = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read or raise the file-descriptor limit");
            return None;
        }
    };
    let cap = limit.saturating_sub(RESERVED_FDS).max(1);
    tracing::info!(
        nofile = limit,
        cap,
        "file-descriptor limit raised to the hard limit"
    );
    Some(usize::try_from(cap).unwrap_or(usize::MAX))
}

/// Serves `app` on `listener` with `config` until `shutdown` completes; then stops accepting, lets in-flight
/// requests finish and closes idle connections.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let permits = Arc::new(Semaphore::new(config.max_connections.max(1)));
    let (stop_tx, stop_rx) = watch::channel(false);
    let open = Arc::new(AtomicUsize::new(0));
    let connections = Arc::new(Connections::default());
    let epoch = Instant::now();
    tokio::pin!(shutdown);
    // The cap's warning, at most every 10 s, with how many connections were closed to make room since the last.
    let mut warned_full: Option<Instant> = None;
    let mut evicted_since_warning = 0_u64;
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // EMFILE/ENFILE and aborted handshakes: log, back off briefly, keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let permit = if let Ok(permit) = Arc::clone(&permits).try_acquire_owned() {
            permit
        } else {
            // At the cap: make room by closing the connections that have waited longest for a request. A batch
            // at a time (1/32 of the cap), so the connections queued behind this one are accepted without each
            // waiting for its own eviction: under a flood that reconnects, a real client's place in the backlog
            // is reached in a few rounds, not one round per flood connection ahead of it.
            let batch = (config.max_connections / EVICTION_BATCH_DIVISOR).max(1);
            let mut evicted = 0_u64;
            let permit = loop {
                evicted += u64::try_from(connections.evict_stalest(batch)).unwrap_or(u64::MAX);
                tokio::select! {
                    permit = Arc::clone(&permits).acquire_owned() => break permit.ok(),
                    // The chosen one may have started a request meanwhile (it then stays): choose again.
                    () = tokio::time::sleep(Duration::from_millis(100)) => {}
                    () = &mut shutdown => break None,
                }
            };
            evicted_since_warning += evicted;
            if warned_full.is_none_or(|at| at.elapsed() >= Duration::from_secs(10)) {
                tracing::warn!(
                    max_connections = config.max_connections,
                    closed_to_make_room = evicted_since_warning,
                    "connection cap reached; closing the connections that waited longest for a request \
                     (idle, or with an incomplete request head) to make room for new ones"
                );
                warned_full = Some(Instant::now());
                evicted_since_warning = 0;
            }
            match permit {
                Some(permit) => permit,
                None => break,
            }
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let mut stop = stop_rx.clone();
        let open = Arc::clone(&open);
        open.fetch_add(1, Ordering::Relaxed);
        let activity = Arc::new(Activity::new(epoch));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let registered = connections.register(Arc::clone(&activity), Arc::clone(&in_flight));
        let connections = Arc::clone(&connections);
        tokio::spawn(async move {
            let _permit = permit;
            let io = TokioIo::new(Watched {
                inner: stream,
                activity: Arc::clone(&activity),
            });
            let service = {
                let in_flight = Arc::clone(&in_flight);
                let activity = Arc::clone(&activity);
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let app = app.clone();
                    let in_flight = Arc::clone(&in_flight);
                    let activity = Arc::clone(&activity);
                    in_flight.fetch_add(1, Ordering::AcqRel);
                    async move {
                        let response =
                            tower::ServiceExt::oneshot(app, req.map(axum::body::Body::new)).await;
                        // The request is in flight until its body is sent (a stream may run for hours).
                        let guard = InFlight {
                            in_flight,
                            activity,
                        };
                        response.map(|r| {
                            r.map(|body| {
                                axum::body::Body::new(Guarded {
                                    body,
                                    _guard: guard,
                                })
                            })
                        })
                    }
                })
            };
            // Both timeouts are kept here rather than by hyper, whose header-read timer also runs while a
            // keep-alive connection waits for its next request (which would make the idle timeout moot).
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(None);
            let conn = builder.serve_connection(io, service);
            tokio::pin!(conn);
            let check_every = (config.header_read_timeout.min(config.idle_timeout) / 4)
                .clamp(Duration::from_millis(50), Duration::from_secs(1));
            let mut closing = false;
            loop {
                tokio::select! {
                    result = conn.as_mut() => {
                        if let Err(e) = result {
                            tracing::debug!(%peer, error = %e, "connection ended with an error");
                        }
                        break;
                    }
                    () = tokio::time::sleep(check_every) => {
                        if in_flight.load(Ordering::Acquire) > 0 {
                            continue;
                        }
                        let (waiting, reading) = activity.waiting();
                        if reading && waiting >= config.header_read_timeout {
                            tracing::warn!(%peer, timeout_ms = config.header_read_timeout.as_millis() as u64,
                                "closing a connection that did not send its request head in time");
                            break;
                        }
                        if !reading && waiting >= config.idle_timeout {
                            tracing::info!(%peer, timeout_ms = config.idle_timeout.as_millis() as u64,
                                "closing an idle connection");
                            break;
                        }
                    }
                    changed = stop.changed(), if !closing => {
                        let _ = changed;
                        conn.as_mut().graceful_shutdown();
                        closing = true;
                    }
                    () = registered.evict.notified() => {
                        if in_flight.load(Ordering::Acquire) == 0 {
                            tracing::debug!(%peer, "closing a connection waiting for a request, to make room");
                            break;
                        }
                    }
                }
            }
            connections.remove(registered.id);
            open.fetch_sub(1, Ordering::Relaxed);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // In-flight requests finish; connections close as their responses go out.
    let deadline = Instant::now() + Duration::from_secs(30);
    while open.load(Ordering::Relaxed) > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// The open connections, for choosing which to close when a new one needs room.
#[derive(Debug, Default)]
struct Connections {
    next_id: AtomicU64,
    open: std::sync::Mutex<std::collections::HashMap<u64, Arc<Registered>>>,
}

/// One open connection as [`Connections`] sees it.
#[derive(Debug)]
struct Registered {
    id: u64,
    activity: Arc<Activity>,
    in_flight: Arc<AtomicUsize>,
    /// Asks the connection to close if it is still waiting for a request.
    evict: tokio::sync::Notify,
}

impl Connections {
    fn register(&self, activity: Arc<Activity>, in_flight: Arc<AtomicUsize>) -> Arc<Registered> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let registered = Arc::new(Registered {
            id,
            activity,
            in_flight,
            evict: tokio::sync::Notify::new(),
        });
        if let Ok(mut open) = self.open.lock() {
            open.insert(id, Arc::clone(&registered));
        }
        registered
    }

    fn remove(&self, id: u64) {
        if let Ok(mut open) = self.open.lock() {
            open.remove(&id);
        }
    }

    /// Asks up to `count` connections that have waited longest for a request (no request in flight: idle between
    /// requests, or the head incomplete) to close, and returns how many were asked; 0 when every connection has a
    /// request in flight.
    fn evict_stalest(&self, count: usize) -> usize {
        let Ok(open) = self.open.lock() else {
            return 0;
        };
        let mut waiting: Vec<(u64, u64, &Arc<Registered>)> = open
            .values()
            .filter(|c| c.in_flight.load(Ordering::Acquire) == 0)
            .map(|c| (c.activity.waiting_since(), c.id, c))
            .collect();
        let count = count.min(waiting.len());
        if count == 0 {
            return 0;
        }
        if count < waiting.len() {
            waiting.select_nth_unstable_by_key(count - 1, |&(since, id, _)| (since, id));
        }
        for (_, _, connection) in &waiting[..count] {
            connection.evict.notify_one();
        }
        count
    }
}

/// What a connection is waiting for: since when it has been waiting for a request head (it opened, or its last
/// response was handed over), and whether a byte of that head has arrived. Instants are microseconds since the
/// server's `epoch`, so connections compare.
#[derive(Debug)]
struct Activity {
    start: Instant,
    waiting_since_micros: AtomicU64,
    last_read_micros: AtomicU64,
}

impl Activity {
    fn new(epoch: Instant) -> Self {
        let activity = Self {
            start: epoch,
            waiting_since_micros: AtomicU64::new(0),
            last_read_micros: AtomicU64::new(0),
        };
        activity
            .waiting_since_micros
            .store(activity.now_micros(), Ordering::Relaxed);
        activity
    }

    /// Since when it has been waiting for a request (microseconds since the epoch).
    fn waiting_since(&self) -> u64 {
        self.waiting_since_micros.load(Ordering::Relaxed)
    }

    fn now_micros(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    fn read(&self) {
        self.last_read_micros
            .store(self.now_micros(), Ordering::Relaxed);
    }

    fn responded(&self) {
        self.waiting_since_micros
            .store(self.now_micros(), Ordering::Relaxed);
    }

    /// How long it has been waiting for a request head, and whether part of one has arrived.
    fn waiting(&self) -> (Duration, bool) {
        let since = self.waiting_since_micros.load(Ordering::Relaxed);
        let read = self.last_read_micros.load(Ordering::Relaxed);
        let waited = Duration::from_micros(self.now_micros().saturating_sub(since));
        (waited, read > since)
    }
}

/// A stream that records its traffic in an [`Activity`].
struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Ends a request's time in flight when its response body is done or dropped.
struct InFlight {
    in_flight: Arc<AtomicUsize>,
    activity: Arc<Activity>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.activity.responded();
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that holds its request's [`InFlight`] until it is dropped.
struct Guarded {
    body: axum::body::Body,
    _guard: InFlight,
}

impl http_body::Body for Guarded {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiting_for(
        connections: &Connections,
        epoch: Instant,
        since_micros: u64,
    ) -> Arc<Registered> {
        let activity = Arc::new(Activity::new(epoch));
        activity
            .waiting_since_micros
            .store(since_micros, Ordering::Relaxed);
        connections.register(activity, Arc::new(AtomicUsize::new(0)))
    }

    async fn asked_to_close(connection: &Registered) -> bool {
        tokio::time::timeout(Duration::from_millis(10), connection.evict.notified())
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn eviction_asks_the_longest_waiting_connections_and_never_one_with_a_request_in_flight()
    {
        let epoch = Instant::now();
        let connections = Connections::default();
        let newest = waiting_for(&connections, epoch, 500);
        let oldest_busy = waiting_for(&connections, epoch, 10);
        oldest_busy.in_flight.store(1, Ordering::Release);
        let second = waiting_for(&connections, epoch, 200);
        let first = waiting_for(&connections, epoch, 100);
        let third = waiting_for(&connections, epoch, 300);

        assert_eq!(connections.evict_stalest(2), 2);
        assert!(asked_to_close(&first).await);
        assert!(asked_to_close(&second).await);
        assert!(!asked_to_close(&third).await);
        assert!(!asked_to_close(&newest).await);
        assert!(!asked_to_close(&oldest_busy).await);

        // More asked for than are waiting: every waiting one, still not the busy one.
        assert_eq!(connections.evict_stalest(10), 4);
        assert!(!asked_to_close(&oldest_busy).await);
        for connection in [&first, &second, &third, &newest] {
            assert!(asked_to_close(connection).await);
        }
        connections.remove(first.id);
        connections.remove(second.id);
        connections.remove(third.id);
        connections.remove(newest.id);
        assert_eq!(
            connections.evict_stalest(1),
            0,
            "only a busy connection is left"
        );
    }
}
