//! What every route of this function does with credentials and sessions, on the HTTP side: the
//! presented credential as the use cases take it, and a refused session as the answer. The
//! session check itself (expiry decided in code, activity recorded at most once a minute) is
//! the core's (`SessionAuth`, core/src/use_cases/account.rs).

use api::{ApiError, CookiePolicy, CredentialKind, credential};
use axum::http::{HeaderMap, StatusCode};
use onboarding_core::crypto::Credential;
use onboarding_core::use_cases::Failure;
use onboarding_core::use_cases::account::{Authenticated, SessionRefused};

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

/// The pseudonym key for an analytics event, if the key ring answers. Events are best effort:
/// no answer fails for lack of one.
pub async fn event_key(deps: &crate::Deps) -> Option<onboarding_core::ports::PseudonymKey> {
    deps.keys.pseudonym_key().await.ok()
}

/// A verify attempt's shared failure as its answer (login and step-up). When the verifier gave
/// no verdict and the attempt ended (`start_again`), the person is told to start again with
/// `start_again_hint`; otherwise the same request may simply be repeated.
pub fn not_decided(failure: Failure, start_again_hint: &'static str) -> ApiError {
    let start_again = matches!(
        failure,
        Failure::Verifier {
            start_again: true,
            ..
        }
    );
    let answer = ApiError::from(failure);
    if start_again {
        answer.with_hint(start_again_hint)
    } else {
        answer
    }
}

/// A face scan that did not pass (login or step-up): 401 with the sanitised reason and the hint
/// a person can act on.
pub fn verification_failed(reason: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "verification_failed",
        "We could not verify your face.",
    )
    .with_reason(reason)
    .with_hint(onboarding_core::domain::reasons::hint_for(reason))
}
