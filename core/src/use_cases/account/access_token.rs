//! `GET /v1/users` and `POST /v1/logout` with an OpenID Connect access token instead of a
//! login session (api.md: the provider's access tokens are accepted as `Bearer` too).
//!
//! The token speaks for one client, so the answer is what that client may know: its own
//! pairwise subject as `user_id` (never the internal id, which would let two clients link a
//! person), and the username and display name only with the `profile` scope. Logging out with
//! an access token ends its grant: every token of that authorization, not the person's other
//! sessions.

use super::{Authenticated, SessionRefused};
use crate::oidc::access_token::{AccessTokenCheck, CheckedAccess};
use crate::oidc::scope::{PROFILE, Scope};
use crate::oidc::{ErrorCode, OAuthError};
use crate::ports::{FieldSealer, StoreError, UserStore};
use crate::use_cases::Failure;

/// The account as one client sees it.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientView {
    /// The token's `sub`: pairwise for that client.
    pub subject: String,
    /// `(username, display_name)`, with the `profile` scope only.
    pub profile: Option<(String, String)>,
    pub created_at: i64,
}

impl std::fmt::Debug for ClientView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientView")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// The account routes for access-token holders.
pub struct TokenAccount<'a> {
    pub check: AccessTokenCheck<'a>,
    pub users: &'a dyn UserStore,
    pub sealer: &'a dyn FieldSealer,
}

impl TokenAccount<'_> {
    /// The token's grant if it is valid now: an invalid, expired or revoked token (or one whose
    /// signature, issuer, audience or algorithm is wrong) opens nothing, as an unknown session
    /// would; an unreadable key or grant is a store outage (503), not a refusal.
    async fn checked(&self, token: &str) -> Result<Option<CheckedAccess>, Failure> {
        match self.check.check(token).await {
            Ok(access) => Ok(Some(access)),
            Err(OAuthError {
                code: ErrorCode::TemporarilyUnavailable | ErrorCode::ServerError,
                ..
            }) => Err(Failure::Store(StoreError::Unavailable("oidc".into()))),
            Err(_) => Ok(None),
        }
    }

    /// What `GET /v1/users` answers this token's holder.
    pub async fn read(&self, token: &str) -> Result<Authenticated<ClientView>, Failure> {
        let Some(access) = self.checked(token).await? else {
            return Ok(Authenticated::Refused(SessionRefused::Unauthorized));
        };
        let Some(user) = self.users.get(&access.grant.user_id).await? else {
            return Ok(Authenticated::Refused(SessionRefused::Unauthorized));
        };
        let with_profile = Scope::parse(&access.claims.scope).is_some_and(|s| s.contains(PROFILE));
        let profile = if with_profile {
            let (username, display_name) = futures::try_join!(
                self.sealer.open("username", &user.user_id, &user.username),
                self.sealer
                    .open("display_name", &user.user_id, &user.display_name),
            )?;
            Some((username, display_name))
        } else {
            None
        };
        Ok(Authenticated::Live(ClientView {
            subject: access.claims.sub,
            profile,
            created_at: user.created_at,
        }))
    }

    /// `POST /v1/logout` with an access token: its grant ends.
    pub async fn logout(&self, token: &str) -> Result<Authenticated<()>, Failure> {
        let Some(access) = self.checked(token).await? else {
            return Ok(Authenticated::Refused(SessionRefused::Unauthorized));
        };
        self.check
            .grants
            .revoke(&access.grant.id, self.check.clock.now())
            .await?;
        tracing::info!("logged out (access token grant ended)");
        Ok(Authenticated::Live(()))
    }
}

/// Whether a bearer value is shaped like a JWT (three dot-separated parts) rather than one of
/// our `<id>.<secret>` credentials, which have one dot: the two can never be confused.
pub fn is_access_token(bearer: &str) -> bool {
    bearer.split('.').count() == 3
}
