//! Client authentication at the token, revocation and introspection endpoints (RFC 6749
//! §2.3, OpenID Connect Core §9): first what the request presents, then whether it proves the
//! registered client.
//!
//! One method per request (two are `invalid_request`), and it must be the method the client
//! is registered for: a confidential client cannot fall back to naming itself, and a public
//! client presenting a secret is refused rather than ignored. Every failure to authenticate is
//! the same `invalid_client` with the same description, so an answer never tells an unknown
//! client from a wrong secret.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

use super::OidcSettings;
use super::client::{ClientKind, OidcClient};
use super::encoding::form_decode;
use super::errors::OAuthError;
use super::jwt::{self, Audience, LEEWAY};
use super::params::{MAX_JWT, MAX_VALUE, Params};
use super::ports::{AssertionIds, ClientAssertionVerifier, ClientRegistry};
use crate::ports::{Clock, StoreError};

/// `client_assertion_type` of `private_key_jwt` (RFC 7523 §2.2).
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The algorithms a client assertion may be signed with.
pub const ASSERTION_ALGS: [&str; 2] = ["ES256", "RS256"];

/// An assertion may not expire later than this after it is presented: it is a one-time proof,
/// not a credential to keep, and its `jti` is remembered until it expires. One hour, because
/// certified client libraries sign assertions valid that long by default (Authlib's
/// `PrivateKeyJWT` does), and a shorter bound would refuse them for no gain: replay is stopped
/// by the `jti`, not by the expiry.
pub const MAX_ASSERTION_LIFETIME: i64 = 3600;

/// The one answer to every failed authentication.
const REFUSED: OAuthError = OAuthError::invalid_client("client authentication failed");

/// What a request presents to authenticate its client.
#[derive(Clone, PartialEq, Eq)]
pub enum ClientCredentials {
    /// Only a `client_id` (public clients).
    Id { client_id: String },
    /// `client_secret_basic` or `client_secret_post`.
    Secret { client_id: String, secret: String },
    /// `private_key_jwt`; `client_id` is optional beside an assertion.
    Assertion {
        client_id: Option<String>,
        assertion: String,
    },
}

impl std::fmt::Debug for ClientCredentials {
    /// Secrets and assertions are never shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Id { client_id } => write!(f, "Id({client_id})"),
            Self::Secret { client_id, .. } => write!(f, "Secret({client_id}, <redacted>)"),
            Self::Assertion { client_id, .. } => write!(f, "Assertion({client_id:?}, <redacted>)"),
        }
    }
}

impl ClientCredentials {
    /// The credentials of a request: its `Authorization` header (if any) and its form
    /// parameters. More than one method, or a `client_id` contradicting the header, is
    /// `invalid_request`; no client named at all, or a header of another scheme, is
    /// `invalid_client`.
    pub fn from_request(authorization: Option<&str>, params: &Params) -> Result<Self, OAuthError> {
        let client_id = params.get("client_id", MAX_VALUE)?;
        let secret = params.get("client_secret", MAX_VALUE)?;
        let assertion = params.get("client_assertion", MAX_JWT)?;
        let assertion_type = params.get("client_assertion_type", MAX_VALUE)?;
        let basic = authorization.map(parse_basic).transpose()?;
        let methods = [basic.is_some(), secret.is_some(), assertion.is_some()];
        if methods.into_iter().filter(|m| *m).count() > 1 {
            return Err(OAuthError::invalid_request(
                "more than one client authentication method was used",
            ));
        }
        if let Some((id, secret)) = basic {
            if client_id.is_some_and(|c| c != id) {
                return Err(OAuthError::invalid_request(
                    "client_id does not match the Authorization header",
                ));
            }
            return Ok(Self::Secret {
                client_id: id,
                secret,
            });
        }
        if let Some(assertion) = assertion {
            if assertion_type != Some(ASSERTION_TYPE) {
                return Err(OAuthError::invalid_request(
                    "client_assertion_type must be jwt-bearer",
                ));
            }
            return Ok(Self::Assertion {
                client_id: client_id.map(str::to_owned),
                assertion: assertion.to_owned(),
            });
        }
        let client_id = client_id.ok_or(REFUSED)?.to_owned();
        Ok(match secret {
            Some(secret) => Self::Secret {
                client_id,
                secret: secret.to_owned(),
            },
            None => Self::Id { client_id },
        })
    }
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
fn parse_basic(header: &str) -> Result<(String, String), OAuthError> {
    let (scheme, encoded) = header.trim().split_once(' ').ok_or(REFUSED)?;
    if !scheme.eq_ignore_ascii_case("basic") || encoded.len() > 2 * MAX_VALUE {
        return Err(REFUSED);
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| REFUSED)?;
    let decoded = String::from_utf8(decoded).map_err(|_| REFUSED)?;
    let (id, secret) = decoded.split_once(':').ok_or(REFUSED)?;
    let id = form_decode(id).filter(|id| !id.is_empty()).ok_or(REFUSED)?;
    let secret = form_decode(secret).ok_or(REFUSED)?;
    Ok((id, secret))
}

/// The claims of a client assertion (RFC 7523 §3).
#[derive(Deserialize)]
struct AssertionClaims {
    iss: String,
    sub: String,
    aud: Audience,
    exp: i64,
    jti: String,
    #[serde(default)]
    nbf: Option<i64>,
}

/// Authenticates clients.
pub struct ClientAuth<'a> {
    pub clients: &'a dyn ClientRegistry,
    pub assertion_verifier: &'a dyn ClientAssertionVerifier,
    pub assertion_ids: &'a dyn AssertionIds,
    pub clock: &'a dyn Clock,
    pub settings: &'a OidcSettings,
}

impl ClientAuth<'_> {
    /// The registered client `credentials` prove; `invalid_client` if they prove none.
    pub async fn authenticate(
        &self,
        credentials: &ClientCredentials,
    ) -> Result<OidcClient, OAuthError> {
        match credentials {
            ClientCredentials::Id { client_id } => {
                let client = self.registered(client_id).await?;
                match client.kind {
                    ClientKind::Public => Ok(client),
                    _ => Err(REFUSED),
                }
            }
            ClientCredentials::Secret { client_id, secret } => {
                let client = self.registered(client_id).await?;
                if client.secret_matches(secret) {
                    Ok(client)
                } else {
                    Err(REFUSED)
                }
            }
            ClientCredentials::Assertion {
                client_id,
                assertion,
            } => self.check_assertion(client_id.as_deref(), assertion).await,
        }
    }

    async fn registered(&self, client_id: &str) -> Result<OidcClient, OAuthError> {
        self.clients.get(client_id).await?.ok_or(REFUSED)
    }

    /// A `private_key_jwt` assertion: its claims first (cheap, and an expired or misdirected
    /// assertion needs no key), then its signature, and only then is its `jti` spent, so an
    /// assertion forged with someone's `jti` cannot burn it.
    async fn check_assertion(
        &self,
        client_id: Option<&str>,
        assertion: &str,
    ) -> Result<OidcClient, OAuthError> {
        let now = self.clock.now();
        let jws = jwt::parse(assertion).ok_or(REFUSED)?;
        if !ASSERTION_ALGS.contains(&jws.header.alg.as_str()) || jws.header.crit.is_some() {
            return Err(REFUSED);
        }
        let claims: AssertionClaims =
            serde_json::from_value(serde_json::Value::Object(jws.claims.clone()))
                .map_err(|_| REFUSED)?;
        let audience_ok = claims.aud.contains(self.settings.issuer())
            || claims.aud.contains(&self.settings.token_endpoint());
        let timely = claims.exp + LEEWAY > now
            && claims.exp <= now + MAX_ASSERTION_LIFETIME + LEEWAY
            && claims.nbf.is_none_or(|nbf| nbf <= now + LEEWAY);
        if claims.iss != claims.sub
            || client_id.is_some_and(|id| id != claims.iss)
            || !audience_ok
            || !timely
            || claims.jti.is_empty()
            || claims.jti.len() > 256
        {
            return Err(REFUSED);
        }
        let client = self.registered(&claims.iss).await?;
        let ClientKind::ConfidentialPrivateKeyJwt { jwks } = &client.kind else {
            return Err(REFUSED);
        };
        if !self.assertion_verifier.verify(
            jwks,
            &jws.header.alg,
            jws.header.kid.as_deref(),
            jws.signing_input.as_bytes(),
            &jws.signature,
        ) {
            return Err(REFUSED);
        }
        match self
            .assertion_ids
            .remember(&client.client_id, &claims.jti, claims.exp + LEEWAY)
            .await
        {
            Ok(()) => Ok(client),
            Err(StoreError::Conflict) => {
                tracing::warn!(client_id = %client.client_id, "client assertion replayed");
                Err(REFUSED)
            }
            Err(err) => Err(err.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::ErrorCode;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params::from_pairs(pairs.iter().copied()).expect("few pairs")
    }

    fn basic(id: &str, secret: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
    }

    #[test]
    fn basic_credentials_are_form_decoded_and_post_credentials_read_from_the_body() {
        // GIVEN a Basic header whose id and secret were form-encoded as RFC 6749 requires
        let header = basic("my%20app", "p%3Ass+word");
        // WHEN the credentials are read
        let creds = ClientCredentials::from_request(Some(&header), &params(&[])).expect("basic");
        // THEN they are decoded
        assert_eq!(
            creds,
            ClientCredentials::Secret {
                client_id: "my app".into(),
                secret: "p:ss word".into()
            }
        );
        let post = params(&[("client_id", "app"), ("client_secret", "s")]);
        assert!(matches!(
            ClientCredentials::from_request(None, &post),
            Ok(ClientCredentials::Secret { .. })
        ));
        let public = params(&[("client_id", "app")]);
        assert!(matches!(
            ClientCredentials::from_request(None, &public),
            Ok(ClientCredentials::Id { .. })
        ));
        assert!(!format!("{creds:?}").contains("ss word"));
    }

    #[test]
    fn two_methods_at_once_or_no_client_at_all_are_refused() {
        let both = params(&[("client_id", "app"), ("client_secret", "s")]);
        let err = ClientCredentials::from_request(Some(&basic("app", "s")), &both);
        assert_eq!(err.map_err(|e| e.code), Err(ErrorCode::InvalidRequest));
        let mismatch = params(&[("client_id", "other")]);
        let err = ClientCredentials::from_request(Some(&basic("app", "s")), &mismatch);
        assert_eq!(err.map_err(|e| e.code), Err(ErrorCode::InvalidRequest));
        let wrong_type = params(&[
            ("client_assertion", "a.b.c"),
            ("client_assertion_type", "x"),
        ]);
        let err = ClientCredentials::from_request(None, &wrong_type);
        assert_eq!(err.map_err(|e| e.code), Err(ErrorCode::InvalidRequest));
        let none = ClientCredentials::from_request(None, &params(&[]));
        assert_eq!(none.map_err(|e| e.code), Err(ErrorCode::InvalidClient));
        let bearer = ClientCredentials::from_request(Some("Bearer x"), &params(&[]));
        assert_eq!(bearer.map_err(|e| e.code), Err(ErrorCode::InvalidClient));
    }
}
