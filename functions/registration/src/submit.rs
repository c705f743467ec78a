//! `POST /v1/users`: the client says its scan finished. We never trust a token from the client:
//! the registration's own token is what the validator will check. The state change and the
//! message go together: if the queue refuses the message, the state change is undone.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use shared::api::{ApiError, RequestMeta};
use shared::domain::RegistrationStatus;
use shared::ports::{ScanSubmitted, StoreError};
use shared::registration_access;

use crate::Deps;

pub async fn handle(
    State(deps): State<Arc<Deps>>,
    meta: RequestMeta,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let now = deps.clock.now();
    let (_, registration) = registration_access::require(
        &headers,
        deps.settings.cookies(),
        deps.registrations.as_ref(),
        now,
    )
    .await?;
    check_state(registration.status_at(now))?;
    match deps
        .registrations
        .submit(&registration.id, registration.attempt, now)
        .await
    {
        Ok(()) => {}
        Err(StoreError::Conflict) => {
            // Someone else moved it first (a double submit): report where it is now.
            let current = deps.registrations.get(&registration.id).await?;
            let status = current.map_or(RegistrationStatus::Expired, |r| r.status_at(now));
            check_state(status)?;
            return Err(wrong_state(status));
        }
        Err(e) => return Err(e.into()),
    }
    let message = ScanSubmitted {
        registration_id: registration.id.clone(),
        attempt: registration.attempt,
        request_id: Some(meta.request_id.clone()),
    };
    if let Err(err) = deps.queue.publish(&message).await {
        tracing::error!(error = %err, registration_id = %registration.id, "could not enqueue scan");
        if let Err(undo) = deps
            .registrations
            .unsubmit(&registration.id, registration.attempt)
            .await
        {
            tracing::error!(error = %undo, registration_id = %registration.id, "could not undo submit");
        }
        return Err(ApiError::unavailable("queue_unavailable"));
    }
    tracing::info!(registration_id = %registration.id, attempt = registration.attempt, "scan submitted");
    let attempt = registration.attempt;
    shared::events::registration(&registration.id, |registration_id| {
        shared::events::JourneyEvent::ScanSubmitted {
            registration_id,
            attempt,
        }
    });
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({
            "registration_id": registration.id,
            "status": RegistrationStatus::Submitted.as_str(),
        })),
    )
        .into_response())
}

fn check_state(status: RegistrationStatus) -> Result<(), ApiError> {
    match status {
        RegistrationStatus::AwaitingScan => Ok(()),
        RegistrationStatus::Expired => Err(ApiError::gone(
            "registration_expired",
            "The scan token expired before the scan was submitted.",
        )
        .with_hint("Start the registration again to get a new scan.")),
        other => Err(wrong_state(other)),
    }
}

fn wrong_state(status: RegistrationStatus) -> ApiError {
    ApiError::conflict(
        "invalid_state",
        format!(
            "This registration is {}; a scan can only be submitted while awaiting one.",
            status.as_str()
        ),
    )
}
