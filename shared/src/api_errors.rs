//! How failures of this crate's adapters become API answers: each is logged with a stable code
//! (never the data involved) and answered as a retryable 503. They live here rather than in the
//! `api` crate, which knows nothing of iProov or secrets. (Storage failures are a core port's
//! error, so `api` maps those itself: api/src/core_errors.rs.)

use crate::api::ApiError;

impl From<crate::iproov::IProovError> for ApiError {
    /// An iProov failure: logged with its stable code, answered as a retryable 503.
    fn from(err: crate::iproov::IProovError) -> Self {
        tracing::warn!(iproov_error = err.code(), "iProov call failed");
        ApiError::unavailable("verifier_unavailable")
    }
}

impl From<crate::adapters::secrets::SecretError> for ApiError {
    fn from(err: crate::adapters::secrets::SecretError) -> Self {
        tracing::error!(error = %err, "secret unavailable");
        ApiError::unavailable("service_unavailable")
    }
}
