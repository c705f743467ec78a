//! The OAuth access token of the user-management API, cached.
//!
//! iProov's access tokens die after one hour **or 50 requests, whichever comes first**. A token
//! is therefore handed out at most [`MAX_USES`] times (every attempt counts, retries included)
//! and is renewed a safety margin before its lifetime ends, so that no request is spent on a
//! token iProov is about to refuse.

use std::fmt;
use std::time::Duration;

use tokio::sync::{Mutex, MutexGuard};
use tokio::time::Instant;

/// Requests one access token may serve.
pub(crate) const MAX_USES: u32 = 50;
/// Lifetime iProov documents, and the most we believe whatever `expires_in` says.
pub(crate) const MAX_LIFETIME: Duration = Duration::from_secs(3600);
/// Renew this long before the end of the lifetime, to absorb clock and network delays.
const SAFETY_MARGIN: Duration = Duration::from_secs(300);

/// A bearer token. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct AccessToken(String);

impl AccessToken {
    pub(crate) fn new(value: String) -> Self {
        Self(value)
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

/// A cached token with its use count and renewal time.
#[derive(Debug)]
pub(crate) struct CachedToken {
    token: AccessToken,
    renew_at: Instant,
    uses: u32,
}

impl CachedToken {
    /// A token just obtained at `now`, announced to live `expires_in` (one hour if unsaid).
    pub(crate) fn new(token: AccessToken, expires_in: Option<Duration>, now: Instant) -> Self {
        let lifetime = expires_in.unwrap_or(MAX_LIFETIME).min(MAX_LIFETIME);
        // A short-lived token gets half its life instead of a margin larger than its life.
        let usable = if lifetime > SAFETY_MARGIN * 2 {
            lifetime - SAFETY_MARGIN
        } else {
            lifetime / 2
        };
        Self {
            token,
            renew_at: now + usable,
            uses: 0,
        }
    }

    /// Hands out the token for one more request, or `None` when it must be renewed first.
    pub(crate) fn take_use(&mut self, now: Instant) -> Option<AccessToken> {
        if self.uses >= MAX_USES || now >= self.renew_at {
            return None;
        }
        self.uses += 1;
        Some(self.token.clone())
    }
}

/// One slot, behind an async lock: concurrent callers that find it empty wait for the one
/// renewal in flight instead of each fetching (and paying for) a token.
#[derive(Debug, Default)]
pub(crate) struct OAuthCache {
    slot: Mutex<Option<CachedToken>>,
}

impl OAuthCache {
    pub(crate) async fn lock(&self) -> MutexGuard<'_, Option<CachedToken>> {
        self.slot.lock().await
    }

    /// Drops the cached token if it is still `refused` (another caller may already have
    /// replaced it with a fresh one, which must survive).
    pub(crate) async fn discard(&self, refused: &AccessToken) {
        let mut slot = self.slot.lock().await;
        if slot.as_ref().is_some_and(|c| &c.token == refused) {
            *slot = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_serves_fifty_requests_then_asks_for_renewal() {
        let now = Instant::now();
        let mut cached = CachedToken::new(AccessToken::new("a".into()), None, now);
        for _ in 0..MAX_USES {
            assert!(cached.take_use(now).is_some());
        }
        assert!(cached.take_use(now).is_none());
    }

    #[test]
    fn a_token_is_renewed_a_margin_before_the_hour_even_if_told_it_lives_longer() {
        let now = Instant::now();
        let mut cached = CachedToken::new(
            AccessToken::new("a".into()),
            Some(Duration::from_secs(86_400)),
            now,
        );
        assert!(cached.take_use(now + Duration::from_secs(3299)).is_some());
        assert!(cached.take_use(now + Duration::from_secs(3300)).is_none());
    }

    #[test]
    fn a_short_lived_token_is_used_for_half_its_life() {
        let now = Instant::now();
        let mut cached = CachedToken::new(
            AccessToken::new("a".into()),
            Some(Duration::from_secs(10)),
            now,
        );
        assert!(cached.take_use(now + Duration::from_millis(4999)).is_some());
        assert!(cached.take_use(now + Duration::from_secs(5)).is_none());
    }

    #[test]
    fn debug_never_shows_the_token() {
        let cached = CachedToken::new(
            AccessToken::new("bearer-secret".into()),
            None,
            Instant::now(),
        );
        assert!(!format!("{cached:?}").contains("bearer-secret"));
    }
}
