//! `GET /v1/events/stream?after=N`: the caller's events as Server-Sent Events (`id:` = `sequence_no`, `event:` =
//! event type, `data:` = the envelope JSON), resumable with `Last-Event-ID`, with a heartbeat comment every 15 s.
//! The same key scope, tenant and project as `GET /v1/events`. A stream reads the database only to start (and to
//! catch up after a gap or a lag); then it waits on the process's one watcher ([`crate::fanout`]), which a commit
//! in this process wakes at once and which polls every 100 ms — one statement for all streams — for other
//! instances' commits.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use hoc_spine::requests::{EventsPage, ListEvents, TailEvents};
use hoc_spine::{ErrorCode, EventEnvelope, OperationContext, OperationError, Spine};

use crate::request::{RequestId, authorize, read_query};
use crate::{ApiError, AppState, route_named};

hoc_spine::request! {
    /// Where the stream starts.
    pub(crate) struct StreamQuery => StreamStart {
        /// Exclusive lower bound of `sequence_no` (0, the default, for the start); `Last-Event-ID` wins.
        after: Option<i64> => optional hoc_spine::input::After,
    }
}

/// How long a stream whose broadcasts ended waits before reading the feed itself.
const POLL: Duration = crate::fanout::POLL;

fn last_event_id(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get("last-event-id") else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|n| *n >= 0)
        .map(Some)
        .ok_or_else(|| {
            ApiError::malformed("Last-Event-ID must be a sequence_no (a whole number ≥ 0)")
        })
}

pub(crate) async fn events_stream(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    match open(&state, &rid, &headers, &uri).await {
        Ok((ctx, first, head)) => sse(&state, ctx, first, head, true),
        Err(err) => err.into_response(),
    }
}

/// The caller's events after `after` as a live stream of unnamed events (a browser's `EventSource` hands every one
/// to `onmessage`; the type is in the envelope): the console's, which starts at the feed's end.
pub(crate) async fn follow(
    state: &AppState,
    ctx: OperationContext,
    after: i64,
    head: i64,
    rid: &RequestId,
) -> Result<Response, ApiError> {
    let first = state
        .spine
        .call(&ctx, &feed_page(after))
        .await
        .map_err(|err| ApiError::from_operation(err, &rid.0))?;
    Ok(sse(state, ctx, first, head, false))
}

/// The stream as a response, subscribed to the process's watcher (`head`: the partition's head, read before);
/// `named`: each event's SSE `event:` is its type.
fn sse(
    state: &AppState,
    ctx: OperationContext,
    first: EventsPage,
    head: i64,
    named: bool,
) -> Response {
    let broadcasts = state.events.subscribe(&ctx, head);
    Sse::new(stream(
        state.spine.clone(),
        ctx,
        first,
        broadcasts,
        state.closing.subscribe(),
        named,
    ))
    .keep_alive(
        KeepAlive::new()
            .interval(Duration::from_secs(15))
            .text("heartbeat"),
    )
    .into_response()
}

async fn open(
    state: &AppState,
    rid: &RequestId,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<(OperationContext, EventsPage, i64), ApiError> {
    let route = route_named("stream_events").ok_or_else(|| ApiError::internal(&rid.0))?;
    let ctx = authorize(state, headers, rid, route).await?;
    let (query, _) = read_query::<StreamQuery>(uri, Vec::new(), None)?;
    let start = query
        .parse()
        .map_err(|fields| ApiError::from_operation(OperationError::invalid(fields), &rid.0))?;
    let after = match last_event_id(headers)? {
        Some(id) => id,
        None => start.after.unwrap_or(0),
    };
    // The partition's head before subscribing: where the watcher's broadcasts may start for a new partition.
    let head = state
        .spine
        .call(&ctx, &TailEvents {})
        .await
        .map_err(|err| ApiError::from_operation(err, &rid.0))?
        .last_sequence_no;
    // The first page before the stream starts: what the feed refuses (a start below what retention pruned,
    // storage down) is an HTTP status, not a stream that never sends anything.
    let first = state
        .spine
        .call(&ctx, &feed_page(after))
        .await
        .map_err(|err| ApiError::from_operation(err, &rid.0))?;
    Ok((ctx, first, head))
}

/// One page of the feed after `after`.
fn feed_page(after: i64) -> ListEvents {
    // Every read a stream makes itself (to start, and to catch up after a gap or a lag): idle streams make none.
    metrics::counter!("hoc_event_stream_reads_total").increment(1);
    ListEvents {
        after: Some(after),
        limit: Some(500),
    }
}

struct Cursor {
    spine: Spine,
    ctx: OperationContext,
    after: i64,
    pending: VecDeque<EventEnvelope>,
    /// The process's watcher's broadcasts of this partition's new events.
    broadcasts: tokio::sync::broadcast::Receiver<std::sync::Arc<EventEnvelope>>,
    /// Whether the database may hold events after `after` that no broadcast will bring (at the start, after a
    /// gap or a lag): read them before waiting.
    catch_up: bool,
    closing: tokio::sync::watch::Receiver<bool>,
    named: bool,
}

fn stream(
    spine: Spine,
    ctx: OperationContext,
    first: EventsPage,
    broadcasts: tokio::sync::broadcast::Receiver<std::sync::Arc<EventEnvelope>>,
    closing: tokio::sync::watch::Receiver<bool>,
    named: bool,
) -> impl futures_util::Stream<Item = Result<Event, Infallible>> {
    let cursor = Cursor {
        spine,
        ctx,
        after: first.next_after,
        pending: first.items.into(),
        broadcasts,
        catch_up: true,
        closing,
        named,
    };
    futures_util::stream::unfold(cursor, |mut cursor| async move {
        loop {
            // The server is stopping: end the stream (the client resumes with Last-Event-ID elsewhere).
            if *cursor.closing.borrow() {
                return None;
            }
            if let Some(envelope) = cursor.pending.pop_front() {
                let event = Event::default().id(envelope.sequence_no.to_string());
                let event = if cursor.named {
                    event.event(envelope.event_type.clone())
                } else {
                    event
                };
                let event = event.data(envelope.to_json().to_string());
                return Some((Ok(event), cursor));
            }
            if !cursor.catch_up {
                use tokio::sync::broadcast::error::RecvError;
                tokio::select! {
                    received = cursor.broadcasts.recv() => match received {
                        Ok(envelope) if envelope.sequence_no <= cursor.after => {}
                        Ok(envelope) if envelope.sequence_no == cursor.after + 1 => {
                            cursor.after = envelope.sequence_no;
                            cursor.pending.push_back(EventEnvelope::clone(&envelope));
                        }
                        // A gap (events committed before this stream subscribed) or a lag: read them.
                        Ok(_) | Err(RecvError::Lagged(_)) => cursor.catch_up = true,
                        Err(RecvError::Closed) => {
                            tokio::time::sleep(POLL).await;
                            cursor.catch_up = true;
                        }
                    },
                    _ = cursor.closing.changed() => {}
                }
                continue;
            }
            let page = cursor
                .spine
                .call(&cursor.ctx, &feed_page(cursor.after))
                .await;
            match page {
                Ok(page) if !page.items.is_empty() => {
                    cursor.after = page.next_after;
                    cursor.pending.extend(page.items);
                }
                Ok(_) => cursor.catch_up = false,
                Err(err) if err.code() == ErrorCode::HistoryPruned => {
                    // Retention pruned past this stream's place: end it; reconnecting is answered 410, by name.
                    tracing::warn!(error = %err, "event stream: its place was pruned; ending it");
                    return None;
                }
                Err(err) => {
                    // Storage trouble: log it, wait, try again (the client keeps its place; heartbeats go on).
                    tracing::warn!(error = %err, "event stream: reading the feed failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    })
}
