//! `DELETE /v1/users`: erasure on request. The core's use case queues the erasure, then ends
//! every session of the user (core/src/use_cases/account/request_erasure.rs); the data itself is
//! removed asynchronously by the erasure function. This handler answers, clears the cookie and
//! emits the analytics event.

use std::sync::Arc;

use api::{ApiError, CredentialKind, RequestMeta};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use onboarding_core::audit::hand_over;
use onboarding_core::use_cases::account::request_erasure::ErasureRequest;
use serde_json::json;

use crate::{Deps, auth};

pub async fn handle(
    State(deps): State<Arc<Deps>>,
    meta: RequestMeta,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let credential = auth::presented(&headers, CredentialKind::Session, deps.settings.cookies())?;
    let outcome = deps
        .request_erasure()
        .run(&credential, &meta.request_id)
        .await?;
    let outcome = auth::live(outcome)?;
    let event = outcome.audit_event(&meta.request_id, deps.clock.now());
    let audited = hand_over::record(deps.audit.as_ref(), event);
    let user_id = match outcome {
        ErasureRequest::Scheduled { user_id, .. } => user_id,
        // Nothing changed: the person may retry, still logged in.
        ErasureRequest::QueueUnavailable => {
            return Err(ApiError::unavailable("queue_unavailable"));
        }
        // Nothing changed: the page walks the person through a step-up, then asks again.
        ErasureRequest::StepUpRequired => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "step_up_required",
                "Erasing the account needs your face again.",
            )
            .with_hint("Verify your face again, then delete the account within a few minutes."));
        }
    };
    // The trail and the analytics key lookup run side by side.
    let ((), key) = tokio::join!(audited, auth::event_key(&deps));
    if let Some(key) = key {
        aws_adapters::events::user(key.as_ref().as_ref(), &user_id, |user| {
            aws_adapters::events::JourneyEvent::ErasureRequested { user }
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
