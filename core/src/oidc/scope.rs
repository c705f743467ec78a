//! Scopes (RFC 6749 §3.3): a space-separated set of tokens. The provider knows three: `openid`
//! (an OpenID Connect request: an ID token is issued), `profile` (the `name` claim) and
//! `offline_access` (recorded in the grant; every grant gets a refresh token).

use std::fmt;

/// Marks an OpenID Connect request; required in every authorization request.
pub const OPENID: &str = "openid";
/// Adds the `name` claim to the ID token and the userinfo answer.
pub const PROFILE: &str = "profile";
/// Asks for access while the person is away (recorded in the grant).
pub const OFFLINE_ACCESS: &str = "offline_access";

/// The scopes a client may ask for when its registration names none.
pub const DEFAULT_SCOPES: [&str; 3] = [OPENID, PROFILE, OFFLINE_ACCESS];

/// At most this many scope tokens in one request.
pub const MAX_TOKENS: usize = 16;

/// A set of scope tokens, each once, in the order first given.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scope(Vec<String>);

impl Scope {
    /// Parses a `scope` value; `None` when a token has characters RFC 6749 §3.3 forbids or
    /// there are too many. Repeated tokens count once.
    pub fn parse(value: &str) -> Option<Self> {
        let mut tokens: Vec<String> = Vec::new();
        for token in value.split(' ').filter(|t| !t.is_empty()) {
            let legal = token
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b));
            if !legal {
                return None;
            }
            if !tokens.iter().any(|t| t == token) {
                tokens.push(token.to_owned());
            }
        }
        (tokens.len() <= MAX_TOKENS).then_some(Self(tokens))
    }

    pub fn contains(&self, token: &str) -> bool {
        self.0.iter().any(|t| t == token)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether every token of `self` is in `other`: a refresh may narrow a grant's scope,
    /// never widen it.
    pub fn is_within(&self, other: &Scope) -> bool {
        self.0.iter().all(|t| other.contains(t))
    }

    /// Whether every token is one of `allowed`.
    pub fn is_allowed_by(&self, allowed: &[String]) -> bool {
        self.0.iter().all(|t| allowed.iter().any(|a| a == t))
    }

    pub fn tokens(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_keeps_each_token_once_and_refuses_forbidden_characters() {
        let scope = Scope::parse("openid  profile openid").expect("legal");
        assert_eq!(scope.to_string(), "openid profile");
        assert!(scope.contains(OPENID) && !scope.contains(OFFLINE_ACCESS));
        assert_eq!(Scope::parse("openid \"x\""), None);
        assert_eq!(Scope::parse("open\\id"), None);
        let many = (0..=MAX_TOKENS)
            .map(|i| format!("s{i}"))
            .collect::<Vec<_>>();
        assert_eq!(Scope::parse(&many.join(" ")), None);
    }

    #[test]
    fn a_narrower_scope_is_within_and_a_wider_one_is_not() {
        let granted = Scope::parse("openid profile offline_access").expect("legal");
        assert!(Scope::parse("openid").expect("legal").is_within(&granted));
        assert!(
            !Scope::parse("openid email")
                .expect("legal")
                .is_within(&granted)
        );
    }
}
