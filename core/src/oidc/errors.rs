//! The errors the provider answers with: the codes of RFC 6749 §4.1.2.1 and §5.2, OpenID
//! Connect's `login_required` and RFC 6750's `invalid_token`, each with a fixed description.
//!
//! A description is a `&'static str` on purpose: it can never carry a value from the request
//! or the stores (a username, a token, whether a user exists), so an answer cannot leak one.

use serde_json::{Value, json};

use super::ports::SigningUnavailable;
use crate::ports::{KeysUnavailable, StoreError};

/// An OAuth 2.0 error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    InvalidRequest,
    /// Client authentication failed: the only code answered 401 with `WWW-Authenticate` at
    /// the token, revocation and introspection endpoints.
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    AccessDenied,
    UnsupportedResponseType,
    /// `prompt=none` cannot be honoured: every authorization costs a fresh face scan.
    LoginRequired,
    ServerError,
    /// A store, the key service or the secret store could not be reached: try again.
    TemporarilyUnavailable,
    /// A bearer token was refused (RFC 6750 §3.1).
    InvalidToken,
}

impl ErrorCode {
    /// The wire name (`invalid_request`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::LoginRequired => "login_required",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::InvalidToken => "invalid_token",
        }
    }

    /// The HTTP status of a JSON error answer with this code: 401 for a refused client or
    /// token, 503 for an outage (so clients retry), 500 for a fault of ours, 400 otherwise.
    pub const fn http_status(self) -> u16 {
        match self {
            Self::InvalidClient | Self::InvalidToken => 401,
            Self::TemporarilyUnavailable => 503,
            Self::ServerError => 500,
            _ => 400,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error answer: a code and a fixed, non-sensitive description.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {description}")]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: &'static str,
}

impl OAuthError {
    pub const fn new(code: ErrorCode, description: &'static str) -> Self {
        Self { code, description }
    }

    pub const fn invalid_request(description: &'static str) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    pub const fn invalid_client(description: &'static str) -> Self {
        Self::new(ErrorCode::InvalidClient, description)
    }

    pub const fn invalid_grant(description: &'static str) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    pub const fn invalid_scope(description: &'static str) -> Self {
        Self::new(ErrorCode::InvalidScope, description)
    }

    pub const fn invalid_token(description: &'static str) -> Self {
        Self::new(ErrorCode::InvalidToken, description)
    }

    /// An outage: the same request may succeed later (503).
    pub const fn unavailable() -> Self {
        Self::new(
            ErrorCode::TemporarilyUnavailable,
            "the service is temporarily unavailable, try again later",
        )
    }

    /// A fault of ours (500): a stored item of the wrong shape, no randomness.
    pub const fn server_error() -> Self {
        Self::new(ErrorCode::ServerError, "the request could not be processed")
    }

    /// The JSON body of an error answer (RFC 6749 §5.2).
    pub fn to_json(&self) -> Value {
        json!({ "error": self.code.as_str(), "error_description": self.description })
    }

    /// The `WWW-Authenticate` header a 401 answer carries: `Basic` for a refused client (RFC
    /// 6749 §5.2), `Bearer` with the error for a refused token (RFC 6750 §3); none otherwise.
    pub fn www_authenticate(&self) -> Option<String> {
        match self.code {
            ErrorCode::InvalidClient => Some("Basic realm=\"oauth2\"".to_owned()),
            ErrorCode::InvalidToken => Some(format!(
                "Bearer error=\"invalid_token\", error_description=\"{}\"",
                self.description
            )),
            _ => None,
        }
    }
}

/// A store failure where no condition was expected to fail: an outage is temporary (503), a
/// wrong-shaped item or an unexpected condition is a fault (500). Callers that expect a
/// `Conflict` (single-use steps) match it before converting.
impl From<StoreError> for OAuthError {
    fn from(err: StoreError) -> Self {
        tracing::warn!(error = %err, "oidc store call failed");
        match err {
            StoreError::Unavailable(_) => Self::unavailable(),
            StoreError::Conflict | StoreError::Corrupt(_) => Self::server_error(),
        }
    }
}

impl From<SigningUnavailable> for OAuthError {
    fn from(err: SigningUnavailable) -> Self {
        tracing::warn!(error = %err, "token signing key unavailable");
        Self::unavailable()
    }
}

impl From<KeysUnavailable> for OAuthError {
    fn from(err: KeysUnavailable) -> Self {
        tracing::warn!(error = %err, "application keys unavailable");
        Self::unavailable()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_answer_their_rfc_code_and_status_and_only_refusals_challenge() {
        // GIVEN one error of each kind the endpoints distinguish
        let client = OAuthError::invalid_client("client authentication failed");
        let token = OAuthError::invalid_token("the access token is not valid");
        let outage = OAuthError::from(StoreError::Unavailable("down".into()));
        let grant = OAuthError::invalid_grant("the grant is not valid");
        // THEN each has its wire code and status, and only 401s carry a challenge
        assert_eq!(client.to_json()["error"], "invalid_client");
        assert_eq!(client.code.http_status(), 401);
        assert_eq!(
            client.www_authenticate().as_deref(),
            Some("Basic realm=\"oauth2\"")
        );
        assert!(
            token
                .www_authenticate()
                .unwrap()
                .starts_with("Bearer error=\"invalid_token\"")
        );
        assert_eq!(outage.code, ErrorCode::TemporarilyUnavailable);
        assert_eq!(outage.code.http_status(), 503);
        assert_eq!(grant.code.http_status(), 400);
        assert_eq!(grant.www_authenticate(), None);
        // AND a corrupt item is our fault, not an outage
        assert_eq!(
            OAuthError::from(StoreError::Corrupt("scope")).code,
            ErrorCode::ServerError
        );
    }
}
