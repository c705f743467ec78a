//! Refreshing (`grant_type=refresh_token`, RFC 6749 §6) with rotation (RFC 9700 §4.14.2):
//! each refresh token works once and is replaced by a new one of the same grant.
//!
//! A refresh token presented again after its use means two parties hold it — it was stolen,
//! or the client lost the rotated one — and there is no telling which is the client: the whole
//! grant is revoked (its refresh tokens, and its access tokens through their `sid`), and
//! `invalid_grant` answered. Two concurrent refreshes with one token count as such a reuse.
//!
//! Order, as for the code exchange: checks, then **sign**, then **store the new refresh
//! token** (unreachable: no one holds it yet), then **mark the presented one used**, the
//! conditional write that commits. A failure before the commit leaves the presented token
//! valid, so the client can simply retry; nothing can fail after it.
//!
//! The refreshed tokens keep the grant's `auth_time` and `acr` (the person did not scan
//! again); the scope may be narrowed, never widened beyond the grant's; the ID token has no
//! `nonce` (OpenID Connect Core §12.2).

use super::client::OidcClient;
use super::errors::OAuthError;
use super::issue::{Issuance, sign_tokens};
use super::params::Params;
use super::ports::RefreshToken;
use super::profile::profile_for;
use super::scope::Scope;
use super::subject::subject_for;
use super::token::{TokenEndpoint, TokenResponse};
use super::{authorize::MAX_SCOPE, new_credential};
use crate::crypto::Credential;
use crate::ports::StoreError;

/// The one answer to any refresh token that cannot be used.
const INVALID_REFRESH: OAuthError =
    OAuthError::invalid_grant("the refresh token is invalid, expired or revoked");

impl TokenEndpoint<'_> {
    /// Refreshes for the authenticated `client` (`refresh_token`, optional `scope`).
    pub async fn refresh(
        &self,
        client: &OidcClient,
        params: &Params,
    ) -> Result<TokenResponse, OAuthError> {
        let now = self.now();
        let presented = params
            .get("refresh_token", 256)?
            .ok_or(OAuthError::invalid_request("refresh_token is required"))?;
        let requested = params.get("scope", MAX_SCOPE)?;
        let presented = Credential::parse(presented).ok_or(INVALID_REFRESH)?;
        let token = self
            .refresh_tokens
            .get(&presented.id)
            .await?
            .filter(|token| presented.matches(&token.secret_hash))
            .ok_or(INVALID_REFRESH)?;
        if token.client_id != client.client_id {
            return Err(INVALID_REFRESH);
        }
        if token.used_at.is_some() {
            self.grants.revoke(&token.grant_id, now).await?;
            tracing::warn!(client_id = %client.client_id, "refresh token reused: grant revoked");
            let event = crate::audit::AuditEvent::grant_revoked(
                &client.client_id,
                crate::audit::RevocationCause::RefreshReused,
                now,
            );
            crate::audit::hand_over::record(self.audit, event).await;
            return Err(INVALID_REFRESH);
        }
        let grant = self
            .grants
            .get(&token.grant_id)
            .await?
            .filter(|grant| grant.is_active(now) && grant.client_id == client.client_id)
            .ok_or(INVALID_REFRESH)?;
        let granted = Scope::parse(&grant.scope).ok_or(StoreError::Corrupt("scope"))?;
        let scope = match requested {
            None => granted,
            Some(requested) => Scope::parse(requested)
                .filter(|scope| !scope.is_empty() && scope.is_within(&granted))
                .ok_or(OAuthError::invalid_scope(
                    "the scope may only narrow the granted one",
                ))?,
        };
        let Some(profile) = profile_for(self.profiles, &grant.user_id, &scope).await? else {
            return Err(INVALID_REFRESH);
        };
        let subject = subject_for(self.keys, client.sector(), &grant.user_id).await?;
        let next = new_credential()?;
        // 1. Sign: nothing is written yet.
        let signed = sign_tokens(
            self.signer,
            self.settings(),
            &Issuance {
                grant: &grant,
                subject: &subject,
                scope: &scope,
                nonce: None,
                name: profile.name.as_deref(),
                now,
            },
        )
        .await?;
        // 2. The next refresh token, unreachable until it is handed out.
        self.refresh_tokens
            .put(&RefreshToken {
                id: next.id.clone(),
                secret_hash: next.secret_hash(),
                grant_id: grant.id.clone(),
                client_id: client.client_id.clone(),
                created_at: now,
                expires_at: grant.expires_at,
                used_at: None,
            })
            .await?;
        // 3. Commit: the presented token is spent.
        match self.refresh_tokens.mark_used(&token.id, now).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                self.grants.revoke(&grant.id, now).await?;
                tracing::warn!(client_id = %client.client_id, "refresh token used twice at once: grant revoked");
                self.revoked(
                    &client.client_id,
                    &grant.user_id,
                    crate::audit::RevocationCause::RefreshReused,
                    now,
                )
                .await;
                return Err(INVALID_REFRESH);
            }
            Err(err) => return Err(err.into()),
        }
        tracing::info!(client_id = %client.client_id, "tokens refreshed");
        let refreshed = crate::audit::AuditEvent::grant(
            crate::audit::AuditKind::OidcTokensRefreshed,
            &client.client_id,
            now,
        )
        .map(|event| event.user(&grant.user_id));
        crate::audit::hand_over::record(self.audit, refreshed).await;
        Ok(TokenResponse {
            access_token: signed.access_token,
            token_type: "Bearer",
            expires_in: self.settings().token_seconds,
            id_token: signed.id_token,
            refresh_token: next.expose(),
            scope: scope.to_string(),
        })
    }
}
