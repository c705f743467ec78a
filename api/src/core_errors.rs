//! How the core's port errors become API answers. The HTTP layer depends on the core (never the
//! other way round), so the mapping lives here.

use onboarding_core::ports::StoreError;

use crate::error::ApiError;

impl From<StoreError> for ApiError {
    /// A storage failure: logged with its code only, answered as a retryable 503.
    fn from(err: StoreError) -> Self {
        tracing::error!(error = %err, "storage call failed");
        ApiError::unavailable("storage_unavailable")
    }
}

impl From<onboarding_core::use_cases::Failure> for ApiError {
    /// The failures every journey shares, answered the same on every route: over a limit 429
    /// with `Retry-After`; a backend down or refusing a retryable 503 (logged with a stable code,
    /// never the data involved); no randomness 500.
    fn from(failure: onboarding_core::use_cases::Failure) -> Self {
        use onboarding_core::use_cases::Failure;
        match failure {
            Failure::Limited { retry_after, .. } => ApiError::rate_limited(retry_after),
            Failure::Store(err) => err.into(),
            Failure::Keys(_) => ApiError::unavailable("service_unavailable"),
            Failure::Sealing(err) => {
                tracing::error!(error = %err, "could not seal or open personal fields");
                ApiError::unavailable("service_unavailable")
            }
            Failure::Verifier { error, .. } => {
                tracing::warn!(iproov_error = error.code(), "iProov call failed");
                ApiError::unavailable("verifier_unavailable")
            }
            Failure::NoRandomness => ApiError::internal(),
        }
    }
}
