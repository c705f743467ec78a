//! `POST /v1/users`: the client says its scan finished; the submit-scan use case
//! (core/src/use_cases/submit_scan.rs) moves the registration on and hands it to the validator.

use std::sync::Arc;

use api::registration_access;
use api::{ApiError, RequestMeta};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use onboarding_core::domain::RegistrationStatus;
use onboarding_core::use_cases::submit_scan::SubmitOutcome;
use serde_json::json;

use crate::Deps;

pub async fn handle(
    State(deps): State<Arc<Deps>>,
    meta: RequestMeta,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (_, registration) = registration_access::require(
        &headers,
        deps.settings.cookies(),
        deps.registrations.as_ref(),
        deps.clock.now(),
    )
    .await?;
    let outcome = deps
        .submit_scan()
        .run(&registration, Some(meta.request_id.clone()))
        .await?;
    match outcome {
        SubmitOutcome::Submitted => {}
        SubmitOutcome::Expired => {
            return Err(ApiError::gone(
                "registration_expired",
                "The scan token expired before the scan was submitted.",
            )
            .with_hint("Start the registration again to get a new scan."));
        }
        SubmitOutcome::WrongState(status) => {
            return Err(ApiError::conflict(
                "invalid_state",
                format!(
                    "This registration is {}; a scan can only be submitted while awaiting one.",
                    status.as_str()
                ),
            ));
        }
        SubmitOutcome::QueueUnavailable => {
            return Err(ApiError::unavailable("queue_unavailable"));
        }
    }
    let attempt = registration.attempt;
    tracing::info!(registration_id = %registration.id, attempt, "scan submitted");
    aws_adapters::events::registration(&registration.id, |registration_id| {
        aws_adapters::events::JourneyEvent::ScanSubmitted {
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
