//! A typed consumer for linking services: envelopes from the stream the relay publishes to, per (tenant, project)
//! in `sequence_no` order, with duplicates dropped and gaps reported rather than hidden.

use std::collections::HashMap;

use async_nats::jetstream::{self, consumer::pull};
use futures_util::StreamExt;
use hoc_spine::EventEnvelope;

/// What the consumer hands out.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// The next event of its partition.
    Event(EventEnvelope),
    /// Events of a partition are missing before the next one (`expected` is the first missing `sequence_no`,
    /// `next` the one that arrived). The event itself follows as the next delivery.
    Gap {
        /// The tenant.
        tenant_id: String,
        /// The project.
        project_id: String,
        /// The first missing `sequence_no`.
        expected: i64,
        /// The `sequence_no` that arrived instead.
        next: i64,
    },
}

/// Where each partition stands: the last `sequence_no` handed out.
pub type Positions = HashMap<(String, String), i64>;

/// A pull consumer on the relay's stream.
pub struct EventConsumer {
    messages: pull::Stream,
    positions: Positions,
    queued: Option<EventEnvelope>,
    duplicates: u64,
}

impl std::fmt::Debug for EventConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventConsumer")
            .field("positions", &self.positions)
            .field("duplicates", &self.duplicates)
            .finish_non_exhaustive()
    }
}

impl EventConsumer {
    /// Consumes `stream` at `nats_url` from its start (or, with `durable`, from where that durable consumer
    /// stopped), only subjects matching `filter` (`hoc.events.>` for everything; `hoc.events.*.*.incidents.>` for
    /// the incident events). `positions` are the partitions' last handled `sequence_no`s (empty: expect 1).
    pub async fn connect(
        nats_url: &str,
        stream: &str,
        filter: &str,
        durable: Option<&str>,
        positions: Positions,
    ) -> Result<Self, String> {
        let client = async_nats::connect(crate::server_addrs(nats_url)?)
            .await
            .map_err(|e| format!("cannot connect to {nats_url}: {e}"))?;
        let js = jetstream::new(client);
        let stream = js
            .get_stream(stream)
            .await
            .map_err(|e| format!("no stream {stream}: {e}"))?;
        let config = pull::Config {
            durable_name: durable.map(str::to_owned),
            filter_subject: filter.to_owned(),
            ack_policy: jetstream::consumer::AckPolicy::Explicit,
            ..Default::default()
        };
        let consumer = stream
            .create_consumer(config)
            .await
            .map_err(|e| format!("cannot create the consumer: {e}"))?;
        let messages = consumer
            .messages()
            .await
            .map_err(|e| format!("cannot pull messages: {e}"))?;
        Ok(Self {
            messages,
            positions,
            queued: None,
            duplicates: 0,
        })
    }

    /// Duplicates dropped so far (redeliveries recognised by `sequence_no`).
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Where each partition stands (to resume from after a restart).
    pub fn positions(&self) -> &Positions {
        &self.positions
    }

    /// The next delivery; `None` when the connection ends. A message that is not a valid event is an error (and
    /// is acknowledged, so it is not redelivered forever).
    pub async fn next(&mut self) -> Option<Result<Delivery, String>> {
        if let Some(event) = self.queued.take() {
            return Some(Ok(self.hand_out(event)));
        }
        loop {
            let message = match self.messages.next().await? {
                Ok(message) => message,
                Err(e) => return Some(Err(format!("pulling from the stream failed: {e}"))),
            };
            let parsed = serde_json::from_slice(&message.payload)
                .map_err(|e| e.to_string())
                .and_then(|value| hoc_spine::from_cloudevent(&value));
            if let Err(e) = message.ack().await {
                return Some(Err(format!("cannot acknowledge a message: {e}")));
            }
            let event = match parsed {
                Ok(event) => event,
                Err(e) => return Some(Err(format!("not an event: {e}"))),
            };
            let key = (event.tenant_id.clone(), event.project_id.clone());
            let last = self.positions.get(&key).copied().unwrap_or(0);
            if event.sequence_no <= last {
                self.duplicates += 1;
                continue;
            }
            if event.sequence_no > last + 1 {
                let gap = Delivery::Gap {
                    tenant_id: event.tenant_id.clone(),
                    project_id: event.project_id.clone(),
                    expected: last + 1,
                    next: event.sequence_no,
                };
                self.queued = Some(event);
                return Some(Ok(gap));
            }
            return Some(Ok(self.hand_out(event)));
        }
    }

    fn hand_out(&mut self, event: EventEnvelope) -> Delivery {
        self.positions.insert(
            (event.tenant_id.clone(), event.project_id.clone()),
            event.sequence_no,
        );
        Delivery::Event(event)
    }
}
