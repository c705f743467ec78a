//! Why a use case could not decide: the failures every journey shares (a limit, a backend that
//! is down or refused). What a journey decides — a taken username, an expired attempt — is its
//! own outcome type, never one of these. The HTTP layer maps each of these to one answer
//! (api/src/core_errors.rs), so every route answers the same failure the same way.

use super::limits::Refusal;
use crate::ports::{KeysUnavailable, RateLimitSignals, SealError, StoreError, VerifierError};

#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Over the rate limit `limit` (already signalled): come back after `retry_after` seconds.
    #[error("rate limited by {limit}")]
    Limited {
        limit: &'static str,
        retry_after: u32,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Keys(#[from] KeysUnavailable),
    #[error(transparent)]
    Sealing(#[from] SealError),
    /// The verifier gave no answer; `retry` says whether the person should start the journey
    /// step again (the attempt ended) rather than repeat the same request.
    #[error("verifier unavailable ({})", .error.code())]
    Verifier {
        error: VerifierError,
        start_again: bool,
    },
    /// The system's random source failed, so no credential could be issued.
    #[error("no randomness")]
    NoRandomness,
}

impl From<VerifierError> for Failure {
    fn from(error: VerifierError) -> Self {
        Self::Verifier {
            error,
            start_again: false,
        }
    }
}

impl Failure {
    /// A rate-limit refusal of `limit`, signalled to operators (counters down are a store
    /// failure: the limits fail closed).
    pub fn refused(signals: &dyn RateLimitSignals, limit: &'static str, refusal: Refusal) -> Self {
        match refusal {
            Refusal::Limited { retry_after } => {
                signals.refused(limit, retry_after);
                Self::Limited { limit, retry_after }
            }
            Refusal::Unavailable(err) => Self::Store(err),
        }
    }
}

/// A new random id (user, registration, attempt, session): 128 bits from the OS, as hex.
pub fn new_id() -> Result<String, Failure> {
    crate::crypto::random_bytes::<16>()
        .map(|bytes| crate::crypto::hex(&bytes))
        .map_err(|_| Failure::NoRandomness)
}

/// A credential with a new random id and secret, for a record about to be stored (only the
/// secret's hash is kept).
pub fn new_credential() -> Result<crate::crypto::Credential, Failure> {
    crate::crypto::Credential::issue(new_id()?).map_err(|_| Failure::NoRandomness)
}
