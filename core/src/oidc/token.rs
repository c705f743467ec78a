//! The token endpoint (`POST /oauth2/token`): the client authenticates first, then exchanges a
//! code ([`TokenEndpoint::exchange_code`], here) or a refresh token
//! ([`TokenEndpoint::refresh`], in `refresh.rs`).
//!
//! # Nothing half-written
//!
//! A code exchange writes three things — a grant, a refresh token, the code's redemption —
//! and signs two tokens. The order is chosen so that no failure leaves anything usable
//! behind and no failure spends the code for nothing it can help:
//!
//! 1. every check, then **sign** both tokens (the key service is the likeliest call to fail,
//!    and failing here spends nothing: the client may retry with the same code);
//! 2. **create the grant**, then **store the refresh token**: both unreachable for now, since
//!    no one holds a token of them (the signed ones are still in memory);
//! 3. **redeem the code**, one conditional write naming the grant: the commit point. Nothing
//!    can fail after it, so a redeemed code always handed out its tokens.
//!
//! Had the code been redeemed first, a signer or store failure after it would leave the
//! client with a spent code and no tokens, and the person would have to scan again. If a step
//! of 2 or 3 fails, the new grant is revoked (best effort; it is unreachable anyway) and the
//! error answered; the code stays redeemable unless 3 applied.
//!
//! A code presented after its redemption — a replay, or the loser of two concurrent
//! exchanges — revokes the grant its redemption created (RFC 6749 §4.1.2), taking every token
//! of it along, and answers `invalid_grant`.

use super::OidcSettings;
use super::client::OidcClient;
use super::client_auth::{ClientAuth, ClientCredentials};
use super::errors::{ErrorCode, OAuthError};
pub use super::issue::TokenResponse;
use super::issue::{Issuance, sign_tokens};
use super::params::{MAX_VALUE, Params};
use super::ports::{
    AuthorizationCodes, Grant, Grants, RefreshToken, RefreshTokens, TokenSigner, UserProfiles,
};
use super::profile::profile_for;
use super::redirect_uri::MAX_REDIRECT_URI;
use super::scope::Scope;
use super::subject::subject_for;
use super::{new_credential, new_id, pkce};
use crate::audit::hand_over::record;
use crate::audit::{AuditEvent, AuditKind, AuditTrail, RevocationCause};
use crate::crypto::Credential;
use crate::ports::{KeyRing, StoreError};

/// The one answer to any code that cannot be exchanged: which rule refused it is not told.
const INVALID_CODE: OAuthError =
    OAuthError::invalid_grant("the authorization code is invalid, expired or already used");

/// The token endpoint.
pub struct TokenEndpoint<'a> {
    /// Also the endpoint's clock and settings.
    pub client_auth: ClientAuth<'a>,
    pub codes: &'a dyn AuthorizationCodes,
    pub grants: &'a dyn Grants,
    pub refresh_tokens: &'a dyn RefreshTokens,
    pub signer: &'a dyn TokenSigner,
    pub profiles: &'a dyn UserProfiles,
    /// The pairwise key's source.
    pub keys: &'a dyn KeyRing,
    /// Where grants issued, refreshed and revoked here are recorded.
    pub audit: &'a dyn AuditTrail,
}

impl TokenEndpoint<'_> {
    pub(crate) fn now(&self) -> i64 {
        self.client_auth.clock.now()
    }

    pub(crate) fn settings(&self) -> &OidcSettings {
        self.client_auth.settings
    }

    /// A token request: the client's `Authorization` header (if any) and the form body.
    pub async fn handle(
        &self,
        authorization: Option<&str>,
        params: &Params,
    ) -> Result<TokenResponse, OAuthError> {
        let credentials = ClientCredentials::from_request(authorization, params)?;
        let client = self.client_auth.authenticate(&credentials).await?;
        match params.get("grant_type", MAX_VALUE)? {
            Some("authorization_code") => self.exchange_code(&client, params).await,
            Some("refresh_token") => self.refresh(&client, params).await,
            None => Err(OAuthError::invalid_request("grant_type is required")),
            Some(_) => Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                "only authorization_code and refresh_token are supported",
            )),
        }
    }

    /// Exchanges a code for the authenticated `client` (`code`, `redirect_uri`,
    /// `code_verifier` from `params`). See the module documentation for the order of steps.
    pub async fn exchange_code(
        &self,
        client: &OidcClient,
        params: &Params,
    ) -> Result<TokenResponse, OAuthError> {
        let now = self.now();
        let presented = params
            .get("code", 256)?
            .ok_or(OAuthError::invalid_request("code is required"))?;
        let redirect_uri = params.get("redirect_uri", MAX_REDIRECT_URI)?;
        let verifier = params.get("code_verifier", 256)?;
        let presented = Credential::parse(presented).ok_or(INVALID_CODE)?;
        let code = self
            .codes
            .get(&presented.id)
            .await?
            .filter(|code| presented.matches(&code.secret_hash))
            .ok_or(INVALID_CODE)?;
        if let Some(redemption) = &code.redeemed {
            tracing::warn!(client_id = %code.client_id, "authorization code replayed: grant revoked");
            self.grants.revoke(&redemption.grant_id, now).await?;
            self.revoked(
                &code.client_id,
                &code.user_id,
                RevocationCause::CodeReplayed,
                now,
            )
            .await;
            return Err(INVALID_CODE);
        }
        let pkce_ok = match (code.code_challenge.as_deref(), verifier) {
            (Some(challenge), Some(verifier)) => pkce::verify(verifier, challenge),
            // Without a challenge, a verifier is refused (a downgrade), and only a
            // confidential client may go without (public ones always sent a challenge).
            (None, None) => client.is_confidential(),
            _ => false,
        };
        if now >= code.expires_at
            || code.client_id != client.client_id
            || redirect_uri != Some(code.redirect_uri.as_str())
            || !pkce_ok
        {
            return Err(INVALID_CODE);
        }
        let scope = Scope::parse(&code.scope).ok_or(StoreError::Corrupt("scope"))?;
        let Some(profile) = profile_for(self.profiles, &code.user_id, &scope).await? else {
            // Erased since the scan: nothing is issued about them.
            return Err(INVALID_CODE);
        };
        let subject = subject_for(self.keys, client.sector(), &code.user_id).await?;
        let grant = Grant {
            id: new_id()?,
            client_id: client.client_id.clone(),
            user_id: code.user_id.clone(),
            scope: code.scope.clone(),
            auth_time: code.auth_time,
            acr: code.acr.clone(),
            created_at: now,
            expires_at: now + self.settings().grant_seconds,
            revoked_at: None,
        };
        let refresh = new_credential()?;
        // 1. Sign: nothing is written yet.
        let signed = sign_tokens(
            self.signer,
            self.settings(),
            &Issuance {
                grant: &grant,
                subject: &subject,
                scope: &scope,
                nonce: code.nonce.as_deref(),
                name: profile.name.as_deref(),
                now,
            },
        )
        .await?;
        // 2. The grant and its refresh token, unreachable until the code is redeemed.
        self.grants.create(&grant).await?;
        let stored = self
            .refresh_tokens
            .put(&RefreshToken {
                id: refresh.id.clone(),
                secret_hash: refresh.secret_hash(),
                grant_id: grant.id.clone(),
                client_id: client.client_id.clone(),
                created_at: now,
                expires_at: grant.expires_at,
                used_at: None,
            })
            .await;
        if let Err(err) = stored {
            self.abandon(&grant, now).await;
            return Err(err.into());
        }
        // 3. Commit.
        match self.codes.redeem(&code.id, &grant.id, now).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                // Redeemed meanwhile by another exchange: a replay, whichever came first.
                self.abandon(&grant, now).await;
                if let Some(Some(redemption)) =
                    self.codes.get(&code.id).await?.map(|code| code.redeemed)
                {
                    self.grants.revoke(&redemption.grant_id, now).await?;
                    self.revoked(
                        &client.client_id,
                        &code.user_id,
                        RevocationCause::CodeReplayed,
                        now,
                    )
                    .await;
                }
                tracing::warn!(client_id = %client.client_id, "authorization code redeemed twice at once: grant revoked");
                return Err(INVALID_CODE);
            }
            Err(err) => {
                self.abandon(&grant, now).await;
                return Err(err.into());
            }
        }
        tracing::info!(client_id = %client.client_id, "authorization code exchanged");
        let issued = AuditEvent::grant(AuditKind::OidcGrantIssued, &client.client_id, now)
            .map(|event| event.user(&grant.user_id));
        record(self.audit, issued).await;
        Ok(TokenResponse {
            access_token: signed.access_token,
            token_type: "Bearer",
            expires_in: self.settings().token_seconds,
            id_token: signed.id_token,
            refresh_token: refresh.expose(),
            scope: scope.to_string(),
        })
    }

    /// Records that a grant of `client_id` for `user_id` ended for `cause`.
    pub(crate) async fn revoked(
        &self,
        client_id: &str,
        user_id: &str,
        cause: RevocationCause,
        now: i64,
    ) {
        let event =
            AuditEvent::grant_revoked(client_id, cause, now).map(|event| event.user(user_id));
        record(self.audit, event).await;
    }

    /// Revokes a grant whose tokens were never handed out. Best effort: no one can reach it.
    pub(crate) async fn abandon(&self, grant: &Grant, now: i64) {
        if let Err(err) = self.grants.revoke(&grant.id, now).await {
            tracing::warn!(error = %err, "could not revoke an abandoned grant");
        }
    }
}
