//! An OpenID Connect provider: other applications ("clients", "relying parties") let people
//! sign in with their face, and get an ID token saying who signed in, an access token for the
//! userinfo endpoint, and a refresh token. Authorization code flow only, PKCE S256, pairwise
//! subjects, ES256 tokens signed by the key service.
//!
//! The journey: the client sends the browser to `GET /oauth2/authorize` ([`authorize`]); the
//! validated request is stored and the browser goes to the sign-in page with its id; the page
//! reads who is asking (`GET /oauth2/authorize/requests/{id}`), has the person scan their face
//! (the ordinary login), and hands the result back (`POST /oauth2/authorize/complete`,
//! [`completion`]), which sends the browser to the client with a one-time code; the client
//! exchanges it at `POST /oauth2/token` ([`token`]) and later refreshes ([`refresh`]). The
//! tokens are used at [`userinfo`], and ended by [`revocation`] or [`logout`];
//! [`introspection`] tells a client whether a token is live.
//!
//! Each authorization costs a fresh face scan: a login session opened before the request
//! cannot complete it. Every token hangs from a grant ([`ports::Grant`]), so revoking the
//! grant — on logout, revocation, or a replayed code or refresh token — ends all of them at
//! once, access tokens included (they carry the grant as `sid`, and every check reads it).
//!
//! Like the rest of the core this knows no HTTP and no AWS: handlers pass request parameters
//! ([`Params`]) and headers in, and turn outcomes and [`OAuthError`]s into answers; adapters
//! implement [`ports`].
//!
//! # What each endpoint calls
//!
//! Parameters come from [`Params::from_form`] on the raw query string or form body (or
//! [`Params::from_pairs`] on decoded pairs, repeats kept); an error there is answered as JSON
//! like any [`OAuthError`]: status [`ErrorCode::http_status`], body [`OAuthError::to_json`],
//! header [`OAuthError::www_authenticate`] when it has one.
//!
//! | Endpoint | Call | Answer |
//! |---|---|---|
//! | `GET /.well-known/openid-configuration` | [`discovery::discovery_document`] | 200 JSON |
//! | `GET /oauth2/jwks` | [`jwks::jwks`] of `SignatureVerifier::published_keys` | 200 JSON |
//! | `GET /oauth2/authorize` | [`authorize::Authorize::start`] | `SignIn` → 302 to the sign-in page `?request=<id>`; `Redirect` → 302; `NotRedirectable` → JSON error, never a redirect |
//! | `GET /oauth2/authorize/requests/{id}` | [`authorize::Authorize::describe`] | 200 JSON, or 404 for `None` |
//! | `POST /oauth2/authorize/complete` | the login session's check (`SessionAuth`), then [`completion::CompleteAuthorization::run`] | the URL for the page to navigate to; [`completion::CompletionError::code`] otherwise (404 / 403 / 503) |
//! | `POST /oauth2/token` | [`token::TokenEndpoint::handle`] with the `Authorization` header | 200 JSON with `Cache-Control: no-store` |
//! | `GET\|POST /oauth2/userinfo` | [`access_token::bearer_token`], then [`userinfo::UserInfo::run`] | 200 JSON; 401 with `WWW-Authenticate: Bearer …` |
//! | `POST /oauth2/revoke` | [`revocation::Revocation::run`] | 200, empty |
//! | `POST /oauth2/introspect` | [`introspection::Introspection::run`] | 200 JSON |
//! | `GET /oauth2/logout` | [`logout::EndSession::run`] | `Redirect` → 302; `LoggedOut` → a page; an error → 400, never a redirect |
//!
//! Other API routes that accept our access tokens check them with
//! [`access_token::AccessTokenCheck::check`], whose grant names the user.

pub mod access_token;
pub mod authorize;
pub mod claims;
pub mod client;
pub mod client_auth;
pub mod completion;
pub mod discovery;
pub mod encoding;
pub mod errors;
pub mod introspection;
mod issue;
pub mod jwks;
pub mod jwt;
pub mod logout;
pub mod params;
pub mod pkce;
pub mod ports;
pub mod profile;
pub mod redirect_uri;
pub mod refresh;
pub mod revocation;
pub mod scope;
pub mod subject;
pub mod token;
pub mod userinfo;

pub use client::{ClientKind, OidcClient};
pub use errors::{ErrorCode, OAuthError};
pub use issue::TokenResponse;
pub use params::Params;
pub use scope::Scope;

use crate::crypto::Credential;

/// The paths of the provider's endpoints, below the issuer.
pub mod paths {
    pub const DISCOVERY: &str = "/.well-known/openid-configuration";
    pub const JWKS: &str = "/oauth2/jwks";
    pub const AUTHORIZE: &str = "/oauth2/authorize";
    /// Followed by `/{request_id}`.
    pub const AUTHORIZE_REQUESTS: &str = "/oauth2/authorize/requests";
    pub const AUTHORIZE_COMPLETE: &str = "/oauth2/authorize/complete";
    pub const TOKEN: &str = "/oauth2/token";
    pub const USERINFO: &str = "/oauth2/userinfo";
    pub const REVOKE: &str = "/oauth2/revoke";
    pub const INTROSPECT: &str = "/oauth2/introspect";
    pub const LOGOUT: &str = "/oauth2/logout";
}

/// The provider's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcSettings {
    issuer: String,
    /// How long a validated authorization request waits for the person to sign in.
    pub request_seconds: i64,
    /// How long a code may wait for its exchange (at most 60 s: [`OidcSettings::new`]).
    pub code_seconds: i64,
    /// How long access and ID tokens live.
    pub token_seconds: i64,
    /// A grant's absolute lifetime: refresh tokens stop working then, whatever their use.
    pub grant_seconds: i64,
}

impl OidcSettings {
    /// Settings for `issuer` (the API's origin, e.g. `https://api.example.com`, optionally
    /// with a path prefix): `https`, or `http` on a loopback host for the local stack; no
    /// trailing slash, query or fragment, since every identifier and endpoint is built from
    /// it by concatenation and must compare exactly. Lifetimes: request 10 minutes, code 60
    /// seconds, tokens 5 minutes, grant 30 days.
    pub fn new(issuer: &str) -> Result<Self, &'static str> {
        let host_and_path = issuer
            .strip_prefix("https://")
            .or_else(|| {
                ["localhost", "127.0.0.1", "[::1]"]
                    .iter()
                    .any(|h| {
                        let rest = issuer.strip_prefix("http://").unwrap_or("");
                        rest.strip_prefix(h)
                            .is_some_and(|r| r.is_empty() || r.starts_with([':', '/']))
                    })
                    .then(|| &issuer[7..])
            })
            .ok_or("the issuer must be an https URL (http only on a loopback host)")?;
        if host_and_path.is_empty()
            || host_and_path.starts_with(['/', ':'])
            || issuer.ends_with('/')
            || issuer.contains(['?', '#', '@'])
            || !issuer.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(
                "the issuer must be an origin (with an optional path), without a trailing slash, query or fragment",
            );
        }
        Ok(Self {
            issuer: issuer.to_owned(),
            request_seconds: 600,
            code_seconds: 60,
            token_seconds: 300,
            grant_seconds: 30 * 86_400,
        })
    }

    /// The issuer identifier (`iss`).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The URL of the endpoint at `path` (one of [`paths`]).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// The token endpoint's URL: an audience client assertions may name.
    pub fn token_endpoint(&self) -> String {
        self.url(paths::TOKEN)
    }

    /// The code lifetime actually used: never more than 60 seconds.
    pub(crate) fn code_lifetime(&self) -> i64 {
        self.code_seconds.clamp(1, 60)
    }
}

/// A new random id (requests, grants, token ids): 128 bits, hex.
pub(crate) fn new_id() -> Result<String, OAuthError> {
    crate::crypto::random_bytes::<16>()
        .map(|bytes| crate::crypto::hex(&bytes))
        .map_err(|_| OAuthError::server_error())
}

/// A new credential (codes, refresh tokens) with a random id.
pub(crate) fn new_credential() -> Result<Credential, OAuthError> {
    Credential::issue(new_id()?).map_err(|_| OAuthError::server_error())
}

/// Whether `id` could be one of our random ids (checked before it is used as a store key).
pub(crate) fn is_plausible_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issuer_is_an_https_origin_and_endpoints_hang_below_it() {
        // GIVEN an https origin
        let settings = OidcSettings::new("https://api.example.com").expect("origin");
        // THEN endpoints are built below it
        assert_eq!(
            settings.token_endpoint(),
            "https://api.example.com/oauth2/token"
        );
        assert_eq!(settings.code_lifetime(), 60);
        // AND only https origins (or http on loopback), without trailing slash, are issuers
        assert!(OidcSettings::new("http://localhost:3000").is_ok());
        assert!(OidcSettings::new("https://api.example.com/prod").is_ok());
        for bad in [
            "http://api.example.com",
            "https://api.example.com/",
            "https://api.example.com?x=1",
            "https://api.example.com#x",
            "https://",
            "http://localhost.evil.example",
            "ftp://api.example.com",
        ] {
            assert!(OidcSettings::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_code_never_lives_longer_than_a_minute() {
        let mut settings = OidcSettings::new("https://api.example.com").expect("origin");
        settings.code_seconds = 600;
        assert_eq!(settings.code_lifetime(), 60);
    }
}
