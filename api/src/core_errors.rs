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
