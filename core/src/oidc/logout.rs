//! RP-initiated logout (`GET /oauth2/logout`, OpenID Connect RP-Initiated Logout 1.0): a
//! client sends the browser here with an ID token it was given (`id_token_hint`); the grant
//! the token names (`sid`) is revoked, and the browser goes back to the client if it named a
//! registered `post_logout_redirect_uri`.
//!
//! The hint's signature is checked, its expiry is not (a client logs out long after its
//! five-minute ID token expired), but it may not be older than a grant can live: an older
//! one names a grant that has ended anyway. There is no single sign-on session to end here:
//! each authorization took its own face scan, so the grant is all there is.
//!
//! Nothing is revoked unless every parameter is valid, and the browser is never sent to a URI
//! that is not registered, exactly, for the client the hint (or `client_id`) names.

use super::OidcSettings;
use super::authorize::{MAX_CLIENT_ID, MAX_STATE};
use super::claims::IdTokenClaims;
use super::errors::OAuthError;
use super::jwt::{self, LEEWAY, TYP_ID_TOKEN};
use super::params::{MAX_JWT, Params};
use super::ports::{ClientRegistry, Grants, SignatureVerifier};
use super::redirect_uri::{self, MAX_REDIRECT_URI};
use crate::ports::Clock;

/// Where the browser goes after a logout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutOutcome {
    /// Back to the client.
    Redirect(String),
    /// Nowhere: the handler shows that the person is logged out.
    LoggedOut,
}

/// The end-session endpoint.
pub struct EndSession<'a> {
    pub clients: &'a dyn ClientRegistry,
    pub verifier: &'a dyn SignatureVerifier,
    pub grants: &'a dyn Grants,
    pub clock: &'a dyn Clock,
    pub settings: &'a OidcSettings,
    /// Where a grant ended by logout is recorded.
    pub audit: &'a dyn crate::audit::AuditTrail,
}

impl EndSession<'_> {
    /// Logs out with the request's parameters (`id_token_hint`, `client_id`,
    /// `post_logout_redirect_uri`, `state`); `invalid_request` (shown, never redirected) when
    /// one is not valid.
    pub async fn run(&self, params: &Params) -> Result<LogoutOutcome, OAuthError> {
        let hint = params.get("id_token_hint", MAX_JWT)?;
        let client_id = params.get("client_id", MAX_CLIENT_ID)?;
        let redirect = params.get("post_logout_redirect_uri", MAX_REDIRECT_URI)?;
        let state = params.get("state", MAX_STATE)?;
        let hint = match hint {
            Some(hint) => Some(
                self.hint_claims(hint)
                    .await?
                    .ok_or(OAuthError::invalid_request("id_token_hint is not valid"))?,
            ),
            None => None,
        };
        let client_id = match (hint.as_ref().map(|h| h.aud.as_str()), client_id) {
            (Some(aud), Some(id)) if aud != id => {
                return Err(OAuthError::invalid_request(
                    "client_id does not match id_token_hint",
                ));
            }
            (aud, id) => aud.or(id),
        };
        let target = match redirect {
            None => None,
            Some(uri) => {
                let id = client_id.ok_or(OAuthError::invalid_request(
                    "post_logout_redirect_uri needs id_token_hint or client_id",
                ))?;
                let registered = self.clients.get(id).await?.is_some_and(|client| {
                    redirect_uri::is_acceptable(uri)
                        && client.post_logout_redirect_uris.iter().any(|r| r == uri)
                });
                if !registered {
                    return Err(OAuthError::invalid_request(
                        "post_logout_redirect_uri is not registered for this client",
                    ));
                }
                Some(uri)
            }
        };
        if let Some(hint) = &hint {
            let now = self.clock.now();
            self.grants.revoke(&hint.sid, now).await?;
            tracing::info!(client_id = %hint.aud, "grant ended by logout");
            let event = crate::audit::AuditEvent::grant_revoked(
                &hint.aud,
                crate::audit::RevocationCause::Logout,
                now,
            );
            crate::audit::hand_over::record(self.audit, event).await;
        }
        Ok(match target {
            Some(uri) => {
                let state: Vec<(&str, &str)> = state.map(|s| ("state", s)).into_iter().collect();
                LogoutOutcome::Redirect(redirect_uri::with_params(uri, &state))
            }
            None => LogoutOutcome::LoggedOut,
        })
    }

    /// The claims of an ID token of ours, expired or not, issued no longer ago than a grant
    /// lives; `None` if it is not one.
    async fn hint_claims(&self, hint: &str) -> Result<Option<IdTokenClaims>, OAuthError> {
        let Some(claims) = jwt::verify_own(self.verifier, hint, TYP_ID_TOKEN).await? else {
            return Ok(None);
        };
        let Ok(claims) = serde_json::from_value::<IdTokenClaims>(serde_json::Value::Object(claims))
        else {
            return Ok(None);
        };
        let now = self.clock.now();
        let valid = claims.iss == self.settings.issuer()
            && claims.iat <= now + LEEWAY
            && claims.iat >= now - self.settings.grant_seconds;
        Ok(valid.then_some(claims))
    }
}
