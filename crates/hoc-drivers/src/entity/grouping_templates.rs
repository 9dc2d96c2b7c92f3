//! `grouping_templates`: the learned templates of a grouping-configuration version, one row per template, never
//! updated.
use sea_orm::entity::prelude::*;

/// One learned template.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "grouping_templates")]
pub struct Model {
    /// The tenant.
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(64))"
    )]
    pub tenant_id: String,
    /// The configuration version that learned it.
    #[sea_orm(primary_key, auto_increment = false)]
    pub config_version: i64,
    /// Its number in that version (1, 2, …, in the order of its field and text).
    #[sea_orm(primary_key, auto_increment = false)]
    pub template_no: i64,
    /// The incident field it templates (`error_message` or `title`).
    #[sea_orm(column_type = "String(StringLen::N(20))")]
    pub field: String,
    /// Its number of tokens.
    pub token_count: i64,
    /// Its first token, cut to 64 characters (the lookup key; the matcher compares the whole token).
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub first_token: String,
    /// The template.
    #[sea_orm(column_type = "Text")]
    pub template: String,
    /// How many of the messages it was learned from it covers.
    pub member_count: i64,
    /// How many distinct `rsig-v3` templates it joins.
    pub joined_templates: i64,
    /// Up to three of those messages, as a JSON array.
    #[sea_orm(column_type = "Text")]
    pub examples: String,
}

impl ActiveModelBehavior for ActiveModel {}
