//! Erasure: removes everything we hold about a user who asked to be forgotten. Wires its
//! adapters once, then serves SQS batches.

mod erase;

use std::sync::Arc;

use aws_adapters::config::{self, JourneySettings};
use aws_adapters::sqs_batch;
use aws_adapters::wiring;
use lambda_runtime::{LambdaEvent, service_fn};
use onboarding_core::ports::SystemClock;

/// How long consent evidence outlives an erased user, from `CONSENT_EVIDENCE_RETENTION_DAYS`
/// (the template's `ConsentEvidenceRetentionDays`, 30 to 3650 days), in seconds. Required: a
/// legal retention is the deployer's decision, never a default hidden in code.
fn evidence_retention_seconds() -> Result<i64, config::ConfigError> {
    const NAME: &str = "CONSENT_EVIDENCE_RETENTION_DAYS";
    let days: i64 = config::required(NAME)?
        .parse()
        .map_err(|_| config::ConfigError::Invalid(NAME, "not a number of days"))?;
    if !(30..=3650).contains(&days) {
        return Err(config::ConfigError::Invalid(
            NAME,
            "must be 30 to 3650 days",
        ));
    }
    Ok(days * 86_400)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    api::telemetry::init();
    let sdk = config::aws();
    let settings = JourneySettings::from_env()?;
    let sessions = wiring::sessions(&sdk)?;
    let deps = Arc::new(erase::Deps {
        users: wiring::users(&sdk)?,
        registrations: wiring::registrations(&sdk)?,
        sessions: sessions.clone(),
        grants: wiring::oidc_records(&sdk)?,
        images: wiring::images(&sdk)?,
        verifier: wiring::iproov(&sdk, &settings)?,
        evidence: wiring::consent_evidence(&sdk)?,
        audit: wiring::audit_trail(&sdk)?,
        clock: Arc::new(SystemClock),
        evidence_retention_seconds: evidence_retention_seconds()?,
    });
    // No backoff: a failed erasure comes back after the queue's visibility timeout (the role
    // has no sqs:ChangeMessageVisibility).
    lambda_runtime::run(service_fn(move |event: LambdaEvent<_>| {
        let deps = deps.clone();
        async move {
            let response = sqs_batch::run(event.payload, None, |request, delivery| {
                erase::process(&deps, request, delivery)
            })
            .await;
            Ok::<_, lambda_runtime::Error>(response)
        }
    }))
    .await
}
