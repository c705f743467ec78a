//! The error type of the iProov client (`iproov-client`, which re-exports it), in a crate of
//! its own so that code which only has to *answer* an iProov failure can name it without
//! linking the client: the HTTP layer (`api`) maps it to a 503, and must be the crate that
//! does (Rust lets only the crate of `ApiError` or of this type implement the conversion),
//! while staying free of the client's HTTP and TLS stack so that `health` builds without them.
//!
//! Errors carry no secret, token, user id, URL or response text: they end up in logs, metrics
//! and API answers. That is also why no variant wraps an HTTP client error (its `Display` may carry
//! the request URL, which may hold the API key or a claim token).

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
