//! Account: login (`POST /v1/login`), my account (`GET /v1/users`), logout (`POST /v1/logout`)
//! and erasure (`DELETE /v1/users`). Wires its adapters once, then serves.

mod attempt;
mod auth;
mod erase;
mod login;
mod me;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use shared::config::{self, JourneySettings};
use shared::iproov::IProovClient;
use shared::ports::{
    Clock, LoginAttemptStore, SessionControl, SessionStore, SystemClock, UserStore,
};
use shared::wiring;

/// What the routes of this function need.
pub struct Deps {
    pub users: Arc<dyn UserStore>,
    pub sessions: Arc<dyn SessionStore>,
    pub control: Arc<dyn SessionControl>,
    pub attempts: Arc<dyn LoginAttemptStore>,
    pub iproov: Arc<IProovClient>,
    pub cipher: Arc<shared::envelope::FieldCipher>,
    pub keys: Arc<shared::adapters::secrets::CachedSecret<shared::adapters::secrets::AppKeys>>,
    pub erasure_queue: Arc<dyn shared::ports::ErasureQueue>,
    pub limiter: Arc<dyn shared::rate_limit::RateLimiter>,
    pub limits: shared::rate_limit::Limits,
    pub clock: Arc<dyn Clock>,
    pub settings: JourneySettings,
    /// Recent durations of iProov verify-validate calls, which a decoy attempt imitates.
    pub verify_validate_latency: shared::latency_mirror::LatencyMirror,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let sdk = config::aws();
    let settings = JourneySettings::from_env()?;
    let sessions = wiring::sessions(&sdk)?;
    let deps = Arc::new(Deps {
        users: wiring::users(&sdk)?,
        sessions: sessions.clone(),
        control: sessions.clone(),
        attempts: sessions,
        iproov: wiring::iproov(&sdk, &settings)?,
        cipher: wiring::field_cipher(&sdk)?,
        keys: wiring::app_keys(&sdk, &settings)?,
        erasure_queue: wiring::erasure_queue(&sdk)?,
        limiter: wiring::rate_limiter(&sdk)?,
        limits: shared::rate_limit::limits_from_env()?,
        clock: Arc::new(SystemClock),
        settings,
        // Before the first real validate: about what one takes from a Lambda in iProov's region.
        verify_validate_latency: shared::latency_mirror::LatencyMirror::new(
            std::time::Duration::from_millis(300),
        ),
    });
    let origins = deps.settings.origins();
    let routes = Router::new()
        .route("/v1/login", post(login::handle))
        .route("/v1/users", get(me::handle).delete(erase::handle))
        .route("/v1/logout", post(me::logout))
        .with_state(deps);
    shared::api::server::run(routes, origins).await
}
