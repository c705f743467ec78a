//! Erasure: removes everything we hold about a user who asked to be forgotten. Wires its
//! adapters once, then serves SQS batches.

mod erase;

use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use shared::config::{self, JourneySettings};
use shared::wiring;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let sdk = config::aws();
    let settings = JourneySettings::from_env()?;
    let sessions = wiring::sessions(&sdk)?;
    let deps = Arc::new(erase::Deps {
        users: wiring::users(&sdk)?,
        registrations: wiring::registrations(&sdk)?,
        sessions: sessions.clone(),
        images: wiring::images(&sdk)?,
        iproov: wiring::iproov(&sdk, &settings)?,
    });
    lambda_runtime::run(service_fn(move |event: LambdaEvent<_>| {
        let deps = deps.clone();
        async move { Ok::<_, lambda_runtime::Error>(erase::batch(&deps, event.payload).await) }
    }))
    .await
}
