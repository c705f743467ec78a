//! Validating one submitted scan, safely repeatable at every step:
//!
//! 1. `submitted → validating` (conditional): only one copy of a message wins; a copy that finds
//!    another holder comes back later, and takes over only if the holder vanished.
//! 2. `enrol/validate` at iProov, once.
//! 3. The outcome is recorded before anything else, so a crash after it never needs a second
//!    validate (which iProov would refuse).
//! 4. On pass: the frame to S3 while the user and its username claim are written in one
//!    transaction (see `store` for why they may overlap), then `completed`. Each is idempotent,
//!    so a repeat after a crash finishes the job.

use std::sync::Arc;

use shared::config::JourneySettings;
use shared::domain::registration::Outcome;
use shared::domain::{Registration, RegistrationStatus, hints};
use shared::iproov::{IProovClient, IProovError, IProovUserId, Token, ValidateRequest};
use shared::ports::{
    Clock, ImageStore, RegistrationStore, ScanSubmitted, StoreError, User, UserCreated, UserStore,
};

/// What this consumer needs.
pub struct Deps {
    pub registrations: Arc<dyn RegistrationStore>,
    pub users: Arc<dyn UserStore>,
    pub images: Arc<dyn ImageStore>,
    pub iproov: Arc<IProovClient>,
    pub keys: Arc<shared::adapters::secrets::CachedSecret<shared::adapters::secrets::AppKeys>>,
    pub clock: Arc<dyn Clock>,
    pub settings: JourneySettings,
}

/// What should happen to the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Done (or nothing left to do): delete it.
    Done,
    /// Let it come back after the visibility timeout.
    Retry,
}

pub async fn process(deps: &Deps, message: &ScanSubmitted, sent_ms: Option<i64>) -> Disposition {
    match run(deps, message, sent_ms).await {
        Ok(d) => d,
        Err(err) => {
            tracing::warn!(error = %err, "storage failed; message will be retried");
            Disposition::Retry
        }
    }
}

async fn run(
    deps: &Deps,
    message: &ScanSubmitted,
    sent_ms: Option<i64>,
) -> Result<Disposition, StoreError> {
    let Some(registration) = deps.registrations.get(&message.registration_id).await? else {
        tracing::warn!("registration not found (expired or erased); dropping message");
        return Ok(Disposition::Done);
    };
    if registration.attempt != message.attempt {
        tracing::info!(
            current_attempt = registration.attempt,
            "message for an earlier attempt; dropping"
        );
        return Ok(Disposition::Done);
    }
    match (registration.status, registration.outcome) {
        (RegistrationStatus::Validating, Some(Outcome::Passed)) => {
            tracing::info!("outcome already recorded; finishing without a second validate");
            finish(deps, &registration, None).await
        }
        (RegistrationStatus::Submitted | RegistrationStatus::Validating, None) => {
            validate(deps, &registration, sent_ms).await
        }
        (status, _) => {
            tracing::info!(
                status = status.as_str(),
                "nothing to do for this state; dropping"
            );
            Ok(Disposition::Done)
        }
    }
}

async fn validate(
    deps: &Deps,
    registration: &Registration,
    sent_ms: Option<i64>,
) -> Result<Disposition, StoreError> {
    let now = deps.clock.now();
    match deps
        .registrations
        .begin_validation(
            &registration.id,
            registration.attempt,
            now,
            deps.settings.validation_lease_seconds,
        )
        .await
    {
        Ok(()) => {}
        Err(StoreError::Conflict) => {
            tracing::info!("another worker holds this validation; retrying later");
            return Ok(Disposition::Retry);
        }
        Err(e) => return Err(e),
    }
    let Ok(user_id) = IProovUserId::from_stored(registration.iproov_user_id.clone()) else {
        deps.registrations
            .record_outcome(
                &registration.id,
                registration.attempt,
                Outcome::Failed,
                Some("unknown"),
                None,
                now,
            )
            .await?;
        return Ok(Disposition::Done);
    };
    let token = Token::new(registration.iproov_token.clone());
    let request = ValidateRequest {
        user_id: &user_id,
        token: &token,
        client_ip: None,
        client: "iproov-onboarding-validator",
    };
    let result = deps.iproov.enrol_validate(request).await;
    let now = deps.clock.now();
    if let (Some(sent), Ok(_) | Err(IProovError::InvalidToken)) = (sent_ms, &result) {
        let now_ms = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
        shared::metrics::emit(shared::metrics::Metric::ValidationLag {
            lag_ms: (now_ms as f64) - (sent as f64),
        });
    }
    match result {
        Ok(outcome) if outcome.passed => {
            let image_key = outcome
                .frame
                .as_ref()
                .map(|f| image_key(registration, f.content_type));
            deps.registrations
                .record_outcome(
                    &registration.id,
                    registration.attempt,
                    Outcome::Passed,
                    None,
                    image_key.as_deref(),
                    now,
                )
                .await?;
            tracing::info!("scan passed");
            let frame = outcome.frame.zip(image_key);
            finish(
                deps,
                registration,
                frame.map(|(f, k)| (k, f.bytes, f.content_type)),
            )
            .await
        }
        Ok(outcome) => {
            let reason = hints::sanitise_reason(outcome.reason.as_deref());
            deps.registrations
                .record_outcome(
                    &registration.id,
                    registration.attempt,
                    Outcome::Failed,
                    Some(&reason),
                    None,
                    now,
                )
                .await?;
            tracing::info!(reason = %reason, "scan failed");
            failed(registration, &reason);
            Ok(Disposition::Done)
        }
        Err(IProovError::InvalidToken) => {
            // Already validated by a vanished worker, expired, or never streamed: the person
            // has to scan again.
            let reason = if now >= registration.token_expires_at {
                "scan_expired"
            } else {
                "validation_unknown"
            };
            deps.registrations
                .record_outcome(
                    &registration.id,
                    registration.attempt,
                    Outcome::Failed,
                    Some(reason),
                    None,
                    now,
                )
                .await?;
            tracing::warn!(reason, "iProov refused the token");
            failed(registration, reason);
            Ok(Disposition::Done)
        }
        Err(err) if err.is_retryable() || err.outcome_unknown() => {
            // Not processed (429, refused connection) or unknown (timeout, 5xx): give the
            // attempt back and ask again later; an unknown outcome that was in fact consumed
            // will come back as invalid_token and end as a retryable failure.
            tracing::warn!(
                iproov_error = err.code(),
                outcome_unknown = err.outcome_unknown(),
                "validate did not complete; retrying later"
            );
            deps.registrations
                .release(&registration.id, registration.attempt, now)
                .await?;
            Ok(Disposition::Retry)
        }
        Err(err) => {
            tracing::error!(iproov_error = err.code(), "validate rejected");
            failed(registration, "unknown");
            deps.registrations
                .record_outcome(
                    &registration.id,
                    registration.attempt,
                    Outcome::Failed,
                    Some("unknown"),
                    None,
                    now,
                )
                .await?;
            Ok(Disposition::Done)
        }
    }
}

/// Where a registration's face image goes: random ids only, no PII.
fn image_key(registration: &Registration, content_type: &str) -> String {
    let ext = if content_type == "image/jpeg" {
        "jpg"
    } else {
        "png"
    };
    format!(
        "faces/{}/{}-{}.{ext}",
        registration.user_id, registration.id, registration.attempt
    )
}

/// Stores a passed registration (image and user together, see `store`), then `completed`.
async fn finish(
    deps: &Deps,
    registration: &Registration,
    frame: Option<crate::store::Frame>,
) -> Result<Disposition, StoreError> {
    let image_key = frame
        .as_ref()
        .map(|(key, _, _)| key.clone())
        .or_else(|| registration.image_key.clone());
    let now = deps.clock.now();
    let user = User {
        user_id: registration.user_id.clone(),
        username: registration.username.clone(),
        display_name: registration.display_name.clone(),
        iproov_user_id: registration.iproov_user_id.clone(),
        name_index: registration.name_index.clone(),
        image_key,
        registration_id: Some(registration.id.clone()),
        created_at: now,
    };
    match crate::store::store_user(deps.images.as_ref(), deps.users.as_ref(), &user, frame).await? {
        UserCreated::Created | UserCreated::AlreadyExisted => {}
        UserCreated::NameTaken => {
            tracing::warn!("username was claimed by another registration meanwhile");
            // Nothing of this person may stay behind: no user record will ever lead an erasure
            // to the image or the enrolment. If either removal fails, the message comes back
            // and this branch runs again (both removals are idempotent).
            if !remove_biometric_data(deps, registration).await {
                return Ok(Disposition::Retry);
            }
            failed(registration, "username_taken");
            deps.registrations
                .fail(
                    &registration.id,
                    registration.attempt,
                    "username_taken",
                    now,
                )
                .await?;
            return Ok(Disposition::Done);
        }
    }
    match deps
        .registrations
        .complete(&registration.id, registration.attempt, now)
        .await
    {
        Ok(()) | Err(StoreError::Conflict) => {}
        Err(e) => return Err(e),
    }
    tracing::info!("registration completed");
    shared::metrics::emit(shared::metrics::Metric::RegistrationCompleted);
    let registration_id = shared::events::RegistrationId::parse(&registration.id);
    match (deps.keys.get().await, registration_id) {
        (Ok(keys), Some(registration_id)) => {
            let attempt = registration.attempt;
            shared::events::user(keys.pseudonym_key(), &registration.user_id, |user| {
                shared::events::JourneyEvent::RegistrationCompleted {
                    registration_id,
                    attempt,
                    user,
                }
            });
        }
        (Err(err), _) => tracing::warn!(error = %err, "no analytics event: app keys unavailable"),
        (Ok(_), None) => {}
    }
    Ok(Disposition::Done)
}

/// Removes the face image (every version under the user's prefix) and the iProov enrolment of a
/// registration that will never become a user. True when both are gone.
async fn remove_biometric_data(deps: &Deps, registration: &Registration) -> bool {
    let prefix = format!("faces/{}/", registration.user_id);
    let enrolment = async {
        match IProovUserId::from_stored(registration.iproov_user_id.clone()) {
            Ok(id) => deps.iproov.delete_user(&id).await,
            Err(_) => Ok(()),
        }
    };
    let (images, enrolment) = futures::join!(deps.images.delete_all_versions(&prefix), enrolment);
    let mut removed = true;
    match images {
        Ok(versions) => tracing::info!(versions, "image of the losing registration deleted"),
        Err(err) => {
            tracing::warn!(error = %err, "could not delete the image; will retry");
            removed = false;
        }
    }
    match enrolment {
        Ok(()) | Err(IProovError::NotFound) => {}
        Err(err) => {
            tracing::warn!(
                iproov_error = err.code(),
                "could not delete the iProov enrolment; will retry"
            );
            removed = false;
        }
    }
    removed
}

/// Metric and analytics event for a failed attempt (a reason code, never free text).
fn failed(registration: &Registration, reason: &str) {
    let reason = shared::events::Reason::from_code(reason);
    shared::metrics::emit(shared::metrics::Metric::RegistrationFailed { reason });
    let attempt = registration.attempt;
    shared::events::registration(&registration.id, |registration_id| {
        shared::events::JourneyEvent::RegistrationFailed {
            registration_id,
            attempt,
            reason,
        }
    });
}
