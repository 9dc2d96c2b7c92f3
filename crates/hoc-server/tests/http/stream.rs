//! `GET /v1/events/stream`: Server-Sent Events of the caller's feed, live and resumable.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::Server;

/// An open event stream, read chunk by chunk.
struct EventStream {
    response: reqwest::Response,
    buffer: String,
}

impl EventStream {
    async fn open(server: &Server, key: &str, last_event_id: Option<i64>) -> Self {
        let mut request = reqwest::Client::new()
            .get(format!("{}/v1/events/stream", server.base))
            .bearer_auth(key);
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id.to_string());
        }
        let response = request.send().await.expect("stream opens");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next event as (id, event type, envelope), within `within`.
    async fn next(&mut self, within: Duration) -> (i64, String, Value) {
        let deadline = Instant::now() + within;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let field = |name: &str| {
                    block
                        .lines()
                        .find_map(|l| l.strip_prefix(name))
                        .map(|v| v.trim_start().to_owned())
                };
                let Some(id) = field("id:") else {
                    continue; // a heartbeat comment
                };
                return (
                    id.parse().expect("numeric id"),
                    field("event:").expect("event type"),
                    serde_json::from_str(&field("data:").expect("data")).expect("json data"),
                );
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let chunk = tokio::time::timeout(left, self.response.chunk())
                .await
                .expect("an event in time")
                .expect("readable")
                .expect("the stream stays open");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

async fn create(server: &Server, key: &str, n: usize) -> String {
    let body = server
        .created_incident(
            key,
            json!({ "title": format!("streamed {n}"), "severity": "low", "category": "events"}),
        )
        .await;
    body["id"].as_str().expect("id").to_owned()
}

hoc_spine::storage_test!(
    the_stream_is_live_and_resumes_without_loss_or_repeat,
    |db, url| {
        let _ = &db;
        let server = Server::start(&url).await;
        let key = server.key("acme", "alice", "write").await;
        let other = server.key("globex", "bob", "read").await;
        for n in 1..=3 {
            create(&server, &key, n).await;
        }
        let mut stream = EventStream::open(&server, &key, None).await;
        for expected in 1..=3 {
            let (id, event_type, envelope) = stream.next(Duration::from_secs(5)).await;
            assert_eq!(id, expected);
            assert_eq!(event_type, "incidents.IncidentCreated");
            assert_eq!(envelope["sequence_no"], expected);
            assert_eq!(envelope["tenant_id"], "acme");
        }
        // Live: a new event arrives right after its commit.
        let mut slowest = Duration::ZERO;
        for n in 4..=5 {
            let started = Instant::now();
            let incident = create(&server, &key, n).await;
            let (id, _, envelope) = stream.next(Duration::from_secs(5)).await;
            slowest = slowest.max(started.elapsed());
            assert_eq!(id, i64::try_from(n).unwrap());
            assert_eq!(envelope["data"]["incident_id"], incident.as_str());
        }
        assert!(
            slowest < Duration::from_secs(1),
            "an event took {slowest:?} from request to stream"
        );
        drop(stream);

        // Disconnected: two more, then resume after the last one seen.
        for n in 6..=7 {
            create(&server, &key, n).await;
        }
        let mut resumed = EventStream::open(&server, &key, Some(5)).await;
        for expected in 6..=7 {
            assert_eq!(resumed.next(Duration::from_secs(5)).await.0, expected);
        }
        // Nothing is repeated: the next event is a new one.
        create(&server, &key, 8).await;
        assert_eq!(resumed.next(Duration::from_secs(5)).await.0, 8);

        // Another tenant's stream shows none of it.
        let mut theirs = EventStream::open(&server, &other, None).await;
        let nothing = tokio::time::timeout(
            Duration::from_millis(500),
            theirs.next(Duration::from_secs(1)),
        )
        .await;
        assert!(nothing.is_err(), "another tenant's events leaked");

        // The same door as the feed: no key, no stream; a bad Last-Event-ID is refused.
        let (status, _) = server
            .call(Method::GET, "/v1/events/stream", None, None)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, _, _) = server
            .raw(
                Method::GET,
                "/v1/events/stream",
                Some(&key),
                None,
                &[("Last-Event-ID", "x")],
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _, _) = server
            .raw(
                Method::GET,
                "/v1/events/stream?after=-1",
                Some(&key),
                None,
                &[],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(server.stop().await.success());
    }
);

/// The value of an unlabelled counter in `hocd`'s `/metrics` (0 before it is first counted).
async fn counter(server: &Server, name: &str) -> f64 {
    let (status, _, text) = server.raw(Method::GET, "/metrics", None, None, &[]).await;
    assert_eq!(status, StatusCode::OK);
    text.lines()
        .find_map(|l| {
            l.strip_prefix(name)
                .and_then(|rest| rest.trim().parse().ok())
        })
        .unwrap_or(0.0)
}

// 200 idle streams on one `hocd` cost the database what one does: no stream reads while nothing happens, and the one
// watcher polls every 100 ms for all of them (about 10 times a second). A new event then reaches every stream
// within 100 ms of the write's answer (an upper bound: the streams are read one after another once it is answered).
hoc_spine::storage_test!(
    idle_streams_share_one_watcher_and_each_gets_every_event,
    |db, url| {
        let _ = &db;
        let _timed = crate::TIMED.lock().await;
        let server = Server::start(&url).await;
        let key = server.key("acme", "alice", "write").await;
        create(&server, &key, 0).await;
        let mut streams = Vec::new();
        for _ in 0..200 {
            streams.push(EventStream::open(&server, &key, None).await);
        }
        for stream in &mut streams {
            let (id, kind, _) = stream.next(Duration::from_secs(5)).await;
            assert_eq!(
                (id, kind.as_str()),
                (1, "incidents.IncidentCreated"),
                "each starts with the history"
            );
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (reads, polls) = (
            counter(&server, "hoc_event_stream_reads_total").await,
            counter(&server, "hoc_event_stream_watcher_polls_total").await,
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
        let (reads_after, polls_after) = (
            counter(&server, "hoc_event_stream_reads_total").await,
            counter(&server, "hoc_event_stream_watcher_polls_total").await,
        );
        assert_eq!(
            reads_after - reads,
            0.0,
            "idle streams read nothing themselves"
        );
        let watcher = polls_after - polls;
        assert!(
            (5.0..=15.0).contains(&watcher),
            "one watcher polls about 10 times a second for all 200 streams, not per stream: {watcher}"
        );

        create(&server, &key, 1).await;
        let answered = Instant::now();
        for stream in &mut streams {
            let (id, kind, _) = stream.next(Duration::from_secs(5)).await;
            assert_eq!((id, kind.as_str()), (2, "incidents.IncidentCreated"));
        }
        let all = answered.elapsed();
        assert!(
            all < Duration::from_millis(100),
            "every one of 200 streams had the event {all:?} after the write's answer"
        );
        server.stop().await;
    }
);
