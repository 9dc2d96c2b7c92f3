//! A link that loses one publish: the relay reaches the shared NATS server through a TCP relay of this test that
//! reads the client's side of the NATS protocol and swallows exactly one `HPUB` to the stream (the server never
//! sees it, so no PubAck comes), forwarding everything else both ways unchanged. That is what a stream leader
//! killed mid-batch does to the publishes in flight to it, made deterministic: with several publishes in flight,
//! the later ones are stored, and the lost one, sent again, lands after them.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;

/// A TCP relay to `upstream` that drops the `drop_at`-th (1-based) `HPUB` whose subject starts with `prefix`.
struct LossyLink {
    port: u16,
    /// The `Nats-Msg-Id` of the publish it dropped, once it has.
    dropped: Arc<Mutex<Option<String>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl LossyLink {
    async fn start(upstream: &'static str, prefix: String, drop_at: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let dropped = Arc::new(Mutex::new(None));
        let seen = Arc::new(Mutex::new(0usize));
        let accept = {
            let dropped = Arc::clone(&dropped);
            tokio::spawn(async move {
                while let Ok((client, _)) = listener.accept().await {
                    let server = TcpStream::connect(upstream).await.unwrap();
                    let (mut server_read, server_write) = server.into_split();
                    let (client_read, mut client_write) = client.into_split();
                    tokio::spawn(async move {
                        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
                    });
                    tokio::spawn(forward_losing_one(
                        client_read,
                        server_write,
                        prefix.clone(),
                        drop_at,
                        Arc::clone(&seen),
                        Arc::clone(&dropped),
                    ));
                }
            })
        };
        Self {
            port,
            dropped,
            accept,
        }
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

impl Drop for LossyLink {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Copies the client's protocol frames to the server, leaving out one `HPUB` as [`LossyLink`] says.
async fn forward_losing_one(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    prefix: String,
    drop_at: usize,
    seen: Arc<Mutex<usize>>,
    dropped: Arc<Mutex<Option<String>>>,
) {
    let mut pending: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        // Forward every whole frame in `pending`.
        while let Some(line_end) = pending.windows(2).position(|w| w == b"\r\n") {
            let line = String::from_utf8_lossy(&pending[..line_end]).into_owned();
            let words: Vec<&str> = line.split_whitespace().collect();
            let verb = words
                .first()
                .map(|w| w.to_ascii_uppercase())
                .unwrap_or_default();
            // PUB subject [reply] size / HPUB subject [reply] header-size total-size: a payload and CRLF follow.
            let payload = match verb.as_str() {
                "PUB" | "HPUB" => words.last().and_then(|n| n.parse::<usize>().ok()).unwrap() + 2,
                _ => 0,
            };
            let frame_len = line_end + 2 + payload;
            if pending.len() < frame_len {
                break;
            }
            let frame: Vec<u8> = pending.drain(..frame_len).collect();
            if verb == "HPUB" && words.get(1).is_some_and(|s| s.starts_with(&prefix)) {
                let mut count = seen.lock().unwrap();
                *count += 1;
                if *count == drop_at {
                    let text = String::from_utf8_lossy(&frame).into_owned();
                    let id = text
                        .lines()
                        .find_map(|l| l.strip_prefix("Nats-Msg-Id:"))
                        .map(|v| v.trim().to_owned())
                        .unwrap_or_default();
                    *dropped.lock().unwrap() = Some(id);
                    continue;
                }
            }
            if to.write_all(&frame).await.is_err() {
                return;
            }
        }
        match from.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => pending.extend_from_slice(&chunk[..n]),
        }
    }
}

hoc_spine::storage_test!(
    a_publish_lost_on_the_way_is_sent_again_before_anything_after_it,
    |db| {
        let spine = Spine::new(db.clone()).unwrap();
        let config = config(SHARED_NATS);
        // Two partitions of seven events each, all pending before the relay starts: each is one batch.
        let made = workload(&spine, 3).await;
        assert_eq!(made, 14);
        let link =
            LossyLink::start("127.0.0.1:4222", format!("{}.", config.subject_prefix), 3).await;
        let relay = Relay::start(
            spine.clone(),
            RelayConfig {
                nats_url: link.url(),
                ..config.clone()
            },
        )
        .unwrap();
        // The lost publish gets no PubAck: the relay gives up on it after JetStream's ack timeout (5 s).
        drained(&db, Duration::from_secs(30)).await;
        relay.stop().await;
        let lost = link.dropped.lock().unwrap().clone();
        let lost = lost.expect("the link lost a publish");
        let arrived = stream_messages(SHARED_NATS, &config.stream).await;
        assert!(
            arrived.iter().any(|(_, id, _)| *id == lost),
            "the lost event {lost} was sent again"
        );
        assert_delivered(&db, &config, &arrived).await;
    }
);
