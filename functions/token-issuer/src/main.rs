//! Token issuer: the two routes that spend iProov quota by asking for a token —
//! `POST /v1/users/registration` (enrol) and `POST /v1/verify-login` (verify). Wires its
//! adapters once, then serves.

mod start_registration;
mod verify_login;

use std::sync::Arc;

use axum::Router;
use axum::routing::post;
use shared::adapters::secrets::{AppKeys, CachedSecret};
use shared::config::{self, JourneySettings};
use shared::iproov::IProovClient;
use shared::ports::{Clock, LoginAttemptStore, RegistrationStore, SystemClock, UserStore};
use shared::wiring;

/// What the routes of this function need.
pub struct Deps {
    pub registrations: Arc<dyn RegistrationStore>,
    pub users: Arc<dyn UserStore>,
    pub attempts: Arc<dyn LoginAttemptStore>,
    pub iproov: Arc<IProovClient>,
    pub keys: Arc<CachedSecret<AppKeys>>,
    pub clock: Arc<dyn Clock>,
    pub settings: JourneySettings,
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let sdk = config::aws().await;
    let settings = JourneySettings::from_env()?;
    let deps = Arc::new(Deps {
        registrations: wiring::registrations(&sdk)?,
        users: wiring::users(&sdk)?,
        attempts: wiring::sessions(&sdk)?,
        iproov: wiring::iproov(&sdk, &settings)?,
        keys: wiring::app_keys(&sdk, &settings)?,
        clock: Arc::new(SystemClock),
        settings,
    });
    let routes = Router::new()
        .route("/v1/users/registration", post(start_registration::handle))
        .route("/v1/verify-login", post(verify_login::handle))
        .with_state(deps);
    shared::api::server::run(routes).await
}
