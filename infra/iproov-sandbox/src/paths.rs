//! Path patterns: the one table of iProov routes, and the glob matcher that faults, statistics
//! and the access log share with it.
//!
//! The `/api/v2` routes are dispatched from this table instead of axum's router because three
//! other features need the same pattern names: a fault is registered for
//! `/claim/*/invalidate`, `GET /sandbox/stats` counts calls per pattern, and the access log must
//! know which segments are tokens. One table keeps the four in step. It also sidesteps the
//! ambiguity between `/{api_key}/access_token` and `/users/{user_id}` (a key called `users`):
//! here the method decides, which axum's matcher cannot do.

use axum::http::Method;
use sha2::{Digest, Sha256};

/// The iProov endpoints the sandbox implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    EnrolToken,
    VerifyToken,
    EnrolValidate,
    VerifyValidate,
    Invalidate,
    AccessToken,
    GetUser,
    DeleteUser,
    Availability,
}

/// Method, pattern (relative to `/api/v2`), endpoint. `*` stands for one path segment. The
/// order matters only for paths two patterns both match; the method then picks one.
const API_ROUTES: &[(Method, &str, Endpoint)] = &[
    (Method::POST, "/claim/enrol/token", Endpoint::EnrolToken),
    (Method::POST, "/claim/verify/token", Endpoint::VerifyToken),
    (
        Method::POST,
        "/claim/enrol/validate",
        Endpoint::EnrolValidate,
    ),
    (
        Method::POST,
        "/claim/verify/validate",
        Endpoint::VerifyValidate,
    ),
    (Method::POST, "/claim/*/invalidate", Endpoint::Invalidate),
    (Method::GET, "/users/*", Endpoint::GetUser),
    (Method::DELETE, "/users/*", Endpoint::DeleteUser),
    (Method::POST, "/*/access_token", Endpoint::AccessToken),
    (Method::GET, "/availability", Endpoint::Availability),
];

/// A request matched to an endpoint.
#[derive(Debug, PartialEq, Eq)]
pub struct Routed<'a> {
    pub endpoint: Endpoint,
    /// The table's pattern, e.g. `/claim/*/invalidate`.
    pub pattern: &'static str,
    /// The raw (still percent-encoded) segments the pattern's `*` matched, in order.
    pub params: Vec<&'a str>,
}

/// Why a path under `/api/v2` has no handler.
#[derive(Debug, PartialEq, Eq)]
pub enum RouteMiss {
    NotFound,
    MethodNotAllowed,
}

/// Finds the endpoint for a method and a path relative to `/api/v2`.
pub fn route_api<'a>(method: &Method, path: &'a str) -> Result<Routed<'a>, RouteMiss> {
    let mut path_matched = false;
    for (route_method, pattern, endpoint) in API_ROUTES {
        if let Some(params) = glob_match(pattern, path) {
            path_matched = true;
            if route_method == method {
                return Ok(Routed {
                    endpoint: *endpoint,
                    pattern,
                    params,
                });
            }
        }
    }
    Err(if path_matched {
        RouteMiss::MethodNotAllowed
    } else {
        RouteMiss::NotFound
    })
}

/// Matches a path against a pattern segment by segment.
///
/// In the pattern, `*` or `{name}` matches exactly one non-empty segment, and a final `**`
/// matches whatever remains (including nothing), so `/claim/**` is a prefix match. Any other
/// segment must be equal. Returns the segments matched by the one-segment wildcards.
pub fn glob_match<'a>(pattern: &str, path: &'a str) -> Option<Vec<&'a str>> {
    let pattern_segments = pattern.strip_prefix('/')?.split('/');
    let mut path_segments = path.strip_prefix('/')?.split('/');
    let mut captured = Vec::new();
    for wanted in pattern_segments {
        if wanted == "**" {
            return Some(captured);
        }
        let segment = path_segments.next()?;
        if is_wildcard(wanted) {
            if segment.is_empty() {
                return None;
            }
            captured.push(segment);
        } else if wanted != segment {
            return None;
        }
    }
    path_segments.next().is_none().then_some(captured)
}

fn is_wildcard(segment: &str) -> bool {
    segment == "*" || (segment.len() > 2 && segment.starts_with('{') && segment.ends_with('}'))
}

/// Short, stable fingerprint of a token: the first 12 hex digits of its SHA-256.
///
/// Used wherever a token would otherwise be shown (logs, `GET /sandbox/stats`), so tests can
/// correlate without the token itself ever being printed.
pub fn token_fingerprint(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest
        .iter()
        .take(6)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Words that may appear in a logged path verbatim. Every other segment (tokens, api keys,
/// user ids, garbage) is replaced by `~` and its fingerprint.
const LITERAL_SEGMENTS: &[&str] = &[
    "api",
    "v2",
    "claim",
    "enrol",
    "verify",
    "token",
    "validate",
    "invalidate",
    "users",
    "access_token",
    "availability",
    "sandbox",
    "claims",
    "scan",
    "faults",
    "latency",
    "rate-limit",
    "config",
    "credentials",
    "stats",
    "reset",
    "health",
];

/// The path as it may be logged: no query string, and only known words in clear.
pub fn redact_path(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.is_empty() || LITERAL_SEGMENTS.contains(&segment) {
                segment.to_owned()
            } else {
                format!("~{}", token_fingerprint(segment))
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_api_pattern_routes_to_its_endpoint() {
        for (method, pattern, endpoint) in API_ROUTES {
            let concrete = pattern.replace('*', "x1");
            let routed = route_api(method, &concrete).expect("routed");
            assert_eq!(routed.endpoint, *endpoint, "{method} {concrete}");
        }
    }

    #[test]
    fn access_token_and_users_paths_are_told_apart_by_method() {
        let routed = route_api(&Method::POST, "/users/access_token").expect("routed");
        assert_eq!(routed.endpoint, Endpoint::AccessToken);
        assert_eq!(routed.params, vec!["users"]);
        let routed = route_api(&Method::GET, "/users/access_token").expect("routed");
        assert_eq!(routed.endpoint, Endpoint::GetUser);
        let routed = route_api(&Method::POST, "/claim/access_token").expect("routed");
        assert_eq!(routed.endpoint, Endpoint::AccessToken);
        let routed = route_api(&Method::POST, "/claim/enrol/token").expect("routed");
        assert_eq!(routed.endpoint, Endpoint::EnrolToken);
    }

    #[test]
    fn misses_say_whether_the_path_exists() {
        assert_eq!(
            route_api(&Method::GET, "/claim/enrol/token"),
            Err(RouteMiss::MethodNotAllowed)
        );
        assert_eq!(route_api(&Method::GET, "/nope"), Err(RouteMiss::NotFound));
        assert_eq!(route_api(&Method::GET, "/users/"), Err(RouteMiss::NotFound));
        assert_eq!(
            route_api(&Method::POST, "/claim/enrol/token/"),
            Err(RouteMiss::NotFound)
        );
    }

    #[test]
    fn globs_match_one_segment_per_star_and_a_prefix_with_double_star() {
        assert_eq!(
            glob_match("/claim/{token}/invalidate", "/claim/abc/invalidate"),
            Some(vec!["abc"])
        );
        assert!(glob_match("/claim/*/invalidate", "/claim/a/b/invalidate").is_none());
        assert!(glob_match("/claim/**", "/claim/enrol/validate").is_some());
        assert!(glob_match("/claim/**", "/users/x").is_none());
        assert!(glob_match("/users/*", "/users").is_none());
    }

    #[test]
    fn logged_paths_keep_known_words_only() {
        let token = "eyJsecret-token-value";
        let logged = redact_path(&format!("/sandbox/claims/{token}/scan"));
        assert!(!logged.contains(token));
        assert!(logged.starts_with("/sandbox/claims/~"));
        assert!(logged.ends_with("/scan"));
        assert_eq!(
            redact_path("/api/v2/claim/enrol/token"),
            "/api/v2/claim/enrol/token"
        );
        assert_eq!(token_fingerprint(token).len(), 12);
    }
}
