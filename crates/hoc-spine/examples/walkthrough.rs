//! Embeds the library on an SQLite file: creates, acknowledges and resolves an incident, shows its recurrence
//! group, then prints its timeline and the events the operations emitted.
//!
//! ```text
//! cargo run -p hoc-spine --example walkthrough [-- sqlite://path/to/file.db?mode=rwc]
//! ```
#![allow(clippy::print_stdout)]

use hoc_contracts::ActorType;
use hoc_drivers::Database;
use hoc_incidents::CreateIncident;
use hoc_spine::requests::{
    AcknowledgeIncident, GroupForIncident, IncidentTimeline, ListEvents, ResolveIncident,
};
use hoc_spine::{OperationContext, Spine};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "sqlite://walkthrough.db?mode=rwc".to_owned());
    println!("database: {url}");
    let db = Database::connect_and_migrate(&url).await?;
    let spine = Spine::new(db)?;

    let reporter = OperationContext::new("acme", ActorType::Sdk, "monitoring")?;
    let incident = spine
        .call(
            &reporter,
            &CreateIncident {
                title: Some("Checkout API returns 503".into()),
                severity: Some("critical".into()),
                category: Some("availability".into()),
                error_code: Some("HTTP-503".into()),
                error_message: Some("upstream connect error after 3 retries".into()),
                ..CreateIncident::default()
            },
        )
        .await?;
    println!(
        "created {} ({}, {})",
        incident.id, incident.status, incident.severity
    );

    let on_call = OperationContext::new("acme", ActorType::User, "alice")?;
    let acknowledged = spine
        .call(
            &on_call,
            &AcknowledgeIncident {
                id: incident.id.clone(),
                reason: Some("paged, looking at the load balancer".into()),
            },
        )
        .await?;
    println!(
        "acknowledged by {} at {} (version {})",
        acknowledged.acknowledged_by.as_deref().unwrap_or("?"),
        acknowledged
            .acknowledged_at
            .map(hoc_contracts::time_format::format_utc)
            .unwrap_or_default(),
        acknowledged.version
    );

    let resolved = spine
        .call(
            &on_call,
            &ResolveIncident {
                id: incident.id.clone(),
                resolution_type: Some("rollback".into()),
                resolution_summary: Some("rolled back the load balancer config".into()),
                ..ResolveIncident::default()
            },
        )
        .await?;
    println!(
        "resolved: {} ({})",
        resolved.status,
        resolved
            .resolution_type
            .map_or("?".to_owned(), |t| t.to_string())
    );

    let group = spine
        .call(
            &on_call,
            &GroupForIncident {
                id: incident.id.clone(),
                ..GroupForIncident::default()
            },
        )
        .await?;
    println!(
        "recurrence group {}…: {} incident(s), {} open, signature inputs {:?}",
        &group.recurrence_signature[..12],
        group.count,
        group.open_count,
        group.signature_inputs.map(|i| i.fields).unwrap_or_default()
    );

    println!("\ntimeline of {}:", incident.id);
    let timeline = spine
        .call(
            &on_call,
            &IncidentTimeline {
                id: incident.id.clone(),
            },
        )
        .await?;
    for entry in timeline.items {
        println!(
            "  #{} {:<13} {:>12} -> {:<12} by {}:{}  {}",
            entry.ordinal,
            entry.event_type,
            entry.from_state.map_or("-".to_owned(), |s| s.to_string()),
            entry.to_state,
            entry.actor_type,
            entry.actor_id,
            entry.description
        );
    }

    // The feed of the whole tenant: on a reused database file it shows earlier runs too.
    let events = spine.call(&on_call, &ListEvents::default()).await?;
    println!("\nevents of tenant acme (first page):");
    for event in events.items {
        println!("  {}", serde_json::to_string(&event.to_json())?);
    }
    Ok(())
}
