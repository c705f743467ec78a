//! Opaque credentials travel as `Authorization: Bearer …` (apps) or as a cookie (browsers);
//! never in a URL. Each kind has its own cookie so a registration credential can never be mistaken
//! for a login session.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};

use crate::error::ApiError;

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

    /// Hands a new credential to the client: returns its `Set-Cookie` value and, unless the
    /// request came from a browser ([`from_browser`]), also puts it in `body` under `field` (apps
    /// read it there; a browser's page script never can). The one place that rule lives.
    pub fn hand_out(
        self,
        kind: CredentialKind,
        credential: &str,
        max_age_seconds: i64,
        browser: bool,
        body: &mut serde_json::Value,
        field: &str,
    ) -> HeaderValue {
        if !browser {
            body[field] = serde_json::Value::from(credential);
        }
        self.set(kind, credential, max_age_seconds)
    }

    /// `Set-Cookie` value that removes the credential from the browser.
    pub fn clear(self, kind: CredentialKind) -> HeaderValue {
        self.set(kind, "", 0)
    }
}

/// The presented credential of `kind`.
///
/// - With an `Authorization` header, only a well-formed bearer token counts; cookies are not
///   consulted, so a malformed header never silently falls back to a cookie.
/// - Otherwise only the cookie name this deployment's policy produces is read (`__Host-…` when
///   cookies are secure): an unprefixed cookie could have been planted by a sibling subdomain or
///   a plain-http page, which is exactly what the prefix rules out.
/// - Two cookies of that name (one planted beside the real one) are refused with 400: which one
///   the browser sent first is not something to guess about.
pub fn presented(
    headers: &HeaderMap,
    kind: CredentialKind,
    policy: CookiePolicy,
) -> Result<Option<String>, ApiError> {
    if headers.contains_key(header::AUTHORIZATION) {
        return Ok(bearer(headers));
    }
    let name = policy.name(kind);
    let mut found = cookie_values(headers, |n| n == name);
    match (found.next(), found.next()) {
        (None, _) => Ok(None),
        (Some(_), Some(_)) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "duplicate_credential",
            "The request carries the same credential cookie more than once.",
        )
        .with_hint("Clear this site's cookies and start again.")),
        (Some(value), None) => Ok(plausible(value).then(|| value.to_owned())),
    }
}

/// Whether a credential cookie of any kind is present, under either name (prefixed or not):
/// used to decide that a request is cookie-authenticated, where erring towards "yes" is the
/// safe side. One pass over the cookies, no allocation.
pub(crate) fn carries_credential_cookie(headers: &HeaderMap) -> bool {
    const KINDS: [CredentialKind; 3] = [
        CredentialKind::Registration,
        CredentialKind::LoginAttempt,
        CredentialKind::Session,
    ];
    cookie_values(headers, |name| {
        let base = name.strip_prefix("__Host-").unwrap_or(name);
        KINDS.iter().any(|kind| kind.cookie_base() == base)
    })
    .next()
    .is_some()
}

/// The values of the cookies whose name satisfies `wanted`, across every `Cookie` header.
fn cookie_values<'a>(
    headers: &'a HeaderMap,
    wanted: impl Fn(&str) -> bool + 'a,
) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(move |(name, _)| wanted(name))
        .map(|(_, value)| value)
}

/// Whether the request was made by a browser: browsers attach `Sec-Fetch-*` headers to every
/// request, and page scripts can neither set nor remove them. Such requests get credentials in
/// cookies only (never in a JSON body a script could read); apps and scripts, which send none of
/// these headers, get them in the body as the API document says.
pub fn from_browser(headers: &HeaderMap) -> bool {
    ["sec-fetch-site", "sec-fetch-mode", "sec-fetch-dest"]
        .iter()
        .any(|name| headers.contains_key(*name))
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

    const PLAIN: CookiePolicy = CookiePolicy { secure: false };
    const SECURE: CookiePolicy = CookiePolicy { secure: true };

    fn with_cookie(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn bearer_wins_over_cookie_and_cookies_are_kind_specific() {
        // given a request with a session cookie and a registration cookie
        let mut headers = with_cookie("session=abc.def; registration=reg.123");
        // then each kind finds only its own cookie
        assert_eq!(
            presented(&headers, CredentialKind::Registration, PLAIN).unwrap(),
            Some("reg.123".into())
        );
        assert_eq!(
            presented(&headers, CredentialKind::Session, PLAIN).unwrap(),
            Some("abc.def".into())
        );
        assert_eq!(
            presented(&headers, CredentialKind::LoginAttempt, PLAIN).unwrap(),
            None
        );
        // when a bearer token is also sent, then it wins
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer tok_1"),
        );
        assert_eq!(
            presented(&headers, CredentialKind::Session, PLAIN).unwrap(),
            Some("tok_1".into())
        );
    }

    #[test]
    fn a_malformed_authorization_header_does_not_fall_back_to_the_cookie() {
        // given a session cookie and an Authorization header that is not a bearer token
        for auth in ["Bearer a b c", "Basic abc"] {
            let mut headers = with_cookie("session=abc.def");
            headers.insert(header::AUTHORIZATION, HeaderValue::from_static(auth));
            // when the session is looked for, then nothing is presented
            assert_eq!(
                presented(&headers, CredentialKind::Session, PLAIN).unwrap(),
                None
            );
        }
    }

    #[test]
    fn with_secure_cookies_only_the_host_prefixed_name_counts() {
        // given an unprefixed session cookie (as a sibling subdomain could plant)
        let planted = with_cookie("session=abc.def");
        // when the deployment uses __Host- cookies, then it is ignored
        assert_eq!(
            presented(&planted, CredentialKind::Session, SECURE).unwrap(),
            None
        );
        // and the prefixed one is read
        let real = with_cookie("__Host-session=abc.def");
        assert_eq!(
            presented(&real, CredentialKind::Session, SECURE).unwrap(),
            Some("abc.def".into())
        );
    }

    #[test]
    fn duplicate_credential_cookies_are_refused() {
        // given the same credential cookie twice, in one header or across two
        let one_header = with_cookie("session=a.b; session=c.d");
        let mut two_headers = with_cookie("session=a.b");
        two_headers.append(header::COOKIE, HeaderValue::from_static("session=c.d"));
        for headers in [one_header, two_headers] {
            // when the session is looked for, then 400 duplicate_credential
            let err = presented(&headers, CredentialKind::Session, PLAIN).unwrap_err();
            assert_eq!(err.status, StatusCode::BAD_REQUEST);
            assert_eq!(err.code, "duplicate_credential");
        }
    }

    #[test]
    fn browsers_are_recognised_by_their_fetch_metadata() {
        // given a request with Sec-Fetch-Mode and one without any fetch metadata
        let mut browser = HeaderMap::new();
        browser.insert("sec-fetch-mode", HeaderValue::from_static("cors"));
        // then only the first is a browser's
        assert!(from_browser(&browser));
        assert!(!from_browser(&HeaderMap::new()));
    }

    #[test]
    fn a_handed_out_credential_is_in_the_body_for_apps_only() {
        // given the same answer for an app and for a browser
        for (browser, in_body) in [(false, true), (true, false)] {
            let mut body = serde_json::json!({"status": "ok"});
            // when a session is handed out
            let cookie = PLAIN.hand_out(
                CredentialKind::Session,
                "a.b",
                60,
                browser,
                &mut body,
                "session_token",
            );
            // then the cookie always carries it, the body only for the app
            assert!(cookie.to_str().unwrap().starts_with("session=a.b;"));
            assert_eq!(
                body.get("session_token").is_some(),
                in_body,
                "browser: {browser}"
            );
        }
    }

    #[test]
    fn secure_policy_uses_host_prefix_and_all_attributes() {
        let v = SECURE.set(CredentialKind::Session, "x.y", 60);
        assert_eq!(
            v.to_str().expect("ascii"),
            "__Host-session=x.y; Path=/; Max-Age=60; HttpOnly; SameSite=Strict; Secure"
        );
    }
}
