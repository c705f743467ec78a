//! Token revocation (`POST /oauth2/revoke`, RFC 7009): a client ends a grant it holds by
//! presenting one of its tokens — a refresh token, or an access token (even expired: it still
//! proves which grant its holder had).
//!
//! Revoking either ends the whole grant, since every token of it hangs from the grant. The
//! answer is success whatever the token was — unknown, malformed, already revoked, or
//! another client's (which is left alone) — so the endpoint tells no one anything about
//! tokens they do not hold (RFC 7009 §2.2). Only a failed client authentication, a request
//! without `token`, or an outage answers an error.

use super::access_token::AccessTokenCheck;
use super::client_auth::{ClientAuth, ClientCredentials};
use super::errors::OAuthError;
use super::params::{MAX_JWT, Params};
use super::ports::{Grants, RefreshTokens};
use crate::audit::hand_over::record;
use crate::audit::{AuditEvent, AuditTrail, RevocationCause};
use crate::crypto::Credential;

/// The revocation endpoint.
pub struct Revocation<'a> {
    /// Public clients identify by `client_id`; confidential ones authenticate.
    pub client_auth: ClientAuth<'a>,
    pub refresh_tokens: &'a dyn RefreshTokens,
    pub grants: &'a dyn Grants,
    pub check: AccessTokenCheck<'a>,
    /// Where a revoked grant is recorded.
    pub audit: &'a dyn AuditTrail,
}

impl Revocation<'_> {
    /// Revokes the grant of `token` if it is this client's. `token_type_hint` is not needed:
    /// the two kinds cannot be mistaken for each other (a credential has one dot, a JWT two).
    pub async fn run(
        &self,
        authorization: Option<&str>,
        params: &Params,
    ) -> Result<(), OAuthError> {
        let credentials = ClientCredentials::from_request(authorization, params)?;
        let client = self.client_auth.authenticate(&credentials).await?;
        let token = params
            .get("token", MAX_JWT)?
            .ok_or(OAuthError::invalid_request("token is required"))?;
        let now = self.client_auth.clock.now();
        let grant_id = match Credential::parse(token) {
            Some(presented) => self
                .refresh_tokens
                .get(&presented.id)
                .await?
                .filter(|t| presented.matches(&t.secret_hash) && t.client_id == client.client_id)
                .map(|t| t.grant_id),
            None => self
                .check
                .signed_claims(token, now, true)
                .await?
                .filter(|claims| claims.client_id == client.client_id)
                .map(|claims| claims.sid),
        };
        if let Some(grant_id) = grant_id {
            self.grants.revoke(&grant_id, now).await?;
            tracing::info!(client_id = %client.client_id, "grant revoked by its client");
            let event =
                AuditEvent::grant_revoked(&client.client_id, RevocationCause::ClientRevoked, now);
            record(self.audit, event).await;
        }
        Ok(())
    }
}
