//! OpenID Connect token endpoint (`POST /oauth2/token`): an authorization code or a refresh
//! token in, signed tokens out. The only function whose role may call `kms:Sign`, which is why
//! it is a function of its own. The rules (client authentication, single-use codes, PKCE,
//! refresh rotation and reuse detection, the order that leaves nothing half-written) are the
//! core's (core/src/oidc/token.rs, refresh.rs); this handler reads the form and answers.

use std::sync::Arc;

use aws_adapters::adapters::oidc_keys::JwkAssertionVerifier;
use aws_adapters::config::{self, JourneySettings};
use aws_adapters::oidc_config::ProviderConfig;
use aws_adapters::wiring;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::post;
use onboarding_core::oidc::client_auth::ClientAuth;
use onboarding_core::oidc::ports::{
    AssertionIds, AuthorizationCodes, ClientRegistry, Grants, RefreshTokens, TokenSigner,
};
use onboarding_core::oidc::profile::SealedProfiles;
use onboarding_core::oidc::token::TokenEndpoint;
use onboarding_core::ports::{Clock, FieldSealer, KeyRing, SystemClock, UserStore};

/// What the token endpoint needs.
pub struct Deps {
    pub clients: Arc<dyn ClientRegistry>,
    pub codes: Arc<dyn AuthorizationCodes>,
    pub grants: Arc<dyn Grants>,
    pub refresh_tokens: Arc<dyn RefreshTokens>,
    pub assertion_ids: Arc<dyn AssertionIds>,
    pub signer: Arc<dyn TokenSigner>,
    pub users: Arc<dyn UserStore>,
    pub sealer: Arc<dyn FieldSealer>,
    pub keys: Arc<dyn KeyRing>,
    pub clock: Arc<dyn Clock>,
    pub provider: ProviderConfig,
    /// Where grants issued, refreshed and revoked are recorded (docs/audit.md).
    pub audit: Arc<dyn onboarding_core::audit::AuditTrail>,
}

async fn token(State(deps): State<Arc<Deps>>, parts: Parts, body: Bytes) -> Response {
    let headers = &parts.headers;
    let outcome = async {
        let settings = deps
            .provider
            .settings(api::oauth::gateway_domain(&parts).as_deref())?;
        let form = api::oauth::form(headers, &body)?;
        let profiles = SealedProfiles {
            users: deps.users.as_ref(),
            sealer: deps.sealer.as_ref(),
        };
        let endpoint = TokenEndpoint {
            client_auth: ClientAuth {
                clients: deps.clients.as_ref(),
                assertion_verifier: &JwkAssertionVerifier,
                assertion_ids: deps.assertion_ids.as_ref(),
                clock: deps.clock.as_ref(),
                settings: &settings,
            },
            codes: deps.codes.as_ref(),
            grants: deps.grants.as_ref(),
            refresh_tokens: deps.refresh_tokens.as_ref(),
            signer: deps.signer.as_ref(),
            profiles: &profiles,
            keys: deps.keys.as_ref(),
            audit: deps.audit.as_ref(),
        };
        endpoint
            .handle(api::oauth::authorization(headers), &form)
            .await
    }
    .await;
    match outcome {
        // RFC 6749 §5.1: tokens are never cached.
        Ok(tokens) => api::oauth::json_no_store(serde_json::to_value(tokens).unwrap_or_default()),
        Err(err) => api::oauth::error(&err),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    api::telemetry::init();
    let sdk = config::aws();
    let journeys = JourneySettings::from_env()?;
    let records = wiring::oidc_records(&sdk)?;
    let deps = Arc::new(Deps {
        clients: records.clone(),
        codes: records.clone(),
        grants: records.clone(),
        refresh_tokens: records.clone(),
        assertion_ids: records,
        signer: wiring::oidc_keys(&sdk)?,
        users: wiring::users(&sdk)?,
        sealer: wiring::field_cipher(&sdk)?,
        keys: wiring::app_keys(&sdk, &journeys)?,
        clock: Arc::new(SystemClock),
        provider: ProviderConfig::from_env()?,
        audit: wiring::audit_trail(&sdk)?,
    });
    let origins = journeys.origins();
    let routes = Router::new()
        .route("/oauth2/token", post(token))
        .with_state(deps);
    // Behind the CloudFront edge, only requests it forwarded are served (aws/src/edge.rs).
    let routes = aws_adapters::edge::guarded(routes, &sdk)?;
    api::server::run(routes, origins).await
}
