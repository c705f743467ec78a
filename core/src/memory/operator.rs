//! The operator API's ports in memory: the account lock on [`MemoryUsers`], and a user's
//! activity read from the sessions and attempts doubles (as the DynamoDB adapter reads it
//! from the sessions table's `by_user_time` index).

use async_trait::async_trait;

use super::{MemoryAttempts, MemorySessions, MemoryUsers, lock};
use crate::domain::AccountLock;
use crate::ports::{
    AccountLocks, AttemptKind, AttemptSummary, SessionSummary, StoreError, UserActivity,
};

#[async_trait]
impl AccountLocks for MemoryUsers {
    async fn lock(&self, user_id: &str, at: i64) -> Result<Option<AccountLock>, StoreError> {
        self.outages.enter("lock").await?;
        Ok(lock(&self.users).get_mut(user_id).map(|user| {
            if user.lock.permits_sign_in() {
                user.lock = AccountLock::Locked { since: at };
            }
            user.lock
        }))
    }

    async fn unlock(&self, user_id: &str) -> Result<bool, StoreError> {
        self.outages.enter("unlock").await?;
        Ok(lock(&self.users)
            .get_mut(user_id)
            .map(|user| user.lock = AccountLock::Open)
            .is_some())
    }
}

impl MemoryUsers {
    /// Locks `user_id` without ending anything: a session that raced the lock.
    pub fn lock_for_test(&self, user_id: &str, at: i64) {
        if let Some(user) = lock(&self.users).get_mut(user_id) {
            user.lock = AccountLock::Locked { since: at };
        }
    }
}

/// A user's sessions and attempts, over the two doubles.
pub struct MemoryActivity<'a> {
    pub sessions: &'a MemorySessions,
    pub attempts: &'a MemoryAttempts,
}

#[async_trait]
impl UserActivity for MemoryActivity<'_> {
    async fn sessions_of(&self, user_id: &str) -> Result<Vec<SessionSummary>, StoreError> {
        self.sessions.outages.enter("sessions_of").await?;
        Ok(lock(&self.sessions.sessions)
            .values()
            .filter(|s| s.user_id == user_id)
            .map(|s| SessionSummary {
                created_at: s.created_at,
                last_seen: s.last_seen,
                absolute_expires_at: s.absolute_expires_at,
            })
            .collect())
    }

    async fn attempts_of(
        &self,
        user_id: &str,
        limit: usize,
    ) -> Result<Vec<AttemptSummary>, StoreError> {
        self.attempts.outages.enter("attempts_of").await?;
        let mut found: Vec<AttemptSummary> = self
            .attempts
            .all()
            .into_iter()
            .filter(|(a, _)| a.user_id == user_id && !a.decoy)
            .map(|(a, reason)| AttemptSummary {
                created_at: a.created_at,
                kind: if a.session_id.is_some() {
                    AttemptKind::StepUp
                } else {
                    AttemptKind::Login
                },
                status: a.status,
                reason,
            })
            .collect();
        found.sort_by_key(|a| std::cmp::Reverse(a.created_at));
        found.truncate(limit);
        Ok(found)
    }

    async fn end_sessions(&self, user_id: &str) -> Result<usize, StoreError> {
        self.sessions.outages.enter("end_sessions").await?;
        let mut sessions = lock(&self.sessions.sessions);
        let before = sessions.len();
        sessions.retain(|_, s| s.user_id != user_id);
        Ok(before - sessions.len())
    }
}

impl super::Backends {
    /// The user activity of this world's sessions and attempts.
    pub fn activity(&self) -> MemoryActivity<'_> {
        MemoryActivity {
            sessions: &self.sessions,
            attempts: &self.attempts,
        }
    }
}
