//! The people tokens speak about, read from the user store: [`SealedProfiles`] implements the
//! `UserProfiles` port with the core's own ports, so a function wires it rather than writes
//! it. The display name is opened only for the `profile` scope, and only for one answer.

use async_trait::async_trait;

use super::errors::OAuthError;
use super::ports::{UserProfile, UserProfiles};
use super::scope::{PROFILE, Scope};
use crate::ports::{FieldSealer, StoreError, UserStore};

/// Profiles from the user store, names opened by the field sealer.
pub struct SealedProfiles<'a> {
    pub users: &'a dyn UserStore,
    pub sealer: &'a dyn FieldSealer,
}

#[async_trait]
impl UserProfiles for SealedProfiles<'_> {
    async fn find(
        &self,
        user_id: &str,
        with_name: bool,
    ) -> Result<Option<UserProfile>, StoreError> {
        // A locked account is, to the provider, one that is gone: no code or refresh token is
        // exchanged and userinfo answers nothing while the lock holds (`domain::account_lock`).
        let Some(user) = self
            .users
            .get(user_id)
            .await?
            .filter(|u| u.lock.permits_sign_in())
        else {
            return Ok(None);
        };
        let name = if with_name {
            let name = self
                .sealer
                .open("display_name", &user.user_id, &user.display_name)
                .await
                .map_err(|err| StoreError::Unavailable(err.to_string()))?;
            Some(name)
        } else {
            None
        };
        Ok(Some(UserProfile {
            user_id: user.user_id,
            name,
        }))
    }
}

/// The profile of `user_id` for tokens of `scope` (its name with `profile`); `None` when the
/// user is gone.
pub(crate) async fn profile_for(
    profiles: &dyn UserProfiles,
    user_id: &str,
    scope: &Scope,
) -> Result<Option<UserProfile>, OAuthError> {
    Ok(profiles.find(user_id, scope.contains(PROFILE)).await?)
}
