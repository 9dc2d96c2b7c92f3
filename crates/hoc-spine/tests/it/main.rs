//! Spine tests: registry rules, the create/acknowledge slice through every layer, rollback, concurrency.
//! Every storage test runs on SQLite and, when `HOC_TEST_DATABASE_URL` is set, on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod concurrency;
mod registry;
mod rollback;
mod slice;

use hoc_contracts::ActorType;
use hoc_drivers::Database;
use hoc_incidents::{CreateIncident, Incident};
use hoc_spine::{OperationContext, Spine};

pub(crate) fn ctx(tenant: &str) -> OperationContext {
    OperationContext::new(tenant, ActorType::User, "alice").expect("valid context")
}

pub(crate) fn spine(db: &Database) -> Spine {
    Spine::new(db.clone()).expect("built-in operations register")
}

pub(crate) fn create_request(title: &str) -> CreateIncident {
    CreateIncident {
        title: Some(title.to_owned()),
        severity: Some("high".to_owned()),
        category: Some("database".to_owned()),
        error_code: Some("PG-53300".to_owned()),
        ..CreateIncident::default()
    }
}

pub(crate) async fn create(spine: &Spine, tenant: &str, title: &str) -> Incident {
    spine
        .call(&ctx(tenant), &create_request(title))
        .await
        .expect("create succeeds")
}
