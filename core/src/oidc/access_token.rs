//! Checking an access token presented to us (userinfo, introspection, and the API routes that
//! accept them): a signed JWT is only as good as its grant, so after the signature and claims
//! the grant is read — revoking it is immediate, not five minutes later.
//!
//! The cheap refusals come first (shape, header, claims), then the signature (keys from the
//! verifier), then the grant (a store read).

use super::OidcSettings;
use super::claims::AccessTokenClaims;
use super::errors::OAuthError;
use super::jwt::{self, LEEWAY, TYP_ACCESS_TOKEN};
use super::ports::{Grant, Grants, SignatureVerifier};
use crate::ports::Clock;

/// The one answer to any access token that is not valid.
const INVALID_ACCESS_TOKEN: OAuthError =
    OAuthError::invalid_token("the access token is invalid, expired or revoked");

/// A valid access token, and the grant it belongs to (whose user it speaks for).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedAccess {
    pub claims: AccessTokenClaims,
    pub grant: Grant,
}

/// The token in an `Authorization: Bearer <token>` header (RFC 6750 §2.1).
pub fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Checks access tokens.
pub struct AccessTokenCheck<'a> {
    pub verifier: &'a dyn SignatureVerifier,
    pub grants: &'a dyn Grants,
    pub clock: &'a dyn Clock,
    pub settings: &'a OidcSettings,
}

impl AccessTokenCheck<'_> {
    /// The token's claims and grant if it is valid now; `invalid_token` if not,
    /// `temporarily_unavailable` when the keys or the grant could not be read.
    pub async fn check(&self, token: &str) -> Result<CheckedAccess, OAuthError> {
        let now = self.clock.now();
        let claims = self
            .signed_claims(token, now, false)
            .await?
            .ok_or(INVALID_ACCESS_TOKEN)?;
        let grant = self
            .grants
            .get(&claims.sid)
            .await?
            .filter(|grant| grant.is_active(now) && grant.client_id == claims.client_id)
            .ok_or(INVALID_ACCESS_TOKEN)?;
        Ok(CheckedAccess { claims, grant })
    }

    /// The claims of one of our access tokens — signature, `typ`, `iss`, `aud`, `iat` and,
    /// unless `expired_ok`, `exp` checked — without reading the grant; `None` if refused.
    /// Revocation accepts an expired token: it still proves which grant its holder had.
    pub(crate) async fn signed_claims(
        &self,
        token: &str,
        now: i64,
        expired_ok: bool,
    ) -> Result<Option<AccessTokenClaims>, OAuthError> {
        let Some(claims) = jwt::verify_own(self.verifier, token, TYP_ACCESS_TOKEN).await? else {
            return Ok(None);
        };
        let Ok(claims) =
            serde_json::from_value::<AccessTokenClaims>(serde_json::Value::Object(claims))
        else {
            return Ok(None);
        };
        let issuer = self.settings.issuer();
        let valid = claims.iss == issuer
            && claims.aud == issuer
            && claims.iat <= now + LEEWAY
            && (expired_ok || now < claims.exp + LEEWAY);
        Ok(valid.then_some(claims))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bearer_header_gives_its_token_and_other_schemes_none() {
        assert_eq!(bearer_token("Bearer abc.def.ghi"), Some("abc.def.ghi"));
        assert_eq!(bearer_token("bearer  abc"), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Bearer"), None);
    }
}
