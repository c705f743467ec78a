//! JSON Web Tokens as the provider writes and reads them (RFC 7515, 7519), without a JWT
//! library: the format is three base64url parts, and the only algorithm ever accepted for our
//! own tokens is ES256, so the decisions that matter fit here and are tested here.
//!
//! Writing: header `{"alg":"ES256","typ":…,"kid":…}`, claims, both base64url JSON; the signer
//! (a port) signs `header.claims`. Reading our own tokens: `alg` must be exactly `ES256` —
//! whatever the header says otherwise (`none`, `HS256` with the public key as secret…) is
//! refused before anything else — `typ` must be the expected one (an access token is never
//! accepted as an ID token, nor the reverse), `kid` must name a published key, and `crit` is
//! refused (no extension is understood). Claims are checked by the callers.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::encoding::{b64url, b64url_decode};
use super::errors::OAuthError;
use super::ports::{SignatureVerifier, SigningUnavailable, TokenSigner};

/// The only signature algorithm of our tokens.
pub const ES256: &str = "ES256";
/// `typ` of ID tokens.
pub const TYP_ID_TOKEN: &str = "JWT";
/// `typ` of access tokens (RFC 9068 §2.1).
pub const TYP_ACCESS_TOKEN: &str = "at+jwt";
/// How far a clock may be off when `exp`, `iat` and `nbf` are checked: a few seconds, no more.
pub const LEEWAY: i64 = 5;
/// Longer tokens are not read.
pub const MAX_TOKEN: usize = 8192;

#[derive(Serialize)]
struct Header<'a> {
    alg: &'a str,
    typ: &'a str,
    kid: &'a str,
}

/// Signs `claims` as a compact JWS of type `typ` under key `kid`.
pub async fn sign<C: Serialize>(
    signer: &dyn TokenSigner,
    kid: &str,
    typ: &str,
    claims: &C,
) -> Result<String, OAuthError> {
    let header = serde_json::to_vec(&Header {
        alg: ES256,
        typ,
        kid,
    })
    .map_err(|_| OAuthError::server_error())?;
    let claims = serde_json::to_vec(claims).map_err(|_| OAuthError::server_error())?;
    let signing_input = format!("{}.{}", b64url(&header), b64url(&claims));
    let signature = signer.sign(kid, signing_input.as_bytes()).await?;
    Ok(format!("{signing_input}.{}", b64url(&signature)))
}

/// The header fields the provider reads.
#[derive(Debug, Clone, Deserialize)]
pub struct JwsHeader {
    pub alg: String,
    #[serde(default)]
    pub typ: Option<String>,
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default)]
    pub crit: Option<Value>,
}

/// A compact JWS split into its parts, not yet checked.
#[derive(Debug, Clone)]
pub struct Jws<'t> {
    pub header: JwsHeader,
    pub claims: Map<String, Value>,
    /// `header.claims`, as signed.
    pub signing_input: &'t str,
    pub signature: Vec<u8>,
}

/// Splits `token` into header, claims and signature; `None` unless it is three base64url
/// parts of which the first two are JSON objects, within [`MAX_TOKEN`].
pub fn parse(token: &str) -> Option<Jws<'_>> {
    if token.len() > MAX_TOKEN {
        return None;
    }
    let (signing_input, signature) = token.rsplit_once('.')?;
    let (header, claims) = signing_input.split_once('.')?;
    if claims.contains('.') {
        return None;
    }
    let header: JwsHeader = serde_json::from_slice(&b64url_decode(header)?).ok()?;
    let claims = match serde_json::from_slice(&b64url_decode(claims)?).ok()? {
        Value::Object(claims) => claims,
        _ => return None,
    };
    Some(Jws {
        header,
        claims,
        signing_input,
        signature: b64url_decode(signature)?,
    })
}

/// Whether a `typ` header names `expected` (as is, or as the full media type
/// `application/<expected>`; media types are case-insensitive).
fn typ_is(found: Option<&str>, expected: &str) -> bool {
    found.is_some_and(|typ| {
        typ.eq_ignore_ascii_case(expected)
            || typ
                .get(..12)
                .is_some_and(|prefix| prefix.eq_ignore_ascii_case("application/"))
                && typ[12..].eq_ignore_ascii_case(expected)
    })
}

/// The claims of `token` if it is one of our tokens of type `typ` with a valid signature;
/// `Ok(None)` for any refusal (malformed, another algorithm or type, unknown key, bad
/// signature); `Err` only when the published keys could not be read.
pub async fn verify_own(
    verifier: &dyn SignatureVerifier,
    token: &str,
    typ: &str,
) -> Result<Option<Map<String, Value>>, SigningUnavailable> {
    let Some(jws) = parse(token) else {
        return Ok(None);
    };
    if jws.header.alg != ES256
        || jws.header.crit.is_some()
        || !typ_is(jws.header.typ.as_deref(), typ)
    {
        return Ok(None);
    }
    let Some(kid) = jws.header.kid.as_deref() else {
        return Ok(None);
    };
    let Ok(signature) = <[u8; 64]>::try_from(jws.signature.as_slice()) else {
        return Ok(None);
    };
    let keys = verifier.published_keys().await?;
    let Some(key) = keys.iter().find(|k| k.kid == kid) else {
        return Ok(None);
    };
    Ok(verifier
        .verify(key, jws.signing_input.as_bytes(), &signature)
        .then_some(jws.claims))
}

/// An `aud` claim: one audience or several (RFC 7519 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub fn contains(&self, audience: &str) -> bool {
        match self {
            Self::One(one) => one == audience,
            Self::Many(many) => many.iter().any(|a| a == audience),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(json: &str) -> String {
        b64url(json.as_bytes())
    }

    #[test]
    fn a_token_parses_only_as_three_base64url_parts_of_json_objects() {
        let header = part(r#"{"alg":"ES256","typ":"JWT","kid":"k1"}"#);
        let claims = part(r#"{"sub":"x"}"#);
        let sig = b64url(&[7u8; 64]);
        let good = format!("{header}.{claims}.{sig}");
        let jws = parse(&good).expect("well formed");
        assert_eq!(jws.header.alg, "ES256");
        assert_eq!(jws.claims["sub"], "x");
        assert_eq!(jws.signing_input, format!("{header}.{claims}"));
        for bad in [
            format!("{header}.{claims}"),
            format!("{header}.{claims}.{sig}.{sig}"),
            format!("{header}.{}.{sig}", part("[1]")),
            format!("{header}.{claims}.{sig}="),
            format!("{}.{claims}.{sig}", part("{}")),
            format!("{header}.{claims}.{}", "A".repeat(MAX_TOKEN)),
        ] {
            assert!(parse(&bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn typ_matches_as_is_or_as_a_media_type_but_not_another_type() {
        assert!(typ_is(Some("at+jwt"), TYP_ACCESS_TOKEN));
        assert!(typ_is(Some("application/AT+JWT"), TYP_ACCESS_TOKEN));
        assert!(!typ_is(Some("JWT"), TYP_ACCESS_TOKEN));
        assert!(!typ_is(Some("at+jwt"), TYP_ID_TOKEN));
        assert!(!typ_is(None, TYP_ID_TOKEN));
        assert!(!typ_is(Some("application/"), TYP_ID_TOKEN));
    }

    #[test]
    fn an_audience_is_one_value_or_a_list() {
        let one: Audience = serde_json::from_str(r#""https://i.example""#).expect("string");
        let many: Audience = serde_json::from_str(r#"["a","https://i.example"]"#).expect("list");
        assert!(one.contains("https://i.example") && many.contains("https://i.example"));
        assert!(!many.contains("b"));
    }
}
