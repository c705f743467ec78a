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
use crate::credentials::Credentials;
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
    /// What the API accepts; `PUT /sandbox/credentials` rotates it.
    pub credentials: Credentials,
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
            credentials: Credentials::new(config),
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
    /// The start-up configuration, credentials included: what `reset` restores.
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
}
