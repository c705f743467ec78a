//! An account's recent login and step-up attempts (`GET /admin/users/{user_id}/attempts`):
//! when, which journey, how it ended. Attempts live an hour past their expiry (the sessions
//! table's TTL), so "recent" means that; never their tokens or secrets.

use super::{Caller, record};
use crate::audit::{AuditKind, AuditTrail};
use crate::ports::{AttemptSummary, Clock, UserActivity, UserStore};
use crate::use_cases::failure::Failure;

/// The most attempts one answer lists.
pub const MAX_LISTED: usize = 50;

/// What listing attempts needs.
pub struct ListAttempts<'a> {
    pub users: &'a dyn UserStore,
    pub activity: &'a dyn UserActivity,
    pub trail: &'a dyn AuditTrail,
    pub clock: &'a dyn Clock,
}

impl ListAttempts<'_> {
    /// `user_id`'s attempts, newest first; `None` when there is no such user.
    pub async fn run(
        &self,
        caller: Caller<'_>,
        user_id: &str,
    ) -> Result<Option<Vec<AttemptSummary>>, Failure> {
        if self.users.get(user_id).await?.is_none() {
            return Ok(None);
        }
        record(
            self.trail,
            self.clock,
            caller,
            AuditKind::OperatorAttemptsListed,
            user_id,
        )
        .await?;
        let mut attempts = self.activity.attempts_of(user_id, MAX_LISTED).await?;
        attempts.sort_by_key(|a| std::cmp::Reverse(a.created_at));
        attempts.truncate(MAX_LISTED);
        Ok(Some(attempts))
    }
}
