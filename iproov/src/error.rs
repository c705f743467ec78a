//! The client's typed failures, and the mapping from iProov's HTTP answers to them.
//!
//! Errors carry no secret, token, user id, URL or response text: they end up in logs, metrics
//! and API answers. That is also why no variant wraps an HTTP client error (its `Display` may carry
//! the request URL, which may hold the API key or a claim token). Callers outside the client see
//! them through the core's verifier ports (aws/src/adapters/iproov_verifier.rs), never raw.

use serde::Deserialize;

/// Everything that can go wrong when talking to iProov.
///
/// Two questions matter to callers, and each has a method: may I try again later
/// ([`IProovError::is_retryable`]), and for a validate call, may iProov have consumed the token
/// ([`IProovError::outcome_unknown`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IProovError {
    /// The claim token is unknown, expired, already validated, or its scan has not finished.
    #[error("iProov refused the claim token (unknown, expired, already used or scan unfinished)")]
    InvalidToken,
    /// The API key or secret was refused, even after one credential refresh.
    #[error("iProov refused the API key or secret")]
    InvalidKey,
    /// The OAuth client credentials or the bearer token were refused, even after one renewal.
    #[error("iProov refused the OAuth credentials or access token")]
    InvalidOAuth,
    /// The user id does not match iProov's pattern (from iProov, or from stored data).
    #[error("invalid iProov user id")]
    InvalidUserId,
    /// iProov answered 429: the quota protects everyone, so back off.
    #[error("iProov rate limit reached")]
    RateLimited,
    /// iProov answered with a 5xx status.
    #[error("iProov unavailable (HTTP {status})")]
    Unavailable {
        /// The HTTP status iProov answered with.
        status: u16,
    },
    /// iProov refused the request for a reason the caller cannot fix by retrying.
    #[error("iProov rejected the request (HTTP {status}, code {code})")]
    Rejected {
        /// The HTTP status iProov answered with.
        status: u16,
        /// iProov's `error` code, or `unknown` when the body had none we could trust.
        code: String,
    },
    /// iProov answered 404 (a user that does not exist, or a misconfigured base URL).
    #[error("iProov resource not found")]
    NotFound,
    /// No complete answer arrived in time.
    #[error("iProov call timed out (request possibly sent: {maybe_sent})")]
    Timeout {
        /// False only when the connection provably failed before the request was written.
        maybe_sent: bool,
    },
    /// The connection failed.
    #[error("iProov connection failed (request possibly sent: {maybe_sent})")]
    Transport {
        /// False only when the connection provably failed before the request was written.
        maybe_sent: bool,
    },
    /// A success answer could not be understood (or was too large).
    #[error("iProov response could not be decoded")]
    Decode,
    /// The credential source could not provide credentials. The text must name the cause
    /// without any secret material.
    #[error("iProov credentials unavailable: {0}")]
    Credentials(String),
    /// The client was configured wrongly; raised at start-up, when the client is built.
    #[error("iProov client misconfigured: {0}")]
    Config(String),
}

impl IProovError {
    /// True when the same call may succeed later: rate limits, outages, timeouts, network
    /// failures and an unreachable credential store.
    ///
    /// For a validate call, check [`IProovError::outcome_unknown`] first: a validate whose
    /// outcome is unknown must never be sent again blindly, because iProov answers a second
    /// validate of the same token with `invalid_token`.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::RateLimited
                | Self::Unavailable { .. }
                | Self::Timeout { .. }
                | Self::Transport { .. }
                | Self::Credentials(_)
        )
    }

    /// True when the request may have been processed by iProov although we hold no answer:
    /// a timeout or broken connection after the request may have been written, a 5xx, or a
    /// success body we could not read. Meaningful for validate calls, whose token may now be
    /// consumed; the caller must record this state before doing anything else.
    pub fn outcome_unknown(&self) -> bool {
        matches!(
            self,
            Self::Timeout { maybe_sent: true }
                | Self::Transport { maybe_sent: true }
                | Self::Unavailable { .. }
                | Self::Decode
        )
    }

    /// A stable, low-cardinality code for metrics and log fields.
    pub fn code(&self) -> &str {
        match self {
            Self::InvalidToken => "invalid_token",
            Self::InvalidKey => "invalid_key",
            Self::InvalidOAuth => "invalid_oauth",
            Self::InvalidUserId => "invalid_user_id",
            Self::RateLimited => "rate_limited",
            Self::Unavailable { .. } => "unavailable",
            Self::Rejected { .. } => "rejected",
            Self::NotFound => "not_found",
            Self::Timeout { .. } => "timeout",
            Self::Transport { .. } => "transport",
            Self::Decode => "decode",
            Self::Credentials(_) => "credentials",
            Self::Config(_) => "config",
        }
    }
}

/// The endpoint a call is made to: the name logs and metrics use, and the rules that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    EnrolToken,
    VerifyToken,
    EnrolValidate,
    VerifyValidate,
    Invalidate,
    DeleteUser,
    AccessToken,
    Availability,
}

impl Endpoint {
    /// The name used in log lines.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::EnrolToken => "enrol_token",
            Self::VerifyToken => "verify_token",
            Self::EnrolValidate => "enrol_validate",
            Self::VerifyValidate => "verify_validate",
            Self::Invalidate => "invalidate",
            Self::DeleteUser => "delete_user",
            Self::AccessToken => "access_token",
            Self::Availability => "availability",
        }
    }

    /// Validate consumes the token: it is sent at most once (see `client.rs`).
    pub(crate) fn is_validate(self) -> bool {
        matches!(self, Self::EnrolValidate | Self::VerifyValidate)
    }

    /// User management authenticates with an OAuth bearer token.
    pub(crate) fn uses_bearer(self) -> bool {
        matches!(self, Self::DeleteUser)
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: Option<serde_json::Value>,
}

/// iProov's `error` code when the body is the documented `{error, error_description}` JSON and
/// the code looks like a code. Anything else (HTML from a proxy, free text, odd characters that
/// could forge log lines) gives `None`. `error_description` is deliberately never read.
pub(crate) fn error_code(body: &[u8]) -> Option<String> {
    let parsed: ErrorBody = serde_json::from_slice(body).ok()?;
    let code = parsed.error?.as_str()?.to_ascii_lowercase();
    let looks_like_code = !code.is_empty()
        && code.len() <= 64
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    looks_like_code.then_some(code)
}

/// Maps a non-success HTTP answer to the typed error.
///
/// Status decides first where it is unambiguous (429, 5xx); otherwise the documented code
/// decides, whatever the 4xx status, because proxies and API versions differ on statuses.
pub(crate) fn from_status(endpoint: Endpoint, status: u16, body: &[u8]) -> IProovError {
    if status == 429 {
        return IProovError::RateLimited;
    }
    if (500..=599).contains(&status) {
        return IProovError::Unavailable { status };
    }
    let code = error_code(body);
    match code.as_deref() {
        Some("invalid_token") => IProovError::InvalidToken,
        Some("invalid_key") => IProovError::InvalidKey,
        Some("invalid_oauth" | "token_quota_exceeded") => IProovError::InvalidOAuth,
        // On the token endpoint these name the OAuth client credentials themselves.
        Some("invalid_client" | "invalid_grant") if endpoint == Endpoint::AccessToken => {
            IProovError::InvalidOAuth
        }
        Some("invalid_user_id") => IProovError::InvalidUserId,
        Some("too_many_requests") => IProovError::RateLimited,
        _ if status == 404 => IProovError::NotFound,
        _ => IProovError::Rejected {
            status,
            code: code.unwrap_or_else(|| "unknown".to_owned()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_code_refuses_codes_that_could_forge_log_lines() {
        assert_eq!(
            error_code(br#"{"error":"invalid_key"}"#).as_deref(),
            Some("invalid_key")
        );
        assert_eq!(error_code(br#"{"error":"bad\ncode"}"#), None);
        assert_eq!(error_code(br#"{"error":42}"#), None);
        assert_eq!(error_code(b"<html>502</html>"), None);
    }

    #[test]
    fn status_wins_over_body_for_rate_limits_and_outages() {
        let body = br#"{"error":"invalid_token"}"#;
        assert_eq!(
            from_status(Endpoint::EnrolToken, 429, body),
            IProovError::RateLimited
        );
        assert_eq!(
            from_status(Endpoint::EnrolToken, 503, body),
            IProovError::Unavailable { status: 503 }
        );
    }

    #[test]
    fn invalid_client_means_oauth_only_on_the_access_token_endpoint() {
        let body = br#"{"error":"invalid_client"}"#;
        assert_eq!(
            from_status(Endpoint::AccessToken, 400, body),
            IProovError::InvalidOAuth
        );
        assert_eq!(
            from_status(Endpoint::EnrolValidate, 400, body),
            IProovError::Rejected {
                status: 400,
                code: "invalid_client".into()
            }
        );
    }
}
