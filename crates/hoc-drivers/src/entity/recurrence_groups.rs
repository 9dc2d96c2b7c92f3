//! `recurrence_groups`: the current summary of each recurrence group, kept by triggers in the statement that
//! changes a member.
use crate::DbTime;
use sea_orm::entity::prelude::*;

/// A recurrence group's current summary.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "recurrence_groups")]
pub struct Model {
    /// The tenant.
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(64))"
    )]
    pub tenant_id: String,
    /// The algorithm of the signature.
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(20))"
    )]
    pub signature_version: String,
    /// The signature the members share.
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(128))"
    )]
    pub recurrence_signature: String,
    /// How many incidents it has.
    pub member_count: i64,
    /// How many of them are open or acknowledged.
    pub open_count: i64,
    /// When its first member was created.
    pub first_seen: DbTime,
    /// When its last member was created.
    pub last_seen: DbTime,
    /// Bumped by every change of the summary.
    pub version: i64,
}

impl ActiveModelBehavior for ActiveModel {}
