//! `audit_ledger`: append-only (database triggers refuse UPDATE, DELETE, TRUNCATE and REPLACE) and hash-chained
//! per tenant.
use crate::DbTime;
use sea_orm::entity::prelude::*;

/// An audit row. `before_state` / `after_state` hold JSON text.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_ledger")]
pub struct Model {
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(64))"
    )]
    /// Its id.
    pub id: String,
    /// The tenant it belongs to.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub tenant_id: String,
    /// What kind of entity changed.
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub entity_type: String,
    /// The entity that changed.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub entity_id: String,
    /// The operation and method that changed it.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub action: String,
    /// The kind of actor who did it.
    #[sea_orm(column_type = "String(StringLen::N(16))")]
    pub actor_type: crate::Stored<hoc_contracts::AuditActor>,
    /// Who did it.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub actor_id: String,
    /// The caller's reason, if given.
    #[sea_orm(column_type = "Text", nullable)]
    pub reason: Option<String>,
    /// The relevant state before the change.
    #[sea_orm(column_type = "Text", nullable)]
    pub before_state: Option<String>,
    /// The relevant state after the change.
    #[sea_orm(column_type = "Text", nullable)]
    pub after_state: Option<String>,
    /// The request that made the change.
    #[sea_orm(column_type = "String(StringLen::N(128))")]
    pub request_id: String,
    /// When it was created.
    pub created_at: DbTime,
    /// Its place in its tenant's hash chain, from 1 (set by `hoc-ledger` when it appends).
    pub chain_seq: Option<i64>,
    /// The hash of the previous row of its tenant's chain (`None` for the first).
    #[sea_orm(column_type = "String(StringLen::N(64))", nullable)]
    pub prev_hash: Option<String>,
    /// Its hash (`migration::audit_chain`).
    #[sea_orm(column_type = "String(StringLen::N(64))", nullable)]
    pub row_hash: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}
