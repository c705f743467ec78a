//! `POST /v1/login` with a login-attempt credential: ask iProov, synchronously, whether the
//! verify scan passed, and on pass open a new session.
//!
//! Validate is called at most once per attempt: the attempt moves `pending → validating` with a
//! condition first, so a double click or a retry finds it taken (409). Only when iProov provably
//! did not process the call (rate limit, refused connection) does the attempt go back to
//! `pending` for another try; an unknown outcome ends the attempt.
//!
//! Independent calls overlap (see `attempt`): the attempt read with its counter, iProov's
//! validate with the user read, the attempt's end with the new session.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Response};
use serde_json::json;
use shared::api::rfc3339;
use shared::api::{ApiError, CredentialKind, RequestMeta};
use shared::crypto::Credential;
use shared::domain::reasons;
use shared::iproov::{IProovError, IProovUserId, Token, ValidateRequest};
use shared::ports::{AttemptStatus, LoginAttempt, Session, StoreError};

use crate::me::public_user;
use crate::{Deps, attempt};

pub async fn handle(
    State(deps): State<Arc<Deps>>,
    meta: RequestMeta,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let now = deps.clock.now();
    let attempt = attempt::find_counted(
        deps.attempts.as_ref(),
        deps.limiter.as_ref(),
        deps.limits.login_per_attempt,
        &headers,
        deps.settings.cookies(),
        now,
    )
    .await?;
    if now >= attempt.expires_at && attempt.status == AttemptStatus::Pending {
        return Err(
            ApiError::gone("attempt_expired", "This login attempt expired.")
                .with_hint("Start the login again."),
        );
    }
    if attempt.status != AttemptStatus::Pending {
        return Err(
            ApiError::conflict("attempt_used", "This login attempt was already used.")
                .with_hint("Start the login again."),
        );
    }
    match deps
        .attempts
        .transition(
            &attempt.id,
            AttemptStatus::Pending,
            AttemptStatus::Validating,
            None,
        )
        .await
    {
        Ok(()) => {}
        Err(StoreError::Conflict) => {
            return Err(ApiError::conflict(
                "attempt_used",
                "This login attempt was already used.",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    if attempt.decoy {
        return Err(decoy_failed(&deps, &attempt).await);
    }
    let user_id = IProovUserId::from_stored(attempt.iproov_user_id.clone())
        .map_err(|_| ApiError::internal())?;
    let token = Token::new(attempt.iproov_token.clone());
    let request = ValidateRequest {
        user_id: &user_id,
        token: &token,
        client_ip: meta.source_ip,
        client: &meta.user_agent,
    };
    // The account is read while iProov validates: the two are independent.
    let started = std::time::Instant::now();
    let (verdict, user) = tokio::join!(
        async {
            let verdict = deps.iproov.verify_validate(request).await;
            deps.verify_validate_latency.record(started.elapsed());
            verdict
        },
        deps.users.get(&attempt.user_id)
    );
    let outcome = match verdict {
        Ok(outcome) => outcome,
        Err(err) => return Err(validate_failed(&deps, &attempt, err).await),
    };
    if !outcome.passed {
        let reason = reasons::sanitise_reason(outcome.reason.as_deref());
        end_attempt(&deps, &attempt, AttemptStatus::Failed, Some(&reason)).await;
        tracing::info!(reason = %reason, "login verification failed");
        login_failed(&deps, &attempt, &reason).await;
        return Err(verification_failed(&reason));
    }
    let user = match user {
        Ok(Some(user)) => user,
        other => {
            end_attempt(&deps, &attempt, AttemptStatus::Passed, None).await;
            // `None`: erased between verify-login and login.
            return Err(other.map_or_else(ApiError::from, |_| ApiError::unauthorized()));
        }
    };
    let session_id = uuid::Uuid::new_v4().simple().to_string();
    let credential = Credential::issue(session_id.clone()).map_err(|_| ApiError::internal())?;
    let session = Session {
        id: session_id,
        secret_hash: credential.secret_hash(),
        user_id: user.user_id.clone(),
        created_at: now,
        last_seen: now,
        absolute_expires_at: now + deps.settings.session_absolute_seconds,
    };
    attempt::open_session(
        deps.attempts.as_ref(),
        deps.sessions.as_ref(),
        &attempt.id,
        &session,
        deps.settings.session_idle_seconds,
    )
    .await?;
    tracing::info!("logged in");
    shared::metrics::emit(shared::metrics::Metric::LoginPassed);
    if let Ok(keys) = deps.keys.get().await {
        shared::events::user(keys.pseudonym_key(), &user.user_id, |user| {
            shared::events::JourneyEvent::LoggedIn { user }
        });
    }
    let mut body = json!({
        "expires_at": rfc3339(session.absolute_expires_at),
        "user": public_user(&deps, &user).await?,
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

/// A decoy attempt (uniform mode, unknown username) ends exactly as a real attempt does whose
/// token never saw a scan ([`never_scanned`]), without the iProov call, and in the time of a
/// recent real validate.
async fn decoy_failed(deps: &Deps, attempt: &LoginAttempt) -> ApiError {
    let started = std::time::Instant::now();
    let answer = never_scanned(deps, attempt).await;
    deps.verify_validate_latency
        .imitate(started.elapsed())
        .await;
    answer
}

/// iProov answered `invalid_token` (or would have: a decoy): the attempt ends as a failed
/// verification with reason `validation_unknown`. A decoy has no user, so it counts in the
/// metric but makes no analytics event (`events::user` derives none from an empty id).
async fn never_scanned(deps: &Deps, attempt: &LoginAttempt) -> ApiError {
    end_attempt(
        deps,
        attempt,
        AttemptStatus::Failed,
        Some("validation_unknown"),
    )
    .await;
    login_failed(deps, attempt, "validation_unknown").await;
    verification_failed("validation_unknown")
}

async fn end_attempt(deps: &Deps, attempt: &LoginAttempt, to: AttemptStatus, reason: Option<&str>) {
    attempt::end(deps.attempts.as_ref(), &attempt.id, to, reason).await;
}

async fn validate_failed(deps: &Deps, attempt: &LoginAttempt, err: IProovError) -> ApiError {
    match err {
        IProovError::InvalidToken => never_scanned(deps, attempt).await,
        err if err.is_retryable() && !err.outcome_unknown() => {
            // iProov did not process it: the same attempt may be tried again.
            if let Err(e) = deps
                .attempts
                .transition(
                    &attempt.id,
                    AttemptStatus::Validating,
                    AttemptStatus::Pending,
                    None,
                )
                .await
            {
                tracing::warn!(error = %e, "could not give the attempt back");
            }
            ApiError::from(err)
        }
        err => {
            end_attempt(
                deps,
                attempt,
                AttemptStatus::Failed,
                Some("validation_unknown"),
            )
            .await;
            ApiError::from(err).with_hint("Start the login again.")
        }
    }
}

/// Metric and analytics event for a failed verification (a reason code, never free text).
async fn login_failed(deps: &Deps, attempt: &LoginAttempt, reason: &str) {
    let reason = shared::events::Reason::from_code(reason);
    shared::metrics::emit(shared::metrics::Metric::LoginFailed { reason });
    if let Ok(keys) = deps.keys.get().await {
        shared::events::user(keys.pseudonym_key(), &attempt.user_id, |user| {
            shared::events::JourneyEvent::LoginFailed { user, reason }
        });
    }
}

fn verification_failed(reason: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "verification_failed",
        "We could not verify your face.",
    )
    .with_reason(reason)
    .with_hint(reasons::hint_for(reason))
}
