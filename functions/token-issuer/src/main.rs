//! Token issuer: the two routes that spend iProov quota by asking for a token —
//! `POST /v1/users/registration` (enrol) and `POST /v1/verify-login` (verify) — and
//! `GET /v1/consent`, the consent text a registration must accept (it lives here because this
//! function is the one that checks the answer). Wires its adapters once, then serves.

mod consent;
mod start_registration;
mod verify_login;

use std::sync::Arc;

use aws_adapters::config::{self, JourneySettings};
use aws_adapters::wiring;
use axum::Router;
use axum::routing::{get, post};
use onboarding_core::audit::AuditTrail;
use onboarding_core::domain::ConsentCatalog;
use onboarding_core::domain::rate_limits::Limits;
use onboarding_core::latency_mirror::LatencyMirror;
use onboarding_core::ports::{
    Clock, FaceTokens, FieldSealer, KeyRing, LoginAttemptStore, RateLimitSignals, RateLimiter,
    RegistrationStore, SystemClock, UserStore,
};
use onboarding_core::use_cases::start_registration::StartRegistration;
use onboarding_core::use_cases::token_route::{RouteLimits, TokenRouteGuard};
use onboarding_core::use_cases::verify_login::VerifyLogin;

/// What the routes of this function need: ports only.
pub struct Deps {
    pub registrations: Arc<dyn RegistrationStore>,
    pub users: Arc<dyn UserStore>,
    pub attempts: Arc<dyn LoginAttemptStore>,
    pub tokens: Arc<dyn FaceTokens>,
    pub keys: Arc<dyn KeyRing>,
    pub sealer: Arc<dyn FieldSealer>,
    pub limiter: Arc<dyn RateLimiter>,
    pub signals: Arc<dyn RateLimitSignals>,
    pub limits: Limits,
    pub clock: Arc<dyn Clock>,
    pub settings: JourneySettings,
    /// `UNKNOWN_USERNAME_RESPONSE=uniform`: unknown usernames get a decoy attempt, not a 404.
    pub uniform_unknown_username: bool,
    /// Recent durations of iProov verify-token calls, which a decoy imitates.
    pub verify_token_latency: LatencyMirror,
    /// The consent versions of this deployment (config/consent.json, checked at cold start).
    pub consent: ConsentCatalog,
    /// Where a started registration is recorded (docs/audit.md).
    pub audit: Arc<dyn AuditTrail>,
}

impl Deps {
    fn guard(&self) -> TokenRouteGuard<'_> {
        TokenRouteGuard {
            limiter: self.limiter.as_ref(),
            signals: self.signals.as_ref(),
        }
    }

    pub fn start_registration(&self) -> StartRegistration<'_> {
        StartRegistration {
            registrations: self.registrations.as_ref(),
            users: self.users.as_ref(),
            tokens: self.tokens.as_ref(),
            sealer: self.sealer.as_ref(),
            keys: self.keys.as_ref(),
            guard: self.guard(),
            clock: self.clock.as_ref(),
            limits: RouteLimits {
                route: "registration",
                per_ip: self.limits.registration_per_ip,
                per_username: self.limits.registration_per_username,
                username_ceiling: self.limits.username_alarm,
            },
            token_ttl_seconds: self.settings.token_ttl_seconds,
            registration_ttl_seconds: self.settings.registration_ttl_seconds,
            max_attempts: self.settings.registration_max_attempts,
            policy: &self.settings.policies.registration,
            consent: &self.consent,
        }
    }

    pub fn verify_login(&self) -> VerifyLogin<'_> {
        VerifyLogin {
            users: self.users.as_ref(),
            attempts: self.attempts.as_ref(),
            tokens: self.tokens.as_ref(),
            keys: self.keys.as_ref(),
            guard: self.guard(),
            clock: self.clock.as_ref(),
            limits: RouteLimits {
                route: "login",
                per_ip: self.limits.login_per_ip,
                per_username: self.limits.login_per_username,
                username_ceiling: self.limits.username_alarm,
            },
            token_ttl_seconds: self.settings.token_ttl_seconds,
            uniform_unknown_username: self.uniform_unknown_username,
            verify_token_latency: &self.verify_token_latency,
            policy: &self.settings.policies.login,
        }
    }
}

/// How long a decoy takes before this process has timed a real verify-token call: about what
/// one takes from a Lambda in the iProov platform's region.
const DECOY_FALLBACK: std::time::Duration = std::time::Duration::from_millis(250);

/// Reads `UNKNOWN_USERNAME_RESPONSE`: `explicit` (default) or `uniform`.
fn unknown_username_uniform() -> Result<bool, config::ConfigError> {
    match config::optional("UNKNOWN_USERNAME_RESPONSE").as_deref() {
        None | Some("explicit") => Ok(false),
        Some("uniform") => Ok(true),
        Some(_) => Err(config::ConfigError::Invalid(
            "UNKNOWN_USERNAME_RESPONSE",
            "must be explicit or uniform",
        )),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    api::telemetry::init();
    // A broken consent document stops the function here, never a person's request.
    let consent = consent::catalog()?;
    let sdk = config::aws();
    let settings = JourneySettings::from_env()?;
    let deps = Arc::new(Deps {
        registrations: wiring::registrations(&sdk)?,
        users: wiring::users(&sdk)?,
        attempts: wiring::sessions(&sdk)?,
        tokens: wiring::iproov(&sdk, &settings)?,
        keys: wiring::app_keys(&sdk, &settings)?,
        sealer: wiring::field_cipher(&sdk)?,
        limiter: wiring::rate_limiter(&sdk)?,
        signals: Arc::new(aws_adapters::rate_limit::MetricSignals),
        limits: aws_adapters::rate_limit::limits_from_env()?,
        clock: Arc::new(SystemClock),
        settings,
        uniform_unknown_username: unknown_username_uniform()?,
        verify_token_latency: LatencyMirror::new(DECOY_FALLBACK),
        consent,
        audit: wiring::audit_trail(&sdk)?,
    });
    let origins = deps.settings.origins();
    let routes = Router::new()
        .route("/v1/users/registration", post(start_registration::handle))
        .route("/v1/verify-login", post(verify_login::handle))
        .route("/v1/consent", get(consent::handle))
        .with_state(deps);
    // Behind the CloudFront edge, only requests it forwarded are served (aws/src/edge.rs).
    let routes = aws_adapters::edge::guarded(routes, &sdk)?;
    api::server::run(routes, origins).await
}
