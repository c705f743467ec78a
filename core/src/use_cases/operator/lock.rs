//! Locking an account (`PUT /admin/users/{user_id}/lock`) and lifting the lock (`DELETE`).
//!
//! The lock is written first, then everything open ends at once: the login sessions and the
//! OpenID Connect grants (with their refresh and access tokens). In that order, a login that
//! read the user before the lock and writes its session after it is the only one that could
//! slip through, and only while its scan is validated; every later sign-in reads the lock
//! (`domain::account_lock`). Unlocking opens nothing by itself: the person logs in again.

use super::{Caller, record};
use crate::audit::{AuditKind, AuditTrail};
use crate::oidc::ports::UserGrants;
use crate::ports::{AccountLocks, Clock, UserActivity};
use crate::use_cases::failure::Failure;

/// What locking and unlocking need.
pub struct LockAccount<'a> {
    pub locks: &'a dyn AccountLocks,
    pub activity: &'a dyn UserActivity,
    pub grants: &'a dyn UserGrants,
    pub trail: &'a dyn AuditTrail,
    pub clock: &'a dyn Clock,
}

/// A lock in place, and what it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locked {
    /// When the account was locked (the first lock's time, when it was locked already).
    pub since: i64,
    pub sessions_ended: usize,
    pub grants_ended: usize,
}

impl LockAccount<'_> {
    /// Locks `user_id` and ends its sessions and grants; `None` when there is no such user.
    pub async fn lock(&self, caller: Caller<'_>, user_id: &str) -> Result<Option<Locked>, Failure> {
        let Some(lock) = self.locks.lock(user_id, self.clock.now()).await? else {
            return Ok(None);
        };
        let since = lock.locked_at().unwrap_or_else(|| self.clock.now());
        let (sessions, grants) = futures::join!(
            self.activity.end_sessions(user_id),
            self.grants.revoke_all(user_id),
        );
        let (sessions_ended, grants_ended) = (sessions?, grants?);
        record(
            self.trail,
            self.clock,
            caller,
            AuditKind::OperatorAccountLocked,
            user_id,
        )
        .await?;
        tracing::info!(
            sessions_ended,
            grants_ended,
            "account locked by an operator"
        );
        Ok(Some(Locked {
            since,
            sessions_ended,
            grants_ended,
        }))
    }

    /// Lifts the lock of `user_id`; `None` when there is no such user.
    pub async fn unlock(&self, caller: Caller<'_>, user_id: &str) -> Result<Option<()>, Failure> {
        if !self.locks.unlock(user_id).await? {
            return Ok(None);
        }
        record(
            self.trail,
            self.clock,
            caller,
            AuditKind::OperatorAccountUnlocked,
            user_id,
        )
        .await?;
        tracing::info!("account unlocked by an operator");
        Ok(Some(()))
    }
}
