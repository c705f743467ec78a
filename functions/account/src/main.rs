//! Account: login (`POST /v1/login`), my account (`GET /v1/users`), logout (`POST /v1/logout`)
//! and erasure (`DELETE /v1/users`). The journeys are the core's use cases
//! (core/src/use_cases/account.rs); this function wires their ports once, then serves, and its
//! handlers map a request to a use case and the outcome to an answer.

mod auth;
mod erase;
mod login;
mod me;
mod step_up;

use std::sync::Arc;

use aws_adapters::config::{self, JourneySettings};
use aws_adapters::oidc_config::ProviderConfig;
use aws_adapters::wiring;
use axum::Router;
use axum::routing::{get, post};
use onboarding_core::audit::AuditTrail;
use onboarding_core::domain::rate_limits::Limits;
use onboarding_core::latency_mirror::LatencyMirror;
use onboarding_core::oidc::OidcSettings;
use onboarding_core::oidc::access_token::AccessTokenCheck;
use onboarding_core::oidc::ports::{Grants, SignatureVerifier};
use onboarding_core::ports::{
    Clock, ErasureQueue, FaceTokens, FieldSealer, KeyRing, LoginAttemptStore, RateLimitSignals,
    RateLimiter, SessionControl, SessionStore, SystemClock, UserStore,
};
use onboarding_core::use_cases::account::access_token::TokenAccount;
use onboarding_core::use_cases::account::login::Login;
use onboarding_core::use_cases::account::request_erasure::RequestErasure;
use onboarding_core::use_cases::account::step_up::{CompleteStepUp, StartStepUp};
use onboarding_core::use_cases::account::{Logout, ReadAccount, SessionAuth};
use onboarding_core::use_cases::token_route::{RouteLimits, TokenRouteGuard};

/// What the routes of this function need: ports, and the settings the use cases and answers
/// read.
pub struct Deps {
    pub users: Arc<dyn UserStore>,
    pub sessions: Arc<dyn SessionStore>,
    pub control: Arc<dyn SessionControl>,
    pub attempts: Arc<dyn LoginAttemptStore>,
    pub tokens: Arc<dyn FaceTokens>,
    pub sealer: Arc<dyn FieldSealer>,
    pub keys: Arc<dyn KeyRing>,
    pub erasure_queue: Arc<dyn ErasureQueue>,
    pub limiter: Arc<dyn RateLimiter>,
    pub signals: Arc<dyn RateLimitSignals>,
    pub clock: Arc<dyn Clock>,
    /// The `RATE_LIMIT_*` settings (step-up shares verify-login's).
    pub limits: Limits,
    pub settings: JourneySettings,
    /// Recent durations of iProov verify-validate calls, which a decoy attempt imitates.
    pub verify_validate_latency: LatencyMirror,
    /// OpenID Connect access tokens are accepted as `Bearer` on `GET /v1/users` and
    /// `POST /v1/logout`: their grants, the signing keys' public halves, the issuer.
    pub oidc_grants: Arc<dyn Grants>,
    pub oidc_keys: Arc<dyn SignatureVerifier>,
    pub provider: ProviderConfig,
    /// Where logins, step-ups, logouts and erasure requests are recorded (docs/audit.md).
    pub audit: Arc<dyn AuditTrail>,
}

impl Deps {
    fn session_auth(&self) -> SessionAuth<'_> {
        SessionAuth {
            sessions: self.sessions.as_ref(),
            control: self.control.as_ref(),
            clock: self.clock.as_ref(),
            idle_seconds: self.settings.session_idle_seconds,
        }
    }

    fn login(&self) -> Login<'_> {
        Login {
            attempts: self.attempts.as_ref(),
            users: self.users.as_ref(),
            sessions: self.sessions.as_ref(),
            tokens: self.tokens.as_ref(),
            limiter: self.limiter.as_ref(),
            signals: self.signals.as_ref(),
            clock: self.clock.as_ref(),
            per_attempt: self.limits.login_per_attempt,
            session_idle_seconds: self.settings.session_idle_seconds,
            session_absolute_seconds: self.settings.session_absolute_seconds,
            validate_latency: &self.verify_validate_latency,
            policy: &self.settings.policies.login,
        }
    }

    fn start_step_up(&self) -> StartStepUp<'_> {
        StartStepUp {
            auth: self.session_auth(),
            users: self.users.as_ref(),
            attempts: self.attempts.as_ref(),
            tokens: self.tokens.as_ref(),
            keys: self.keys.as_ref(),
            guard: TokenRouteGuard {
                limiter: self.limiter.as_ref(),
                signals: self.signals.as_ref(),
            },
            limits: RouteLimits {
                route: "step_up",
                per_ip: self.limits.login_per_ip,
                per_username: self.limits.login_per_username,
                username_ceiling: self.limits.username_alarm,
            },
            token_ttl_seconds: self.settings.token_ttl_seconds,
            policy: &self.settings.policies.step_up,
        }
    }

    fn complete_step_up(&self) -> CompleteStepUp<'_> {
        CompleteStepUp {
            auth: self.session_auth(),
            users: self.users.as_ref(),
            attempts: self.attempts.as_ref(),
            tokens: self.tokens.as_ref(),
            limiter: self.limiter.as_ref(),
            signals: self.signals.as_ref(),
            per_attempt: self.limits.login_per_attempt,
            policy: &self.settings.policies.step_up,
            window_seconds: self.settings.step_up_window_seconds,
        }
    }

    fn read_account(&self) -> ReadAccount<'_> {
        ReadAccount {
            auth: self.session_auth(),
            users: self.users.as_ref(),
            sealer: self.sealer.as_ref(),
        }
    }

    fn token_account<'a>(&'a self, settings: &'a OidcSettings) -> TokenAccount<'a> {
        TokenAccount {
            check: AccessTokenCheck {
                verifier: self.oidc_keys.as_ref(),
                grants: self.oidc_grants.as_ref(),
                clock: self.clock.as_ref(),
                settings,
            },
            users: self.users.as_ref(),
            sealer: self.sealer.as_ref(),
        }
    }

    fn logout(&self) -> Logout<'_> {
        Logout {
            auth: self.session_auth(),
        }
    }

    fn request_erasure(&self) -> RequestErasure<'_> {
        RequestErasure {
            auth: self.session_auth(),
            queue: self.erasure_queue.as_ref(),
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    api::telemetry::init();
    let sdk = config::aws();
    let settings = JourneySettings::from_env()?;
    let sessions = wiring::sessions(&sdk)?;
    let deps = Arc::new(Deps {
        users: wiring::users(&sdk)?,
        sessions: sessions.clone(),
        control: sessions.clone(),
        attempts: sessions,
        tokens: wiring::iproov(&sdk, &settings)?,
        sealer: wiring::field_cipher(&sdk)?,
        keys: wiring::app_keys(&sdk, &settings)?,
        erasure_queue: wiring::erasure_queue(&sdk)?,
        limiter: wiring::rate_limiter(&sdk)?,
        signals: Arc::new(aws_adapters::rate_limit::MetricSignals),
        clock: Arc::new(SystemClock),
        limits: aws_adapters::rate_limit::limits_from_env()?,
        settings,
        // Before the first real validate: about what one takes from a Lambda in iProov's region.
        verify_validate_latency: LatencyMirror::new(std::time::Duration::from_millis(300)),
        oidc_grants: wiring::oidc_records(&sdk)?,
        oidc_keys: wiring::oidc_keys(&sdk)?,
        provider: ProviderConfig::from_env()?,
        audit: wiring::audit_trail(&sdk)?,
    });
    let origins = deps.settings.origins();
    let routes = Router::new()
        .route("/v1/login", post(login::handle))
        .route("/v1/users", get(me::handle).delete(erase::handle))
        .route("/v1/logout", post(me::logout))
        .route("/v1/step-up", post(step_up::start))
        .route("/v1/step-up/complete", post(step_up::complete))
        .with_state(deps);
    // Behind the CloudFront edge, only requests it forwarded are served (aws/src/edge.rs).
    let routes = aws_adapters::edge::guarded(routes, &sdk)?;
    api::server::run(routes, origins).await
}
