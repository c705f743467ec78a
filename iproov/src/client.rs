//! The one piece of code that talks to iProov.
//!
//! # Delivery rules
//! * **Token calls** (enrol/verify token, invalidate, delete user, access token, availability)
//!   are safe to repeat: they are retried on 429, 5xx, timeouts and network failures, with full
//!   jitter, within `max_attempts` and the `max_total` time budget.
//! * **Validate calls** consume the token: iProov answers a second validate of the same token
//!   with `invalid_token`, so a blind retry would turn a pass into a failure. They are retried
//!   only when the connection provably failed before a byte was written (a connect error of
//!   the transport, `http.rs`). Any other failure comes back with
//!   `outcome_unknown() == true`, for the caller to record before anything else happens.
//! * **Refused credentials**: 401 `invalid_key` means the secret was probably rotated; the
//!   credential source is refreshed once and the call repeated once. This also applies to
//!   validate: iProov authenticates the key before it looks at the claim, so a refused key means
//!   nothing was validated and the token is untouched. Even if that assumption were wrong, the
//!   repeat could only produce `invalid_token` (a failure), never a false pass.
//! * **OAuth**: the bearer token of user management is cached (see `oauth.rs`) and renewed once
//!   when iProov answers `invalid_oauth` or `token_quota_exceeded`.
//!
//! # What is logged
//! One line per attempt: endpoint, attempt, HTTP status (0 when none arrived), error code,
//! elapsed milliseconds; one per retry with its delay. Never a URL (it may hold the API key or
//! a token), a body, a user id or an address.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use tokio::time::Instant;
use tracing::{debug, info, warn};
use url::Url;

use super::config::{IProovConfig, ScanPolicy};
use super::credentials::{CredentialSource, IProovCredentials};
use super::error::{self, Endpoint, IProovError};
use super::http::{Http, Outgoing};
use super::oauth::{AccessToken, CachedToken, OAuthCache};
use super::observer::{CallObserver, CallReport};
use super::retry::{Budget, millis};
use super::token::{ClaimToken, Token};
use super::user_id::IProovUserId;
use super::validate::{ValidateOutcome, ValidateRequest, client_for_iproov, ipv4_for_iproov};
use super::wire::{
    self, AccessTokenResponse, AvailabilityResponse, FrameField, FrameText, TokenResponse, Unread,
    ValidateResponse,
};

/// Largest body read from iProov. A validate answer with two images is well under a megabyte;
/// anything far larger is not an answer we want in a Lambda's memory.
const MAX_BODY: usize = 16 * 1024 * 1024;
/// Idle pooled connections are dropped quickly: a connection the server closed while the
/// Lambda was frozen can fail a validate after it was written, which makes the outcome unknown.
const POOL_IDLE: Duration = Duration::from_secs(15);
const USER_AGENT: &str = concat!("onboarding-iproov-client/", env!("CARGO_PKG_VERSION"));

/// Builds one attempt's request from the current credentials (and bearer token, for user
/// management). Called again for each attempt, so a refresh takes effect on the next one.
type BuildRequest<'a> = dyn Fn(&IProovCredentials, Option<&AccessToken>) -> Result<Outgoing, IProovError>
    + Send
    + Sync
    + 'a;

/// iProov's REST API v2, with the project's retry, credential and privacy rules built in.
///
/// Build it once per process (it holds the connection pool and the OAuth token) and share it.
pub struct IProovClient {
    http: Http,
    base: Url,
    sdk_base_url: String,
    config: IProovConfig,
    credentials: Arc<dyn CredentialSource>,
    oauth: OAuthCache,
    observer: Arc<dyn CallObserver>,
}

impl fmt::Debug for IProovClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IProovClient")
            .field("base_url", &self.base.as_str())
            .field("resource", &self.config.resource)
            .field("assurance_type", &self.config.assurance_type)
            .finish_non_exhaustive()
    }
}

impl IProovClient {
    /// Checks the configuration and builds the single HTTP client (connect and call timeouts,
    /// no redirects, no transparent retries: retrying is decided here, per endpoint).
    ///
    /// `tls` is the rustls configuration of every connection to iProov: its crypto provider,
    /// protocol versions and trust anchors are the caller's choice, because where roots come
    /// from is a deployment decision (the backend compiles Mozilla's in, so that no certificate
    /// file is read at start, and adds a private CA when asked). It must present no client
    /// certificate unless iProov is reached through a proxy that wants one.
    ///
    /// `observer` hears about every call once it ended (see [`CallObserver`]); the backend
    /// turns that into its iProov metrics and alarms.
    pub fn new(
        config: IProovConfig,
        credentials: Arc<dyn CredentialSource>,
        tls: rustls::ClientConfig,
        observer: Arc<dyn CallObserver>,
    ) -> Result<Self, IProovError> {
        let (base, sdk_base_url) = config.validate()?;
        let http = Http::new(tls, config.connect_timeout, POOL_IDLE, USER_AGENT)?;
        Ok(Self {
            http,
            base,
            sdk_base_url,
            config,
            credentials,
            oauth: OAuthCache::default(),
            observer,
        })
    }

    /// The base URL the SDK must be given with a token: the platform that issued it.
    pub fn sdk_base_url(&self) -> String {
        self.sdk_base_url.clone()
    }

    /// The assurance type and risk profile of the configuration, for calls that do not choose.
    pub fn default_policy(&self) -> ScanPolicy<'_> {
        ScanPolicy {
            assurance_type: self.config.assurance_type,
            risk_profile: self.config.risk_profile.as_deref(),
        }
    }

    /// Starts an enrolment (registration): a token for one scan of `user`, judged under the
    /// configuration's policy.
    pub async fn enrol_token(&self, user: &IProovUserId) -> Result<ClaimToken, IProovError> {
        self.enrol_token_with(user, self.default_policy()).await
    }

    /// [`Self::enrol_token`] under `policy`: the caller chooses per journey.
    pub async fn enrol_token_with(
        &self,
        user: &IProovUserId,
        policy: ScanPolicy<'_>,
    ) -> Result<ClaimToken, IProovError> {
        self.claim_token(Endpoint::EnrolToken, "enrol", user, policy)
            .await
    }

    /// Starts a verification (login): a token for one scan of `user`, judged under the
    /// configuration's policy.
    pub async fn verify_token(&self, user: &IProovUserId) -> Result<ClaimToken, IProovError> {
        self.verify_token_with(user, self.default_policy()).await
    }

    /// [`Self::verify_token`] under `policy`: the caller chooses per journey (login, step-up).
    pub async fn verify_token_with(
        &self,
        user: &IProovUserId,
        policy: ScanPolicy<'_>,
    ) -> Result<ClaimToken, IProovError> {
        self.claim_token(Endpoint::VerifyToken, "verify", user, policy)
            .await
    }

    /// Asks whether an enrolment scan passed, activating the user at iProov if it did.
    /// Sent at most once per token (see the module documentation).
    pub async fn enrol_validate(
        &self,
        req: ValidateRequest<'_>,
    ) -> Result<ValidateOutcome, IProovError> {
        let risk_profile = self.config.risk_profile.as_deref();
        self.enrol_validate_with(req, risk_profile).await
    }

    /// [`Self::enrol_validate`] with the risk profile the token was issued under.
    pub async fn enrol_validate_with(
        &self,
        req: ValidateRequest<'_>,
        risk_profile: Option<&str>,
    ) -> Result<ValidateOutcome, IProovError> {
        self.validate::<FrameText>(
            Endpoint::EnrolValidate,
            "enrol",
            req,
            Some(true),
            risk_profile,
        )
        .await
    }

    /// Asks whether a verification scan passed. Sent at most once per token. The answer's image
    /// fields are not read (the outcome's `frame` is always `None`): a verification keeps no
    /// image, so none is copied, decoded or held, and the answer is read the faster for it.
    pub async fn verify_validate(
        &self,
        req: ValidateRequest<'_>,
    ) -> Result<ValidateOutcome, IProovError> {
        let risk_profile = self.config.risk_profile.as_deref();
        self.verify_validate_with(req, risk_profile).await
    }

    /// [`Self::verify_validate`] with the risk profile the token was issued under.
    pub async fn verify_validate_with(
        &self,
        req: ValidateRequest<'_>,
        risk_profile: Option<&str>,
    ) -> Result<ValidateOutcome, IProovError> {
        self.validate::<Unread>(Endpoint::VerifyValidate, "verify", req, None, risk_profile)
            .await
    }

    /// Cancels a token that will not be used (session abandoned or replaced), so it cannot be
    /// scanned against later. `reason` is a short machine reason, not user text.
    pub async fn invalidate(&self, token: &Token, reason: &str) -> Result<(), IProovError> {
        let url = self.url(&["claim", token.expose(), "invalidate"])?;
        let build = |_: &IProovCredentials, _: Option<&AccessToken>| {
            Outgoing::post(url.clone()).json(&wire::InvalidateBody { reason })
        };
        self.execute(Endpoint::Invalidate, &self.budget(), &build)
            .await
            .map(drop)
    }

    /// Deletes the user and their biometric record at iProov (erasure). Idempotent: a user
    /// iProov does not know is already gone, which is success.
    pub async fn delete_user(&self, user: &IProovUserId) -> Result<(), IProovError> {
        let url = self.url(&["users", user.as_str()])?;
        let build = |_: &IProovCredentials, bearer: Option<&AccessToken>| {
            let bearer = bearer.ok_or_else(|| IProovError::Config("no bearer token".into()))?;
            Outgoing::delete(url.clone()).bearer_auth(bearer.expose())
        };
        match self
            .execute(Endpoint::DeleteUser, &self.budget(), &build)
            .await
        {
            Ok(_) | Err(IProovError::NotFound) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Whether the platform reports itself up, for health checks. Errors mean it could not be
    /// asked (or refused our key), which a health check may report differently from "down".
    pub async fn availability(&self) -> Result<bool, IProovError> {
        let url = self.url(&["availability"])?;
        let build = |c: &IProovCredentials, _: Option<&AccessToken>| {
            // The contract puts the key in the query here; this URL is never logged.
            let mut url = url.clone();
            url.query_pairs_mut().append_pair("api_key", &c.api_key);
            Ok(Outgoing::get(url))
        };
        let body = self
            .execute(Endpoint::Availability, &self.budget(), &build)
            .await?;
        let answer: AvailabilityResponse = wire::parse(&body)?;
        Ok(answer.up)
    }

    async fn claim_token(
        &self,
        endpoint: Endpoint,
        kind: &str,
        user: &IProovUserId,
        policy: ScanPolicy<'_>,
    ) -> Result<ClaimToken, IProovError> {
        let url = self.url(&["claim", kind, "token"])?;
        let build = |c: &IProovCredentials, _: Option<&AccessToken>| {
            Outgoing::post(url.clone()).json(&wire::TokenRequest {
                api_key: &c.api_key,
                secret: &c.secret,
                resource: &self.config.resource,
                user_id: user.as_str(),
                assurance_type: policy.assurance_type.as_str(),
                risk_profile: policy.risk_profile,
            })
        };
        let body = self.execute(endpoint, &self.budget(), &build).await?;
        let answer: TokenResponse = wire::parse(&body)?;
        if answer.token.is_empty() {
            return Err(IProovError::Decode);
        }
        if answer
            .user_id
            .as_deref()
            .is_some_and(|u| u != user.as_str())
        {
            warn!(
                endpoint = endpoint.name(),
                "iProov echoed another user id; keeping the one requested"
            );
        }
        let fallback = answer.fallbacks();
        Ok(ClaimToken {
            token: Token::new(answer.token),
            user_id: user.clone(),
            primary: answer.primary,
            fallback,
        })
    }

    async fn validate<F: FrameField>(
        &self,
        endpoint: Endpoint,
        kind: &str,
        req: ValidateRequest<'_>,
        activate: Option<bool>,
        risk_profile: Option<&str>,
    ) -> Result<ValidateOutcome, IProovError> {
        let url = self.url(&["claim", kind, "validate"])?;
        let ip = req
            .client_ip
            .and_then(ipv4_for_iproov)
            .map(|v4| v4.to_string());
        let client = client_for_iproov(req.client);
        let build = |c: &IProovCredentials, _: Option<&AccessToken>| {
            Outgoing::post(url.clone()).json(&wire::ValidateBody {
                api_key: &c.api_key,
                secret: &c.secret,
                user_id: req.user_id.as_str(),
                token: req.token.expose(),
                ip: ip.clone(),
                client,
                risk_profile,
                activate,
            })
        };
        let body = self.execute(endpoint, &self.budget(), &build).await?;
        let answer: ValidateResponse<F> = wire::parse(&body).inspect_err(|e| {
            warn!(
                endpoint = endpoint.name(),
                error = e.code(),
                "validate answer unreadable; outcome unknown"
            );
        })?;
        // An answer about another token is not an answer to our question.
        if answer
            .token
            .as_deref()
            .is_some_and(|t| t != req.token.expose())
        {
            warn!(
                endpoint = endpoint.name(),
                "validate answer names another token; outcome unknown"
            );
            return Err(IProovError::Decode);
        }
        let (outcome, undecodable) = answer.into_outcome();
        for field in undecodable.0 {
            warn!(
                endpoint = endpoint.name(),
                field, "image field is not a decodable PNG or JPEG; treated as absent"
            );
        }
        Ok(outcome)
    }

    /// The OAuth bearer token for one request: the cached one while it has uses and time
    /// left, otherwise a new one. The lock is held during renewal so that concurrent callers
    /// share one renewal.
    async fn bearer(&self, budget: &Budget) -> Result<AccessToken, IProovError> {
        let mut slot = self.oauth.lock().await;
        if let Some(token) = slot.as_mut().and_then(|c| c.take_use(Instant::now())) {
            return Ok(token);
        }
        let mut fresh = self.fetch_access_token(budget).await?;
        let token = fresh.take_use(Instant::now()).ok_or(IProovError::Decode)?;
        *slot = Some(fresh);
        Ok(token)
    }

    /// `POST /{api_key}/access_token` with HTTP Basic OAuth client credentials. Boxed because
    /// it runs through `execute`, which may itself be asking for a bearer token.
    fn fetch_access_token<'a>(
        &'a self,
        budget: &'a Budget,
    ) -> Pin<Box<dyn Future<Output = Result<CachedToken, IProovError>> + Send + 'a>> {
        Box::pin(async move {
            let build = |c: &IProovCredentials, _: Option<&AccessToken>| {
                let url = self.url(&[c.api_key.as_str(), "access_token"])?;
                Outgoing::post(url)
                    .form("grant_type=client_credentials")
                    .basic_auth(&c.oauth_client_id, &c.oauth_client_secret)
            };
            let body = self.execute(Endpoint::AccessToken, budget, &build).await?;
            let answer: AccessTokenResponse = wire::parse(&body)?;
            if answer.access_token.is_empty() {
                return Err(IProovError::Decode);
            }
            let expires_in = answer.expires_in();
            Ok(CachedToken::new(
                AccessToken::new(answer.access_token),
                expires_in,
                Instant::now(),
            ))
        })
    }

    /// Sends one logical call and reports it (endpoint, result, time including retries) to the
    /// observer, which the backend turns into its iProov metrics.
    async fn execute(
        &self,
        endpoint: Endpoint,
        budget: &Budget,
        build: &BuildRequest<'_>,
    ) -> Result<Vec<u8>, IProovError> {
        let started = std::time::Instant::now();
        let result = self.execute_attempts(endpoint, budget, build).await;
        self.observer.call_ended(&CallReport {
            endpoint: endpoint.name(),
            result: result.as_ref().map(|_| ()),
            elapsed: started.elapsed(),
        });
        result
    }

    /// Sends one logical call: attempts, credential refresh, OAuth renewal, backoff.
    /// Returns the body of a 2xx answer.
    async fn execute_attempts(
        &self,
        endpoint: Endpoint,
        budget: &Budget,
        build: &BuildRequest<'_>,
    ) -> Result<Vec<u8>, IProovError> {
        let policy = &self.config.retry;
        let mut credentials = self.credentials.current().await?;
        let mut refreshed_credentials = false;
        let mut renewed_oauth = false;
        let mut failures = 0u32;
        let mut attempt = 0u32;
        let mut last_error = None;
        loop {
            attempt += 1;
            let bearer = if endpoint.uses_bearer() {
                Some(self.bearer(budget).await?)
            } else {
                None
            };
            // Validate keeps its full timeout: cutting it short only makes outcomes unknown.
            let timeout = if endpoint.is_validate() {
                self.config.call_timeout
            } else {
                self.config.call_timeout.min(budget.remaining())
            };
            if timeout.is_zero() {
                return Err(last_error.unwrap_or(IProovError::Timeout { maybe_sent: false }));
            }
            let request = build(&credentials, bearer.as_ref())?;
            let started = Instant::now();
            let result = self.http.send(request, timeout, MAX_BODY).await;
            let elapsed_ms = millis(started.elapsed());
            let (error, status, retry_after) = match result {
                Ok(answer) if (200..300).contains(&answer.status) => {
                    debug!(
                        endpoint = endpoint.name(),
                        attempt,
                        status = answer.status,
                        elapsed_ms,
                        "iproov call succeeded"
                    );
                    return Ok(answer.body);
                }
                Ok(answer) => (
                    error::from_status(endpoint, answer.status, &answer.body),
                    answer.status,
                    retry_after(&answer.headers),
                ),
                Err(e) => (e, 0, None),
            };
            warn!(
                endpoint = endpoint.name(),
                attempt,
                status,
                error = error.code(),
                elapsed_ms,
                "iproov call failed"
            );

            if needs_credential_refresh(endpoint, &error) && !refreshed_credentials {
                refreshed_credentials = true;
                info!(
                    endpoint = endpoint.name(),
                    attempt, "refreshing iproov credentials once"
                );
                credentials = self.credentials.refresh().await?;
                last_error = Some(error);
                continue;
            }
            if endpoint.uses_bearer() && error == IProovError::InvalidOAuth && !renewed_oauth {
                renewed_oauth = true;
                if let Some(refused) = &bearer {
                    self.oauth.discard(refused).await;
                }
                info!(
                    endpoint = endpoint.name(),
                    attempt, "renewing iproov oauth token once"
                );
                last_error = Some(error);
                continue;
            }

            failures += 1;
            if !may_retry(endpoint, &error) || failures >= policy.max_attempts {
                return Err(error);
            }
            let delay = policy.delay(failures, retry_after, &mut rand::rng());
            if !budget.allows_sleep(delay) {
                info!(
                    endpoint = endpoint.name(),
                    attempt,
                    elapsed_ms = millis(budget.elapsed()),
                    "iproov retry budget exhausted"
                );
                return Err(error);
            }
            info!(
                endpoint = endpoint.name(),
                attempt,
                error = error.code(),
                delay_ms = millis(delay),
                "retrying iproov call"
            );
            last_error = Some(error);
            tokio::time::sleep(delay).await;
        }
    }

    fn url(&self, segments: &[&str]) -> Result<Url, IProovError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|_| IProovError::Config("base_url cannot take a path".into()))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    fn budget(&self) -> Budget {
        Budget::start(self.config.retry.max_total)
    }
}

/// A refused API key may have been rotated; on the access-token endpoint, so may the OAuth
/// client credentials.
fn needs_credential_refresh(endpoint: Endpoint, error: &IProovError) -> bool {
    match error {
        IProovError::InvalidKey => true,
        IProovError::InvalidOAuth => endpoint == Endpoint::AccessToken,
        _ => false,
    }
}

/// Whether a failed attempt may be repeated (see the module documentation).
fn may_retry(endpoint: Endpoint, error: &IProovError) -> bool {
    if endpoint.is_validate() {
        matches!(
            error,
            IProovError::Timeout { maybe_sent: false }
                | IProovError::Transport { maybe_sent: false }
        )
    } else {
        matches!(
            error,
            IProovError::RateLimited
                | IProovError::Unavailable { .. }
                | IProovError::Timeout { .. }
                | IProovError::Transport { .. }
        )
    }
}

/// `Retry-After` in seconds (the HTTP-date form is ignored: the backoff applies instead).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_is_retried_only_when_nothing_was_sent() {
        for endpoint in [Endpoint::EnrolValidate, Endpoint::VerifyValidate] {
            assert!(may_retry(
                endpoint,
                &IProovError::Transport { maybe_sent: false }
            ));
            assert!(may_retry(
                endpoint,
                &IProovError::Timeout { maybe_sent: false }
            ));
            assert!(!may_retry(
                endpoint,
                &IProovError::Transport { maybe_sent: true }
            ));
            assert!(!may_retry(
                endpoint,
                &IProovError::Timeout { maybe_sent: true }
            ));
            assert!(!may_retry(
                endpoint,
                &IProovError::Unavailable { status: 500 }
            ));
            assert!(!may_retry(endpoint, &IProovError::RateLimited));
        }
        assert!(may_retry(
            Endpoint::EnrolToken,
            &IProovError::Timeout { maybe_sent: true }
        ));
        assert!(may_retry(Endpoint::DeleteUser, &IProovError::RateLimited));
        assert!(!may_retry(Endpoint::EnrolToken, &IProovError::InvalidToken));
    }

    #[test]
    fn retry_after_reads_seconds_only() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        headers.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), None);
    }
}
