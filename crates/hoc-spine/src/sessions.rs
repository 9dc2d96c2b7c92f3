//! Console sessions: an API key exchanged for a random token that a browser holds in a cookie, kept in the database
//! (`console_sessions`), so every `hocd` of a database knows every session and a restart ends none.
//!
//! Only the token's SHA-256 is stored, with the id of the key it was opened with; the key's row is read again on
//! every request, so revoking the key ends its sessions at once, on every instance. A session ends at sign-out,
//! after the host's idle timeout without a request, and [`MAX_AGE`] after it was opened whatever happens. Its CSRF
//! token is derived from its token (so it is never stored either, and nobody without the session can compute it).

use std::time::Duration;

use hoc_drivers::{DbTime, SessionRow, console_sessions};

use crate::auth::{ApiKeyIdentity, identity, sha256_hex};
use crate::{OperationError, Spine};

/// The longest a session lives, used or not.
pub const MAX_AGE: Duration = Duration::from_secs(12 * 3600);

/// The longest a session's recorded last use may lag behind its real last use: a request writes the session's row
/// only when its last use is older than this (or an eighth of the idle timeout, when that is shorter), so browsing
/// is not a write per page.
pub const TOUCH_INTERVAL: Duration = Duration::from_secs(60);

/// A session a request presented.
#[derive(Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    /// The identity of the key it was opened with.
    pub identity: ApiKeyIdentity,
    /// The token every state-changing form of the session carries.
    pub csrf: String,
}

impl std::fmt::Debug for ConsoleSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleSession")
            .field("identity", &self.identity)
            .field("csrf", &"<redacted>")
            .finish()
    }
}

/// A new random token: 244 bits from the operating system's generator, as 64 hex digits.
fn token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// The CSRF token of the session whose token is `token`.
fn csrf_of(token: &str) -> String {
    sha256_hex(&format!("hoc console csrf {token}"))
}

fn since(now: time::OffsetDateTime, span: Duration) -> DbTime {
    DbTime::new(now - span)
}

impl Spine {
    /// Opens a console session for a key already authenticated (`identity`, from [`Spine::authenticate`]); its
    /// token, for the cookie. Sessions that have ended by `idle` or [`MAX_AGE`] are swept in the same transaction.
    pub async fn open_console_session(
        &self,
        identity: &ApiKeyIdentity,
        idle: Duration,
    ) -> Result<String, OperationError> {
        let token = token();
        let now = self.now();
        let tx = hoc_ledger::begin_write(self.database()).await?;
        console_sessions::sweep(&tx, since(now, idle), since(now, MAX_AGE)).await?;
        console_sessions::open(
            &tx,
            SessionRow {
                id_hash: sha256_hex(&token),
                key_id: identity.key_id.clone(),
                started_at: DbTime::new(now),
                last_used_at: DbTime::new(now),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// The live session `token` names, marked as used; `None` when there is none, it has ended (`idle` without a
    /// request, [`MAX_AGE`] since it opened), or its key was revoked.
    pub async fn console_session(
        &self,
        token: &str,
        idle: Duration,
    ) -> Result<Option<ConsoleSession>, OperationError> {
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let id_hash = sha256_hex(token);
        let found =
            console_sessions::find(&hoc_ledger::begin_read(self.database()), &id_hash).await?;
        let Some((session, key)) = found else {
            return Ok(None);
        };
        let now = self.now();
        let last_used = session.last_used_at.get();
        if key.revoked_at.is_some()
            || last_used <= now - idle
            || session.started_at.get() <= now - MAX_AGE
        {
            return Ok(None);
        }
        if now - last_used >= TOUCH_INTERVAL.min(idle / 8) {
            let tx = hoc_ledger::begin_write(self.database()).await?;
            console_sessions::touch(&tx, &id_hash, DbTime::new(now)).await?;
            tx.commit().await?;
        }
        Ok(Some(ConsoleSession {
            identity: identity(&key),
            csrf: csrf_of(token),
        }))
    }

    /// Ends the session `token` names (signing out twice is harmless).
    pub async fn end_console_session(&self, token: &str) -> Result<(), OperationError> {
        let tx = hoc_ledger::begin_write(self.database()).await?;
        console_sessions::end(&tx, &sha256_hex(token)).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_differ_and_their_csrf_tokens_too() {
        let (a, b) = (token(), token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_ne!(csrf_of(&a), csrf_of(&b));
        assert_ne!(
            csrf_of(&a),
            sha256_hex(&a),
            "the stored hash is not the csrf token"
        );
    }
}
