//! `POST /v1/verify-login {username}`: the username validated, the rest decided by the
//! verify-login use case (core/src/use_cases/verify_login.rs), which also explains the uniform
//! mode for unknown usernames; what that mode does not hide is listed in docs/operations.md.

use std::sync::Arc;

use api::rfc3339;
use api::{ApiError, CredentialKind, FieldReader, JsonObject, RequestMeta};
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use onboarding_core::domain::Username;
use onboarding_core::use_cases::verify_login::{OpenedAttempt, VerifyLoginOutcome};
use serde_json::json;

use crate::Deps;

pub async fn handle(
    State(deps): State<Arc<Deps>>,
    meta: RequestMeta,
    body: JsonObject,
) -> Result<Response, ApiError> {
    let mut reader = FieldReader::new(body.0, &["username"]);
    let raw = reader.string("username");
    let username = raw.and_then(|u| match Username::parse(&u) {
        Ok(u) => Some(u),
        Err(problem) => {
            reader.error("username", problem);
            None
        }
    });
    reader.finish()?;
    let Some(username) = username else {
        return Err(ApiError::bad_request("username is required."));
    };
    match deps.verify_login().run(&username, meta.source_ip).await? {
        VerifyLoginOutcome::Opened(attempt) => {
            if !attempt.decoy {
                tracing::info!(attempt_id = %attempt.credential.id, "login attempt opened");
            }
            Ok(attempt_answer(&deps, &attempt, meta.browser))
        }
        VerifyLoginOutcome::NotRegistered => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_registered",
            "No account uses this username.",
        )
        .with_hint("Check the username, or register first.")),
    }
}

/// The 200 of verify-login, one shape for a real attempt and a decoy (so they cannot be told
/// apart by it): the attempt credential as a cookie (and, except for browsers, in the body), and
/// the verify token.
fn attempt_answer(deps: &Deps, attempt: &OpenedAttempt, browser: bool) -> Response {
    let mut body = json!({
        "expires_at": rfc3339(attempt.expires_at),
        "iproov": {"token": attempt.token, "base_url": deps.tokens.sdk_base_url()},
    });
    let cookie = deps.settings.cookies().hand_out(
        CredentialKind::LoginAttempt,
        &attempt.credential.expose(),
        deps.settings.token_ttl_seconds,
        browser,
        &mut body,
        "attempt_token",
    );
    ([(header::SET_COOKIE, cookie)], Json(body)).into_response()
}
