//! Scan validator: consumes "scan submitted" messages from SQS, asks iProov whether the scan
//! passed, and stores the user. Wires its adapters once, then serves batches.

mod batch;
mod validate;

use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use shared::config::{self, JourneySettings};
use shared::ports::SystemClock;
use shared::wiring;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
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
    });
    let backoff = Arc::new(batch::Backoff {
        sqs: aws_sdk_sqs::Client::new(&sdk),
        queue_url: config::required("REGISTRATION_QUEUE_URL")?,
    });
    lambda_runtime::run(service_fn(move |event: LambdaEvent<_>| {
        let (deps, backoff) = (deps.clone(), backoff.clone());
        async move {
            Ok::<_, lambda_runtime::Error>(batch::handle(&deps, &backoff, event.payload).await)
        }
    }))
    .await
}
