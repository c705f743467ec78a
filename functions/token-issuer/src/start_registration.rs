//! `POST /v1/users/registration`: the person's input validated, the credential they present
//! resolved, and the rest decided by the start-registration use case
//! (core/src/use_cases/start_registration.rs), consent first; its outcome becomes the answer
//! here.

use std::sync::Arc;

use api::registration_access::{self, Access};
use api::rfc3339;
use api::{ApiError, CredentialKind, FieldReader, JsonObject, RequestMeta};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use onboarding_core::audit::hand_over;
use onboarding_core::domain::consent::ConsentAnswer;
use onboarding_core::domain::{Channel, DisplayName, RegistrationStatus, Username};
use onboarding_core::use_cases::start_registration::{
    AttemptKind, IssuedAttempt, RegistrationRequest, StartOutcome,
};
use serde_json::json;

use crate::{Deps, consent};

/// The validated body.
struct Input {
    username: Username,
    display_name: DisplayName,
    /// The consent answer as sent (absent: the core refuses it as missing).
    consent: Option<ConsentAnswer>,
}

fn read_input(body: JsonObject) -> Result<Input, ApiError> {
    let mut reader = FieldReader::new(body.0, &["username", "display_name", "consent"]);
    let username = reader.string("username");
    let display_name = reader.string("display_name");
    let consent =
        reader
            .optional_object("consent")
            .and_then(|object| match consent::read_answer(object) {
                Ok(answer) => Some(answer),
                Err(problem) => {
                    reader.error("consent", problem);
                    None
                }
            });
    let username = username.and_then(|u| match Username::parse(&u) {
        Ok(u) => Some(u),
        Err(problem) => {
            reader.error("username", problem);
            None
        }
    });
    let display_name = display_name.and_then(|d| match DisplayName::parse(&d) {
        Ok(d) => Some(d),
        Err(problem) => {
            reader.error("display_name", problem);
            None
        }
    });
    reader.finish()?;
    match (username, display_name) {
        (Some(username), Some(display_name)) => Ok(Input {
            username,
            display_name,
            consent,
        }),
        _ => Err(ApiError::bad_request("Some fields are missing or invalid.")),
    }
}

pub async fn handle(
    State(deps): State<Arc<Deps>>,
    meta: RequestMeta,
    headers: HeaderMap,
    body: JsonObject,
) -> Result<Response, ApiError> {
    let input = read_input(body)?;
    let now = deps.clock.now();
    // A stale or foreign credential does not block a fresh start.
    let continuing = match registration_access::resolve(
        &headers,
        deps.settings.cookies(),
        deps.registrations.as_ref(),
        now,
    )
    .await?
    {
        Access::Found(credential, registration) => Some((credential, *registration)),
        Access::Missing | Access::Unknown => None,
    };
    let request = RegistrationRequest {
        username: input.username,
        display_name: input.display_name,
        ip: meta.source_ip,
        continuing,
        consent: input.consent,
        language: consent::requested_language(&headers),
        channel: Channel::of_request(meta.browser),
    };
    let outcome = deps.start_registration().run(request).await?;
    let event = outcome.audit_event(now, &meta.request_id);
    hand_over::record(deps.audit.as_ref(), event).await;
    match outcome {
        StartOutcome::Issued(issued) => Ok(issued_answer(&deps, &issued, now, meta.browser)),
        StartOutcome::UsernameTaken => Err(ApiError::conflict(
            "username_taken",
            "This username is already registered.",
        )
        .with_hint("Choose another username, or log in if this is you.")),
        StartOutcome::InProgress(status) => Err(ApiError::conflict(
            "registration_in_progress",
            format!(
                "This registration is {}; it cannot be restarted now.",
                status.as_str()
            ),
        )),
        StartOutcome::ChangedMeanwhile => Err(ApiError::conflict(
            "registration_in_progress",
            "This registration changed meanwhile; check its status.",
        )),
        StartOutcome::AttemptsExhausted => Err(ApiError::conflict(
            "attempts_exhausted",
            "This registration has used all its attempts.",
        )
        .with_hint("Start a new registration.")),
        StartOutcome::ConsentRefused(problem) => Err(consent::refusal(problem)),
    }
}

/// The 201 with the attempt's token, after the log line, metric and analytics event of a
/// started attempt (ids only; a repeated request started nothing).
fn issued_answer(deps: &Deps, issued: &IssuedAttempt, now: i64, browser: bool) -> Response {
    let registration = &issued.registration;
    let attempt = registration.attempt;
    match issued.kind {
        AttemptKind::Fresh => {
            tracing::info!(registration_id = %registration.id, attempt, "registration started");
        }
        AttemptKind::Retry => {
            tracing::info!(registration_id = %registration.id, attempt, "registration retried");
        }
        AttemptKind::Repeat => {}
    }
    if issued.kind != AttemptKind::Repeat {
        aws_adapters::metrics::emit(aws_adapters::metrics::Metric::RegistrationStarted);
        aws_adapters::events::registration(&registration.id, |registration_id| {
            aws_adapters::events::JourneyEvent::RegistrationStarted {
                registration_id,
                attempt,
            }
        });
    }
    let mut body = json!({
        "registration_id": registration.id,
        "status": RegistrationStatus::AwaitingScan.as_str(),
        "attempt": attempt,
        "expires_at": rfc3339(registration.token_expires_at),
        "iproov": {"token": issued.token, "base_url": deps.tokens.sdk_base_url()},
    });
    let cookie = deps.settings.cookies().hand_out(
        CredentialKind::Registration,
        &issued.credential.expose(),
        registration.expires_at - now,
        browser,
        &mut body,
        "session_token",
    );
    (
        StatusCode::CREATED,
        [(header::SET_COOKIE, cookie)],
        Json(body),
    )
        .into_response()
}
