//! sea-orm entities, one module per table. They must match `migration` column for column (name, type,
//! nullability, length); the storage-contract tests compare them.

pub mod analytics_artifacts;
pub mod api_keys;
pub mod audit_ledger;
pub mod event_outbox;
pub mod event_sequences;
pub mod idempotency_keys;
pub mod incident_timeline;
pub mod incidents;
pub mod postmortems;
