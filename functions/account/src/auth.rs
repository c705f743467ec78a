//! Login-session authentication. Expiry is decided here, in code — DynamoDB's TTL only cleans
//! up, possibly days late. Activity is recorded at most once a minute, so the idle timeout slides
//! without a write on every request.

use axum::http::HeaderMap;
use shared::api::{ApiError, CredentialKind, credential};
use shared::crypto::Credential;
use shared::ports::Session;

use crate::Deps;

/// Seconds between two `last_seen` writes for one session.
const TOUCH_EVERY: i64 = 60;

/// The caller's live session, or 401.
pub async fn session(deps: &Deps, headers: &HeaderMap) -> Result<Session, ApiError> {
    let credential =
        credential::presented(headers, CredentialKind::Session, deps.settings.cookies())?
            .and_then(|c| Credential::parse(&c))
            .ok_or_else(ApiError::unauthorized)?;
    let now = deps.clock.now();
    let session = deps
        .sessions
        .get(&credential.id)
        .await?
        .filter(|s| credential.matches(&s.secret_hash))
        .ok_or_else(ApiError::unauthorized)?;
    let idle_deadline = session.last_seen + deps.settings.session_idle_seconds;
    if now >= session.absolute_expires_at || now >= idle_deadline {
        return Err(ApiError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            "session_expired",
            "Your session has expired. Please log in again.",
        ));
    }
    if now - session.last_seen >= TOUCH_EVERY
        && let Err(err) = deps.control.touch(&session.id, now).await
    {
        // Not fatal for this request; the session just slides less.
        tracing::warn!(error = %err, "could not record session activity");
    }
    Ok(session)
}
