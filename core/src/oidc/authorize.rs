//! The authorization request (`GET /oauth2/authorize`, RFC 6749 §4.1.1, OpenID Connect Core
//! §3.1.2): validated, stored for ten minutes, and its id handed to the sign-in page.
//!
//! Errors split in two (RFC 6749 §4.1.2.1). Until the client and its redirect URI are
//! established, nothing may be sent to the redirect URI — it could be an attacker's — so the
//! error is answered to the browser directly ([`AuthorizeOutcome::NotRedirectable`], 400
//! JSON). After that, every error goes back to the client on its redirect URI with the
//! request's `state` and our `iss` (RFC 9207), so the client can tell which request failed
//! and which provider said so.

use serde::Serialize;

use super::client::OidcClient;
use super::errors::{ErrorCode, OAuthError};
use super::params::{MAX_VALUE, Params};
use super::ports::{AuthorizationRequests, ClientRegistry, PendingAuthorization};
use super::redirect_uri::{self, MAX_REDIRECT_URI};
use super::scope::{OPENID, Scope};
use super::{OidcSettings, is_plausible_id, new_id, pkce};
use crate::ports::Clock;

/// Bounds of the values that are stored or echoed.
pub const MAX_CLIENT_ID: usize = 128;
pub const MAX_STATE: usize = 512;
pub const MAX_NONCE: usize = 255;
pub const MAX_SCOPE: usize = 512;
/// `max_age` above a year is refused as a mistake.
pub const MAX_MAX_AGE: i64 = 365 * 86_400;

/// A valid authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: Scope,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub max_age: Option<i64>,
}

/// What the parameters of an authorization request amount to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeValidation {
    Valid(AuthorizationRequest),
    /// Tell the client, on its (checked) redirect URI.
    Redirectable {
        redirect_uri: String,
        error: OAuthError,
        state: Option<String>,
    },
    /// Tell the browser (400 JSON); never redirect.
    NotRedirectable(OAuthError),
}

/// The `client_id` an authorization request names, to look the client up; an error (not
/// redirectable) when it is missing, repeated or not an identifier.
pub fn requested_client_id(params: &Params) -> Result<&str, OAuthError> {
    match params.get("client_id", MAX_CLIENT_ID) {
        Ok(Some(id)) if id.bytes().all(|b| b.is_ascii_graphic()) => Ok(id),
        _ => Err(OAuthError::invalid_request(
            "client_id is missing, unknown or invalid",
        )),
    }
}

/// Validates an authorization request whose `client_id` named `client` (`None`: unknown).
pub fn validate(client: Option<&OidcClient>, params: &Params) -> AuthorizeValidation {
    let Some(client) = client else {
        return AuthorizeValidation::NotRedirectable(OAuthError::invalid_request(
            "client_id is missing, unknown or invalid",
        ));
    };
    let redirect_uri = match params.get("redirect_uri", MAX_REDIRECT_URI) {
        Ok(Some(uri)) if redirect_uri::is_registered(&client.redirect_uris, uri) => uri,
        _ => {
            return AuthorizeValidation::NotRedirectable(OAuthError::invalid_request(
                "redirect_uri is missing or not registered for this client",
            ));
        }
    };
    // From here on the client is told, on its redirect URI; with `state` only if it is usable.
    let state = params.get("state", MAX_STATE);
    let redirect = |error: OAuthError| AuthorizeValidation::Redirectable {
        redirect_uri: redirect_uri.to_owned(),
        error,
        state: state.ok().flatten().map(str::to_owned),
    };
    match check(client, params) {
        Ok(request) => match state {
            Ok(state) => AuthorizeValidation::Valid(AuthorizationRequest {
                client_id: client.client_id.clone(),
                redirect_uri: redirect_uri.to_owned(),
                state: state.map(str::to_owned),
                ..request
            }),
            Err(err) => redirect(err.into()),
        },
        Err(err) => redirect(err),
    }
}

/// The rules after the redirect URI, in the order their errors are reported.
fn check(client: &OidcClient, params: &Params) -> Result<AuthorizationRequest, OAuthError> {
    match params.get("response_type", MAX_VALUE)? {
        None => return Err(OAuthError::invalid_request("response_type is required")),
        Some("code") => {}
        Some(_) => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            ));
        }
    }
    if params.has("request") || params.has("request_uri") {
        return Err(OAuthError::invalid_request(
            "request objects are not supported",
        ));
    }
    if params
        .get("response_mode", MAX_VALUE)?
        .is_some_and(|m| m != "query")
    {
        return Err(OAuthError::invalid_request(
            "only response_mode=query is supported",
        ));
    }
    let scope = params
        .get("scope", MAX_SCOPE)
        .map_err(|_| OAuthError::invalid_scope("scope is invalid"))?
        .and_then(Scope::parse)
        .filter(|scope| scope.contains(OPENID))
        .ok_or(OAuthError::invalid_scope("scope must include openid"))?;
    if !scope.is_allowed_by(&client.allowed_scopes) {
        return Err(OAuthError::invalid_scope(
            "a requested scope is not allowed for this client",
        ));
    }
    let prompt = params.get("prompt", MAX_VALUE)?;
    if prompt.is_some_and(|p| p.split(' ').any(|v| v == "none")) {
        return Err(OAuthError::new(
            ErrorCode::LoginRequired,
            "every authorization needs a face scan",
        ));
    }
    let code_challenge = challenge(client, params)?;
    let nonce = params
        .get("nonce", MAX_NONCE)
        .map_err(|_| OAuthError::invalid_request("nonce is invalid or too long"))?;
    let max_age = match params.get("max_age", 16)? {
        None => None,
        Some(raw) => Some(
            raw.parse::<i64>()
                .ok()
                .filter(|age| (0..=MAX_MAX_AGE).contains(age))
                .ok_or(OAuthError::invalid_request("max_age is invalid"))?,
        ),
    };
    Ok(AuthorizationRequest {
        client_id: String::new(),
        redirect_uri: String::new(),
        scope,
        state: None,
        nonce: nonce.map(str::to_owned),
        code_challenge,
        max_age,
    })
}

/// The PKCE challenge: S256 only, required of public clients, optional for confidential ones.
fn challenge(client: &OidcClient, params: &Params) -> Result<Option<String>, OAuthError> {
    let method = params.get("code_challenge_method", 16)?;
    let challenge = params.get("code_challenge", 128)?;
    match (challenge, method) {
        (None, None) if client.is_confidential() => Ok(None),
        (None, None) => Err(OAuthError::invalid_request(
            "code_challenge is required for public clients",
        )),
        (Some(challenge), Some(pkce::S256)) if pkce::is_valid_challenge(challenge) => {
            Ok(Some(challenge.to_owned()))
        }
        (Some(_), Some(pkce::S256)) => {
            Err(OAuthError::invalid_request("code_challenge is malformed"))
        }
        // No method means `plain` (RFC 7636 §4.3), which is refused like any other method.
        _ => Err(OAuthError::invalid_request(
            "code_challenge_method must be S256 with a code_challenge",
        )),
    }
}

/// The URL that tells the client about `error` (with `state` and `iss`).
pub fn error_redirect(
    settings: &OidcSettings,
    redirect_uri: &str,
    error: &OAuthError,
    state: Option<&str>,
) -> String {
    let mut params = vec![
        ("error", error.code.as_str()),
        ("error_description", error.description),
    ];
    if let Some(state) = state {
        params.push(("state", state));
    }
    params.push(("iss", settings.issuer()));
    redirect_uri::with_params(redirect_uri, &params)
}

/// What the handler does with an authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeOutcome {
    /// Send the browser to the sign-in page with `?request=<request_id>`.
    SignIn { request_id: String },
    /// Send the browser here (an error for the client).
    Redirect(String),
    /// Answer the browser with this error (400 JSON, 503 for an outage); never redirect.
    NotRedirectable(OAuthError),
}

/// Who is asking, for the sign-in page (`GET /oauth2/authorize/requests/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestView {
    pub request_id: String,
    pub client_id: String,
    pub client_name: String,
    pub scopes: Vec<String>,
    pub expires_at: i64,
}

/// The authorization endpoint and the sign-in page's read of a pending request.
pub struct Authorize<'a> {
    pub clients: &'a dyn ClientRegistry,
    pub requests: &'a dyn AuthorizationRequests,
    pub clock: &'a dyn Clock,
    pub settings: &'a OidcSettings,
}

impl Authorize<'_> {
    /// Validates the request and stores it for the sign-in page.
    pub async fn start(&self, params: &Params) -> AuthorizeOutcome {
        let client_id = match requested_client_id(params) {
            Ok(id) => id,
            Err(err) => return AuthorizeOutcome::NotRedirectable(err),
        };
        let client = match self.clients.get(client_id).await {
            Ok(client) => client,
            Err(err) => return AuthorizeOutcome::NotRedirectable(err.into()),
        };
        let request = match validate(client.as_ref(), params) {
            AuthorizeValidation::Valid(request) => request,
            AuthorizeValidation::Redirectable {
                redirect_uri,
                error,
                state,
            } => {
                return AuthorizeOutcome::Redirect(error_redirect(
                    self.settings,
                    &redirect_uri,
                    &error,
                    state.as_deref(),
                ));
            }
            AuthorizeValidation::NotRedirectable(err) => {
                return AuthorizeOutcome::NotRedirectable(err);
            }
        };
        match self.store(&request).await {
            Ok(request_id) => AuthorizeOutcome::SignIn { request_id },
            Err(err) => AuthorizeOutcome::Redirect(error_redirect(
                self.settings,
                &request.redirect_uri,
                &err,
                request.state.as_deref(),
            )),
        }
    }

    async fn store(&self, request: &AuthorizationRequest) -> Result<String, OAuthError> {
        let now = self.clock.now();
        let pending = PendingAuthorization {
            id: new_id()?,
            client_id: request.client_id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            scope: request.scope.to_string(),
            state: request.state.clone(),
            nonce: request.nonce.clone(),
            code_challenge: request.code_challenge.clone(),
            max_age: request.max_age,
            created_at: now,
            expires_at: now + self.settings.request_seconds,
        };
        self.requests.put(&pending).await?;
        Ok(pending.id)
    }

    /// The pending request `request_id` as the sign-in page shows it; `None` when it is
    /// unknown, completed or expired (or its client was removed meanwhile).
    pub async fn describe(&self, request_id: &str) -> Result<Option<RequestView>, OAuthError> {
        if !is_plausible_id(request_id) {
            return Ok(None);
        }
        let now = self.clock.now();
        let Some(pending) = self
            .requests
            .get(request_id)
            .await?
            .filter(|p| now < p.expires_at)
        else {
            return Ok(None);
        };
        let Some(client) = self.clients.get(&pending.client_id).await? else {
            return Ok(None);
        };
        Ok(Some(RequestView {
            request_id: pending.id,
            client_id: client.client_id,
            client_name: client.client_name,
            scopes: pending.scope.split(' ').map(str::to_owned).collect(),
            expires_at: pending.expires_at,
        }))
    }
}
