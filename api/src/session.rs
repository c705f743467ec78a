//! What every session route does with credentials on the HTTP side, whichever function serves
//! it (the account routes, the OpenID Connect sign-in page's completion): the presented
//! credential as the use cases take it, and a refused session as the answer. The session check
//! itself is the core's (`SessionAuth`, core/src/use_cases/account.rs).

use axum::http::{HeaderMap, StatusCode};
use onboarding_core::crypto::Credential;
use onboarding_core::use_cases::account::{Authenticated, SessionRefused};

use crate::credential;
use crate::{ApiError, CookiePolicy, CredentialKind};

/// The credential of `kind` the request presents. None, or one that cannot be ours, is 401
/// before any use case runs (so nothing is read or counted for it); the same cookie twice is
/// 400 (`credential::presented`).
pub fn presented(
    headers: &HeaderMap,
    kind: CredentialKind,
    cookies: CookiePolicy,
) -> Result<Credential, ApiError> {
    credential::presented(headers, kind, cookies)?
        .and_then(|c| Credential::parse(&c))
        .ok_or_else(ApiError::unauthorized)
}

/// A session route's result, or its 401: `unauthorized` for no session, `session_expired` for
/// one past its idle or absolute expiry (so an app can tell the person why).
pub fn live<T>(outcome: Authenticated<T>) -> Result<T, ApiError> {
    match outcome {
        Authenticated::Live(value) => Ok(value),
        Authenticated::Refused(SessionRefused::Unauthorized) => Err(ApiError::unauthorized()),
        Authenticated::Refused(SessionRefused::Expired) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "session_expired",
            "Your session has expired. Please log in again.",
        )),
    }
}
