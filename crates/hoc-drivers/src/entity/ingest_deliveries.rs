//! `ingest_deliveries`: one row per delivery of alerts applied, keyed by its identity (a digest of its content), so
//! a duplicate delivery finds its row and changes nothing.
use crate::DbTime;
use sea_orm::entity::prelude::*;

/// One applied delivery.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ingest_deliveries")]
pub struct Model {
    /// The tenant.
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(64))"
    )]
    pub tenant_id: String,
    /// The delivery's identity: SHA-256 of its canonical content, hex.
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(64))"
    )]
    pub delivery_id: String,
    /// Who sent it.
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub source: String,
    /// When it was applied.
    pub received_at: DbTime,
    /// What applying it did (the answer's JSON).
    #[sea_orm(column_type = "Text")]
    pub result: String,
}

impl ActiveModelBehavior for ActiveModel {}
