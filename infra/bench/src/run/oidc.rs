//! The OpenID Connect journey, between registration and login: a native app (a public client,
//! registered as an operator registers one) reads the discovery document and sends each person
//! to the authorization endpoint; the people finish registering, which opens their login
//! session after their request; the sign-in page completes each request with that session (a
//! preparation, not measured: the code exchange that follows is); the app exchanges the code,
//! refreshes once with the refresh token it got, reads the JWKS and calls userinfo.

use std::net::Ipv4Addr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::Error;
use crate::events::{HttpRequest, query_param};

use super::harness::Bench;
use super::journeys::Person;

/// The app: a public client (no secret: PKCE instead) with a loopback redirect URI, as a
/// native app registers (RFC 8252), asking for the name as well (`profile`).
const CLIENT_ID: &str = "bench-native-app";
const REDIRECT_URI: &str = "http://127.0.0.1/callback";
const SCOPE: &str = "openid profile";

/// PKCE: the example pair of RFC 7636 Appendix B (core/src/oidc/pkce.rs tests it). One pair for
/// every request: the provider's work does not depend on the value.
const CODE_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CODE_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

const EXCHANGE: &str = "POST /oauth2/token (authorization_code)";
const REFRESH: &str = "POST /oauth2/token (refresh_token)";

/// The client's registration, as `infra/ops/oidc_client.py add --type public` writes it.
fn client_item(now: u64) -> Value {
    json!({
        "pk": {"S": format!("client#{CLIENT_ID}")},
        "client_id": {"S": CLIENT_ID},
        "client_name": {"S": "Bench native app"},
        "auth_method": {"S": "none"},
        "redirect_uris": {"L": [{"S": REDIRECT_URI}]},
        "post_logout_redirect_uris": {"L": []},
        "scopes": {"L": [{"S": "openid"}, {"S": "profile"}]},
        "sector": {"S": CLIENT_ID},
        "created_at": {"N": now.to_string()},
    })
}

fn random() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// What the app holds after a sign-in.
struct Tokens {
    ip: Ipv4Addr,
    access: String,
    refresh: String,
}

impl Tokens {
    /// The tokens of a token endpoint answer (`None` if it has none).
    fn of(ip: Ipv4Addr, answer: &Value) -> Option<Tokens> {
        let access = answer["access_token"].as_str().filter(|t| !t.is_empty())?;
        let refresh = answer["refresh_token"].as_str().filter(|t| !t.is_empty())?;
        Some(Tokens {
            ip,
            access: access.to_owned(),
            refresh: refresh.to_owned(),
        })
    }
}

impl Bench<'_> {
    /// Registers the app, reads the discovery document `n + 1` times, and sends the first
    /// `n + 1` people to the authorization endpoint; then waits for the clock's next second,
    /// so that a session opened from now on was opened after every request (the provider
    /// compares whole seconds, strictly).
    pub(super) async fn authorize(
        &mut self,
        oidc_table: &str,
        people: &mut [Person],
        n: usize,
    ) -> Result<(), Error> {
        self.say("OpenID Connect: discovery, then authorize for each person");
        self.stack
            .put_new_item(oidc_table, client_item(unix_now().as_secs()))
            .await?;
        for p in people.iter().take(n + 1) {
            self.http(
                "GET /.well-known/openid-configuration",
                HttpRequest::new("GET", "/.well-known/openid-configuration", None, p.ip),
            )
            .await?;
        }
        for p in people.iter_mut().take(n + 1) {
            let (state, nonce) = (random(), random());
            let req = HttpRequest::new("GET", "/oauth2/authorize", None, p.ip).with_query(&[
                ("response_type", "code"),
                ("client_id", CLIENT_ID),
                ("redirect_uri", REDIRECT_URI),
                ("scope", SCOPE),
                ("state", &state),
                ("nonce", &nonce),
                ("code_challenge", CODE_CHALLENGE),
                ("code_challenge_method", "S256"),
            ]);
            let answer = self.http_answer("GET /oauth2/authorize", req).await?;
            // The sign-in page's address, with the pending request's id.
            p.oidc_request = answer
                .location
                .as_deref()
                .and_then(|to| query_param(to, "request"));
        }
        let into_second = Duration::from_nanos(u64::from(unix_now().subsec_nanos()));
        tokio::time::sleep(Duration::from_millis(1020).saturating_sub(into_second)).await;
        Ok(())
    }

    /// Each person with a pending request signs in: the page completes the request with the
    /// login session registration opened, the app exchanges the code at once (it lives a
    /// minute), then refreshes; then it reads the JWKS and calls userinfo.
    pub(super) async fn sign_in_to_client(&mut self, people: &mut [Person]) -> Result<(), Error> {
        self.say("OpenID Connect: complete, exchange the code, refresh, JWKS, userinfo");
        let mut held: Vec<Tokens> = Vec::with_capacity(people.len());
        for p in people.iter_mut() {
            let Some(request) = p.oidc_request.take() else {
                continue;
            };
            let complete = HttpRequest::new(
                "POST",
                "/oauth2/authorize/complete",
                Some(&p.registration_session),
                p.ip,
            )
            .with_body(json!({"request": request, "decision": "allow"}));
            let Some(done) = self.prepare("oidc", complete, 200, EXCHANGE).await? else {
                continue;
            };
            let Some(code) = done.body["redirect_to"]
                .as_str()
                .and_then(|to| query_param(to, "code"))
            else {
                self.unexpected(
                    EXCHANGE,
                    format!("no code in the completion: {}", done.body),
                );
                continue;
            };
            let exchange = HttpRequest::new("POST", "/oauth2/token", None, p.ip).with_form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", CODE_VERIFIER),
                ("client_id", CLIENT_ID),
            ]);
            let answer = self.http(EXCHANGE, exchange).await?;
            held.extend(Tokens::of(p.ip, &answer));
        }
        // Each refresh presents the refresh token the previous answer handed out.
        for t in &mut held {
            let refresh = HttpRequest::new("POST", "/oauth2/token", None, t.ip).with_form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", &t.refresh),
                ("client_id", CLIENT_ID),
            ]);
            let answer = self.http(REFRESH, refresh).await?;
            if let Some(next) = Tokens::of(t.ip, &answer) {
                *t = next;
            }
        }
        for t in &held {
            self.http(
                "GET /oauth2/jwks",
                HttpRequest::new("GET", "/oauth2/jwks", None, t.ip),
            )
            .await?;
        }
        for t in &held {
            self.http(
                "GET /oauth2/userinfo",
                HttpRequest::new("GET", "/oauth2/userinfo", Some(&t.access), t.ip),
            )
            .await?;
        }
        Ok(())
    }
}
