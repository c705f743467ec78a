//! Where the browser may be sent back to: registered redirect URIs, matched exactly (RFC 6749
//! §3.1.2, RFC 9700 §4.1.3) because any looser rule lets an attacker who controls some page
//! under a registered prefix receive codes.
//!
//! The one exception is the loopback interface of a native app (RFC 8252 §7.3): the app
//! listens on whatever port the OS gives it, so a registered `http://127.0.0.1/…` or
//! `http://[::1]/…` matches a presented one on any port, with the same path and query.
//! `localhost` is not loopback here (RFC 8252 §8.3): a name can be resolved elsewhere.
//! A URI with a fragment is never acceptable (RFC 6749 §3.1.2).

use super::encoding::percent_encode;

/// Redirect URIs longer than this are refused.
pub const MAX_REDIRECT_URI: usize = 1024;

/// Whether `uri` may be used as a redirect URI at all: bounded, no fragment, no whitespace or
/// control characters (which a browser might strip, changing what matched).
pub fn is_acceptable(uri: &str) -> bool {
    !uri.is_empty()
        && uri.len() <= MAX_REDIRECT_URI
        && !uri.contains('#')
        && uri.bytes().all(|b| b.is_ascii_graphic())
}

/// Whether the presented `presented` is the registered `registered`.
pub fn matches(registered: &str, presented: &str) -> bool {
    if !is_acceptable(presented) {
        return false;
    }
    if registered == presented {
        return true;
    }
    match (loopback(registered), loopback(presented)) {
        (Some(r), Some(p)) => r.host == p.host && r.rest == p.rest,
        _ => false,
    }
}

/// Whether `presented` matches one of the `registered` URIs.
pub fn is_registered(registered: &[String], presented: &str) -> bool {
    registered.iter().any(|r| matches(r, presented))
}

/// A loopback redirect URI split into its host and what follows the port.
struct Loopback<'a> {
    host: &'a str,
    rest: &'a str,
}

/// `http://127.0.0.1[:port]…` or `http://[::1][:port]…`, with a numeric port if any and no
/// user info (so `http://127.0.0.1:1@evil.example/` is not loopback).
fn loopback(uri: &str) -> Option<Loopback<'_>> {
    let after_scheme = uri.strip_prefix("http://")?;
    let end = after_scheme.find(['/', '?']).unwrap_or(after_scheme.len());
    let (authority, rest) = after_scheme.split_at(end);
    let (host, port) = ["127.0.0.1", "[::1]"]
        .into_iter()
        .find_map(|host| authority.strip_prefix(host).map(|port| (host, port)))?;
    let port_ok = match port.strip_prefix(':') {
        None => port.is_empty(),
        Some(digits) => {
            !digits.is_empty()
                && digits.len() <= 5
                && digits.bytes().all(|b| b.is_ascii_digit())
                && digits
                    .parse::<u32>()
                    .is_ok_and(|p| (1..=65_535).contains(&p))
        }
    };
    port_ok.then_some(Loopback { host, rest })
}

/// `base` with `params` added to its query, percent-encoded, joined with `?` or `&` as the
/// base needs. `base` is a checked redirect URI (no fragment).
pub fn with_params(base: &str, params: &[(&str, &str)]) -> String {
    let mut url = base.to_owned();
    let mut separator = match base.find('?') {
        None => "?",
        Some(_) if base.ends_with('?') || base.ends_with('&') => "",
        Some(_) => "&",
    };
    for (name, value) in params {
        url.push_str(separator);
        url.push_str(&percent_encode(name));
        url.push('=');
        url.push_str(&percent_encode(value));
        separator = "&";
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_match_only_exactly() {
        // GIVEN a registered web redirect URI
        let registered = "https://app.example/callback";
        // THEN only the very same string matches
        assert!(matches(registered, "https://app.example/callback"));
        for other in [
            "https://app.example/callback/",
            "https://app.example/callback?x=1",
            "https://APP.example/callback",
            "https://app.example/callback/../callback",
            "https://app.example:443/callback",
        ] {
            assert!(!matches(registered, other), "{other}");
        }
    }

    #[test]
    fn a_loopback_redirect_uri_matches_on_any_port_but_nothing_else_differs() {
        // GIVEN registered native-app loopback URIs
        let v4 = "http://127.0.0.1/cb?app=1";
        let v6 = "http://[::1]:1234/cb";
        // THEN any port matches, with the same scheme, host, path and query
        assert!(matches(v4, "http://127.0.0.1:51004/cb?app=1"));
        assert!(matches(v4, "http://127.0.0.1/cb?app=1"));
        assert!(matches(v6, "http://[::1]:9/cb"));
        for other in [
            "http://127.0.0.1:51004/cb",
            "http://127.0.0.1:51004/other?app=1",
            "https://127.0.0.1:51004/cb?app=1",
            "http://[::1]:51004/cb?app=1",
            "http://127.0.0.1:0/cb?app=1",
            "http://127.0.0.1:65536/cb?app=1",
            "http://127.0.0.1:1@evil.example/cb?app=1",
            "http://127.0.0.1.evil.example/cb?app=1",
        ] {
            assert!(!matches(v4, other), "{other}");
        }
    }

    #[test]
    fn localhost_is_not_loopback_and_fragments_are_never_acceptable() {
        assert!(!matches("http://localhost/cb", "http://localhost:8080/cb"));
        assert!(matches("http://localhost/cb", "http://localhost/cb"));
        assert!(!matches(
            "https://app.example/cb#x",
            "https://app.example/cb#x"
        ));
        assert!(!is_acceptable("https://app.example/cb#"));
        assert!(!is_acceptable("https://app.example/c b"));
    }

    #[test]
    fn parameters_are_joined_to_the_query_and_percent_encoded() {
        let params = [
            ("code", "a.b"),
            ("state", "x y&z"),
            ("iss", "https://i.example"),
        ];
        assert_eq!(
            with_params("https://app.example/cb", &params),
            "https://app.example/cb?code=a.b&state=x%20y%26z&iss=https%3A%2F%2Fi.example"
        );
        assert_eq!(
            with_params("https://app.example/cb?v=1", &params[..1]),
            "https://app.example/cb?v=1&code=a.b"
        );
        assert_eq!(
            with_params("https://app.example/cb?", &params[..1]),
            "https://app.example/cb?code=a.b"
        );
    }
}
