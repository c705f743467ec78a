//! `POST /v1/login` with a login-attempt credential. The core's login use case asks iProov,
//! once, whether the verify scan passed and opens the session
//! (core/src/use_cases/account/login.rs); this handler turns its outcome into the answer, the
//! cookies, the metrics and the analytics events.

use std::sync::Arc;

use api::rfc3339;
use api::{ApiError, CredentialKind, RequestMeta};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Response};
use onboarding_core::audit::hand_over;
use onboarding_core::ports::ClientContext;
use onboarding_core::use_cases::account::Account;
use onboarding_core::use_cases::account::login::{LoggedIn, LoginOutcome};
use serde_json::json;

use crate::me::public_user;
use crate::{Deps, auth};

/// The hint of every answer after which this attempt cannot log in any more.
const START_AGAIN: &str = "Start the login again.";

pub async fn handle(
    State(deps): State<Arc<Deps>>,
    meta: RequestMeta,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let credential = auth::presented(
        &headers,
        CredentialKind::LoginAttempt,
        deps.settings.cookies(),
    )?;
    let client = ClientContext {
        ip: meta.source_ip,
        user_agent: &meta.user_agent,
    };
    let outcome = deps
        .login()
        .run(&credential, client)
        .await
        .map_err(|failure| auth::not_decided(failure, START_AGAIN))?;
    let event = outcome.audit_event(&meta.request_id, deps.clock.now());
    let audited = hand_over::record(deps.audit.as_ref(), event);
    match outcome {
        LoginOutcome::LoggedIn(logged_in) => {
            answer_logged_in(&deps, &meta, *logged_in, audited).await
        }
        LoginOutcome::VerificationFailed { reason, user_id } => {
            tokio::join!(audited, login_failed(&deps, &user_id, &reason));
            Err(auth::verification_failed(&reason))
        }
        // Only someone whose face just passed learns of the lock (core/src/domain/account_lock.rs).
        LoginOutcome::Locked { .. } => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            onboarding_core::domain::AccountLock::REFUSAL,
            "This account is locked.",
        )
        .with_hint("Contact support to have the account unlocked.")),
        // `UserGone`: erased between verify-login and login.
        LoginOutcome::Unauthorized | LoginOutcome::UserGone => Err(ApiError::unauthorized()),
        LoginOutcome::AttemptExpired => Err(ApiError::gone(
            "attempt_expired",
            "This login attempt expired.",
        )
        .with_hint(START_AGAIN)),
        LoginOutcome::AttemptUsed => Err(attempt_used().with_hint(START_AGAIN)),
        // A concurrent request with the same attempt is validating it right now.
        LoginOutcome::TakenMeanwhile => Err(attempt_used()),
    }
}

/// The new session: counted, its event emitted, then handed out as a cookie (and in the body
/// for apps) with the account, and the attempt's cookie cleared. The trail (`audited`) is
/// handed the login while the account's names are opened: one round trip, not two.
async fn answer_logged_in(
    deps: &Deps,
    meta: &RequestMeta,
    logged_in: LoggedIn,
    audited: impl std::future::Future<Output = ()>,
) -> Result<Response, ApiError> {
    let LoggedIn {
        credential,
        session,
        user,
    } = logged_in;
    aws_adapters::metrics::emit(aws_adapters::metrics::Metric::LoginPassed);
    if let Some(key) = auth::event_key(deps).await {
        aws_adapters::events::user(key.as_ref().as_ref(), &user.user_id, |user| {
            aws_adapters::events::JourneyEvent::LoggedIn { user }
        });
    }
    let ((), account) = tokio::join!(audited, Account::open(deps.sealer.as_ref(), &user));
    let account = account?;
    let mut body = json!({
        "expires_at": rfc3339(session.absolute_expires_at),
        "user": public_user(&account),
    });
    let policy = deps.settings.cookies();
    let cookies = [
        (
            header::SET_COOKIE,
            policy.hand_out(
                CredentialKind::Session,
                &credential.expose(),
                deps.settings.session_absolute_seconds,
                meta.browser,
                &mut body,
                "session_token",
            ),
        ),
        (
            header::SET_COOKIE,
            policy.clear(CredentialKind::LoginAttempt),
        ),
    ];
    Ok((StatusCode::OK, AppendHeaders(cookies), Json(body)).into_response())
}

/// Metric and analytics event for a failed verification (a reason code, never free text). A
/// decoy has no user, so it counts in the metric but makes no event (`events::user` derives
/// none from an empty id).
async fn login_failed(deps: &Deps, user_id: &str, reason: &str) {
    let reason = aws_adapters::events::Reason::from_code(reason);
    aws_adapters::metrics::emit(aws_adapters::metrics::Metric::LoginFailed { reason });
    if let Some(key) = auth::event_key(deps).await {
        aws_adapters::events::user(key.as_ref().as_ref(), user_id, |user| {
            aws_adapters::events::JourneyEvent::LoginFailed { user, reason }
        });
    }
}

fn attempt_used() -> ApiError {
    ApiError::conflict("attempt_used", "This login attempt was already used.")
}
