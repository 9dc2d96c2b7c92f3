//! `recurrence_group_versions`: every summary a recurrence group had, valid from the change's instant (time
//! travel on group reads).
use crate::DbTime;
use sea_orm::entity::prelude::*;

/// One summary of a recurrence group, as of `valid_from`.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "recurrence_group_versions")]
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
    /// How many incidents it had.
    pub member_count: i64,
    /// How many of them were open or acknowledged.
    pub open_count: i64,
    /// When its first member was created.
    pub first_seen: DbTime,
    /// When its last member was created.
    pub last_seen: DbTime,
    /// The summary's version.
    #[sea_orm(primary_key, auto_increment = false)]
    pub version: i64,
    /// From when this summary holds.
    pub valid_from: DbTime,
}

impl ActiveModelBehavior for ActiveModel {}
