//! Token introspection (`POST /oauth2/introspect`, RFC 7662): a confidential client asks
//! whether a token is live and what it says.
//!
//! Only the client a token was issued to learns about it: anyone else gets
//! `{"active":false}`, as for any token that is not valid. Otherwise a client could read
//! another client's pairwise `sub` out of a token it came across, and join the two.

use serde_json::{Value, json};

use super::access_token::AccessTokenCheck;
use super::client_auth::{ClientAuth, ClientCredentials};
use super::errors::{ErrorCode, OAuthError};
use super::params::{MAX_JWT, Params};
use super::ports::{Grants, RefreshTokens};
use super::subject::subject_for;
use crate::crypto::Credential;
use crate::ports::KeyRing;

/// The introspection endpoint.
pub struct Introspection<'a> {
    pub client_auth: ClientAuth<'a>,
    pub refresh_tokens: &'a dyn RefreshTokens,
    pub grants: &'a dyn Grants,
    pub check: AccessTokenCheck<'a>,
    /// The pairwise key's source (a refresh token's `sub`).
    pub keys: &'a dyn KeyRing,
}

fn inactive() -> Value {
    json!({ "active": false })
}

/// An active answer, without the members that have no value (a token without `acr`).
fn active(mut members: Value) -> Value {
    if let Value::Object(map) = &mut members {
        map.retain(|_, value| !value.is_null());
    }
    members
}

impl Introspection<'_> {
    /// The introspection answer for `token`.
    pub async fn run(
        &self,
        authorization: Option<&str>,
        params: &Params,
    ) -> Result<Value, OAuthError> {
        let credentials = ClientCredentials::from_request(authorization, params)?;
        let client = self.client_auth.authenticate(&credentials).await?;
        if !client.is_confidential() {
            return Err(OAuthError::invalid_client("client authentication failed"));
        }
        let token = params
            .get("token", MAX_JWT)?
            .ok_or(OAuthError::invalid_request("token is required"))?;
        let issuer = self.client_auth.settings.issuer();
        let now = self.client_auth.clock.now();
        if let Some(presented) = Credential::parse(token) {
            let Some(refresh) = self
                .refresh_tokens
                .get(&presented.id)
                .await?
                .filter(|t| presented.matches(&t.secret_hash))
                .filter(|t| t.used_at.is_none() && t.client_id == client.client_id)
            else {
                return Ok(inactive());
            };
            let Some(grant) = self
                .grants
                .get(&refresh.grant_id)
                .await?
                .filter(|g| g.is_active(now))
            else {
                return Ok(inactive());
            };
            let sub = subject_for(self.keys, client.sector(), &grant.user_id).await?;
            return Ok(active(json!({
                "active": true,
                "token_type": "refresh_token",
                "client_id": grant.client_id,
                "sub": sub,
                "scope": grant.scope,
                "exp": grant.expires_at,
                "iat": refresh.created_at,
                "iss": issuer,
                "aud": grant.client_id,
                "acr": grant.acr,
                "auth_time": grant.auth_time,
            })));
        }
        match self.check.check(token).await {
            Ok(access) if access.claims.client_id == client.client_id => {
                let c = access.claims;
                Ok(active(json!({
                    "active": true,
                    "token_type": "Bearer",
                    "client_id": c.client_id,
                    "sub": c.sub,
                    "scope": c.scope,
                    "exp": c.exp,
                    "iat": c.iat,
                    "iss": c.iss,
                    "aud": c.aud,
                    "acr": c.acr,
                    "auth_time": c.auth_time,
                })))
            }
            Ok(_) => Ok(inactive()),
            Err(err) if err.code == ErrorCode::InvalidToken => Ok(inactive()),
            Err(err) => Err(err),
        }
    }
}
