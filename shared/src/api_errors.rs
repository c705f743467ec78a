//! How failures of this crate's adapters become API answers: each is logged with a stable code
//! (never the data involved) and answered as a retryable 503. They live here rather than in the
//! `api` crate, which knows nothing of secrets. (Storage failures are a core port's error, so
//! `api` maps those itself: api/src/core_errors.rs; so are iProov failures, whose type lives in
//! a crate of its own that `api` can depend on: api/src/iproov_errors.rs.)

use crate::api::ApiError;

impl From<crate::adapters::secrets::SecretError> for ApiError {
    fn from(err: crate::adapters::secrets::SecretError) -> Self {
        tracing::error!(error = %err, "secret unavailable");
        ApiError::unavailable("service_unavailable")
    }
}
