//! Registration: the state of my registration (`GET /v1/users/registration`) and "my scan
//! finished" (`POST /v1/users`), which hands the scan to the validator through SQS.

mod status;
mod submit;

use std::sync::Arc;

use aws_adapters::config::{self, JourneySettings};
use aws_adapters::wiring;
use axum::Router;
use axum::routing::{get, post};
use onboarding_core::ports::{
    Clock, KeyRing, RegistrationStore, ScanQueue, SessionStore, SystemClock,
};
use onboarding_core::use_cases::registration_status::RegistrationStatusQuery;
use onboarding_core::use_cases::submit_scan::SubmitScan;

/// What the routes of this function need: ports only.
pub struct Deps {
    pub registrations: Arc<dyn RegistrationStore>,
    pub sessions: Arc<dyn SessionStore>,
    pub queue: Arc<dyn ScanQueue>,
    pub keys: Arc<dyn KeyRing>,
    pub clock: Arc<dyn Clock>,
    pub settings: JourneySettings,
}

impl Deps {
    pub fn status(&self) -> RegistrationStatusQuery<'_> {
        RegistrationStatusQuery {
            registrations: self.registrations.as_ref(),
            sessions: self.sessions.as_ref(),
            keys: self.keys.as_ref(),
            clock: self.clock.as_ref(),
            max_attempts: self.settings.registration_max_attempts,
            assurance: self.settings.policies.registration.assurance_type,
            session_idle_seconds: self.settings.session_idle_seconds,
            session_absolute_seconds: self.settings.session_absolute_seconds,
        }
    }

    pub fn submit_scan(&self) -> SubmitScan<'_> {
        SubmitScan {
            registrations: self.registrations.as_ref(),
            queue: self.queue.as_ref(),
            clock: self.clock.as_ref(),
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    api::telemetry::init();
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
    // Behind the CloudFront edge, only requests it forwarded are served (aws/src/edge.rs).
    let routes = aws_adapters::edge::guarded(routes, &sdk)?;
    api::server::run(routes, origins).await
}
