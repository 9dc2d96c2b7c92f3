//! API keys: created and revoked by the host's administrators, presented by callers, stored only as hashes.
//!
//! A key reads `hoc_<key id>_<secret>`. The key id finds the row; the secret's SHA-256 is compared with the
//! stored hash in constant time. The plain key is shown once, at creation.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hoc_contracts::outcome::AuditDraft;
use hoc_contracts::{ActorType, FieldError};
use hoc_drivers::{ApiKeyRow, DbTime, Stored, api_keys};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::{OperationContext, OperationError, Spine};

/// What a key allows: `read` or `write` (one vocabulary from the command line to the `api_keys.scope` column).
pub use hoc_contracts::input::Scope;

/// Who a key speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyIdentity {
    /// The key's id (public: it names the key, it does not unlock it).
    pub key_id: String,
    /// The tenant every operation of the key runs in.
    pub tenant_id: String,
    /// The actor every operation of the key is recorded as.
    pub actor_type: ActorType,
    /// The actor's id.
    pub actor_id: String,
    /// What it may do.
    pub scope: Scope,
}

impl ApiKeyIdentity {
    /// The operation context of a request made with this key.
    pub fn context(&self) -> Result<OperationContext, OperationError> {
        OperationContext::new(&self.tenant_id, self.actor_type, &self.actor_id)
    }
}

/// A newly created key: its identity and the plain key, which exists nowhere else.
pub struct NewApiKey {
    /// The identity.
    pub identity: ApiKeyIdentity,
    /// The key to hand to the caller (`hoc_<id>_<secret>`).
    pub token: String,
}

impl fmt::Debug for NewApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewApiKey")
            .field("identity", &self.identity)
            .field("token", &"<redacted>")
            .finish()
    }
}

pub(crate) fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Equal-length byte comparison whose time does not depend on where the inputs differ (a key's hash, a console
/// session's CSRF token).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub(crate) fn identity(row: &ApiKeyRow) -> ApiKeyIdentity {
    ApiKeyIdentity {
        key_id: row.id.clone(),
        tenant_id: row.tenant_id.clone(),
        actor_type: row.actor_type.get(),
        actor_id: row.actor_id.clone(),
        scope: row.scope.get(),
    }
}

/// The context administrative actions are audited under.
fn admin_context(tenant_id: &str) -> Result<OperationContext, OperationError> {
    OperationContext::new(tenant_id, ActorType::System, "hocd-admin")
}

impl Spine {
    /// Creates a key for (tenant, actor, scope) and returns the plain key once. Audited.
    pub async fn create_api_key(
        &self,
        tenant_id: &str,
        actor_type: ActorType,
        actor_id: &str,
        scope: Scope,
    ) -> Result<NewApiKey, OperationError> {
        OperationContext::new(tenant_id, actor_type, actor_id)?;
        let key_id = format!("key_{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
        let secret = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let row = ApiKeyRow {
            id: key_id.clone(),
            tenant_id: tenant_id.to_owned(),
            actor_type: Stored(actor_type),
            actor_id: actor_id.to_owned(),
            scope: Stored(scope),
            secret_hash: sha256_hex(&secret),
            created_at: self.now().into(),
            revoked_at: None,
        };
        let identity = identity(&row);
        let tx = hoc_ledger::begin_write(self.database()).await?;
        // The tenant's clock, like every change of the tenant: its audit entry is visible from that instant.
        let now = hoc_ledger::clock::tick(&tx, tenant_id, self.now()).await?;
        let row = ApiKeyRow {
            created_at: now.into(),
            ..row
        };
        api_keys::insert(&tx, row).await?;
        crate::append_audit(
            &tx,
            &admin_context(tenant_id)?,
            now,
            AuditDraft {
                entity_type: "api_key",
                entity_id: key_id.clone(),
                action: "keys.create",
                reason: None,
                before_state: None,
                after_state: Some(json!({"actor_type": actor_type.as_str(), "actor_id": actor_id, "scope": scope.as_str()})),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(NewApiKey {
            token: format!("hoc_{}_{secret}", key_id.trim_start_matches("key_")),
            identity,
        })
    }

    /// Revokes a key (revoking twice is harmless). Audited. An unknown key id is `not_found`.
    pub async fn revoke_api_key(&self, key_id: &str) -> Result<ApiKeyIdentity, OperationError> {
        let tx = hoc_ledger::begin_write(self.database()).await?;
        let row = api_keys::find(&tx, key_id)
            .await?
            .ok_or_else(|| OperationError::NotFound {
                entity: "api key",
                id: key_id.to_owned(),
            })?;
        let already = row.revoked_at.is_some();
        let now = hoc_ledger::clock::tick(&tx, &row.tenant_id, self.now()).await?;
        let row = api_keys::revoke(&tx, row, DbTime::new(now)).await?;
        if !already {
            crate::append_audit(
                &tx,
                &admin_context(&row.tenant_id)?,
                now,
                AuditDraft {
                    entity_type: "api_key",
                    entity_id: row.id.clone(),
                    action: "keys.revoke",
                    reason: None,
                    before_state: Some(json!({"revoked": false})),
                    after_state: Some(json!({"revoked": true})),
                },
            )
            .await?;
        }
        tx.commit().await?;
        self.keys.forget(&row.id);
        Ok(identity(&row))
    }

    /// The identity of a presented key, or `None` for a malformed, unknown or revoked one.
    ///
    /// Answers come from a per-spine cache ([`KeyCache`]) for up to its time to live (1 second by default), so a
    /// request costs no database round trip for its key; a key revoked on any instance stops working on every
    /// instance within that time (each re-reads the key's row once its entry expires), and at once on the
    /// instance that revoked it.
    pub async fn authenticate(
        &self,
        token: &str,
    ) -> Result<Option<ApiKeyIdentity>, OperationError> {
        let Some((id_part, secret)) = token
            .strip_prefix("hoc_")
            .and_then(|rest| rest.split_once('_'))
        else {
            return Ok(None);
        };
        if id_part.len() != 16 || secret.len() != 64 {
            return Ok(None);
        }
        // The cache is keyed by the token's hash, never the token.
        let fingerprint = sha256_hex(token);
        if let Some(cached) = self.keys.get(&fingerprint) {
            return Ok(cached);
        }
        let key_id = format!("key_{id_part}");
        let found = api_keys::find(&hoc_ledger::begin_read(self.database()), &key_id).await?;
        let answer = match found {
            Some(row)
                if row.revoked_at.is_none()
                    && constant_time_eq(
                        sha256_hex(secret).as_bytes(),
                        row.secret_hash.as_bytes(),
                    ) =>
            {
                Some(identity(&row))
            }
            _ => None,
        };
        self.keys.put(fingerprint, &key_id, answer.clone());
        Ok(answer)
    }
}

/// A bounded cache of authentication answers whose entries expire: what lets a request skip the key lookup.
#[derive(Debug)]
pub(crate) struct KeyCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, CachedKey>>,
}

#[derive(Debug, Clone)]
struct CachedKey {
    key_id: String,
    answer: Option<ApiKeyIdentity>,
    until: Instant,
}

/// Most entries the cache holds; when full, expired entries go, and if none has expired, all of them.
const KEY_CACHE_CAPACITY: usize = 10_000;

impl KeyCache {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, CachedKey>> {
        // A panic while holding the lock cannot leave the map inconsistent (each operation is one map call).
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn get(&self, fingerprint: &str) -> Option<Option<ApiKeyIdentity>> {
        let entries = self.lock();
        let entry = entries.get(fingerprint)?;
        (entry.until > Instant::now()).then(|| entry.answer.clone())
    }

    fn put(&self, fingerprint: String, key_id: &str, answer: Option<ApiKeyIdentity>) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.lock();
        if entries.len() >= KEY_CACHE_CAPACITY {
            let now = Instant::now();
            entries.retain(|_, e| e.until > now);
            if entries.len() >= KEY_CACHE_CAPACITY {
                entries.clear();
            }
        }
        entries.insert(
            fingerprint,
            CachedKey {
                key_id: key_id.to_owned(),
                answer,
                until: Instant::now() + self.ttl,
            },
        );
    }

    /// Forgets every answer about `key_id` (after a revocation on this instance).
    fn forget(&self, key_id: &str) {
        self.lock().retain(|_, e| e.key_id != key_id);
    }
}

/// Validates a scope name given on a command line.
pub fn parse_scope(s: &str) -> Result<Scope, OperationError> {
    <Scope as hoc_contracts::input::Vocabulary>::from_wire(s).ok_or_else(|| {
        OperationError::InvalidInput {
            fields: vec![FieldError::new("scope", "must be read, write or ingest")],
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes() {
        assert!(Scope::Write.allows(Scope::Write));
        assert!(Scope::Write.allows(Scope::Read));
        assert!(Scope::Read.allows(Scope::Read));
        assert!(!Scope::Read.allows(Scope::Write));
        // An ingest key reaches the integrations and nothing else; no other key reaches them.
        assert!(Scope::Ingest.allows(Scope::Ingest));
        assert!(!Scope::Ingest.allows(Scope::Read));
        assert!(!Scope::Ingest.allows(Scope::Write));
        assert!(!Scope::Write.allows(Scope::Ingest));
        assert!(!Scope::Read.allows(Scope::Ingest));
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
