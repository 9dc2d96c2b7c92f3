//! `api_keys`: keys of the HTTP host; only a SHA-256 of each secret is stored.
use sea_orm::entity::prelude::*;

use crate::DbTime;

/// An API key row.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
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
    /// The kind of actor who did it.
    #[sea_orm(column_type = "String(StringLen::N(16))")]
    pub actor_type: crate::Stored<hoc_contracts::ActorType>,
    /// Who did it.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub actor_id: String,
    /// `read` or `write`.
    #[sea_orm(column_type = "String(StringLen::N(8))")]
    pub scope: crate::Stored<hoc_contracts::input::Scope>,
    /// SHA-256 of the secret, hex (the secret itself is never stored).
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub secret_hash: String,
    /// When it was created.
    pub created_at: DbTime,
    /// When the key was revoked; a revoked key authenticates nothing.
    pub revoked_at: Option<DbTime>,
}

impl ActiveModelBehavior for ActiveModel {}
