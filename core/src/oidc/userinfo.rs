//! The userinfo endpoint (`GET|POST /oauth2/userinfo`, OpenID Connect Core §5.3): who the
//! access token speaks for — the client's pairwise `sub`, and with the `profile` scope the
//! display name. Refusals are RFC 6750 `invalid_token` (401 with `WWW-Authenticate`).

use serde::Serialize;

use super::access_token::AccessTokenCheck;
use super::errors::OAuthError;
use super::ports::UserProfiles;
use super::scope::{OPENID, Scope};

/// The userinfo answer.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct UserInfoResponse {
    pub sub: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl std::fmt::Debug for UserInfoResponse {
    /// The name is personal data: never shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserInfoResponse")
            .field("sub", &self.sub)
            .field("name", &self.name.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// The userinfo endpoint.
pub struct UserInfo<'a> {
    pub check: AccessTokenCheck<'a>,
    pub profiles: &'a dyn UserProfiles,
}

impl UserInfo<'_> {
    /// The claims about the holder of `access_token` (from the `Authorization: Bearer` header
    /// or the `access_token` form field, RFC 6750 §2).
    pub async fn run(&self, access_token: &str) -> Result<UserInfoResponse, OAuthError> {
        let access = self.check.check(access_token).await?;
        let scope = Scope::parse(&access.claims.scope).unwrap_or_default();
        if !scope.contains(OPENID) {
            return Err(OAuthError::invalid_token(
                "the access token was not issued for openid",
            ));
        }
        let profile = super::profile::profile_for(self.profiles, &access.grant.user_id, &scope)
            .await?
            .ok_or(OAuthError::invalid_token(
                "the access token is invalid, expired or revoked",
            ))?;
        Ok(UserInfoResponse {
            sub: access.claims.sub,
            name: profile.name,
        })
    }
}
