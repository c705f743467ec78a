//! Token issuer: starts registrations (`POST /v1/users/registration`) by getting an iProov enrol
//! token. Wires its adapters once, then serves.

mod start_registration;

use std::sync::Arc;

use axum::Router;
use axum::routing::post;
use shared::config::{self, JourneySettings};
use shared::ports::SystemClock;
use shared::wiring;

use start_registration::Deps;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let sdk = config::aws().await;
    let settings = JourneySettings::from_env()?;
    let deps = Arc::new(Deps {
        registrations: wiring::registrations(&sdk)?,
        users: wiring::users(&sdk)?,
        iproov: wiring::iproov(&sdk, &settings)?,
        keys: wiring::app_keys(&sdk, &settings)?,
        clock: Arc::new(SystemClock),
        settings,
    });
    let routes = Router::new()
        .route("/v1/users/registration", post(start_registration::handle))
        .with_state(deps);
    shared::api::server::run(routes).await
}
