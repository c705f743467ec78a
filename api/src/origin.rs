//! Which pages may use a browser's credential cookies to change state.
//!
//! `SameSite=Strict` already keeps a cross-site page from sending our cookies, but a page on a
//! sibling subdomain counts as "same site", and older browsers ignore the attribute. So every
//! state-changing request (anything but GET, HEAD, OPTIONS) that carries a credential cookie must
//! also show where it comes from: `Sec-Fetch-Site: same-origin` (set by the browser, which page
//! scripts can neither forge nor remove), or an `Origin` listed in `ALLOWED_ORIGINS`. Anything
//! else is refused with 403 before a handler runs. Requests with an `Authorization` header are not
//! checked: a browser never attaches one on its own, and a presented bearer token makes the
//! cookie irrelevant (see [`crate::credential::presented`]).

use std::sync::Arc;

use axum::http::{HeaderMap, Method, StatusCode, header};

use crate::credential;
use crate::error::ApiError;

/// The web origins allowed to make cookie-authenticated state-changing requests.
#[derive(Debug, Clone, Default)]
pub struct OriginPolicy {
    allowed: Arc<[String]>,
}

impl OriginPolicy {
    /// From `ALLOWED_ORIGINS`' comma-separated form; blanks are ignored, a trailing `/` and the
    /// case of scheme and host do not matter (browsers send origins in lower case).
    pub fn from_list(list: &str) -> Self {
        let allowed: Vec<String> = list
            .split(',')
            .map(normalise)
            .filter(|o| !o.is_empty())
            .collect();
        Self {
            allowed: allowed.into(),
        }
    }

    /// Ok unless the request is a state-changing, cookie-authenticated one from a page that is
    /// neither this origin nor an allowed one.
    pub fn check(&self, method: &Method, headers: &HeaderMap) -> Result<(), ApiError> {
        let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
        if safe
            || headers.contains_key(header::AUTHORIZATION)
            || !credential::carries_credential_cookie(headers)
        {
            return Ok(());
        }
        let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
        if site == Some("same-origin") {
            return Ok(());
        }
        let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
        if let Some(origin) = origin.map(normalise)
            && self.allowed.contains(&origin)
        {
            return Ok(());
        }
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "origin_not_allowed",
            "This request came from a page that may not act with your credentials.",
        )
        .with_hint("Use the app's own page, or send the credential as a Bearer token."))
    }
}

fn normalise(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn policy() -> OriginPolicy {
        OriginPolicy::from_list("https://app.example.com/, http://localhost:3000")
    }

    fn cookie_request(extra: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("session=a.b"));
        for (name, value) in extra {
            headers.insert(*name, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn a_cross_site_cookie_request_that_changes_state_is_refused() {
        // given a POST carrying a session cookie from a page on another site
        let headers = cookie_request(&[
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://evil.example"),
        ]);
        // when it is checked, then it is refused with 403 origin_not_allowed
        let err = policy().check(&Method::POST, &headers).unwrap_err();
        assert_eq!(err.status, StatusCode::FORBIDDEN);
        assert_eq!(err.code, "origin_not_allowed");
        // and so is a DELETE from a sibling subdomain (same site, other origin)
        let sibling = cookie_request(&[
            ("sec-fetch-site", "same-site"),
            ("origin", "https://other.example.com"),
        ]);
        assert!(policy().check(&Method::DELETE, &sibling).is_err());
    }

    #[test]
    fn a_cookie_request_without_any_provenance_is_refused() {
        // given a POST with a session cookie and neither Sec-Fetch-Site nor Origin
        let headers = cookie_request(&[]);
        // when checked, then it is refused
        assert!(policy().check(&Method::POST, &headers).is_err());
    }

    #[test]
    fn same_origin_and_allowed_origins_pass() {
        // given cookie requests from this origin and from allowed front ends
        let same = cookie_request(&[("sec-fetch-site", "same-origin")]);
        let allowed = cookie_request(&[
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://APP.example.com"),
        ]);
        let local = cookie_request(&[("origin", "http://localhost:3000")]);
        // when checked, then each passes
        for headers in [same, allowed, local] {
            assert!(policy().check(&Method::POST, &headers).is_ok());
        }
    }

    #[test]
    fn reads_bearer_requests_and_requests_without_cookies_are_not_checked() {
        // given a cross-site GET with a cookie, a bearer POST, and a cookie-less POST
        let read = cookie_request(&[("sec-fetch-site", "cross-site")]);
        let mut bearer = cookie_request(&[("sec-fetch-site", "cross-site")]);
        bearer.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer a.b"),
        );
        let mut no_cookie = HeaderMap::new();
        no_cookie.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        // when checked, then none is refused
        assert!(policy().check(&Method::GET, &read).is_ok());
        assert!(policy().check(&Method::POST, &bearer).is_ok());
        assert!(policy().check(&Method::POST, &no_cookie).is_ok());
    }
}
