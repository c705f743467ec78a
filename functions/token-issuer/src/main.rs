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
use shared::latency_mirror::LatencyMirror;
use shared::ports::{Clock, LoginAttemptStore, RegistrationStore, SystemClock, UserStore};
use shared::rate_limit::{Limits, RateLimiter};
use shared::wiring;

/// What the routes of this function need.
pub struct Deps {
    pub registrations: Arc<dyn RegistrationStore>,
    pub users: Arc<dyn UserStore>,
    pub attempts: Arc<dyn LoginAttemptStore>,
    pub iproov: Arc<IProovClient>,
    pub keys: Arc<CachedSecret<AppKeys>>,
    pub cipher: Arc<shared::envelope::FieldCipher>,
    pub limiter: Arc<dyn RateLimiter>,
    pub limits: Limits,
    pub clock: Arc<dyn Clock>,
    pub settings: JourneySettings,
    /// `UNKNOWN_USERNAME_RESPONSE=uniform`: unknown usernames get a decoy attempt, not a 404.
    pub uniform_unknown_username: bool,
    /// Recent durations of iProov verify-token calls, which a decoy imitates.
    pub verify_token_latency: LatencyMirror,
}

impl Deps {
    /// The rate-limit key for the caller's IP: a keyed hash, since an IP is personal data.
    pub fn ip_key(&self, key: &[u8], meta: &shared::api::RequestMeta, route: &str) -> String {
        let ip = meta
            .source_ip
            .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        format!("{route}#ip#{}", shared::crypto::keyed_hash(key, "ip", &ip))
    }

    /// The counters of a token-route request for `name_index` (see `rate_limit`): the caller's
    /// IP, the username from the caller's network, and the username overall (alarm only).
    pub fn username_keys(
        &self,
        key: &[u8],
        meta: &shared::api::RequestMeta,
        route: &str,
        name_index: &str,
    ) -> (String, String, String) {
        let network = shared::rate_limit::client_network(meta.source_ip);
        let overall = format!("{route}#name#{name_index}");
        let from_network = format!(
            "{overall}#net#{}",
            shared::crypto::keyed_hash(key, "net", &network)
        );
        (self.ip_key(key, meta, route), from_network, overall)
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
    shared::telemetry::init();
    let sdk = config::aws();
    let settings = JourneySettings::from_env()?;
    let deps = Arc::new(Deps {
        registrations: wiring::registrations(&sdk)?,
        users: wiring::users(&sdk)?,
        attempts: wiring::sessions(&sdk)?,
        iproov: wiring::iproov(&sdk, &settings)?,
        keys: wiring::app_keys(&sdk, &settings)?,
        cipher: wiring::field_cipher(&sdk)?,
        limiter: wiring::rate_limiter(&sdk)?,
        limits: shared::rate_limit::limits_from_env()?,
        clock: Arc::new(SystemClock),
        settings,
        uniform_unknown_username: unknown_username_uniform()?,
        verify_token_latency: LatencyMirror::new(DECOY_FALLBACK),
    });
    let origins = deps.settings.origins();
    let routes = Router::new()
        .route("/v1/users/registration", post(start_registration::handle))
        .route("/v1/verify-login", post(verify_login::handle))
        .with_state(deps);
    shared::api::server::run(routes, origins).await
}
