//! `console_sessions`: the console's signed-in sessions (migration 19); only a SHA-256 of each token is stored.
use sea_orm::entity::prelude::*;

use crate::DbTime;

/// A session row.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "console_sessions")]
pub struct Model {
    /// SHA-256 of the session's token, hex (the token itself is never stored).
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(64))"
    )]
    pub id_hash: String,
    /// The API key it was opened with.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub key_id: String,
    /// When it was opened.
    pub started_at: DbTime,
    /// When it was last used (to within the touch interval the spine keeps).
    pub last_used_at: DbTime,
}

impl ActiveModelBehavior for ActiveModel {}
