//! Registration: the state of my registration (`GET /v1/users/registration`) and "my scan
//! finished" (`POST /v1/users`), which hands the scan to the validator through SQS.

mod status;
mod submit;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use shared::config::{self, JourneySettings};
use shared::ports::SystemClock;
use shared::wiring;

/// What the routes of this function need.
pub struct Deps {
    pub registrations: Arc<dyn shared::ports::RegistrationStore>,
    pub sessions: Arc<dyn shared::ports::SessionStore>,
    pub queue: Arc<dyn shared::ports::ScanQueue>,
    pub keys: Arc<shared::adapters::secrets::CachedSecret<shared::adapters::secrets::AppKeys>>,
    pub clock: Arc<dyn shared::ports::Clock>,
    pub settings: JourneySettings,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let sdk = config::aws();
    let settings = JourneySettings::from_env()?;
    let deps = Arc::new(Deps {
        registrations: wiring::registrations(&sdk)?,
        sessions: wiring::sessions(&sdk)?,
        queue: wiring::scan_queue(&sdk)?,
        keys: wiring::app_keys(&sdk, &settings)?,
        clock: Arc::new(SystemClock),
        settings,
    });
    let origins = deps.settings.origins();
    let routes = Router::new()
        .route("/v1/users/registration", get(status::handle))
        .route("/v1/users", post(submit::handle))
        .with_state(deps);
    shared::api::server::run(routes, origins).await
}
