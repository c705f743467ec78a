//! Claim tokens: what iProov hands out for one scan.

use std::fmt;

use super::user_id::IProovUserId;

/// A claim token. It is a bearer credential for one scan (whoever holds it can stream a face
/// against it), so it is never logged and `Debug` hides it; read it with [`Token::expose`] at
/// the one place it has to go out (the API answer to the SDK, the session store).
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Wraps a token read back from storage.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token itself. Callers take responsibility for where it goes.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// An alternative journey iProov offers when the primary one cannot run (e.g. no camera).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fallback {
    /// iProov's `type` of the fallback.
    pub kind: String,
    /// Text iProov suggests showing, when it sends one.
    pub message: Option<String>,
}

/// The answer to an enrol or verify token request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimToken {
    /// The token the SDK streams the scan against.
    pub token: Token,
    /// The user the token was issued for (the one we asked for).
    pub user_id: IProovUserId,
    /// iProov's `primary` method, when sent.
    pub primary: Option<String>,
    /// Fallback journeys, possibly none.
    pub fallback: Vec<Fallback>,
}
