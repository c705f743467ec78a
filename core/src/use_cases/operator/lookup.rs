//! Looking an account up (`POST /admin/users/lookup` by username, `GET /admin/users/{user_id}`
//! by id). A username is found through the blind index, as login finds it; the answer names
//! the user by id only (the username the operator typed is never echoed, logged or recorded).

use super::{Caller, record};
use crate::audit::{AuditKind, AuditTrail};
use crate::crypto::keyed_hash;
use crate::domain::{AccountLock, Username};
use crate::ports::{Clock, KeyRing, UserActivity, UserStore};
use crate::use_cases::failure::Failure;

/// What looking up needs.
pub struct LookUp<'a> {
    pub users: &'a dyn UserStore,
    pub activity: &'a dyn UserActivity,
    pub keys: &'a dyn KeyRing,
    pub trail: &'a dyn AuditTrail,
    pub clock: &'a dyn Clock,
    /// The sessions' idle timeout, to count the live ones as `SessionAuth` would.
    pub session_idle_seconds: i64,
}

/// An account as an operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSummary {
    pub user_id: String,
    pub created_at: i64,
    pub lock: AccountLock,
    /// Sessions that would open now (neither idle nor past their absolute end).
    pub live_sessions: usize,
    /// The consent the account was registered under (none for accounts registered before
    /// consent was recorded): what an operator answering a data-subject request needs.
    pub consent: Option<crate::domain::consent::ConsentRecord>,
}

impl LookUp<'_> {
    /// The account holding `username`; `None` when none does.
    pub async fn by_username(
        &self,
        caller: Caller<'_>,
        username: &Username,
    ) -> Result<Option<UserSummary>, Failure> {
        let key = self.keys.pseudonym_key().await?;
        let name_index = keyed_hash(key.as_ref().as_ref(), "username", username.as_str());
        match self.users.find_by_name(&name_index).await? {
            Some(claim) => self.by_id(caller, &claim.user_id).await,
            None => Ok(None),
        }
    }

    /// The account `user_id`; `None` when there is none (never created, or erased).
    pub async fn by_id(
        &self,
        caller: Caller<'_>,
        user_id: &str,
    ) -> Result<Option<UserSummary>, Failure> {
        let Some(user) = self.users.get(user_id).await? else {
            return Ok(None);
        };
        record(
            self.trail,
            self.clock,
            caller,
            AuditKind::OperatorUserLookedUp,
            &user.user_id,
        )
        .await?;
        let now = self.clock.now();
        let live_sessions = self
            .activity
            .sessions_of(&user.user_id)
            .await?
            .iter()
            .filter(|s| s.is_live(now, self.session_idle_seconds))
            .count();
        Ok(Some(UserSummary {
            user_id: user.user_id,
            created_at: user.created_at,
            lock: user.lock,
            live_sessions,
            consent: user.consent,
        }))
    }
}
