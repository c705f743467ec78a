//! How an iProov failure becomes an API answer: logged with its stable code (never the data
//! involved), answered as a retryable 503.
//!
//! It lives here, not beside the iProov client in `shared`, because Rust lets only the crate
//! of `ApiError` or the crate of `IProovError` implement this conversion, and the client's
//! crate knows nothing of the HTTP layer. This crate depends on the error type alone
//! (`iproov-error`), not on the client, so `health` still builds without an HTTP client or TLS.

use iproov_error::IProovError;

use crate::error::ApiError;

impl From<IProovError> for ApiError {
    /// An iProov failure: logged with its stable code, answered as a retryable 503.
    fn from(err: IProovError) -> Self {
        tracing::warn!(iproov_error = err.code(), "iProov call failed");
        ApiError::unavailable("verifier_unavailable")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_iproov_failure_is_a_retryable_verifier_unavailable() {
        // given failures that may and may not be retried
        for err in [
            IProovError::RateLimited,
            IProovError::InvalidKey,
            IProovError::Timeout { maybe_sent: true },
        ] {
            // when one reaches a handler's `?`
            let answer = ApiError::from(err);
            // then the client gets a 503 it may retry after a moment, naming no iProov detail
            assert_eq!(answer.status.as_u16(), 503);
            assert_eq!(answer.code, "verifier_unavailable");
            assert_eq!(answer.retry_after, Some(2));
        }
    }
}
