//! sea-orm entities, one module per table. They must match `migration` column for column (name, type,
//! nullability, length); the storage-contract tests compare them.

pub mod analytics_artifacts;
pub mod api_keys;
pub mod audit_ledger;
pub mod console_sessions;
pub mod event_outbox;
pub mod event_prune_marks;
pub mod event_sequences;
pub mod grouping_configs;
pub mod grouping_templates;
pub mod idempotency_keys;
pub mod incident_alerts;
pub mod incident_notes;
pub mod incident_search;
pub mod incident_status_counts;
pub mod incident_timeline;
pub mod incidents;
pub mod ingest_deliveries;
pub mod ingest_policies;
pub mod postmortems;
pub mod recurrence_group_versions;
pub mod recurrence_groups;
pub mod relay_leases;
pub mod tenant_clocks;
