//! What the OpenID provider's tests share: the in-memory world at a fixed time, the requests a
//! well-behaved client sends, a login session as the sign-in page would hold it, and the
//! whole journey up to a code and to tokens.

#![allow(dead_code)]

use std::ops::Deref;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use onboarding_core::memory::oidc::{
    KEY_CLIENT, KEY_CLIENT_SECRET, KEY_REDIRECT, OidcWorld, PUBLIC_CLIENT, PUBLIC_REDIRECT, SECRET,
    SECRET_CLIENT, SECRET_REDIRECT, TestAssertionVerifier,
};
use onboarding_core::oidc::authorize::AuthorizeOutcome;
use onboarding_core::oidc::completion::Decision;
use onboarding_core::oidc::encoding::b64url_decode;
use onboarding_core::oidc::token::TokenResponse;
use onboarding_core::oidc::{OAuthError, Params};
use onboarding_core::ports::Session;
use serde_json::{Value, json};

pub const NOW: i64 = 1_000_000;
/// RFC 7636 Appendix B's verifier and its S256 challenge.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
pub const GP_ACR: &str = "urn:iproov:assurance:genuine_presence";

/// The test world.
pub struct World(pub OidcWorld);

impl Deref for World {
    type Target = OidcWorld;

    fn deref(&self) -> &OidcWorld {
        &self.0
    }
}

impl World {
    pub fn new() -> Self {
        Self(OidcWorld::at(NOW))
    }

    /// Runs an authorization request; panics unless it goes to the sign-in page.
    pub async fn start(&self, pairs: &[(&str, &str)]) -> String {
        match self.authorize().start(&params(pairs)).await {
            AuthorizeOutcome::SignIn { request_id } => request_id,
            other => panic!("not sent to sign in: {other:?}"),
        }
    }

    /// The person scans 5 s after the request and allows: the code, the clock 5 s later.
    pub async fn code(&self, pairs: &[(&str, &str)]) -> String {
        let request_id = self.start(pairs).await;
        self.clock.advance(5);
        let url = self
            .complete()
            .run(&request_id, &session_at(self.now()), Decision::Allow)
            .await
            .expect("completed");
        query_of(&url)
            .get("code", 256)
            .expect("one code")
            .expect("code")
            .to_owned()
    }

    pub fn now(&self) -> i64 {
        use onboarding_core::ports::Clock;
        self.clock.now()
    }

    /// A token request by `client_id`, authenticated as that client is registered to, with
    /// `pairs` in the body.
    pub async fn token_request(
        &self,
        client_id: &str,
        pairs: &[(&str, &str)],
    ) -> Result<TokenResponse, OAuthError> {
        let (authorization, body) = self.authenticated(client_id, pairs);
        self.token_endpoint()
            .handle(authorization.as_deref(), &params_owned(body))
            .await
    }

    /// The header and body that authenticate `client_id` (Basic for the secret client, an
    /// assertion for the keyed one, the id for the public one), with `pairs` added.
    pub fn authenticated(
        &self,
        client_id: &str,
        pairs: &[(&str, &str)],
    ) -> (Option<String>, Vec<(String, String)>) {
        let mut body: Vec<(String, String)> = pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        let authorization = match client_id {
            SECRET_CLIENT => Some(basic(SECRET_CLIENT, SECRET)),
            KEY_CLIENT => {
                body.push((
                    "client_assertion_type".into(),
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
                ));
                body.push(("client_assertion".into(), self.assertion(&json!({}))));
                None
            }
            other => {
                body.push(("client_id".into(), other.to_owned()));
                None
            }
        };
        (authorization, body)
    }

    /// A valid assertion of the keyed client, fresh jti, with `overrides` applied to its claims.
    pub fn assertion(&self, overrides: &Value) -> String {
        static JTI: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = JTI.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut claims = json!({
            "iss": KEY_CLIENT,
            "sub": KEY_CLIENT,
            "aud": "https://api.example.com/oauth2/token",
            "exp": self.now() + 60,
            "iat": self.now(),
            "jti": format!("jti-{n}"),
        });
        if let (Some(claims), Some(overrides)) = (claims.as_object_mut(), overrides.as_object()) {
            for (k, v) in overrides {
                claims.insert(k.clone(), v.clone());
            }
        }
        TestAssertionVerifier::assertion(KEY_CLIENT_SECRET, "ES256", "c1", &claims)
    }

    /// The whole journey for `client_id` and `scope`: its tokens.
    pub async fn tokens(&self, client_id: &str, scope: &str) -> TokenResponse {
        let request = request_of(client_id, scope);
        let pairs: Vec<(&str, &str)> = request.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let code = self.code(&pairs).await;
        let redirect = redirect_of(client_id);
        let mut body = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect),
        ];
        if client_id == PUBLIC_CLIENT {
            body.push(("code_verifier", VERIFIER));
        }
        self.token_request(client_id, &body)
            .await
            .expect("tokens issued")
    }

    /// A refresh by `client_id` with `refresh_token`.
    pub async fn refresh(
        &self,
        client_id: &str,
        refresh_token: &str,
    ) -> Result<TokenResponse, OAuthError> {
        self.token_request(
            client_id,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
        )
        .await
    }
}

/// The parameters of `pairs`.
pub fn params(pairs: &[(&str, &str)]) -> Params {
    Params::from_pairs(pairs.iter().copied()).expect("few pairs")
}

pub fn params_owned(pairs: Vec<(String, String)>) -> Params {
    Params::from_pairs(pairs).expect("few pairs")
}

/// `Basic` credentials, form-encoded first as RFC 6749 §2.3.1 requires (ours need none).
pub fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

/// The redirect URI each test client uses.
pub fn redirect_of(client_id: &str) -> &'static str {
    match client_id {
        PUBLIC_CLIENT => PUBLIC_REDIRECT,
        SECRET_CLIENT => SECRET_REDIRECT,
        _ => KEY_REDIRECT,
    }
}

/// A well-formed authorization request of `client_id` for `scope` (PKCE for the public one).
pub fn request_of(client_id: &str, scope: &str) -> Vec<(&'static str, String)> {
    let mut request = vec![
        ("client_id", client_id.to_owned()),
        ("redirect_uri", redirect_of(client_id).to_owned()),
        ("response_type", "code".to_owned()),
        ("scope", scope.to_owned()),
        ("state", "state-1".to_owned()),
        ("nonce", "nonce-1".to_owned()),
    ];
    if client_id == PUBLIC_CLIENT {
        request.push(("code_challenge", CHALLENGE.to_owned()));
        request.push(("code_challenge_method", "S256".to_owned()));
    }
    request
}

/// The public client's request for `openid profile`, as pairs.
pub fn public_request() -> Vec<(&'static str, &'static str)> {
    vec![
        ("client_id", PUBLIC_CLIENT),
        ("redirect_uri", PUBLIC_REDIRECT),
        ("response_type", "code"),
        ("scope", "openid profile"),
        ("state", "state-1"),
        ("nonce", "nonce-1"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]
}

/// `pairs` with `name` set to `value` (added if absent).
pub fn with<'a>(
    pairs: &[(&'a str, &'a str)],
    name: &'a str,
    value: &'a str,
) -> Vec<(&'a str, &'a str)> {
    let mut out: Vec<_> = pairs.iter().copied().filter(|(n, _)| *n != name).collect();
    out.push((name, value));
    out
}

/// `pairs` without `name`.
pub fn without<'a>(pairs: &[(&'a str, &'a str)], name: &str) -> Vec<(&'a str, &'a str)> {
    pairs.iter().copied().filter(|(n, _)| *n != name).collect()
}

/// A live login session of `user-1` opened at `created_at` by a Genuine Presence scan.
pub fn session_at(created_at: i64) -> Session {
    Session {
        id: "session-1".into(),
        secret_hash: "h".into(),
        user_id: "user-1".into(),
        created_at,
        last_seen: created_at,
        absolute_expires_at: created_at + 3600,
        acr: Some(GP_ACR.into()),
        elevated_until: None,
    }
}

/// The query parameters of a redirect URL.
pub fn query_of(url: &str) -> Params {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    Params::from_form(query).expect("well-encoded query")
}

/// The header and claims of a JWT, undecoded by any check.
pub fn decode(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let mut part = || {
        serde_json::from_slice::<Value>(
            &b64url_decode(parts.next().expect("part")).expect("base64url"),
        )
        .expect("json")
    };
    let header = part();
    let claims = part();
    (header, claims)
}
