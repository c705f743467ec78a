//! OAuth access tokens for the user-management endpoints.
//!
//! iProov's tokens expire after an hour **or** 50 requests, whichever comes first; the second
//! limit is the one clients forget, so the sandbox enforces both.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::errors::ApiError;
use crate::tokens::random_token;

/// iProov's access-token lifetime, also the `expires_in` the token endpoint reports.
pub const ACCESS_TOKEN_TTL: Duration = Duration::from_secs(3600);
/// How many requests one access token may authorise.
pub const ACCESS_TOKEN_MAX_USES: u32 = 50;
/// The scope the sandbox grants.
pub const SCOPE: &str = "user:read user:delete";

#[derive(Debug)]
struct AccessToken {
    expires_at: Instant,
    uses: u32,
}

#[derive(Debug, Default)]
pub struct AccessTokens {
    by_token: HashMap<String, AccessToken>,
}

impl AccessTokens {
    pub fn issue(&mut self, ttl: Duration, now: Instant) -> String {
        self.by_token.retain(|_, token| now < token.expires_at);
        let token = random_token();
        self.by_token.insert(
            token.clone(),
            AccessToken {
                expires_at: now.checked_add(ttl).unwrap_or(now),
                uses: 0,
            },
        );
        token
    }

    /// Counts one use of a bearer token, refusing unknown, expired and used-up ones.
    pub fn authorise(
        &mut self,
        bearer: Option<&str>,
        max_uses: u32,
        now: Instant,
    ) -> Result<(), ApiError> {
        let token = bearer
            .and_then(|bearer| self.by_token.get_mut(bearer))
            .ok_or_else(ApiError::invalid_oauth)?;
        if now >= token.expires_at {
            return Err(ApiError::invalid_oauth());
        }
        if token.uses >= max_uses {
            return Err(ApiError::token_quota_exceeded());
        }
        token.uses += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_allows_max_uses_requests_then_is_refused() {
        let now = Instant::now();
        let mut tokens = AccessTokens::default();
        let token = tokens.issue(ACCESS_TOKEN_TTL, now);
        for _ in 0..3 {
            assert!(tokens.authorise(Some(&token), 3, now).is_ok());
        }
        assert_eq!(
            tokens.authorise(Some(&token), 3, now).map_err(|e| e.code),
            Err("token_quota_exceeded".into())
        );
    }

    #[test]
    fn expired_and_unknown_tokens_are_invalid_oauth() {
        let now = Instant::now();
        let mut tokens = AccessTokens::default();
        let token = tokens.issue(Duration::from_secs(1), now);
        let later = now + Duration::from_secs(1);
        assert_eq!(
            tokens
                .authorise(Some(&token), 50, later)
                .map_err(|e| e.code),
            Err("invalid_oauth".into())
        );
        assert!(tokens.authorise(Some("nope"), 50, now).is_err());
        assert!(tokens.authorise(None, 50, now).is_err());
    }
}
