//! Scan validator: consumes "scan submitted" messages from SQS, asks iProov whether the scan
//! passed, and stores the user. Wires its adapters once, then serves batches.

mod validate;

use std::sync::Arc;

use aws_adapters::config::{self, JourneySettings};
use aws_adapters::sqs_batch;
use aws_adapters::wiring;
use lambda_runtime::{LambdaEvent, service_fn};
use onboarding_core::ports::SystemClock;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    api::telemetry::init();
    let sdk = config::aws();
    let settings = JourneySettings::from_env()?;
    let deps = Arc::new(validate::Deps {
        registrations: wiring::registrations(&sdk)?,
        users: wiring::users(&sdk)?,
        images: wiring::images(&sdk)?,
        verifier: wiring::iproov(&sdk, &settings)?,
        keys: wiring::app_keys(&sdk, &settings)?,
        clock: Arc::new(SystemClock),
        settings,
        audit: wiring::audit_trail(&sdk)?,
    });
    let backoff = Arc::new(wiring::registration_backoff(&sdk)?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<_>| {
        let (deps, backoff) = (deps.clone(), backoff.clone());
        async move {
            let response = sqs_batch::run(event.payload, Some(&backoff), |message, delivery| {
                validate::process(&deps, message, delivery)
            })
            .await;
            Ok::<_, lambda_runtime::Error>(response)
        }
    }))
    .await
}
