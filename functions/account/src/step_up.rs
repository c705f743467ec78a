//! `POST /v1/step-up` and `POST /v1/step-up/complete`: the person proves their face again on
//! this session before a sensitive action. The rules (the attempt bound to the session, one
//! validate, elevation only on a pass and never past the session) are the core's
//! (core/src/use_cases/account/step_up.rs); these handlers read the request and answer.

use std::sync::Arc;

use api::rfc3339;
use api::{ApiError, CredentialKind, FieldReader, JsonObject, RequestMeta};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use onboarding_core::audit::hand_over;
use onboarding_core::crypto::Credential;
use onboarding_core::ports::ClientContext;
use onboarding_core::use_cases::account::step_up::StepUpOutcome;
use serde_json::{Value, json};

use crate::{Deps, auth};

/// The hint of every answer after which this attempt cannot elevate any more.
const START_AGAIN: &str = "Start the step-up again.";

/// A verify token for the session's own user, and the attempt's credential (always in the body:
/// it opens nothing without this session, and the page must send it back).
pub async fn start(
    State(deps): State<Arc<Deps>>,
    meta: RequestMeta,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let session = auth::presented(&headers, CredentialKind::Session, deps.settings.cookies())?;
    let opened = auth::live(deps.start_step_up().run(&session, meta.source_ip).await?)?;
    tracing::info!(attempt_id = %opened.credential.id, "step-up attempt opened");
    Ok(Json(json!({
        "attempt_token": opened.credential.expose(),
        "expires_at": rfc3339(opened.expires_at),
        "iproov": {"token": opened.token, "base_url": deps.tokens.sdk_base_url()},
    })))
}

/// Validates the step-up scan once and, on a pass, elevates this session.
pub async fn complete(
    State(deps): State<Arc<Deps>>,
    meta: RequestMeta,
    headers: HeaderMap,
    body: JsonObject,
) -> Result<Json<Value>, ApiError> {
    let attempt = read_attempt(body)?;
    let session = auth::presented(&headers, CredentialKind::Session, deps.settings.cookies())?;
    let client = ClientContext {
        ip: meta.source_ip,
        user_agent: &meta.user_agent,
    };
    let outcome = deps
        .complete_step_up()
        .run(&session, &attempt, client)
        .await
        .map_err(|failure| auth::not_decided(failure, START_AGAIN))?;
    let outcome = auth::live(outcome)?;
    let event = outcome.audit_event(&meta.request_id, deps.clock.now());
    hand_over::record(deps.audit.as_ref(), event).await;
    match outcome {
        StepUpOutcome::Elevated { acr, until, .. } => Ok(Json(json!({
            "acr": acr,
            "elevated_until": rfc3339(until),
        }))),
        StepUpOutcome::VerificationFailed { reason, .. } => Err(auth::verification_failed(&reason)),
        StepUpOutcome::UnknownAttempt => Err(ApiError::unauthorized()),
        StepUpOutcome::Foreign => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "step_up_foreign",
            "This step-up was started by another session.",
        )
        .with_hint(START_AGAIN)),
        StepUpOutcome::Expired => Err(ApiError::gone(
            "attempt_expired",
            "This step-up attempt expired.",
        )
        .with_hint(START_AGAIN)),
        StepUpOutcome::Used => Err(ApiError::conflict(
            "attempt_used",
            "This step-up attempt was already used.",
        )
        .with_hint(START_AGAIN)),
    }
}

/// The body `{"attempt_token"}`: a credential of our shape, or a 400 naming the field.
fn read_attempt(body: JsonObject) -> Result<Credential, ApiError> {
    let mut reader = FieldReader::new(body.0, &["attempt_token"]);
    let raw = reader.string("attempt_token");
    let attempt = raw.and_then(|raw| {
        let parsed = Credential::parse(&raw);
        if parsed.is_none() {
            reader.error("attempt_token", "is not a step-up attempt token");
        }
        parsed
    });
    reader.finish()?;
    attempt.ok_or_else(|| ApiError::bad_request("attempt_token is required."))
}
