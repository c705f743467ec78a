//! Completing an authorization (`POST /oauth2/authorize/complete`): the sign-in page, holding
//! the login session the person just opened with a face scan, hands back their decision.
//!
//! The session must have been opened after the request was made: each authorization costs
//! its own scan, so a session left open on a device cannot silently sign its holder in to
//! one more client. (`max_age`, if the client sent one, bounds the scan's age as well.)
//!
//! A request completes once. The code is stored first and the request deleted after, by a
//! conditional delete that only one of concurrent completions wins; the loser's code was
//! never handed out, so nothing usable is left behind whichever step fails.

use super::errors::{ErrorCode, OAuthError};
use super::ports::{AuthorizationCode, AuthorizationCodes, AuthorizationRequests};
use super::{OidcSettings, is_plausible_id, new_credential, redirect_uri};
use crate::ports::{Clock, Session, StoreError};

/// What the person decided on the sign-in page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny,
}

/// Why a completion sent the browser nowhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CompletionError {
    /// No such pending request: unknown, expired, or completed already. The person starts
    /// again from the client.
    #[error("request_unknown")]
    UnknownRequest,
    /// The session was opened before the request (or longer ago than `max_age`): the page
    /// must have the person scan their face again and complete with the new session.
    #[error("fresh_login_required")]
    FreshLoginRequired,
    /// A store or the random source failed: the same completion may be tried again.
    #[error("temporarily_unavailable")]
    Unavailable,
}

impl CompletionError {
    /// The wire code.
    pub fn code(self) -> &'static str {
        match self {
            Self::UnknownRequest => "request_unknown",
            Self::FreshLoginRequired => "fresh_login_required",
            Self::Unavailable => "temporarily_unavailable",
        }
    }
}

impl From<StoreError> for CompletionError {
    fn from(err: StoreError) -> Self {
        tracing::warn!(error = %err, "authorization completion store call failed");
        Self::Unavailable
    }
}

impl From<OAuthError> for CompletionError {
    fn from(_: OAuthError) -> Self {
        Self::Unavailable
    }
}

/// Completes pending authorization requests.
pub struct CompleteAuthorization<'a> {
    pub requests: &'a dyn AuthorizationRequests,
    pub codes: &'a dyn AuthorizationCodes,
    pub clock: &'a dyn Clock,
    pub settings: &'a OidcSettings,
}

impl CompleteAuthorization<'_> {
    /// Completes request `request_id` for the live login `session` (checked by the caller)
    /// with `decision`; the URL to send the browser to, on the client's redirect URI.
    pub async fn run(
        &self,
        request_id: &str,
        session: &Session,
        decision: Decision,
    ) -> Result<String, CompletionError> {
        if !is_plausible_id(request_id) {
            return Err(CompletionError::UnknownRequest);
        }
        let now = self.clock.now();
        let pending = self
            .requests
            .get(request_id)
            .await?
            .filter(|p| now < p.expires_at)
            .ok_or(CompletionError::UnknownRequest)?;
        let iss = self.settings.issuer();
        let mut answer: Vec<(&str, &str)> = Vec::with_capacity(4);
        let code;
        match decision {
            Decision::Deny => answer.push(("error", ErrorCode::AccessDenied.as_str())),
            Decision::Allow => {
                // Whole seconds: a session opened in the request's own second may predate it,
                // and a real scan takes longer than a second, so "after" is strict.
                let fresh = session.created_at > pending.created_at;
                // `max_age=0` asks for a new authentication, which freshness already is.
                let recent = pending
                    .max_age
                    .is_none_or(|age| age == 0 || now - session.created_at <= age);
                if !fresh || !recent {
                    return Err(CompletionError::FreshLoginRequired);
                }
                let credential = new_credential()?;
                self.codes
                    .put(&AuthorizationCode {
                        id: credential.id.clone(),
                        secret_hash: credential.secret_hash(),
                        client_id: pending.client_id.clone(),
                        redirect_uri: pending.redirect_uri.clone(),
                        code_challenge: pending.code_challenge.clone(),
                        nonce: pending.nonce.clone(),
                        scope: pending.scope.clone(),
                        user_id: session.user_id.clone(),
                        auth_time: session.created_at,
                        acr: session.acr.clone(),
                        requested_at: pending.created_at,
                        created_at: now,
                        expires_at: now + self.settings.code_lifetime(),
                        redeemed: None,
                    })
                    .await?;
                code = credential.expose();
                answer.push(("code", &code));
            }
        }
        match self.requests.delete(&pending.id).await {
            Ok(()) => {}
            // Completed meanwhile by another request: this one's code is never handed out.
            Err(StoreError::Conflict) => return Err(CompletionError::UnknownRequest),
            Err(err) => return Err(err.into()),
        }
        if let Some(state) = pending.state.as_deref() {
            answer.push(("state", state));
        }
        answer.push(("iss", iss));
        tracing::info!(client_id = %pending.client_id, ?decision, "authorization completed");
        Ok(redirect_uri::with_params(&pending.redirect_uri, &answer))
    }
}
