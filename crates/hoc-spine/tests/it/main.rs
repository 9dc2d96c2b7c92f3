//! Spine tests: registry rules, the create/acknowledge slice through every layer, rollback, concurrency.
//! Every storage test runs on SQLite and, when `HOC_TEST_DATABASE_URL` is set, on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

/// Runs a call that must be refused with `$code`, and requires that no table changed.
macro_rules! refused_without_writes {
    ($db:expr, $code:expr, $call:expr) => {{
        let before = hoc_drivers::testing::row_counts(&$db).await;
        let err: hoc_spine::OperationError = $call.await.expect_err("must be refused");
        assert_eq!(err.code(), $code, "{err}");
        assert_eq!(
            hoc_drivers::testing::row_counts(&$db).await,
            before,
            "a refused call wrote something"
        );
        err
    }};
}

mod alerts;
mod analytics;
mod auth;
mod clock_order;
mod concurrency;
mod counts;
mod export;
mod group_list;
mod grouping;
mod history;
mod learned;
mod lifecycle;
mod links;
mod metrics;
mod notes;
mod owners;
mod reads;
mod recurrence;
mod registry;
mod rollback;
mod round_trips;
mod search;
mod sessions;
mod slice;
mod thread;
mod working;

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

/// A clock tests can set: every operation sees the time last set.
#[derive(Clone)]
pub(crate) struct TestClock(std::sync::Arc<std::sync::Mutex<time::OffsetDateTime>>);

impl TestClock {
    pub(crate) fn at(t: time::OffsetDateTime) -> Self {
        Self(std::sync::Arc::new(std::sync::Mutex::new(t)))
    }

    pub(crate) fn set(&self, t: time::OffsetDateTime) {
        *self.0.lock().expect("clock lock") = t;
    }

    /// Moves the clock on by `by`.
    pub(crate) fn advance(&self, by: time::Duration) {
        *self.0.lock().expect("clock lock") += by;
    }

    pub(crate) fn install(&self, spine: Spine) -> Spine {
        let clock = self.0.clone();
        spine.with_clock(std::sync::Arc::new(move || {
            *clock.lock().expect("clock lock")
        }))
    }
}

/// The outbox of a tenant as (sequence_no, event_type) pairs.
pub(crate) async fn event_log(spine: &Spine, tenant: &str) -> Vec<(i64, String)> {
    spine
        .call(
            &ctx(tenant),
            &hoc_spine::requests::ListEvents {
                after: None,
                limit: Some(500),
            },
        )
        .await
        .expect("events")
        .items
        .into_iter()
        .map(|e| (e.sequence_no, e.event_type))
        .collect()
}

/// An incident's timeline (the call must succeed).
pub(crate) async fn timeline_of(
    spine: &Spine,
    tenant: &str,
    id: &str,
) -> hoc_spine::requests::TimelinePage {
    spine
        .call(
            &ctx(tenant),
            &hoc_spine::requests::IncidentTimeline { id: id.to_owned() },
        )
        .await
        .expect("timeline")
}

/// An incident's audit entries, first page (the call must succeed).
pub(crate) async fn audit_of(
    spine: &Spine,
    tenant: &str,
    id: &str,
) -> hoc_incidents::Page<hoc_incidents::AuditEntry> {
    spine
        .call(
            &ctx(tenant),
            &hoc_spine::requests::IncidentAudit {
                id: id.to_owned(),
                ..Default::default()
            },
        )
        .await
        .expect("audit")
}
