//! `GET /v1/users/registration`: where my registration stands, with a hint after a failure,
//! and — once completed, the first time only — a login session (browsers get it as a cookie
//! only). The rules are the registration-status use case's
//! (core/src/use_cases/registration_status.rs).

use std::sync::Arc;

use api::registration_access;
use api::rfc3339;
use api::{ApiError, CredentialKind, RequestMeta};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::Deps;

pub async fn handle(
    State(deps): State<Arc<Deps>>,
    meta: RequestMeta,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let now = deps.clock.now();
    let (credential, registration) = registration_access::require(
        &headers,
        deps.settings.cookies(),
        deps.registrations.as_ref(),
        now,
    )
    .await?;
    let view = deps.status().run(&credential, &registration).await?;
    let mut body = json!({
        "registration_id": registration.id,
        "status": view.status.as_str(),
        "attempt": view.attempt,
        "attempts_left": view.attempts_left,
    });
    if let Some((reason, hint)) = view.failure {
        body["hint"] = Value::from(hint);
        body["reason"] = Value::from(reason);
    }
    let Some((session, login)) = view.login else {
        return Ok(Json(body).into_response());
    };
    tracing::info!(registration_id = %registration.id, "login session opened from registration");
    body["login"] = json!({"expires_at": rfc3339(session.absolute_expires_at)});
    let cookie = deps.settings.cookies().hand_out(
        CredentialKind::Session,
        &login.expose(),
        session.absolute_expires_at - now,
        meta.browser,
        &mut body["login"],
        "session_token",
    );
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}
