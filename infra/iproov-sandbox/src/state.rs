//! The sandbox's memory: one lock around everything that changes.
//!
//! A single `std::sync::Mutex` keeps every operation atomic (a validate checks the claim,
//! consumes it and activates the user in one step) and is cheap at sandbox volumes. Handlers
//! take it, do synchronous work and drop it before any `.await`; nothing is generated (frames)
//! or slept while it is held.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::{Value, json};

use crate::claims::Claims;
use crate::config::{FrameMode, SandboxConfig};
use crate::faults::Faults;
use crate::oauth::{ACCESS_TOKEN_MAX_USES, ACCESS_TOKEN_TTL, AccessTokens};
use crate::ratelimit::RateLimiter;
use crate::stats::Stats;
use crate::users::Users;

/// What tests may change while the server runs (`PUT /sandbox/config`, `/sandbox/latency`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub frame: FrameMode,
    pub token_ttl: Duration,
    pub latency: Duration,
    pub access_token_ttl: Duration,
    pub access_token_max_uses: u32,
}

impl Settings {
    fn from_config(config: &SandboxConfig) -> Self {
        Settings {
            frame: config.frame,
            token_ttl: config.token_ttl,
            latency: config.latency,
            access_token_ttl: ACCESS_TOKEN_TTL,
            access_token_max_uses: ACCESS_TOKEN_MAX_USES,
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "frame": self.frame.as_str(),
            "token_ttl_seconds": self.token_ttl.as_secs_f64(),
            "latency_ms": millis(self.latency),
            "access_token_ttl_seconds": self.access_token_ttl.as_secs_f64(),
            "access_token_max_uses": self.access_token_max_uses,
        })
    }
}

pub fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Everything mutable.
#[derive(Debug)]
pub struct Inner {
    pub settings: Settings,
    pub claims: Claims,
    pub users: Users,
    pub access_tokens: AccessTokens,
    pub faults: Faults,
    pub rate_limit: RateLimiter,
    pub stats: Stats,
}

impl Inner {
    fn fresh(config: &SandboxConfig) -> Self {
        Inner {
            settings: Settings::from_config(config),
            claims: Claims::default(),
            users: Users::default(),
            access_tokens: AccessTokens::default(),
            faults: Faults::default(),
            rate_limit: RateLimiter::default(),
            stats: Stats::default(),
        }
    }
}

/// Shared by every handler through axum's `State`.
#[derive(Debug)]
pub struct Shared {
    /// The start-up configuration: credentials, and what `reset` restores.
    pub config: SandboxConfig,
    inner: Mutex<Inner>,
}

impl Shared {
    pub fn new(config: SandboxConfig) -> Self {
        let inner = Mutex::new(Inner::fresh(&config));
        Shared { config, inner }
    }

    /// Locks the state. A handler that panicked while holding the lock cannot leave it
    /// half-updated in a way that matters more than a dead sandbox would, so poisoning is
    /// ignored rather than turned into a panic in every later request.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Back to the state the server started in.
    pub fn reset(&self) {
        *self.lock() = Inner::fresh(&self.config);
    }

    /// Compares claim credentials in constant time, out of habit: nothing about a key should
    /// leak through timing, even in a sandbox people copy code from.
    pub fn claim_credentials_match(&self, api_key: &str, secret: &str) -> bool {
        let key_ok = constant_time_eq(api_key, &self.config.api_key);
        let secret_ok = constant_time_eq(secret, &self.config.secret);
        key_ok & secret_ok
    }

    pub fn api_key_matches(&self, api_key: &str) -> bool {
        constant_time_eq(api_key, &self.config.api_key)
    }

    pub fn oauth_client_matches(&self, client_id: &str, client_secret: &str) -> bool {
        let id_ok = constant_time_eq(client_id, &self.config.oauth_client_id);
        let secret_ok = constant_time_eq(client_secret, &self.config.oauth_client_secret);
        id_ok & secret_ok
    }
}

fn constant_time_eq(given: &str, expected: &str) -> bool {
    let (given, expected) = (given.as_bytes(), expected.as_bytes());
    let mut difference = u8::from(given.len() != expected.len());
    for (index, byte) in expected.iter().enumerate() {
        difference |= byte ^ given.get(index).copied().unwrap_or(!byte);
    }
    difference == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_compare_exactly() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abd", "abc"));
        assert!(!constant_time_eq("ab", "abc"));
        assert!(!constant_time_eq("abcd", "abc"));
        assert!(!constant_time_eq("", "abc"));
        assert!(constant_time_eq("", ""));
    }
}
