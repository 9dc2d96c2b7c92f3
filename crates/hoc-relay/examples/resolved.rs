//! Prints incidents as they resolve, from the events `hocd serve --nats-url` publishes:
//!
//! ```sh
//! cargo run -p hoc-relay --example resolved -- nats://127.0.0.1:4222 HOC_EVENTS hoc.events
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr)]

use hoc_relay::{Delivery, EventConsumer};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let url = args.first().map_or("nats://127.0.0.1:4222", String::as_str);
    let stream = args.get(1).map_or("HOC_EVENTS", String::as_str);
    let prefix = args.get(2).map_or("hoc.events", String::as_str);
    let filter = format!("{prefix}.*.*.incidents.IncidentResolved");
    let mut consumer =
        match EventConsumer::connect(url, stream, &filter, None, Default::default()).await {
            Ok(consumer) => consumer,
            Err(e) => {
                eprintln!("resolved: {e}");
                return std::process::ExitCode::FAILURE;
            }
        };
    println!("waiting for resolved incidents on {stream} ({filter})");
    while let Some(delivery) = consumer.next().await {
        match delivery {
            Ok(Delivery::Event(event)) => println!(
                "{} resolved {} in {}/{} ({}) by {}",
                event.occurred_at,
                event
                    .data
                    .get("incident_id")
                    .and_then(|v| v.as_str())
                    .unwrap_or("?"),
                event.tenant_id,
                event.project_id,
                event
                    .data
                    .get("resolution_type")
                    .and_then(|v| v.as_str())
                    .unwrap_or("?"),
                event.actor_id,
            ),
            // Filtered to one event type, sequence numbers of a partition skip the other types' events.
            Ok(Delivery::Gap { .. }) => {}
            Err(e) => eprintln!("resolved: {e}"),
        }
    }
    std::process::ExitCode::SUCCESS
}
