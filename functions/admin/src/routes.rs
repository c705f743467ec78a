//! The operator routes: each validates its input, runs one core journey and answers JSON in
//! the API's shapes (docs/api.md, "Operator API"). An unknown user is 404, a malformed id or
//! username 400; a store or the audit trail down is 503 (and nothing is disclosed unrecorded).

use std::sync::Arc;

use api::{ApiError, FieldErrors, FieldReader, JsonObject, rfc3339};
use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use onboarding_core::domain::Username;
use onboarding_core::ports::AttemptSummary;
use onboarding_core::use_cases::operator::attempts::ListAttempts;
use onboarding_core::use_cases::operator::erasure::OperatorErasure;
use onboarding_core::use_cases::operator::is_user_id;
use onboarding_core::use_cases::operator::lock::LockAccount;
use onboarding_core::use_cases::operator::lookup::{LookUp, UserSummary};
use onboarding_core::use_cases::operator::sessions::EndSessions;
use serde_json::{Value, json};

use crate::Deps;
use crate::caller::Operator;

type Answer = Result<Json<Value>, ApiError>;

/// The `{user_id}` of the path, if it is one this backend could have issued.
fn user_id(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    match path {
        Ok(Path(id)) if is_user_id(&id) => Ok(id),
        _ => Err(ApiError::invalid_fields(FieldErrors::from([(
            "user_id".to_owned(),
            "must be a user id: 32 lowercase hexadecimal digits".to_owned(),
        )]))),
    }
}

fn unknown_user() -> ApiError {
    ApiError::not_found("User")
}

fn look_up_of(deps: &Deps) -> LookUp<'_> {
    LookUp {
        users: deps.users.as_ref(),
        activity: deps.activity.as_ref(),
        keys: deps.keys.as_ref(),
        trail: deps.trail.as_ref(),
        clock: deps.clock.as_ref(),
        session_idle_seconds: deps.session_idle_seconds,
    }
}

fn summary(user: &UserSummary) -> Value {
    let locked_at = user.lock.locked_at();
    json!({
        "user_id": user.user_id,
        "created_at": rfc3339(user.created_at),
        "locked": locked_at.is_some(),
        "locked_at": locked_at.map(rfc3339),
        "live_sessions": user.live_sessions,
        // Version, text hash, language, time and channel: the evidence of the consent, never
        // the text's content or anything personal.
        "consent": user.consent.as_ref().map(|c| json!({
            "version": c.version,
            "text_sha256": c.text_sha256,
            "language": c.language.tag(),
            "accepted_at": rfc3339(c.accepted_at),
            "channel": c.channel.as_str(),
        })),
    })
}

/// `POST /admin/users/lookup` `{"username"}`: in the body, so the username stays out of URLs
/// and access logs.
pub async fn look_up(
    State(deps): State<Arc<Deps>>,
    operator: Operator,
    JsonObject(body): JsonObject,
) -> Answer {
    let mut fields = FieldReader::new(body, &["username"]);
    let raw = fields.string("username");
    let username = match raw.as_deref().map(Username::parse) {
        Some(Ok(username)) => Some(username),
        Some(Err(problem)) => {
            fields.error("username", problem);
            None
        }
        None => None,
    };
    fields.finish()?;
    let Some(username) = username else {
        return Err(ApiError::bad_request("username is required."));
    };
    let found = look_up_of(&deps)
        .by_username(operator.caller(), &username)
        .await?
        .ok_or_else(unknown_user)?;
    Ok(Json(summary(&found)))
}

/// `GET /admin/users/{user_id}`.
pub async fn show(
    State(deps): State<Arc<Deps>>,
    operator: Operator,
    path: Result<Path<String>, PathRejection>,
) -> Answer {
    let user_id = user_id(path)?;
    let found = look_up_of(&deps)
        .by_id(operator.caller(), &user_id)
        .await?
        .ok_or_else(unknown_user)?;
    Ok(Json(summary(&found)))
}

fn locker(deps: &Deps) -> LockAccount<'_> {
    LockAccount {
        locks: deps.locks.as_ref(),
        activity: deps.activity.as_ref(),
        grants: deps.grants.as_ref(),
        trail: deps.trail.as_ref(),
        clock: deps.clock.as_ref(),
    }
}

/// `PUT /admin/users/{user_id}/lock`: idempotent; a second lock keeps the first time.
pub async fn lock(
    State(deps): State<Arc<Deps>>,
    operator: Operator,
    path: Result<Path<String>, PathRejection>,
) -> Answer {
    let user_id = user_id(path)?;
    let locked = locker(&deps)
        .lock(operator.caller(), &user_id)
        .await?
        .ok_or_else(unknown_user)?;
    Ok(Json(json!({
        "user_id": user_id,
        "locked": true,
        "locked_at": rfc3339(locked.since),
        "sessions_ended": locked.sessions_ended,
        "grants_ended": locked.grants_ended,
    })))
}

/// `DELETE /admin/users/{user_id}/lock`.
pub async fn unlock(
    State(deps): State<Arc<Deps>>,
    operator: Operator,
    path: Result<Path<String>, PathRejection>,
) -> Answer {
    let user_id = user_id(path)?;
    locker(&deps)
        .unlock(operator.caller(), &user_id)
        .await?
        .ok_or_else(unknown_user)?;
    Ok(Json(json!({ "user_id": user_id, "locked": false })))
}

/// `DELETE /admin/users/{user_id}/sessions`.
pub async fn end_sessions(
    State(deps): State<Arc<Deps>>,
    operator: Operator,
    path: Result<Path<String>, PathRejection>,
) -> Answer {
    let user_id = user_id(path)?;
    let use_case = EndSessions {
        users: deps.users.as_ref(),
        activity: deps.activity.as_ref(),
        grants: deps.grants.as_ref(),
        trail: deps.trail.as_ref(),
        clock: deps.clock.as_ref(),
    };
    let ended = use_case
        .run(operator.caller(), &user_id)
        .await?
        .ok_or_else(unknown_user)?;
    Ok(Json(json!({
        "user_id": user_id,
        "sessions_ended": ended.sessions_ended,
        "grants_ended": ended.grants_ended,
    })))
}

/// `DELETE /admin/users/{user_id}`: 202, the erasure function does the rest.
pub async fn erase(
    State(deps): State<Arc<Deps>>,
    operator: Operator,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let user_id = user_id(path)?;
    let use_case = OperatorErasure {
        users: deps.users.as_ref(),
        queue: deps.erasure_queue.as_ref(),
        trail: deps.trail.as_ref(),
        clock: deps.clock.as_ref(),
    };
    use_case
        .run(operator.caller(), &user_id)
        .await?
        .ok_or_else(unknown_user)?;
    // The same analytics event as a person's own request, so the data team erases alike.
    if let Ok(key) = deps.keys.pseudonym_key().await {
        aws_adapters::events::user(key.as_ref().as_ref(), &user_id, |user| {
            aws_adapters::events::JourneyEvent::ErasureRequested { user }
        });
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "status": "erasure_scheduled", "user_id": user_id })),
    )
        .into_response())
}

fn attempt(a: &AttemptSummary) -> Value {
    json!({
        "at": rfc3339(a.created_at),
        "kind": a.kind.as_str(),
        "status": a.status.as_str(),
        "reason": a.reason,
    })
}

/// `GET /admin/users/{user_id}/attempts`: newest first, at most 50.
pub async fn attempts(
    State(deps): State<Arc<Deps>>,
    operator: Operator,
    path: Result<Path<String>, PathRejection>,
) -> Answer {
    let user_id = user_id(path)?;
    let use_case = ListAttempts {
        users: deps.users.as_ref(),
        activity: deps.activity.as_ref(),
        trail: deps.trail.as_ref(),
        clock: deps.clock.as_ref(),
    };
    let listed = use_case
        .run(operator.caller(), &user_id)
        .await?
        .ok_or_else(unknown_user)?;
    Ok(Json(json!({
        "user_id": user_id,
        "attempts": listed.iter().map(attempt).collect::<Vec<_>>(),
    })))
}
