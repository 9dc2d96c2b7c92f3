//! Console sessions: an API key exchanged for a random session id held in an HttpOnly, SameSite=Strict cookie.
//!
//! The key itself stays on the server, in this process's memory, and is authenticated again on every request
//! (through the spine's key cache), so revoking the key ends its sessions within the cache's 2 seconds. A session
//! ends at sign-out, after [`Sessions::idle`] without a request, and [`MAX_AGE`] after sign-in whatever happens.
//! Each session has its own CSRF token, which every state-changing form carries.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The cookie's name.
pub(crate) const COOKIE: &str = "hoc_console";

/// The longest a session lives, used or not.
pub(crate) const MAX_AGE: Duration = Duration::from_secs(12 * 3600);

/// Default idle timeout: a session unused this long has ended.
pub const DEFAULT_IDLE: Duration = Duration::from_secs(3600);

/// The sessions of this process.
#[derive(Debug)]
pub struct Sessions {
    live: Mutex<HashMap<String, Session>>,
    idle: Duration,
}

#[derive(Debug, Clone)]
struct Session {
    key: String,
    csrf: String,
    started: Instant,
    last_used: Instant,
}

/// What a request's session holds.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    /// The API key it was opened with.
    pub(crate) key: String,
    /// Its CSRF token.
    pub(crate) csrf: String,
}

/// A new random token: 244 bits from the operating system's generator, as 64 hex digits.
fn token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// Equal-length byte comparison whose time does not depend on where the inputs differ.
pub(crate) fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl Sessions {
    /// No sessions; each ends after `idle` without a request.
    pub fn new(idle: Duration) -> Self {
        Self {
            live: Mutex::new(HashMap::new()),
            idle,
        }
    }

    /// How long an unused session lives.
    pub fn idle(&self) -> Duration {
        self.idle
    }

    fn live(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // A poisoned lock only means another request panicked while holding it; the map is still whole.
        self.live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Opens a session for `key`; its id (the cookie's value).
    pub(crate) fn open(&self, key: &str) -> String {
        let id = token();
        let now = Instant::now();
        let mut live = self.live();
        // Ended sessions go when a new one starts, so the map never outgrows the sessions in use.
        live.retain(|_, s| self.alive(s, now));
        live.insert(
            id.clone(),
            Session {
                key: key.to_owned(),
                csrf: token(),
                started: now,
                last_used: now,
            },
        );
        id
    }

    fn alive(&self, session: &Session, now: Instant) -> bool {
        now.duration_since(session.last_used) < self.idle
            && now.duration_since(session.started) < MAX_AGE
    }

    /// The live session `id`, marked as used now; an ended one is removed.
    pub(crate) fn find(&self, id: &str) -> Option<Found> {
        let now = Instant::now();
        let mut live = self.live();
        let session = live.get_mut(id)?;
        if !self.alive(session, now) {
            live.remove(id);
            return None;
        }
        session.last_used = now;
        Some(Found {
            key: session.key.clone(),
            csrf: session.csrf.clone(),
        })
    }

    /// Ends the session `id`.
    pub(crate) fn end(&self, id: &str) {
        self.live().remove(id);
    }

    /// How many sessions are open (ended ones not yet swept included).
    pub fn len(&self) -> usize {
        self.live().len()
    }

    /// Whether no session is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for Sessions {
    fn default() -> Self {
        Self::new(DEFAULT_IDLE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_found_until_it_ends_or_idles_out() {
        let sessions = Sessions::new(Duration::from_millis(200));
        let id = sessions.open("hoc_k_s");
        let found = sessions.find(&id).map(|f| (f.key, f.csrf.len()));
        assert_eq!(found, Some(("hoc_k_s".to_owned(), 64)));
        assert!(sessions.find("not-a-session").is_none());
        sessions.end(&id);
        assert!(sessions.find(&id).is_none(), "signed out");

        let id = sessions.open("hoc_k_s");
        std::thread::sleep(Duration::from_millis(250));
        assert!(sessions.find(&id).is_none(), "idle past the timeout");
        assert!(sessions.is_empty(), "an ended session is removed");
    }

    #[test]
    fn tokens_differ_and_compare_whole() {
        let (a, b) = (token(), token());
        assert_ne!(a, b);
        assert!(same_token(&a, &a.clone()));
        assert!(!same_token(&a, &b));
        assert!(!same_token(&a, &a[..63]));
    }
}
