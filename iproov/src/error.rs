//! The mapping from iProov's HTTP answers to the client's typed failures.
//!
//! [`IProovError`] itself lives in the `iproov-error` crate (its documentation says why) and is
//! re-exported by this one; what stays here is how the client arrives at it.

use serde::Deserialize;

pub use iproov_error::IProovError;

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
