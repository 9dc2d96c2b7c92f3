//! The relay against a real NATS JetStream (127.0.0.1:4222, or a private `nats-server` for the outage test), on
//! SQLite and PostgreSQL. Each test uses its own stream and subject prefix.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use hoc_relay::{Relay, RelayConfig};
use hoc_spine::requests::{AcknowledgeIncident, CreateIncident, ResolveIncident};
use hoc_spine::{ActorType, Database, OperationContext, Spine};
use serde_json::Value;

#[path = "relay/lossy_link.rs"]
mod lossy_link;

const SHARED_NATS: &str = "nats://127.0.0.1:4222";

fn config(url: &str) -> RelayConfig {
    let id = uuid::Uuid::now_v7().simple().to_string();
    RelayConfig {
        stream: format!("HOC_TEST_{id}"),
        subject_prefix: format!("hoctest.{id}"),
        lease_ttl: Duration::from_secs(2),
        poll: Duration::from_millis(100),
        ..RelayConfig::new(url)
    }
}

/// A mixed workload: two tenants, creates, acknowledges and resolves; returns how many events it made.
async fn workload(spine: &Spine, rounds: usize) -> usize {
    let mut events = 0;
    for n in 0..rounds {
        for tenant in ["acme", "glo.bex*"] {
            let ctx = OperationContext::new(tenant, ActorType::User, "alice").unwrap();
            let created = spine
                .call(
                    &ctx,
                    &CreateIncident {
                        title: Some(format!("relay {n}")),
                        severity: Some("high".into()),
                        category: Some("database".into()),
                        ..CreateIncident::default()
                    },
                )
                .await
                .unwrap();
            events += 1;
            if n % 2 == 0 {
                spine
                    .call(
                        &ctx,
                        &AcknowledgeIncident {
                            id: created.id.clone(),
                            reason: None,
                        },
                    )
                    .await
                    .unwrap();
                spine
                    .call(
                        &ctx,
                        &ResolveIncident {
                            id: created.id.clone(),
                            resolution_type: Some("hotfix".into()),
                            ..Default::default()
                        },
                    )
                    .await
                    .unwrap();
                events += 2;
            }
        }
    }
    events
}

/// Waits until the outbox has nothing pending (or panics after `within`).
async fn drained(db: &Database, within: Duration) {
    let started = Instant::now();
    loop {
        let backlog = hoc_spine::relay::backlog(db).await.unwrap();
        if backlog.events == 0 {
            return;
        }
        assert!(
            started.elapsed() < within,
            "{} events still pending after {within:?}",
            backlog.events
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `call` until it succeeds, a few times: a cluster that just lost a node can time out a request while it settles.
async fn settled<T, E: std::fmt::Display, F, Fut>(what: &str, mut call: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let mut tries = 0;
    loop {
        match call().await {
            Ok(value) => return Ok(value),
            Err(_) if tries < 10 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            Err(e) => return Err(format!("{what}: {e}")),
        }
    }
}

/// Every message of the stream, in stream order: (subject, Nats-Msg-Id, CloudEvent). Then the stream is deleted
/// (best effort: cleanup, not what is tested).
async fn stream_messages(url: &str, stream: &str) -> Vec<(String, String, Value)> {
    let client = async_nats::connect(hoc_relay::server_addrs(url).unwrap())
        .await
        .unwrap();
    let js = jetstream::new(client);
    let stream = settled("the stream", || js.get_stream(stream))
        .await
        .unwrap();
    let info = settled("its info", || stream.get_info()).await.unwrap();
    let last = info.state.last_sequence;
    let mut out = Vec::new();
    for seq in 1..=last {
        let message = settled("a message", || stream.get_raw_message(seq))
            .await
            .unwrap();
        let id = message
            .headers
            .get("Nats-Msg-Id")
            .map(|v| v.as_str().to_owned())
            .unwrap_or_default();
        out.push((
            message.subject.to_string(),
            id,
            serde_json::from_slice(&message.payload).unwrap(),
        ));
    }
    let _ = settled("deleting it", || js.delete_stream(&info.config.name)).await;
    out
}

/// Checks what arrived against the outbox: every event once, in `sequence_no` order per partition, with its
/// CloudEvents body, its id as `Nats-Msg-Id` and its subject.
async fn assert_delivered(
    db: &Database,
    config: &RelayConfig,
    arrived: &[(String, String, Value)],
) {
    let mut expected = BTreeMap::new();
    for tenant in ["acme", "glo.bex*"] {
        let reader = hoc_spine::relay::pending_partitions(db, 10).await.unwrap();
        assert!(reader.is_empty(), "still pending: {reader:?}");
        let ctx = OperationContext::new(tenant, ActorType::System, "test").unwrap();
        let spine = Spine::new(db.clone()).unwrap();
        let mut after = None;
        loop {
            let page = spine
                .call(
                    &ctx,
                    &hoc_spine::requests::ListEvents {
                        after,
                        limit: Some(500),
                    },
                )
                .await
                .unwrap();
            if page.items.is_empty() {
                break;
            }
            after = Some(page.next_after);
            for event in page.items {
                expected.insert(event.event_id.clone(), event);
            }
        }
    }
    assert_eq!(arrived.len(), expected.len(), "every event exactly once");
    let mut last_seq: BTreeMap<String, i64> = BTreeMap::new();
    for (subject, msg_id, body) in arrived {
        let event = expected
            .get(msg_id)
            .unwrap_or_else(|| panic!("unknown or repeated {msg_id}"));
        assert_eq!(body, &hoc_spine::to_cloudevent(event));
        assert_eq!(
            subject,
            &hoc_relay::subject(
                &config.subject_prefix,
                &event.tenant_id,
                &event.project_id,
                &event.event_type
            )
        );
        let partition = format!("{}/{}", event.tenant_id, event.project_id);
        let previous = last_seq.insert(partition, event.sequence_no).unwrap_or(0);
        assert_eq!(event.sequence_no, previous + 1, "in order, without gaps");
    }
    let mut ids: Vec<_> = arrived.iter().map(|(_, id, _)| id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), arrived.len(), "no event twice");
}

hoc_spine::storage_test!(
    every_event_arrives_once_in_order_with_its_cloudevent,
    |db| {
        let spine = Spine::new(db.clone()).unwrap();
        let config = config(SHARED_NATS);
        let relay = Relay::start(spine.clone(), config.clone()).unwrap();
        let made = workload(&spine, 10).await;
        drained(&db, Duration::from_secs(20)).await;
        let status = relay.status();
        let started = Instant::now();
        while !status.connected() {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "the relay never reported NATS connected"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(status.published(), made as u64);
        relay.stop().await;
        let arrived = stream_messages(SHARED_NATS, &config.stream).await;
        assert_delivered(&db, &config, &arrived).await;
    }
);

hoc_spine::storage_test!(
    a_relay_that_dies_is_taken_over_and_nothing_is_lost_or_reordered,
    |db| {
        let spine = Spine::new(db.clone()).unwrap();
        let config = config(SHARED_NATS);
        // Three instances on one database (the same stream), each with its own lease holder.
        let instances: Vec<Relay> = (0..3)
            .map(|n| {
                Relay::start(
                    spine.clone(),
                    RelayConfig {
                        holder: format!("instance_{n}_{}", config.holder),
                        ..config.clone()
                    },
                )
                .unwrap()
            })
            .collect();
        let load = {
            let spine = spine.clone();
            tokio::spawn(async move { workload(&spine, 20).await })
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        // The first instance dies mid-load, without releasing its leases (as a kill -9 would).
        let mut instances = instances.into_iter();
        instances.next().unwrap().stop().await;
        let made = load.await.unwrap();
        drained(&db, Duration::from_secs(20)).await;
        let published: u64 = instances.map(|r| r.status().published()).sum();
        assert!(published > 0);
        assert!(made > 0);
        let arrived = stream_messages(SHARED_NATS, &config.stream).await;
        assert_delivered(&db, &config, &arrived).await;
    }
);

/// A private `nats-server` with JetStream on a free port, its store in a temporary directory.
struct PrivateNats {
    child: Option<std::process::Child>,
    port: u16,
    store: std::path::PathBuf,
}

impl PrivateNats {
    fn start() -> Self {
        let port = free_port();
        let store =
            std::env::temp_dir().join(format!("hoc-nats-{}", uuid::Uuid::now_v7().simple()));
        let mut nats = Self {
            child: None,
            port,
            store,
        };
        nats.resume();
        nats
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn resume(&mut self) {
        let child = std::process::Command::new("nats-server")
            .args([
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-sd",
            ])
            .arg(&self.store)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("nats-server runs (Debian's nats-server package)");
        self.child = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the private nats-server did not come up");
    }

    fn pause(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateNats {
    fn drop(&mut self) {
        self.pause();
        let _ = std::fs::remove_dir_all(&self.store);
    }
}

hoc_spine::storage_test!(
    nats_down_for_ten_seconds_loses_no_write_and_the_backlog_drains_in_order,
    |db| {
        let mut nats = PrivateNats::start();
        let spine = Spine::new(db.clone()).unwrap();
        let config = config(&nats.url());
        let relay = Relay::start(spine.clone(), config.clone()).unwrap();
        workload(&spine, 4).await;
        drained(&db, Duration::from_secs(20)).await;

        nats.pause();
        let down = Instant::now();
        // Writes keep succeeding while NATS is down: the outbox is the buffer.
        let mut during = 0;
        while down.elapsed() < Duration::from_secs(10) {
            during += workload(&spine, 1).await;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let backlog = hoc_spine::relay::backlog(&db).await.unwrap();
        assert_eq!(
            backlog.events, during as i64,
            "everything written while NATS was down waits"
        );
        assert!(!relay.status().connected(), "the relay knows NATS is down");

        nats.resume();
        drained(&db, Duration::from_secs(30)).await;
        // The status is refreshed around each pass.
        let started = Instant::now();
        while !relay.status().connected() {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "the relay never saw NATS back"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        relay.stop().await;
        let arrived = stream_messages(&nats.url(), &config.stream).await;
        assert_delivered(&db, &config, &arrived).await;
    }
);

hoc_spine::storage_test!(
    the_consumer_yields_in_order_drops_duplicates_and_reports_gaps,
    |db| {
        let spine = Spine::new(db.clone()).unwrap();
        let config = config(SHARED_NATS);
        let relay = Relay::start(spine.clone(), config.clone()).unwrap();
        let made = workload(&spine, 3).await;
        drained(&db, Duration::from_secs(20)).await;
        relay.stop().await;

        let mut consumer = hoc_relay::EventConsumer::connect(
            SHARED_NATS,
            &config.stream,
            &format!("{}.>", config.subject_prefix),
            None,
            Default::default(),
        )
        .await
        .unwrap();
        let mut last: BTreeMap<String, i64> = BTreeMap::new();
        let mut sample = None;
        for _ in 0..made {
            let delivery = tokio::time::timeout(Duration::from_secs(5), consumer.next())
                .await
                .expect("in time")
                .expect("open")
                .expect("an event");
            let hoc_relay::Delivery::Event(event) = delivery else {
                panic!("a gap in a complete stream: {delivery:?}");
            };
            let previous = last
                .insert(event.tenant_id.clone(), event.sequence_no)
                .unwrap_or(0);
            assert_eq!(event.sequence_no, previous + 1);
            sample.get_or_insert(event);
        }
        let sample = sample.unwrap();

        // A redelivery (same sequence_no, a new message id so JetStream keeps it) is dropped; a jump is reported.
        let client = async_nats::connect(SHARED_NATS).await.unwrap();
        let js = jetstream::new(client);
        let subject = hoc_relay::subject(
            &config.subject_prefix,
            &sample.tenant_id,
            &sample.project_id,
            &sample.event_type,
        );
        let mut duplicate = hoc_spine::to_cloudevent(&sample);
        duplicate["id"] = "evt_redelivered".into();
        js.publish(subject.clone(), duplicate.to_string().into())
            .await
            .unwrap()
            .await
            .unwrap();
        let top = last[&sample.tenant_id];
        let mut jumped = sample.clone();
        jumped.sequence_no = top + 5;
        jumped.event_id = "evt_after_a_gap".into();
        js.publish(
            subject,
            hoc_spine::to_cloudevent(&jumped).to_string().into(),
        )
        .await
        .unwrap()
        .await
        .unwrap();
        let gap = tokio::time::timeout(Duration::from_secs(5), consumer.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(
            gap,
            hoc_relay::Delivery::Gap {
                tenant_id: sample.tenant_id.clone(),
                project_id: sample.project_id.clone(),
                expected: top + 1,
                next: top + 5,
            }
        );
        assert_eq!(consumer.duplicates(), 1);
        let after = tokio::time::timeout(Duration::from_secs(5), consumer.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(after, hoc_relay::Delivery::Event(jumped));
        js.delete_stream(&config.stream).await.unwrap();
    }
);

hoc_spine::storage_test!(
    pruning_removes_only_published_events_past_the_retention,
    |db| {
        let spine = Spine::new(db.clone()).unwrap();
        let made = workload(&spine, 2).await as i64;
        let partitions = hoc_spine::relay::pending_partitions(&db, 10).await.unwrap();
        assert_eq!(partitions.len(), 2);
        // Publish the first partition's events "an hour ago" (as a relay holding its lease would mark them).
        let first = &partitions[0];
        assert!(
            hoc_spine::relay::claim(&db, first, "pruner", 0, i64::MAX / 2)
                .await
                .unwrap()
        );
        let hour_ago = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
        let marked =
            hoc_spine::relay::mark_published(&db, first, "pruner", i64::MAX, hour_ago.into())
                .await
                .unwrap();
        assert!(marked > 0);
        // Kept by default: pruning is an opt-in.
        assert_eq!(RelayConfig::new(SHARED_NATS).retention, None);
        let ctx = OperationContext::new(&first.tenant_id, ActorType::System, "test").unwrap();
        let feed = |after: i64| hoc_spine::requests::ListEvents {
            after: Some(after),
            limit: Some(500),
        };
        let whole = spine.call(&ctx, &feed(0)).await.unwrap();
        // A retention of two hours keeps them; of thirty minutes removes them — and never an unpublished event.
        let two_hours = time::OffsetDateTime::now_utc() - time::Duration::hours(2);
        assert_eq!(
            hoc_spine::relay::prune(&db, two_hours.into(), 2 * 3600)
                .await
                .unwrap(),
            0
        );
        assert_eq!(spine.call(&ctx, &feed(0)).await.unwrap(), whole);
        let half_hour = time::OffsetDateTime::now_utc() - time::Duration::minutes(30);
        assert_eq!(
            hoc_spine::relay::prune(&db, half_hour.into(), 1800)
                .await
                .unwrap(),
            marked
        );
        // A read from below what was pruned is refused by name, never answered with a shorter list; from the mark
        // on it is what it was.
        let pruned_through = i64::try_from(marked).unwrap();
        for after in [0, pruned_through - 1] {
            match spine.call(&ctx, &feed(after)).await {
                Err(hoc_spine::OperationError::HistoryPruned {
                    project_id,
                    pruned_through: through,
                    retention_seconds,
                }) => {
                    assert_eq!(project_id, first.project_id);
                    assert_eq!(through, pruned_through);
                    assert_eq!(retention_seconds, 1800);
                }
                other => panic!("after={after}: expected history_pruned, got {other:?}"),
            }
        }
        let rest = spine.call(&ctx, &feed(pruned_through)).await.unwrap();
        assert!(
            rest.items.is_empty(),
            "every event of the partition was published and pruned"
        );
        assert_eq!(rest.next_after, pruned_through);
        // The other partition was not pruned: its feed is whole.
        let other =
            OperationContext::new(&partitions[1].tenant_id, ActorType::System, "test").unwrap();
        assert_eq!(
            spine.call(&other, &feed(0)).await.unwrap().items.len() as i64,
            made - marked as i64
        );
        let backlog = hoc_spine::relay::backlog(&db).await.unwrap();
        assert_eq!(
            backlog.events,
            made - marked as i64,
            "every unpublished event is still there"
        );
        // Marking needs the lease: another holder marks nothing.
        let second = &partitions[1];
        assert_eq!(
            hoc_spine::relay::mark_published(
                &db,
                second,
                "not_the_holder",
                i64::MAX,
                hour_ago.into()
            )
            .await
            .unwrap(),
            0
        );
    }
);

/// A private three-node NATS cluster with JetStream on loopback, each node with its own store.
struct PrivateCluster {
    children: Vec<std::process::Child>,
    ports: Vec<u16>,
    store: std::path::PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl PrivateCluster {
    fn start() -> Self {
        let store = std::env::temp_dir().join(format!(
            "hoc-nats-cluster-{}",
            uuid::Uuid::now_v7().simple()
        ));
        let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let routes: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let route_list = routes
            .iter()
            .map(|p| format!("nats://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",");
        let children = (0..3)
            .map(|n| {
                std::process::Command::new("nats-server")
                    .args(["-js", "-a", "127.0.0.1", "-p", &ports[n].to_string()])
                    .args(["-n", &format!("hoc-node-{n}"), "--cluster_name", "hoc"])
                    .args(["--cluster", &format!("nats://127.0.0.1:{}", routes[n])])
                    .args(["--routes", &route_list])
                    .arg("-sd")
                    .arg(store.join(n.to_string()))
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .expect("nats-server runs (Debian's nats-server package)")
            })
            .collect();
        let cluster = Self {
            children,
            ports,
            store,
        };
        for port in &cluster.ports {
            let started = Instant::now();
            while std::net::TcpStream::connect(("127.0.0.1", *port)).is_err() {
                assert!(
                    started.elapsed() < Duration::from_secs(10),
                    "a cluster node did not come up"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        cluster
    }

    /// Every node's address, comma-separated, as `--nats-url` takes them.
    fn url(&self) -> String {
        self.ports
            .iter()
            .map(|p| format!("nats://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.store);
    }
}

hoc_spine::storage_test!(
    several_comma_separated_addresses_reach_a_three_node_cluster,
    |db| {
        let cluster = PrivateCluster::start();
        let url = cluster.url();
        assert_eq!(url.split(',').count(), 3);
        hoc_relay::validate_url(&url).unwrap();
        let spine = Spine::new(db.clone()).unwrap();
        let config = config(&url);
        let relay = Relay::start(spine.clone(), config.clone()).unwrap();
        let made = workload(&spine, 5).await;
        // A new cluster elects its JetStream leader first: allow for that.
        drained(&db, Duration::from_secs(60)).await;
        let status = relay.status();
        assert!(
            status.connected(),
            "the relay reports the cluster connected"
        );
        assert_eq!(status.published(), made as u64);
        relay.stop().await;
        let arrived = stream_messages(&url, &config.stream).await;
        assert_delivered(&db, &config, &arrived).await;
    }
);

impl PrivateCluster {
    /// Kills node `n` with SIGKILL (no shutdown: what a crashed machine does).
    fn kill(&mut self, n: usize) {
        let _ = self.children[n].kill();
        let _ = self.children[n].wait();
    }

    /// The addresses of every node but `n`.
    fn url_without(&self, n: usize) -> String {
        self.ports
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != n)
            .map(|(_, p)| format!("nats://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// The stream's configured replicas and the name of the node leading it, once it has a leader.
async fn stream_leader(url: &str, stream: &str) -> (usize, String) {
    let client = async_nats::connect(hoc_relay::server_addrs(url).unwrap())
        .await
        .unwrap();
    let js = jetstream::new(client);
    let started = Instant::now();
    loop {
        if let Ok(mut found) = js.get_stream(stream).await
            && let Ok(info) = found.info().await
            && let Some(leader) = info.cluster.as_ref().and_then(|c| c.leader.clone())
        {
            return (info.config.num_replicas, leader);
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the stream {stream} has no leader"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

hoc_spine::storage_test!(
    the_stream_leader_killed_under_load_loses_and_reorders_nothing,
    |db| {
        let mut cluster = PrivateCluster::start();
        let url = cluster.url();
        let spine = Spine::new(db.clone()).unwrap();
        let config = config(&url);
        // Three addresses: the relay creates the stream with three replicas.
        assert_eq!(config.replicas(), 3);
        let relay = Relay::start(spine.clone(), config.clone()).unwrap();
        // The load runs until it is stopped, a second after the kill.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let (spine, stop) = (spine.clone(), stop.clone());
            tokio::spawn(async move {
                let mut made = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    made += workload(&spine, 1).await;
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
                made
            })
        };
        // Under load: the relay has published some of it.
        let started = Instant::now();
        while relay.status().published() < 20 {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "nothing published to the new cluster"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let (replicas, leader) = stream_leader(&url, &config.stream).await;
        assert_eq!(replicas, 3);
        let killed: usize = leader
            .strip_prefix("hoc-node-")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("leader {leader}"));
        cluster.kill(killed);
        tokio::time::sleep(Duration::from_secs(1)).await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let made = writer.await.unwrap();
        drained(&db, Duration::from_secs(60)).await;
        relay.stop().await;
        let survivors = cluster.url_without(killed);
        let (_, new_leader) = stream_leader(&survivors, &config.stream).await;
        assert_ne!(new_leader, leader, "a survivor leads the stream");
        let arrived = stream_messages(&survivors, &config.stream).await;
        assert_eq!(arrived.len(), made);
        assert_delivered(&db, &config, &arrived).await;
    }
);
