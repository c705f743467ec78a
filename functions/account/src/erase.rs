//! `DELETE /v1/users`: erasure on request. Every session of the user ends now; the data itself
//! (user record, username claim, images, the iProov user) is removed asynchronously by the
//! erasure function, through a queue with retries and a dead-letter queue.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use shared::api::{ApiError, CredentialKind, RequestMeta};
use shared::ports::ErasureRequested;

use crate::{Deps, auth};

pub async fn handle(
    State(deps): State<Arc<Deps>>,
    meta: RequestMeta,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let session = auth::session(&deps, &headers).await?;
    let request = ErasureRequested {
        user_id: session.user_id.clone(),
        request_id: Some(meta.request_id.clone()),
    };
    // Enqueue first: if the queue is down, nothing has changed and the person can retry.
    deps.erasure_queue
        .publish(&request)
        .await
        .map_err(|_| ApiError::unavailable("queue_unavailable"))?;
    let revoked = deps.control.revoke_all(&session.user_id).await?;
    tracing::info!(revoked, "erasure requested");
    if let Ok(keys) = deps.keys.get().await {
        shared::events::user(keys.pseudonym_key(), &session.user_id, |user| {
            shared::events::JourneyEvent::ErasureRequested { user }
        });
    }
    let cookie = deps.settings.cookies().clear(CredentialKind::Session);
    Ok((
        StatusCode::ACCEPTED,
        [(header::SET_COOKIE, cookie)],
        Json(json!({"status": "erasure_scheduled"})),
    )
        .into_response())
}
