//! `tenant_clocks`: per tenant, the instant of its last committed change (microseconds, strictly increasing) and
//! the head of its audit hash chain.
use sea_orm::entity::prelude::*;

/// A tenant's clock and chain head.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenant_clocks")]
pub struct Model {
    /// The tenant.
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(64))"
    )]
    pub tenant_id: String,
    /// The instant of its last committed change, microseconds since the epoch.
    pub last_micros: i64,
    /// How many audit rows its chain has.
    pub audit_seq: i64,
    /// The hash of its last audit row (none before the first).
    #[sea_orm(column_type = "String(StringLen::N(64))", nullable)]
    pub audit_head: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}
