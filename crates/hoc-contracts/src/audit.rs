//! What the audit ledger answers: one entry as a reader sees it (the stored row, its hash-chain columns aside).

/// One audit ledger entry.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct AuditEntry {
    /// Its id.
    pub id: String,
    /// What kind of entity changed.
    pub entity_type: String,
    /// The entity that changed.
    pub entity_id: String,
    /// The operation and method that changed it.
    pub action: String,
    /// The kind of actor who did it.
    pub actor_type: crate::AuditActor,
    /// Who did it.
    pub actor_id: String,
    /// The caller's reason, if given.
    pub reason: Option<String>,
    /// The relevant state before the change.
    pub before_state: Option<serde_json::Value>,
    /// The relevant state after the change.
    pub after_state: Option<serde_json::Value>,
    /// The request that made the change.
    pub request_id: String,
    /// When it was created.
    #[serde(with = "crate::time_format::utc")]
    #[schemars(with = "crate::time_format::UtcTimestamp")]
    pub created_at: time::OffsetDateTime,
}
