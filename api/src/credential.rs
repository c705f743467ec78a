//! Opaque credentials travel as `Authorization: Bearer …` (apps) or as a cookie (browsers);
//! never in a URL. Each kind has its own cookie so a registration credential can never be mistaken
//! for a login session.

use axum::http::{HeaderMap, HeaderValue, header};

/// Which credential a route expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    Registration,
    LoginAttempt,
    Session,
}

impl CredentialKind {
    fn cookie_base(self) -> &'static str {
        match self {
            CredentialKind::Registration => "registration",
            CredentialKind::LoginAttempt => "login_attempt",
            CredentialKind::Session => "session",
        }
    }
}

/// Cookie attributes that depend on how the API is served.
#[derive(Debug, Clone, Copy)]
pub struct CookiePolicy {
    /// `__Host-` prefix and `Secure`; true whenever the API is served over HTTPS.
    pub secure: bool,
}

impl CookiePolicy {
    fn name(self, kind: CredentialKind) -> String {
        if self.secure {
            format!("__Host-{}", kind.cookie_base())
        } else {
            kind.cookie_base().to_owned()
        }
    }

    /// `Set-Cookie` value carrying a credential for `max_age_seconds`.
    pub fn set(self, kind: CredentialKind, value: &str, max_age_seconds: i64) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        let cookie = format!(
            "{}={value}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict{secure}",
            self.name(kind),
            max_age_seconds.max(0)
        );
        HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// `Set-Cookie` value that removes the credential from the browser.
    pub fn clear(self, kind: CredentialKind) -> HeaderValue {
        self.set(kind, "", 0)
    }
}

/// The presented credential of `kind`: the bearer token if any, else the cookie (either name, so
/// a deployment that switches to HTTPS keeps working for already-issued cookies).
pub fn presented(headers: &HeaderMap, kind: CredentialKind) -> Option<String> {
    if let Some(token) = bearer(headers) {
        return Some(token);
    }
    let names = [
        format!("__Host-{}", kind.cookie_base()),
        kind.cookie_base().to_owned(),
    ];
    for value in headers.get_all(header::COOKIE) {
        let Ok(value) = value.to_str() else { continue };
        for pair in value.split(';') {
            let Some((name, val)) = pair.trim().split_once('=') else {
                continue;
            };
            if names.iter().any(|n| n == name) && plausible(val) {
                return Some(val.to_owned());
            }
        }
    }
    None
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && plausible(token)).then(|| token.to_owned())
}

/// Cheap shape check before any lookup: our credentials are short URL-safe strings.
fn plausible(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= 200
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_wins_over_cookie_and_cookies_are_kind_specific() {
        // GIVEN a request with a session cookie and a registration cookie
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("session=abc.def; __Host-registration=reg.123"),
        );
        // THEN each kind finds only its own cookie
        assert_eq!(
            presented(&headers, CredentialKind::Registration).as_deref(),
            Some("reg.123")
        );
        assert_eq!(
            presented(&headers, CredentialKind::Session).as_deref(),
            Some("abc.def")
        );
        assert_eq!(presented(&headers, CredentialKind::LoginAttempt), None);
        // WHEN a bearer token is also sent THEN it wins
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer tok_1"),
        );
        assert_eq!(
            presented(&headers, CredentialKind::Session).as_deref(),
            Some("tok_1")
        );
    }

    #[test]
    fn malformed_credentials_are_ignored() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer a b c"),
        );
        assert_eq!(presented(&headers, CredentialKind::Session), None);
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(presented(&headers, CredentialKind::Session), None);
    }

    #[test]
    fn secure_policy_uses_host_prefix_and_all_attributes() {
        let v = CookiePolicy { secure: true }.set(CredentialKind::Session, "x.y", 60);
        assert_eq!(
            v.to_str().expect("ascii"),
            "__Host-session=x.y; Path=/; Max-Age=60; HttpOnly; SameSite=Strict; Secure"
        );
    }
}
