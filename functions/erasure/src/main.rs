//! Erasure: removes everything we hold about a user who asked to be forgotten. Wires its
//! adapters once, then serves SQS batches.

mod erase;

use std::sync::Arc;

use aws_adapters::config::{self, JourneySettings};
use aws_adapters::sqs_batch;
use aws_adapters::wiring;
use lambda_runtime::{LambdaEvent, service_fn};

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
        audit: wiring::audit_trail(&sdk)?,
        clock: Arc::new(onboarding_core::ports::SystemClock),
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
