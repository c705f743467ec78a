//! OpenID Connect, every endpoint but the token endpoint: discovery and the JWKS, authorize and
//! the hosted sign-in page's two calls, userinfo, revocation, introspection and logout. The
//! rules are the core's (core/src/oidc/); this function wires their ports once, then serves,
//! and its handlers map a request to a use case and the outcome to an answer. It can read the
//! signing keys' public halves but not sign: that is the oidc-token function's alone.

mod authorize;
mod discovery;
mod logout;
mod tokens;

use std::sync::Arc;

use aws_adapters::adapters::oidc_keys::JwkAssertionVerifier;
use aws_adapters::config::{self, JourneySettings};
use aws_adapters::oidc_config::ProviderConfig;
use aws_adapters::wiring;
use axum::Router;
use axum::http::request::Parts;
use axum::routing::{get, post};
use onboarding_core::oidc::OidcSettings;
use onboarding_core::oidc::access_token::AccessTokenCheck;
use onboarding_core::oidc::client_auth::ClientAuth;
use onboarding_core::oidc::ports::{
    AssertionIds, AuthorizationCodes, AuthorizationRequests, ClientRegistry, Grants, RefreshTokens,
    SignatureVerifier,
};
use onboarding_core::oidc::profile::SealedProfiles;
use onboarding_core::ports::{
    Clock, FieldSealer, KeyRing, SessionControl, SessionStore, SystemClock, UserStore,
};
use onboarding_core::use_cases::account::SessionAuth;

/// What the routes of this function need.
pub struct Deps {
    pub clients: Arc<dyn ClientRegistry>,
    pub requests: Arc<dyn AuthorizationRequests>,
    pub codes: Arc<dyn AuthorizationCodes>,
    pub grants: Arc<dyn Grants>,
    pub refresh_tokens: Arc<dyn RefreshTokens>,
    pub assertion_ids: Arc<dyn AssertionIds>,
    pub verifier: Arc<dyn SignatureVerifier>,
    pub sessions: Arc<dyn SessionStore>,
    pub control: Arc<dyn SessionControl>,
    pub users: Arc<dyn UserStore>,
    pub sealer: Arc<dyn FieldSealer>,
    pub keys: Arc<dyn KeyRing>,
    pub clock: Arc<dyn Clock>,
    pub journeys: JourneySettings,
    pub provider: ProviderConfig,
    /// Where grants revoked by their client or by logout are recorded (docs/audit.md).
    pub audit: Arc<dyn onboarding_core::audit::AuditTrail>,
}

impl Deps {
    /// The provider's settings for this request (its issuer may be the gateway's domain).
    fn settings(&self, parts: &Parts) -> Result<OidcSettings, onboarding_core::oidc::OAuthError> {
        self.provider
            .settings(api::oauth::gateway_domain(parts).as_deref())
    }

    fn session_auth(&self) -> SessionAuth<'_> {
        SessionAuth {
            sessions: self.sessions.as_ref(),
            control: self.control.as_ref(),
            clock: self.clock.as_ref(),
            idle_seconds: self.journeys.session_idle_seconds,
        }
    }

    fn client_auth<'a>(&'a self, settings: &'a OidcSettings) -> ClientAuth<'a> {
        ClientAuth {
            clients: self.clients.as_ref(),
            assertion_verifier: &JwkAssertionVerifier,
            assertion_ids: self.assertion_ids.as_ref(),
            clock: self.clock.as_ref(),
            settings,
        }
    }

    fn access_check<'a>(&'a self, settings: &'a OidcSettings) -> AccessTokenCheck<'a> {
        AccessTokenCheck {
            verifier: self.verifier.as_ref(),
            grants: self.grants.as_ref(),
            clock: self.clock.as_ref(),
            settings,
        }
    }

    fn profiles(&self) -> SealedProfiles<'_> {
        SealedProfiles {
            users: self.users.as_ref(),
            sealer: self.sealer.as_ref(),
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    api::telemetry::init();
    let sdk = config::aws();
    let journeys = JourneySettings::from_env()?;
    let records = wiring::oidc_records(&sdk)?;
    let sessions = wiring::sessions(&sdk)?;
    let deps = Arc::new(Deps {
        clients: records.clone(),
        requests: records.clone(),
        codes: records.clone(),
        grants: records.clone(),
        refresh_tokens: records.clone(),
        assertion_ids: records,
        verifier: wiring::oidc_keys(&sdk)?,
        sessions: sessions.clone(),
        control: sessions,
        users: wiring::users(&sdk)?,
        sealer: wiring::field_cipher(&sdk)?,
        keys: wiring::app_keys(&sdk, &journeys)?,
        clock: Arc::new(SystemClock),
        provider: ProviderConfig::from_env()?,
        audit: wiring::audit_trail(&sdk)?,
        journeys,
    });
    let origins = deps.journeys.origins();
    let routes = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery::document),
        )
        .route("/oauth2/jwks", get(discovery::jwks))
        .route("/oauth2/authorize", get(authorize::start))
        .route(
            "/oauth2/authorize/requests/{request_id}",
            get(authorize::describe),
        )
        .route("/oauth2/authorize/complete", post(authorize::complete))
        .route(
            "/oauth2/userinfo",
            get(tokens::userinfo).post(tokens::userinfo),
        )
        .route("/oauth2/revoke", post(tokens::revoke))
        .route("/oauth2/introspect", post(tokens::introspect))
        .route("/oauth2/logout", get(logout::end_session))
        .with_state(deps);
    // Behind the CloudFront edge, only requests it forwarded are served (aws/src/edge.rs).
    let routes = aws_adapters::edge::guarded(routes, &sdk)?;
    api::server::run(routes, origins).await
}
