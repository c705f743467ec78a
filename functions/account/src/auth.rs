//! What every route of this function does with credentials and sessions, on the HTTP side: the
//! presented credential as the use cases take it, and a refused session as the answer. The
//! session check itself (expiry decided in code, activity recorded at most once a minute) is
//! the core's (`SessionAuth`, core/src/use_cases/account.rs).

use api::ApiError;
use axum::http::StatusCode;
use onboarding_core::use_cases::Failure;

pub use api::session::{live, presented};

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
