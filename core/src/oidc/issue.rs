//! Signing the tokens of a grant: what the code exchange and every refresh hand out.

use serde::Serialize;

use super::claims::{AMR_FACE, AccessTokenClaims, IdTokenClaims};
use super::errors::OAuthError;
use super::jwt::{self, TYP_ACCESS_TOKEN, TYP_ID_TOKEN};
use super::ports::{Grant, TokenSigner};
use super::scope::{OPENID, Scope};
use super::{OidcSettings, new_id};

/// The token endpoint's answer (RFC 6749 §5.1, OpenID Connect Core §3.1.3.3). The handler
/// sends it with `Cache-Control: no-store`.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    pub expires_in: i64,
    /// With the `openid` scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    pub refresh_token: String,
    pub scope: String,
}

impl std::fmt::Debug for TokenResponse {
    /// Tokens are credentials: never shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("scope", &self.scope)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

impl TokenResponse {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// What one issuance says, beyond the grant.
pub(crate) struct Issuance<'a> {
    pub grant: &'a Grant,
    /// The client's pairwise subject of the grant's user.
    pub subject: &'a str,
    /// The scope of these tokens: the grant's, or narrower on a refresh.
    pub scope: &'a Scope,
    /// The authorization request's nonce (code exchange only).
    pub nonce: Option<&'a str>,
    /// The display name, when the scope has `profile`.
    pub name: Option<&'a str>,
    pub now: i64,
}

/// A signed access token, and an ID token when the scope has `openid`.
pub(crate) struct SignedTokens {
    pub access_token: String,
    pub id_token: Option<String>,
}

/// Signs the tokens of `issuance`, both at once, with the signer's current key.
pub(crate) async fn sign_tokens(
    signer: &dyn TokenSigner,
    settings: &OidcSettings,
    issuance: &Issuance<'_>,
) -> Result<SignedTokens, OAuthError> {
    let grant = issuance.grant;
    let exp = issuance.now + settings.token_seconds;
    let access = AccessTokenClaims {
        iss: settings.issuer().to_owned(),
        sub: issuance.subject.to_owned(),
        aud: settings.issuer().to_owned(),
        client_id: grant.client_id.clone(),
        scope: issuance.scope.to_string(),
        jti: new_id()?,
        iat: issuance.now,
        exp,
        auth_time: grant.auth_time,
        acr: grant.acr.clone(),
        sid: grant.id.clone(),
    };
    let id = issuance.scope.contains(OPENID).then(|| IdTokenClaims {
        iss: settings.issuer().to_owned(),
        sub: issuance.subject.to_owned(),
        aud: grant.client_id.clone(),
        azp: grant.client_id.clone(),
        exp,
        iat: issuance.now,
        auth_time: grant.auth_time,
        nonce: issuance.nonce.map(str::to_owned),
        amr: vec![AMR_FACE.to_owned()],
        acr: grant.acr.clone(),
        sid: grant.id.clone(),
        name: issuance.name.map(str::to_owned),
    });
    let kid = signer.key_id().await?;
    let (access_token, id_token) =
        futures::try_join!(jwt::sign(signer, &kid, TYP_ACCESS_TOKEN, &access), async {
            match &id {
                Some(claims) => jwt::sign(signer, &kid, TYP_ID_TOKEN, claims)
                    .await
                    .map(Some),
                None => Ok(None),
            }
        },)?;
    Ok(SignedTokens {
        access_token,
        id_token,
    })
}
