//! One scan message: the core's scan validation use case decides and records
//! (core/src/use_cases/validate_scan.rs); this handler turns its outcome into what the outside
//! sees — the message's disposition, metrics and the analytics event.

use std::sync::Arc;

use aws_adapters::config::JourneySettings;
use aws_adapters::sqs_batch::{Delivery, Disposition};
use onboarding_core::audit::{AuditTrail, hand_over};
use onboarding_core::ports::{
    Clock, EnrolmentVerifier, ImageStore, KeyRing, RegistrationStore, ScanSubmitted, UserStore,
};
use onboarding_core::use_cases::validate_scan::{RetryReason, ScanValidated, ValidateScan};
use tracing::Instrument;

/// What this consumer needs: ports only.
pub struct Deps {
    pub registrations: Arc<dyn RegistrationStore>,
    pub users: Arc<dyn UserStore>,
    pub images: Arc<dyn ImageStore>,
    pub verifier: Arc<dyn EnrolmentVerifier>,
    pub keys: Arc<dyn KeyRing>,
    pub clock: Arc<dyn Clock>,
    pub settings: JourneySettings,
    /// Where a completed or failed registration is recorded (docs/audit.md).
    pub audit: Arc<dyn AuditTrail>,
}

/// One message, in a span naming the registration (ids only).
pub async fn process(deps: &Deps, message: ScanSubmitted, delivery: Delivery) -> Disposition {
    let request_id = message.request_id.clone().unwrap_or_default();
    let span = tracing::info_span!("scan", registration_id = %message.registration_id, attempt = message.attempt, request_id = %request_id);
    validate(deps, &message, delivery.sent_ms)
        .instrument(span)
        .await
}

async fn validate(deps: &Deps, message: &ScanSubmitted, sent_ms: Option<i64>) -> Disposition {
    let use_case = ValidateScan {
        registrations: deps.registrations.as_ref(),
        users: deps.users.as_ref(),
        images: deps.images.as_ref(),
        verifier: deps.verifier.as_ref(),
        clock: deps.clock.as_ref(),
        lease_seconds: deps.settings.validation_lease_seconds,
    };
    let validation = match use_case.run(message).await {
        Ok(validation) => validation,
        Err(err) => {
            tracing::warn!(error = %err, "storage failed; message will be retried");
            return Disposition::Retry;
        }
    };
    if let (Some(sent), true) = (sent_ms, validation.verifier_answered) {
        let now_ms = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
        aws_adapters::metrics::emit(aws_adapters::metrics::Metric::ValidationLag {
            lag_ms: (now_ms as f64) - (sent as f64),
        });
    }
    let audited = hand_over::record(
        deps.audit.as_ref(),
        validation.audit_event(message, deps.clock.now()),
    );
    match validation.result {
        ScanValidated::Completed => {
            // The trail and the analytics event's key lookup run side by side.
            tokio::join!(
                audited,
                completed(deps, message, validation.user_id.as_deref())
            );
            Disposition::Done
        }
        ScanValidated::Failed { reason } => {
            failed(message, &reason);
            audited.await;
            Disposition::Done
        }
        // Another delivery may still hold the lease: come back once it has surely run out.
        ScanValidated::Retry(RetryReason::HeldElsewhere) => Disposition::RetryAfter(
            u32::try_from(deps.settings.validation_lease_seconds).unwrap_or(60),
        ),
        ScanValidated::Retry(_) => Disposition::Retry,
        ScanValidated::Dropped(_) => Disposition::Done,
    }
}

/// Metric and analytics event for a completed registration (pseudonymous ids only).
async fn completed(deps: &Deps, message: &ScanSubmitted, user_id: Option<&str>) {
    aws_adapters::metrics::emit(aws_adapters::metrics::Metric::RegistrationCompleted);
    let registration_id = aws_adapters::events::RegistrationId::parse(&message.registration_id);
    match (
        deps.keys.pseudonym_key().await,
        registration_id.zip(user_id),
    ) {
        (Ok(key), Some((registration_id, user_id))) => {
            let attempt = message.attempt;
            aws_adapters::events::user(key.as_ref().as_ref(), user_id, |user| {
                aws_adapters::events::JourneyEvent::RegistrationCompleted {
                    registration_id,
                    attempt,
                    user,
                }
            });
        }
        (Err(err), _) => tracing::warn!(error = %err, "no analytics event: app keys unavailable"),
        (Ok(_), None) => {}
    }
}

/// Metric and analytics event for a failed attempt (a reason code, never free text).
fn failed(message: &ScanSubmitted, reason: &str) {
    let reason = aws_adapters::events::Reason::from_code(reason);
    aws_adapters::metrics::emit(aws_adapters::metrics::Metric::RegistrationFailed { reason });
    let attempt = message.attempt;
    aws_adapters::events::registration(&message.registration_id, |registration_id| {
        aws_adapters::events::JourneyEvent::RegistrationFailed {
            registration_id,
            attempt,
            reason,
        }
    });
}
