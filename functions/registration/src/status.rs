//! `GET /v1/users/registration`: where my registration stands, with a hint after a failure, and
//! — once completed — a login session.
//!
//! The login session is derived from the registration credential (keyed hash), so the
//! validator, which never sees that credential, does not have to hand a plaintext session
//! secret to anyone, and nothing secret is stored. It is handed out once: later polls report
//! `completed` without it, so a registration credential that leaks after the person signed in
//! (or after the account was erased) opens nothing. Browsers get it as a cookie only.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use shared::api::rfc3339;
use shared::api::{ApiError, CredentialKind, RequestMeta};
use shared::crypto::{Credential, keyed_hash};
use shared::domain::{Registration, RegistrationStatus, reasons};
use shared::ports::{Session, StoreError};
use shared::registration_access;

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
    let status = registration.status_at(now);
    let mut body = json!({
        "registration_id": registration.id,
        "status": status.as_str(),
        "attempt": registration.attempt,
        "attempts_left": deps.settings.registration_max_attempts.saturating_sub(registration.attempt),
    });
    match status {
        RegistrationStatus::Failed => {
            let reason = registration
                .reason
                .clone()
                .unwrap_or_else(|| "unknown".into());
            body["hint"] = Value::from(reasons::hint_for(&reason));
            body["reason"] = Value::from(reason);
        }
        RegistrationStatus::Expired => {
            body["reason"] = Value::from("scan_expired");
            body["hint"] = Value::from(reasons::hint_for("scan_expired"));
        }
        RegistrationStatus::Completed => {
            if let Some((session, exposed)) =
                login_session(&deps, &credential, &registration, now).await?
            {
                body["login"] = json!({"expires_at": rfc3339(session.absolute_expires_at)});
                let cookie = deps.settings.cookies().hand_out(
                    CredentialKind::Session,
                    &exposed,
                    session.absolute_expires_at - now,
                    meta.browser,
                    &mut body["login"],
                    "session_token",
                );
                return Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response());
            }
        }
        _ => {}
    }
    Ok(Json(body).into_response())
}

/// The login session opened by completing this registration, the first time it is asked for;
/// `None` ever after.
async fn login_session(
    deps: &Deps,
    registration_credential: &Credential,
    registration: &Registration,
    now: i64,
) -> Result<Option<(Session, String)>, ApiError> {
    let keys = deps.keys.get().await?;
    let key = keys.pseudonym_key();
    let session_id = keyed_hash(key, "login-from-registration", &registration.id)[..32].to_owned();
    let credential = Credential::derive(
        session_id.clone(),
        key,
        "login-secret",
        registration_credential,
    );
    if registration.login_issued {
        return Ok(None);
    }
    let session = Session {
        id: session_id,
        secret_hash: credential.secret_hash(),
        user_id: registration.user_id.clone(),
        created_at: now,
        last_seen: now,
        absolute_expires_at: now + deps.settings.session_absolute_seconds,
    };
    match deps
        .sessions
        .create(&session, deps.settings.session_idle_seconds)
        .await
    {
        Ok(()) | Err(StoreError::Conflict) => {}
        Err(e) => return Err(e.into()),
    }
    deps.registrations
        .mark_login_issued(&registration.id)
        .await?;
    tracing::info!(registration_id = %registration.id, "login session opened from registration");
    Ok(Some((session, credential.expose())))
}
