//! Console sessions: an API key exchanged for a random session token held in an HttpOnly, SameSite=Strict cookie.
//!
//! The sessions themselves are the spine's ([`hoc_spine::sessions`]): kept in the database, so every `hocd` of it
//! knows them and a restart ends none; only a hash of each token is stored and the key is read again on every
//! request, so revoking the key ends its sessions at once. This module holds what the host decides: the cookie's
//! name and how long an unused session lives.

use std::time::Duration;

/// The cookie's name.
pub(crate) const COOKIE: &str = "hoc_console";

/// Default idle timeout: a session unused this long has ended.
pub const DEFAULT_IDLE: Duration = Duration::from_secs(3600);

/// The host's session settings.
#[derive(Debug, Clone, Copy)]
pub struct Sessions {
    idle: Duration,
}

impl Sessions {
    /// Sessions that end after `idle` without a request.
    pub fn new(idle: Duration) -> Self {
        Self { idle }
    }

    /// How long an unused session lives.
    pub fn idle(&self) -> Duration {
        self.idle
    }
}

impl Default for Sessions {
    fn default() -> Self {
        Self::new(DEFAULT_IDLE)
    }
}
